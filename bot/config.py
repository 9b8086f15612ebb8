"""Settings of the bot process: the core's settings plus the transport's."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, field_validator

from core.config import CoreSettings

PUBLIC_API_URL = "https://api.telegram.org"


class BotSettings(CoreSettings):
    # Without a token `python -m bot` starts the terminal console instead of polling.
    telegram_bot_token: SecretStr | None = None
    # Only contacted when a token is given; tests point it at a fake server on 127.0.0.1.
    telegram_api_url: str = PUBLIC_API_URL
    bot_framework: Literal["aiogram", "ptb"] = "aiogram"
    redis_url: str = ""
    console_user_id: int = 1

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
    def has_token(self) -> bool:
        return self.telegram_bot_token is not None
