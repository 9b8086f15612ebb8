"""One update, from arrival to the last reply, the same on every framework.

The adapter maps the update to an ``Event`` and calls ``Pipeline.process`` synchronously on
arrival (it takes the user's place in line before its first await). The pipeline answers a
button press at once, runs the conversation in the user's turn, renders the answer, and
writes one INFO line: update id, kind, outcome, duration. Never the text.

Replies are paced by the rate limiter, so a user who sends faster than Telegram lets the bot
answer builds up a line of waiting updates. The line is capped: beyond ``MAX_WAITING`` the
user is told once to slow down and the excess is dropped, so one flooding user costs the
bot a bounded amount of memory and their own replies a bounded delay (about ``MAX_WAITING``
seconds at one message a second), while other users' updates never wait behind them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Coroutine, Iterator
from typing import Any

from bot.flows.types import Answer, Conversation, Event, EventKind, Reply
from bot.handlers.events import UserTurns
from bot.handlers.render import BotPort, Renderer, SendError
from bot.reminders.limiter import RateLimiter, Unlimited
from bot.texts import transport as texts

log = logging.getLogger(__name__)

# A button press is answered with the flow's toast if the flow is this quick, else at once
# with nothing, so the button never spins while the conversation works.
CALLBACK_GRACE_S = 0.25
# Updates of one user that may be in line (the one being handled included). Ten covers a
# user's quick burst of questions and a few double taps; a paste bot or script sends more.
MAX_WAITING = 10


class Pipeline:
    def __init__(
        self,
        conversation: Conversation,
        port: BotPort,
        *,
        limiter: RateLimiter | None = None,
        callback_grace_s: float = CALLBACK_GRACE_S,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self._conversation = conversation
        self._port = port
        self._renderer = Renderer(port, limiter or Unlimited())
        self._turns = UserTurns()
        self._grace = callback_grace_s
        self._max_waiting = max_waiting
        self._waiting: dict[int, int] = {}
        self._told_to_slow_down: set[int] = set()
        self._active: set[asyncio.Future[None]] = set()
        self._closed = False

    def process(self, event: Event, *, callback_id: str | None = None) -> Awaitable[None]:
        """Start handling ``event``; must be called on arrival, before any await."""
        if self._closed:
            log.info("update %s arrived while stopping; left for the next start", event.update_id)
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        user_id = event.user_id
        waiting = self._waiting.get(user_id, 0)
        if waiting >= self._max_waiting:
            return self._track(self._shed(event, callback_id, waiting))
        self._waiting[user_id] = waiting + 1
        turn = self._turns.enter(user_id)
        return self._track(self._process(event, callback_id, turn))

    def _track(self, work: Coroutine[Any, Any, None]) -> asyncio.Future[None]:
        task = asyncio.ensure_future(work)
        self._active.add(task)
        task.add_done_callback(self._active.discard)
        return task

    async def close(self, timeout_s: float = 10.0) -> None:
        """Let updates in hand finish (up to ``timeout_s``), then cancel the rest.

        Called before the bot's HTTP session is closed: a reply sent after that would make
        the library open a new session that nobody closes.
        """
        self._closed = True
        if not self._active:
            return
        _, late = await asyncio.wait(set(self._active), timeout=timeout_s)
        for task in late:
            task.cancel()
        if late:
            log.warning("%d updates still in hand at shutdown were cancelled", len(late))
            await asyncio.gather(*late, return_exceptions=True)

    def _leave_line(self, user_id: int) -> None:
        left = self._waiting[user_id] - 1
        if left:
            self._waiting[user_id] = left
        else:
            del self._waiting[user_id]
            self._told_to_slow_down.discard(user_id)

    async def _shed(self, event: Event, callback_id: str | None, waiting: int) -> None:
        """An update over the user's cap: the first is answered with a request to slow down,
        in line after the updates already waiting; the rest are dropped."""
        first = event.user_id not in self._told_to_slow_down
        self._told_to_slow_down.add(event.user_id)
        turn = self._turns.enter(event.user_id) if first else None
        try:
            if callback_id is not None:
                await self._answer_callback(callback_id, texts.SLOW_DOWN, alert=False)
            if turn is not None:
                async with turn:
                    await self._renderer.deliver(
                        event.chat_id, (Reply(texts.SLOW_DOWN),), update_id=event.update_id
                    )
        except Exception as error:  # noqa: BLE001  (one update must not end the polling loop)
            _log_failure(event, error, "delivery")
        finally:
            log.info(
                "update %s %s dropped: %d updates of this user in line%s",
                event.update_id,
                event.kind,
                waiting,
                ", asked to slow down" if first else "",
            )

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
            self._leave_line(event.user_id)
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
                await self._renderer.deliver(
                    event.chat_id, (Reply(texts.INTERNAL_ERROR),), update_id=event.update_id
                )
                return _FAILED
            pressed = event.message_id if event.kind is EventKind.CALLBACK else None
            await self._renderer.deliver(
                event.chat_id,
                answer.replies,
                pressed_message_id=pressed,
                update_id=event.update_id,
            )
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
