"""Settings of the core service, read from the environment and an optional .env file."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

EMBEDDED_DIR = Path("data")
EMBEDDED_URL = f"sqlite+aiosqlite:///{EMBEDDED_DIR / 'wangqian.db'}"
DEV_KEY_FILE = ".dev-secret-key"


class ConfigError(RuntimeError):
    """Settings that must not be used as they are."""


class CoreSettings(BaseSettings):
    # Errors must not echo what was given: a rejected SECRET_KEY would land in the log.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    database_url: str = ""
    # Key for ID-number protection and one-time-code hashing. Required outside the
    # embedded default: a database that leaves the machine must not carry a known key.
    secret_key: SecretStr | None = None
    sms_webhook_url: str = ""
    # "console" prints codes to stderr: only on a local SQLite database, or when set on purpose.
    sms_backend: Literal["auto", "console", "webhook"] = "auto"
    sms_webhook_timeout_s: float = 5.0
    sms_webhook_retries: int = 3
    seal_days: int = 7
    termination_reply_days: int = 15
    university_contact: str = "学校就业指导中心"

    @field_validator("secret_key")
    @classmethod
    def _strong_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError(
                "SECRET_KEY must be at least 32 characters; generate one with "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`"
            )
        return value

    @property
    def console_sms_allowed(self) -> bool:
        local = self.effective_database_url.startswith("sqlite")
        return self.sms_backend == "console" or (self.sms_backend == "auto" and local)

    def check_sms(self) -> None:
        """Refuse to serve real users when codes would go to the log instead of a phone.

        Called before polling Telegram: there the console backend is allowed only when
        SMS_BACKEND=console is set on purpose (a test machine), whatever the database.
        """
        if self.sms_webhook_url:
            return
        if self.sms_backend == "webhook":
            raise ConfigError("SMS_BACKEND=webhook needs SMS_WEBHOOK_URL")
        if self.sms_backend != "console":
            raise ConfigError(
                "SMS_WEBHOOK_URL is required to serve Telegram users: the console SMS backend "
                "prints one-time codes to stderr. Set SMS_BACKEND=console only on a test machine."
            )

    @property
    def embedded(self) -> bool:
        return not self.database_url

    @property
    def effective_database_url(self) -> str:
        return self.database_url or EMBEDDED_URL

    def key_bytes(self) -> bytes:
        """The secret key; in the embedded default a generated key kept beside the database."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        if not self.embedded:
            raise ConfigError(
                "SECRET_KEY is not set: it is required when DATABASE_URL points at a server"
            )
        EMBEDDED_DIR.mkdir(parents=True, exist_ok=True)
        path = EMBEDDED_DIR / DEV_KEY_FILE
        if not path.exists():
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
            log.warning(
                "generated a development secret key at %s; set SECRET_KEY in production", path
            )
        else:
            log.warning(
                "using the development secret key at %s; set SECRET_KEY in production", path
            )
        return path.read_text().strip().encode()
