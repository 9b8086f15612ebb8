"""One update, from arrival to the last reply, the same on every framework.

The adapter maps the update to an ``Event`` and calls ``Pipeline.process`` synchronously on
arrival (it takes the user's place in line before its first await). The pipeline answers a
button press at once, runs the conversation in the user's turn, renders the answer, and
writes one INFO line: update id, kind, outcome, duration. Never the text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Iterator

from bot.flows.types import Answer, Conversation, Event, EventKind, Reply
from bot.handlers.events import UserTurns
from bot.handlers.render import BotPort, Renderer, SendError
from bot.texts import transport as texts

log = logging.getLogger(__name__)

# A button press is answered with the flow's toast if the flow is this quick, else at once
# with nothing, so the button never spins while the conversation works.
CALLBACK_GRACE_S = 0.25


class Pipeline:
    def __init__(
        self,
        conversation: Conversation,
        port: BotPort,
        *,
        callback_grace_s: float = CALLBACK_GRACE_S,
    ) -> None:
        self._conversation = conversation
        self._port = port
        self._renderer = Renderer(port)
        self._turns = UserTurns()
        self._grace = callback_grace_s

    def process(self, event: Event, *, callback_id: str | None = None) -> Awaitable[None]:
        """Start handling ``event``; must be called on arrival, before any await."""
        turn = self._turns.enter(event.user_id)
        return self._process(event, callback_id, turn)

    async def _process(
        self,
        event: Event,
        callback_id: str | None,
        turn: contextlib.AbstractAsyncContextManager[None],
    ) -> None:
        started = time.monotonic()
        outcome = "handled"
        try:
            work = asyncio.create_task(self._in_turn(event, turn))
            answered = False
            if callback_id is not None:
                done, _ = await asyncio.wait({work}, timeout=self._grace)
                if not done:
                    await self._answer_callback(callback_id, "", alert=False)
                    answered = True
            answer = await work
            if callback_id is not None and not answered:
                await self._answer_callback(callback_id, answer.toast, alert=answer.alert)
            outcome = "failed" if answer is _FAILED else "handled"
        except Exception as error:  # noqa: BLE001  (one update must not end the polling loop)
            outcome = "failed"
            _log_failure(event, error, "delivery")
        finally:
            log.info(
                "update %s %s %s in %d ms",
                event.update_id,
                event.kind,
                outcome,
                (time.monotonic() - started) * 1000,
            )

    async def _in_turn(
        self,
        event: Event,
        turn: contextlib.AbstractAsyncContextManager[None],
    ) -> Answer:
        async with turn:
            try:
                answer = await self._conversation.handle(event)
            except Exception as error:  # noqa: BLE001  (the user gets a reply, not silence)
                _log_failure(event, error, "conversation")
                await self._renderer.deliver(event.chat_id, (Reply(texts.INTERNAL_ERROR),))
                return _FAILED
            pressed = event.message_id if event.kind is EventKind.CALLBACK else None
            await self._renderer.deliver(event.chat_id, answer.replies, pressed_message_id=pressed)
            return answer

    async def _answer_callback(self, callback_id: str, text: str, *, alert: bool) -> None:
        try:
            await self._port.answer_callback(callback_id, text, alert)
        except SendError as error:
            # Usually a query older than Telegram keeps them; the press was still handled.
            log.warning("answerCallbackQuery failed: %s", error.kind)


_FAILED = Answer()


def _log_failure(event: Event, error: BaseException, where: str) -> None:
    # The exception's message may quote what the user wrote, so only its type and frames.
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error(
        "update %s failed in the %s: %s\n%s",
        event.update_id,
        where,
        type(error).__name__,
        frames,
    )


class _RedactToken(logging.Filter):
    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._token in message:
            record.msg = message.replace(self._token, "<token>")
            record.args = None
        return True


# Loggers whose lines carry the request URL (with the token) or request parameters (with
# what users wrote): kept at WARNING, or at INFO for the frameworks' own lifecycle lines.
_QUIET = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiohttp.access": logging.WARNING,
    "aiohttp.client": logging.WARNING,
    "aiogram.event": logging.WARNING,  # its per-update line duplicates ours
    "aiogram": logging.INFO,
    "telegram": logging.INFO,
}


@contextlib.contextmanager
def protected_logs(token: str) -> Iterator[None]:
    """Keep the token and message contents out of the logs while polling runs."""
    previous = {name: logging.getLogger(name).level for name in _QUIET}
    for name, level in _QUIET.items():
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < level:
            logger.setLevel(level)
    redact = _RedactToken(token)
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(redact)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(redact)
        for name, level in previous.items():
            logging.getLogger(name).setLevel(level)
