"""Settings of the bot process and the reminder worker: the core's plus the transport's.

One object serves both processes, so one environment (or .env) configures them alike.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import SecretStr, field_validator

from core.config import CoreSettings
from core.reminders import QuietHours, Schedule

PUBLIC_API_URL = "https://api.telegram.org"


class BotSettings(CoreSettings):
    # Without a token `python -m bot` starts the terminal console instead of polling.
    telegram_bot_token: SecretStr | None = None
    # Only contacted when a token is given; tests point it at a fake server on 127.0.0.1.
    telegram_api_url: str = PUBLIC_API_URL
    bot_framework: Literal["aiogram", "ptb"] = "aiogram"
    redis_url: str = ""
    console_user_id: int = 1
    # Run the reminder worker inside the bot process: default only for the embedded database;
    # with a server database the Procfile's `worker` process does it.
    bot_run_worker: bool | None = None

    reminder_offsets_hours: str = "72,24,2"
    quiet_hours: str = "22:00-08:00"
    quiet_hours_zone: str = "Asia/Shanghai"
    # Telegram allows about 30 messages a second per bot and one a second per chat.
    telegram_global_rate: float = 30.0
    telegram_chat_rate: float = 1.0
    # Messages one chat may get at once before the chat rate applies: a reply split in three,
    # or a user's few quick questions, arrive without a pause. Telegram tolerates such bursts.
    telegram_chat_burst: int = 3
    reminder_batch_size: int = 100
    reminder_concurrency: int = 32
    reminder_lease_s: float = 300.0
    reminder_poll_s: float = 2.0
    reminder_plan_interval_s: float = 60.0
    reminder_max_attempts: int = 5
    reminder_backoff_s: float = 30.0
    # A 429 asking for a longer pause than this gives the row back to the queue instead.
    reminder_max_inline_wait_s: float = 60.0
    reminder_run_expiry: bool = True

    @field_validator("reminder_offsets_hours")
    @classmethod
    def _offsets(cls, value: str) -> str:
        parse_offsets(value)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        QuietHours.parse(value)
        return value

    @field_validator(
        "telegram_global_rate",
        "telegram_chat_rate",
        "reminder_lease_s",
        "reminder_poll_s",
        "reminder_backoff_s",
    )
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be greater than zero")
        return value

    @field_validator(
        "reminder_batch_size",
        "reminder_concurrency",
        "reminder_max_attempts",
        "telegram_chat_burst",
    )
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    def schedule(self) -> Schedule:
        return Schedule(
            parse_offsets(self.reminder_offsets_hours),
            QuietHours.parse(self.quiet_hours, self.quiet_hours_zone),
        )

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.reminder_lease_s)

    @field_validator("telegram_bot_token")
    @classmethod
    def _empty_token_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _plain_base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("TELEGRAM_API_URL must start with http:// or https://")
        return value

    @property
    def worker_in_bot_process(self) -> bool:
        return self.embedded if self.bot_run_worker is None else self.bot_run_worker

    @property
    def has_token(self) -> bool:
        return self.telegram_bot_token is not None


def parse_offsets(text: str) -> tuple[timedelta, ...]:
    """``"72,24,2"`` (hours; decimals allowed) → offsets, farthest first."""
    try:
        hours = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(
            f"REMINDER_OFFSETS_HOURS must be numbers like 72,24,2: {text!r}"
        ) from None
    if not hours or any(h <= 0 for h in hours):
        raise ValueError("REMINDER_OFFSETS_HOURS needs at least one positive number of hours")
    return tuple(timedelta(hours=h) for h in sorted(set(hours), reverse=True))
