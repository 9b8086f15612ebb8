"""Out-of-band delivery of one-time codes: a console backend and an HTTP webhook backend."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Protocol, TextIO

import httpx

from core.domain.validators import mask_phone

log = logging.getLogger(__name__)


class SmsSender(Protocol):
    async def send(self, phone: str, text: str) -> bool:
        """Deliver ``text`` to ``phone``; return False when it could not be delivered."""
        ...


class ConsoleSms:
    """Development backend: prints the message for the developer, with the phone masked."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, phone: str, text: str) -> bool:
        stream = self._stream or sys.stderr
        print(f"[短信 → {mask_phone(phone)}] {text}", file=stream, flush=True)
        return True


class UnconfiguredSms:
    """No gateway configured: every code is reported as not delivered."""

    async def send(self, phone: str, text: str) -> bool:
        log.error("no SMS gateway configured (SMS_WEBHOOK_URL); a code was not sent")
        return False


class WebhookSms:
    """POSTs ``{"phone": ..., "text": ...}`` to a gateway; retries, then reports failure."""

    def __init__(self, url: str, *, timeout_s: float = 5.0, retries: int = 3) -> None:
        self._url = url
        self._timeout = timeout_s
        self._retries = max(1, retries)

    async def send(self, phone: str, text: str) -> bool:
        delay = 0.2
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            for attempt in range(1, self._retries + 1):
                try:
                    response = await client.post(self._url, json={"phone": phone, "text": text})
                    if response.status_code < 300:
                        return True
                    log.warning(
                        "sms webhook answered %s (attempt %d)", response.status_code, attempt
                    )
                except httpx.HTTPError as exc:
                    log.warning("sms webhook failed: %s (attempt %d)", type(exc).__name__, attempt)
                if attempt < self._retries:
                    await asyncio.sleep(delay)
                    delay *= 2
        return False
