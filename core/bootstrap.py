"""Composition root of the core: settings → engine → service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.config import CoreSettings
from core.protect import Protector
from core.service import AgreementService, Clock
from core.sms import ConsoleSms, SmsSender, UnconfiguredSms, WebhookSms
from core.storage.db import create_engine, migrate, session_factory

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Core:
    settings: CoreSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    service: AgreementService
    protector: Protector


def build_sms(settings: CoreSettings) -> SmsSender:
    if settings.sms_webhook_url:
        return WebhookSms(
            settings.sms_webhook_url,
            timeout_s=settings.sms_webhook_timeout_s,
            retries=settings.sms_webhook_retries,
        )
    if settings.console_sms_allowed:
        return ConsoleSms()
    # Operator commands never send codes; the bot refuses to start (CoreSettings.check_sms).
    return UnconfiguredSms()


def quiet_noisy_loggers() -> None:
    # httpx and httpcore log request lines, which carry the bot token in the URL.
    for name in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(name).setLevel(logging.WARNING)


@asynccontextmanager
async def open_core(
    settings: CoreSettings | None = None,
    *,
    clock: Clock = utc_now,
    sms: SmsSender | None = None,
    migrate_schema: bool = True,
) -> AsyncIterator[Core]:
    """Build the core and dispose of its engine on exit."""
    settings = settings or CoreSettings()
    engine = create_engine(settings.effective_database_url)
    try:
        if migrate_schema:
            await migrate(engine)
        sessions = session_factory(engine)
        protector = Protector(settings.key_bytes())
        service = AgreementService(
            sessions,
            protector=protector,
            sms=sms or build_sms(settings),
            clock=clock,
            seal_days=settings.seal_days,
            termination_reply_days=settings.termination_reply_days,
        )
        yield Core(settings, engine, sessions, service, protector)
    finally:
        await engine.dispose()
