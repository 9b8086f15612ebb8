"""Rendering an ``Answer`` as Bot API calls, shared by the aiogram and PTB adapters.

An adapter implements ``BotPort`` (four calls, its library's errors translated into
``SendError``); everything a user notices about delivery lives here once: long texts split
at line boundaries without breaking HTML, edit in place after a button press, fall back to
a new message when the old one cannot be edited, pace every message through the rate
limiter the reminder worker shares, wait out flood limits as long as Telegram asks, drop on
a block, and resend as plain text when Telegram cannot parse the HTML.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TypeVar

from bot.flows.types import MAX_MESSAGE_CHARS, Attachment, Button, Reply
from bot.reminders.limiter import RateLimiter, Unlimited

log = logging.getLogger(__name__)

MAX_CAPTION_CHARS = 1024
# Attempts of one Bot API call that Telegram answers with 429; each waits the full
# retry_after it names. After the last the reply is given up, with a warning.
MAX_FLOOD_ATTEMPTS = 5

Keyboard = tuple[tuple[Button, ...], ...]
T = TypeVar("T")


class SendErrorKind(StrEnum):
    NOT_MODIFIED = "not_modified"  # an edit that changes nothing: already what we want
    CANNOT_EDIT = "cannot_edit"  # the message is gone or too old: send a new one instead
    PARSE = "parse"  # Telegram could not parse the HTML
    RETRY_AFTER = "retry_after"  # 429
    BLOCKED = "blocked"  # 403: the user blocked the bot
    OTHER = "other"


class SendError(Exception):
    """A failed Bot API call, as the renderer needs to see it; carries no message text."""

    def __init__(self, kind: SendErrorKind, code: int = 0, retry_after_s: float = 0.0) -> None:
        super().__init__(f"{kind} ({code})")
        self.kind = kind
        self.code = code
        self.retry_after_s = retry_after_s


def classify(code: int, description: str, retry_after_s: float | None = None) -> SendError:
    """Map a Bot API error response to a ``SendError``; the description is not kept."""
    text = description.lower()
    if code == 429 or retry_after_s is not None:
        return SendError(SendErrorKind.RETRY_AFTER, 429, float(retry_after_s or 1.0))
    if code == 403:
        return SendError(SendErrorKind.BLOCKED, 403)
    if "message is not modified" in text:
        return SendError(SendErrorKind.NOT_MODIFIED, code)
    if "message to edit not found" in text or "message can't be edited" in text:
        return SendError(SendErrorKind.CANNOT_EDIT, code)
    if "can't parse entities" in text:
        return SendError(SendErrorKind.PARSE, code)
    return SendError(SendErrorKind.OTHER, code)


class BotPort(Protocol):
    """The Bot API calls rendering needs; implementations raise ``SendError``."""

    async def send_text(self, chat_id: int, text: str, keyboard: Keyboard, *, html: bool) -> int:
        """Send a message; return its message id."""
        ...

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        keyboard: Keyboard,
        *,
        html: bool,
    ) -> None: ...

    async def send_document(
        self,
        chat_id: int,
        attachment: Attachment,
        caption: str,
        keyboard: Keyboard,
        *,
        html: bool,
    ) -> int: ...

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None: ...


# --- splitting -------------------------------------------------------------------------------

_ATOM = re.compile(r"<[^<>]*>|&#?[A-Za-z0-9]+;|.", re.DOTALL)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
# Tags Telegram HTML knows; only these are dropped when falling back to plain text.
_TELEGRAM_TAG = re.compile(
    r"</?(?:b|strong|i|em|u|ins|s|strike|del|span|tg-spoiler|a|code|pre|blockquote|tg-emoji)"
    r"(?:\s[^<>]*)?>",
    re.IGNORECASE,
)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def _after(stack: list[tuple[str, str]], atom: str) -> list[tuple[str, str]]:
    match = _TAG.match(atom) if atom.startswith("<") else None
    if match is None:
        return stack
    closing, name = match.group(1), match.group(2).lower()
    if not closing:
        return [*stack, (name, atom)]
    if stack and stack[-1][0] == name:
        return stack[:-1]
    return stack


def _closing(stack: list[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def split_html(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Split Telegram HTML into pieces of at most ``limit`` characters each.

    Cuts at the last line break that fits, else the last space, else anywhere between
    characters; never inside a tag or an entity. Tags open at a cut are closed at the end of
    the piece and reopened at the start of the next, so each piece parses on its own. The
    source length bounds the visible length, so a piece never exceeds Telegram's limit.
    """
    if utf16_len(text) <= limit:
        return [text]
    atoms = _ATOM.findall(text)
    pieces: list[str] = []
    stack: list[tuple[str, str]] = []
    start = 0
    while start < len(atoms):
        prefix = "".join(tag for _, tag in stack)
        size = utf16_len(prefix)
        current = stack
        end = start
        line_cut: tuple[int, list[tuple[str, str]]] | None = None
        space_cut: tuple[int, list[tuple[str, str]]] | None = None
        while end < len(atoms):
            atom = atoms[end]
            following = _after(current, atom)
            if size + utf16_len(atom) + utf16_len(_closing(following)) > limit:
                break
            size += utf16_len(atom)
            current = following
            end += 1
            if atom == "\n":
                line_cut = (end, current)
            elif atom.isspace():
                space_cut = (end, current)
        if end == len(atoms):
            cut, state = end, current
        elif line_cut is not None:
            cut, state = line_cut
        elif space_cut is not None:
            cut, state = space_cut
        elif end > start:
            cut, state = end, current
        else:
            raise ValueError(f"limit {limit} is too small for the markup in this text")
        piece = prefix + "".join(atoms[start:cut]) + _closing(state)
        if plain_text(piece).strip():
            pieces.append(piece)
        stack = state
        start = cut
    return pieces


def plain_text(text: str) -> str:
    """Telegram HTML as the words a user would see: known tags dropped, entities decoded."""
    return html.unescape(_TELEGRAM_TAG.sub("", text))


# --- delivering ------------------------------------------------------------------------------


class Dropped(Exception):
    """The chat cannot receive messages now (blocked, or a long flood wait)."""

    def __init__(self, reason: SendErrorKind, retry_after_s: float = 0.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


@dataclass
class Renderer:
    """Delivers replies through a ``BotPort`` with the error policy every transport shares."""

    port: BotPort
    limiter: RateLimiter = field(default_factory=Unlimited)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def deliver(
        self,
        chat_id: int,
        replies: tuple[Reply, ...],
        *,
        pressed_message_id: int | None = None,
        update_id: int | None = None,
    ) -> None:
        """Send the replies in order; the first ``edit`` reply after a button press
        replaces the message the button was on. Logs and stops when the chat is gone."""
        editable = pressed_message_id
        try:
            for reply in replies:
                target = editable if reply.edit else None
                if reply.edit:
                    editable = None
                await self.reply(chat_id, reply, edit_message_id=target)
        except Dropped as dropped:
            log.warning(
                "update %s: reply to chat %d given up: %s", update_id, chat_id, dropped.reason
            )

    async def reply(self, chat_id: int, reply: Reply, *, edit_message_id: int | None) -> int:
        """Deliver one reply; return the id of the message that now shows it."""
        keyboard: Keyboard = reply.buttons
        if reply.attachment is not None:
            return await self._with_attachment(chat_id, reply)
        pieces = split_html(reply.text)
        last = len(pieces) - 1
        message_id = 0
        for index, piece in enumerate(pieces):
            buttons = keyboard if index == last else ()
            if index == 0 and edit_message_id is not None:
                message_id = await self._edit_or_send(chat_id, edit_message_id, piece, buttons)
            else:
                message_id = await self._send(chat_id, piece, buttons)
        return message_id

    async def _with_attachment(self, chat_id: int, reply: Reply) -> int:
        attachment = reply.attachment
        assert attachment is not None
        if utf16_len(reply.text) <= MAX_CAPTION_CHARS:
            return await self._call(
                chat_id,
                lambda plain: self.port.send_document(
                    chat_id,
                    attachment,
                    plain_text(reply.text) if plain else reply.text,
                    reply.buttons,
                    html=not plain,
                ),
            )
        # A caption holds 1024 characters: a longer text follows the file as messages.
        await self._call(
            chat_id,
            lambda plain: self.port.send_document(chat_id, attachment, "", (), html=False),
        )
        return await self.reply(chat_id, Reply(reply.text, reply.buttons), edit_message_id=None)

    async def _edit_or_send(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        keyboard: Keyboard,
    ) -> int:
        try:
            await self._call(
                chat_id,
                lambda plain: self.port.edit_text(
                    chat_id,
                    message_id,
                    plain_text(text) if plain else text,
                    keyboard,
                    html=not plain,
                ),
            )
        except SendError as error:
            if error.kind is SendErrorKind.NOT_MODIFIED:
                return message_id
            if error.kind is not SendErrorKind.CANNOT_EDIT:
                raise
            log.info("message %d in chat %d cannot be edited; sending anew", message_id, chat_id)
            return await self._send(chat_id, text, keyboard)
        return message_id

    async def _send(self, chat_id: int, text: str, keyboard: Keyboard) -> int:
        return await self._call(
            chat_id,
            lambda plain: self.port.send_text(
                chat_id,
                plain_text(text) if plain else text,
                keyboard,
                html=not plain,
            ),
        )

    async def _call(self, chat_id: int, make: Callable[[bool], Awaitable[T]]) -> T:
        """One Bot API call with the shared policy: wait for the chat's and the bot's next
        slot, wait out flood limits, give up on a blocked chat, and resend as plain text what
        Telegram could not parse."""
        plain = False
        flooded = 0
        while True:
            await self.limiter.acquire(chat_id)
            try:
                return await make(plain)
            except SendError as error:
                if error.kind is SendErrorKind.RETRY_AFTER:
                    flooded += 1
                    # Everyone's next slot moves back, so other chats do not run into it too.
                    await self.limiter.penalize(chat_id, error.retry_after_s)
                    if flooded >= MAX_FLOOD_ATTEMPTS:
                        raise Dropped(error.kind, error.retry_after_s) from None
                    log.warning(
                        "flood limit for chat %d: retrying in %.1f s", chat_id, error.retry_after_s
                    )
                    await self.sleep(error.retry_after_s)
                    continue
                if error.kind is SendErrorKind.BLOCKED:
                    raise Dropped(error.kind) from None
                if error.kind is SendErrorKind.PARSE and not plain:
                    log.error(
                        "Telegram refused our HTML (error %d); resending as plain text", error.code
                    )
                    plain = True
                    continue
                if error.kind is SendErrorKind.OTHER:
                    log.error("Bot API call failed with error %d", error.code)
                raise
            finally:
                await self.limiter.sent(chat_id)
