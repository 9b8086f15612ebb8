"""The contract between transport-free conversations and the transports that carry them.

A transport (aiogram, python-telegram-bot, the console) turns each update into an ``Event``
and hands it to ``Conversation.handle``; it renders the returned ``Answer``. Texts in a
``Reply`` are Telegram HTML: flows escape everything a user or employer wrote.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

MAX_CALLBACK_BYTES = 64
MAX_MESSAGE_CHARS = 4096


class EventKind(StrEnum):
    TEXT = "text"
    COMMAND = "command"
    CALLBACK = "callback"
    DOCUMENT = "document"
    PHOTO = "photo"
    CONTACT = "contact"
    UNSUPPORTED = "unsupported"  # sticker, voice, video, location, poll, ...


@dataclass(frozen=True, slots=True)
class Upload:
    """A file the user sent; the bytes are fetched only when the flow wants them."""

    file_name: str
    content_type: str
    size: int
    fetch: Callable[[], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    user_id: int
    chat_id: int
    private: bool = True
    text: str = ""
    command: str = ""  # without the slash, lower case
    args: str = ""
    # False for "/cmd@otherbot": a command meant for another bot in the same chat.
    addressed: bool = True
    callback_data: str = ""
    message_id: int | None = None  # the message a button was on
    upload: Upload | None = None
    unsupported: str = ""  # what it was: sticker, voice, ...
    update_id: int | None = None


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    data: str = ""  # callback data, at most 64 bytes
    url: str = ""

    def __post_init__(self) -> None:
        if not self.url and len(self.data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {self.data!r}")


@dataclass(frozen=True, slots=True)
class Attachment:
    file_name: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Reply:
    text: str  # Telegram HTML; transports split it when over 4096 characters
    buttons: tuple[tuple[Button, ...], ...] = ()
    edit: bool = False  # replace the message the pressed button was on
    attachment: Attachment | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    replies: tuple[Reply, ...] = ()
    toast: str = ""  # shown when answering a button press; empty still answers it
    alert: bool = False


class Conversation(Protocol):
    async def handle(self, event: Event) -> Answer: ...


class StateStore(Protocol):
    """Where conversation state lives between messages (and across restarts)."""

    async def load(self, key: str) -> dict[str, object] | None: ...

    async def save(self, key: str, data: dict[str, object]) -> None: ...

    async def clear(self, key: str) -> None: ...


class DeliveryStatus(StrEnum):
    SENT = "sent"
    RETRY_AFTER = "retry_after"  # Telegram said 429
    BLOCKED = "blocked"  # 403: the user blocked the bot or is gone
    DEFERRED = "deferred"  # this transport cannot reach the chat now; try again later
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Delivery:
    status: DeliveryStatus
    retry_after_s: float = 0.0
    error: str = ""


class Notifier(Protocol):
    """Sends a message nobody asked for (a push or a reminder) to a chat."""

    async def push(self, chat_id: int, reply: Reply) -> Delivery: ...
