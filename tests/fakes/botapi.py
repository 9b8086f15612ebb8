"""A fake Telegram Bot API server for end-to-end tests.

The real aiogram and python-telegram-bot code talks HTTP to this server on 127.0.0.1, so a
test exercises the same requests, parsing and error handling as production, without the
network. Simulated users push updates; the test then reads what the bot sent.

Start it as an async context manager (or use the ``fake_botapi`` fixture)::

    async with FakeBotApi() as api:
        api.base_url  # "http://127.0.0.1:PORT"

Point aiogram at it (``make_aiogram_bot`` does exactly this)::

    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    bot = Bot(api.token, session=session)
    ...
    await bot.session.close()

Point python-telegram-bot at it (``make_ptb_builder`` / ``make_ptb_bot``). PTB appends the
token to both URLs itself, so they end in ``/bot`` and ``/file/bot``::

    app = (
        ApplicationBuilder()
        .token(api.token)
        .base_url(f"{api.base_url}/bot")
        .base_file_url(f"{api.base_url}/file/bot")
        .build()
    )

Simulate users and read the outcome::

    api.push_message(42, "/start")
    call = await api.wait_for("sendMessage")
    assert api.last_text(42) == call.params["text"]
    api.push_callback(42, "agree", call.result["message_id"])
    await api.wait_for("answerCallbackQuery")
    assert api.buttons(42) == [("签约", "sign")]

End-to-end polling, with the fixtures below (import them into a conftest, or list
``tests.fakes.botapi`` in ``pytest_plugins``)::

    async def test_echo(fake_botapi, aiogram_bot):
        dp = Dispatcher()
        dp.message.register(echo)
        async with aiogram_polling(fake_botapi, dp, aiogram_bot):
            fake_botapi.push_message(7, "hi")
            await fake_botapi.wait_for("sendMessage")

    async def test_echo_ptb(fake_botapi):
        app = make_ptb_builder(fake_botapi).build()
        app.add_handler(MessageHandler(filters.TEXT, echo))
        async with ptb_polling(app):
            fake_botapi.push_message(7, "hi")
            await fake_botapi.wait_for("sendMessage")

What a test can use, beyond the pushes (``push_message``, ``push_callback``,
``push_document``, ``push_photo``, ``push_sticker``, ``push_voice``, ``push_contact``, each
returning the update id; ``add_user`` sets a user's names):

- ``calls``: every request as ``ApiCall(method, params, at, status, result)``; ``params``
  has JSON fields decoded and uploads as ``UploadedFile``. ``calls_to(method)`` filters.
- ``await wait_for("sendMessage" | predicate, timeout=5.0, since=None)``: the first matching
  call made since the latest push. ``await wait_polling()``: a getUpdates is being held.
- ``sent_to(chat_id)``: ``SentMessage`` records in their current (edited) state;
  ``last_text(chat_id)``; ``buttons(chat_id, message_id=None)`` as (text, callback_data).
- ``blocked_users`` (403), ``fail_next(method, status, description, retry_after, count)``,
  ``rate_limits`` with ``rate_limited_count``, ``accepted_sends`` and ``send_times()``.
- ``server_errors``: exceptions inside the fake itself; the fixture fails if any occurred.

What the libraries send: both POST every method. aiogram sends form-urlencoded fields, or
multipart when uploading, with the file field set to ``attach://<random>`` and the bytes in
a part of that name (content type application/octet-stream). PTB sends form-urlencoded
fields (an empty application/octet-stream body when there are none) and multipart uploads
with the bytes in the field itself, the mime type guessed from the file name. Both send
nested objects such as ``reply_markup`` as JSON strings; ``calls`` shows them decoded.

Where the fake differs from Telegram on purpose:

- A bare ``&`` that starts no HTML entity is refused with "can't parse entities"; Telegram
  keeps it as text. Pass ``strict_ampersand=False`` to behave like Telegram.
- Rate limits are token buckets (``per_chat_rate``/``per_chat_burst``, ``global_rate``/
  ``global_burst``), switched off unless ``rate_limits=True``; Telegram's are unpublished.
- MarkdownV2 and Markdown text is accepted as is: no entity parsing and no validation.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import math
import mimetypes
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, Self

import pytest
import pytest_asyncio
from aiohttp import web

if TYPE_CHECKING:
    import telegram
    from aiogram import Bot, Dispatcher
    from telegram.ext import Application, ApplicationBuilder

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:AAFakeBotApiTokenForTests-0123456789"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CONFLICT_POLLING = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)

# Sending methods that count against the flood limits.
RATE_LIMITED_METHODS = frozenset({"sendmessage", "senddocument", "sendphoto"})

# Form fields arrive as strings; these are decoded to the type Telegram expects.
JSON_FIELDS = frozenset(
    {
        "allowed_updates",
        "caption_entities",
        "commands",
        "entities",
        "link_preview_options",
        "media",
        "menu_button",
        "reply_markup",
        "reply_parameters",
        "scope",
    }
)
INT_FIELDS = frozenset(
    {
        "cache_time",
        "chat_id",
        "from_chat_id",
        "limit",
        "max_connections",
        "message_id",
        "message_thread_id",
        "offset",
        "reply_to_message_id",
        "timeout",
        "user_id",
    }
)
BOOL_FIELDS = frozenset(
    {
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "disable_notification",
        "disable_web_page_preview",
        "drop_pending_updates",
        "has_spoiler",
        "protect_content",
        "show_alert",
        "show_caption_above_media",
    }
)


class ApiError(Exception):
    """A Telegram error response: HTTP status, description and optional retry_after."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, as the server received it."""

    filename: str | None
    content_type: str
    data: bytes


class ApiCall(NamedTuple):
    """One request the bot made: canonical method name, decoded params, monotonic time it
    was answered, HTTP status of the answer and the ``result`` it returned (None on errors)."""

    method: str
    params: dict[str, Any]
    at: float
    status: int
    result: Any


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    kind: str
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None

    def as_telegram(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
        }


@dataclass
class SentMessage:
    """A message the bot sent to a chat, in its current (possibly edited) state."""

    chat_id: int
    message_id: int
    kind: str
    text: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    parse_mode: str | None
    file: StoredFile | None = None
    history: list[str | None] = field(default_factory=list)
    deleted: bool = False

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Inline buttons as (text, callback_data), row by row."""
        return inline_buttons(self.reply_markup)


def inline_buttons(markup: dict[str, Any] | None) -> list[tuple[str, str | None]]:
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        (button.get("text", ""), button.get("callback_data"))
        for row in markup["inline_keyboard"]
        for button in row
    ]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- Telegram HTML ---------------------------------------------------------------------------

_TAG_ENTITY = {
    "a": "text_link",
    "b": "bold",
    "blockquote": "blockquote",
    "code": "code",
    "del": "strikethrough",
    "em": "italic",
    "i": "italic",
    "ins": "underline",
    "pre": "pre",
    "s": "strikethrough",
    "span": "spoiler",
    "strike": "strikethrough",
    "strong": "bold",
    "tg-emoji": "custom_emoji",
    "tg-spoiler": "spoiler",
    "u": "underline",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\r\n\v"


class HtmlError(ValueError):
    """Raised for text Telegram would refuse with "can't parse entities"."""


def _decode_entity(source: str, start: int) -> tuple[str, int] | None:
    """Decode the HTML entity at ``source[start] == "&"``: (text, characters consumed)."""
    end = source.find(";", start + 1, start + 12)
    if end == -1:
        return None
    name = source[start + 1 : end]
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], end - start + 1
    try:
        if name[:2] in ("#x", "#X"):
            code = int(name[2:], 16)
        elif name[:1] == "#":
            code = int(name[1:], 10)
        else:
            return None
        return chr(code), end - start + 1
    except (ValueError, OverflowError):
        return None


def _decode_text(source: str, strict_ampersand: bool) -> str:
    parts: list[str] = []
    i = 0
    while i < len(source):
        if source[i] == "&":
            decoded = _decode_entity(source, i)
            if decoded is not None:
                parts.append(decoded[0])
                i += decoded[1]
                continue
            if strict_ampersand:
                raise HtmlError('unescaped "&" in an attribute value')
        parts.append(source[i])
        i += 1
    return "".join(parts)


def parse_html(source: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Turn Telegram HTML into (visible text, entities), the way the Bot API does.

    Error texts follow TDLib's; offsets are UTF-8 byte offsets, entity offsets UTF-16 units.
    """

    def byte_offset(index: int) -> int:
        return len(source[:index].encode("utf-8"))

    out: list[str] = []
    length = 0
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[dict[str, Any]] = []
    size = len(source)
    i = 0
    while i < size:
        char = source[i]
        if char == "&":
            decoded = _decode_entity(source, i)
            if decoded is None:
                if strict_ampersand:
                    raise HtmlError(
                        f'unescaped "&" at byte offset {byte_offset(i)} '
                        "(the fake is stricter than Telegram: escape it as &amp;)"
                    )
                decoded = ("&", 1)
            out.append(decoded[0])
            length += utf16_len(decoded[0])
            i += decoded[1]
            continue
        if char != "<":
            out.append(char)
            length += utf16_len(char)
            i += 1
            continue

        begin = i
        i += 1
        if i < size and source[i] == "/":
            if not stack:
                raise HtmlError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            close = source.find(">", i)
            if close == -1:
                raise HtmlError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            name = source[i + 1 : close].strip(_SPACES).lower()
            tag, start, attrs = stack[-1]
            if name and name != tag:
                raise HtmlError(
                    f"Unmatched end tag at byte offset {byte_offset(begin)}, "
                    f'expected "</{tag}>", found "</{name}>"'
                )
            stack.pop()
            entity = _tag_entity(tag, start, length - start, attrs, stack)
            if entity is not None:
                entities.append(entity)
            i = close + 1
            continue

        j = i
        while j < size and source[j] not in _SPACES and source[j] != ">":
            j += 1
        if j >= size:
            raise HtmlError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        tag = source[i:j].lower()
        if tag not in _TAG_ENTITY:
            raise HtmlError(f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}')
        attrs, i = _parse_attributes(source, j, tag, byte_offset(begin), strict_ampersand)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
            )
        stack.append((tag, length, attrs))

    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(out), entities


def _parse_attributes(
    source: str,
    i: int,
    tag: str,
    tag_offset: int,
    strict_ampersand: bool,
) -> tuple[dict[str, str], int]:
    attrs: dict[str, str] = {}
    size = len(source)
    unclosed = HtmlError(f"Unclosed start tag at byte offset {tag_offset}")
    while True:
        while i < size and source[i] in _SPACES:
            i += 1
        if i >= size:
            raise unclosed
        if source[i] == ">":
            return attrs, i + 1
        start = i
        while i < size and (source[i].isalnum() or source[i] in "-_"):
            i += 1
        name = source[start:i].lower()
        if not name:
            raise HtmlError(f'Empty attribute name in the tag "{tag}" at byte offset {tag_offset}')
        while i < size and source[i] in _SPACES:
            i += 1
        if i >= size:
            raise unclosed
        if source[i] != "=":
            # A bare attribute, such as <blockquote expandable>.
            attrs[name] = ""
            continue
        i += 1
        while i < size and source[i] in _SPACES:
            i += 1
        if i >= size:
            raise unclosed
        if source[i] in "\"'":
            end = source.find(source[i], i + 1)
            if end == -1:
                raise unclosed
            raw = source[i + 1 : end]
            i = end + 1
        else:
            start = i
            while i < size and source[i] not in _SPACES and source[i] != ">":
                i += 1
            raw = source[start:i]
        attrs[name] = _decode_text(raw, strict_ampersand)


def _tag_entity(
    tag: str,
    offset: int,
    length: int,
    attrs: dict[str, str],
    parents: list[tuple[str, int, dict[str, str]]],
) -> dict[str, Any] | None:
    if tag == "code" and parents and parents[-1][0] == "pre":
        language = attrs.get("class", "")
        if language.startswith("language-"):
            # <pre><code class="language-x"> is one pre entity with a language.
            parents[-1][2]["language"] = language.removeprefix("language-")
            return None
    if length <= 0:
        return None
    entity: dict[str, Any] = {"type": _TAG_ENTITY[tag], "offset": offset, "length": length}
    if tag == "a":
        href = attrs.get("href", "")
        if not href:
            return None
        entity["url"] = href
    elif tag == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    return entity


def strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace as Telegram does, moving the entities with the text."""
    stripped = text.strip(_SPACES)
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip(_SPACES))])
    total = utf16_len(stripped)
    kept: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


# --- rate limiting ---------------------------------------------------------------------------


@dataclass
class _Bucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 if one is available now)."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            return 0.0
        return (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


Handler = Callable[[dict[str, Any]], Awaitable[Any]]
CallMatch = str | Callable[[ApiCall], bool]


class FakeBotApi:
    """A Telegram Bot API server on 127.0.0.1 that records calls and simulates users."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "wangqian_test_bot",
        bot_first_name: str = "网签助手",
        rate_limits: bool = False,
        per_chat_rate: float = 1.0,
        per_chat_burst: float = 3.0,
        global_rate: float = 30.0,
        global_burst: float = 30.0,
        strict_ampersand: bool = True,
        allow_unknown_chats: bool = True,
    ) -> None:
        self.token = token
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.rate_limits = rate_limits
        self.per_chat_rate = per_chat_rate
        self.per_chat_burst = per_chat_burst
        self.global_rate = global_rate
        self.global_burst = global_burst
        self.strict_ampersand = strict_ampersand
        self.allow_unknown_chats = allow_unknown_chats
        self.blocked_users: set[int] = set()

        self.calls: list[ApiCall] = []
        self.server_errors: list[Exception] = []
        self.rate_limited_count = 0
        self.accepted_sends: list[tuple[float, int]] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.webhook_url = ""
        self.mark = 0

        self._users: dict[int, dict[str, Any]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._sent: dict[int, list[SentMessage]] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._updates: list[dict[str, Any]] = []
        self._allowed_updates: list[str] = []
        self._open_callbacks: set[str] = set()
        self._failures: dict[str, list[ApiError]] = {}
        self._chat_buckets: dict[int, _Bucket] = {}
        self._global_bucket: _Bucket | None = None
        self._poll_generation = 0
        self.polls_in_flight = 0
        self._polls_changed = asyncio.Event()
        self._closing = False
        self._updates_changed = asyncio.Event()
        self._calls_changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "logOut": self._true,
            "close": self._true,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
        }
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeBotApi is not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        # No access log: request lines carry the bot token.
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._closing = False
        logger.debug("fake Bot API listening on port %d", self._port)

    async def stop(self) -> None:
        """Answer any long poll in flight with no updates, then shut the server down."""
        self._closing = True
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        logger.debug("fake Bot API stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- simulated users ---------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> dict[str, Any]:
        """Register (or replace) the Telegram user that pushes come from."""
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"User{user_id}",
        }
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def push_message(
        self,
        user_id: int,
        text: str,
        chat_type: str = "private",
        chat_id: int | None = None,
    ) -> int:
        """Queue a text message from a user; a leading "/word" becomes a bot_command."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return self._push_user_message(user_id, content, chat_type, chat_id)

    def push_callback(
        self,
        user_id: int,
        data: str,
        message_id: int,
        *,
        chat_id: int | None = None,
        strict: bool = True,
    ) -> int:
        """Queue a press on an inline button of a message the bot sent.

        With ``strict`` the data must be on that message's keyboard, as a real client
        can press nothing else; pass ``strict=False`` to forge a stale or crafted callback.
        """
        chat = chat_id if chat_id is not None else user_id
        message = self._messages.get((chat, message_id))
        if message is None or message["from"]["id"] != self.bot_user["id"]:
            raise ValueError(f"the bot sent no message {message_id} to chat {chat}")
        if strict:
            offered = [data for _, data in inline_buttons(message.get("reply_markup"))]
            if data not in offered:
                raise ValueError(f"message {message_id} has no button with that data")
        callback_id = f"{self.bot_user['id']}{next(self._callback_ids):08d}"
        self._open_callbacks.add(callback_id)
        query = {
            "id": callback_id,
            "from": self._user(user_id),
            "message": copy.deepcopy(message),
            "chat_instance": str(chat),
            "data": data,
        }
        return self._enqueue({"callback_query": query})

    def push_document(
        self,
        user_id: int,
        content: bytes,
        file_name: str,
        mime_type: str | None = None,
        *,
        caption: str | None = None,
    ) -> int:
        """Queue a document from a user; getFile and the download return ``content``."""
        mime = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        stored = self._store_file("document", content, file_name, mime)
        document = {**stored.as_telegram(), "file_name": file_name, "mime_type": mime}
        message: dict[str, Any] = {"document": document}
        if caption:
            message["caption"] = caption
        return self._push_user_message(user_id, message, "private", None)

    def push_photo(
        self,
        user_id: int,
        content: bytes,
        *,
        width: int = 1280,
        height: int = 960,
        caption: str | None = None,
    ) -> int:
        """Queue a photo from a user as the usual list of sizes, smallest first.

        Every size downloads as ``content``: the fake does not resize images.
        """
        sizes = []
        for scale in (90, 320, max(width, height)):
            factor = min(1.0, scale / max(width, height))
            stored = self._store_file("photo", content, None, "image/jpeg")
            sizes.append(
                {
                    **stored.as_telegram(),
                    "width": max(1, round(width * factor)),
                    "height": max(1, round(height * factor)),
                }
            )
        message: dict[str, Any] = {"photo": sizes}
        if caption:
            message["caption"] = caption
        return self._push_user_message(user_id, message, "private", None)

    def push_sticker(self, user_id: int, emoji: str = "👍") -> int:
        stored = self._store_file("sticker", b"RIFF\x00\x00\x00\x00WEBP", None, "image/webp")
        sticker = {
            **stored.as_telegram(),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._push_user_message(user_id, {"sticker": sticker}, "private", None)

    def push_voice(self, user_id: int, content: bytes = b"OggS", duration: int = 3) -> int:
        stored = self._store_file("voice", content, None, "audio/ogg")
        voice = {**stored.as_telegram(), "duration": duration, "mime_type": "audio/ogg"}
        return self._push_user_message(user_id, {"voice": voice}, "private", None)

    def push_contact(self, user_id: int, phone: str, *, own: bool = True) -> int:
        """Queue a shared contact; ``own`` marks it as the sender's own number."""
        user = self._user(user_id)
        contact: dict[str, Any] = {"phone_number": phone, "first_name": user["first_name"]}
        if own:
            contact["user_id"] = user_id
        return self._push_user_message(user_id, {"contact": contact}, "private", None)

    # --- scripting ---------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with this error instead."""
        error = ApiError(status, description, retry_after)
        self._failures.setdefault(method.lower(), []).extend([error] * count)

    # --- reading the outcome -----------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        """Messages the bot sent to a chat, oldest first, in their current state."""
        return list(self._sent.get(chat_id, []))

    def last_text(self, chat_id: int) -> str | None:
        """Text (or caption) of the newest message the bot has in the chat."""
        alive = [message for message in self._sent.get(chat_id, []) if not message.deleted]
        return alive[-1].text if alive else None

    def buttons(
        self,
        chat_id: int,
        message_id: int | None = None,
    ) -> list[tuple[str, str | None]]:
        """Inline buttons of a message, by default the newest one that has any."""
        for message in reversed(self._sent.get(chat_id, [])):
            if message_id is None and not message.deleted and message.buttons:
                return message.buttons
            if message.message_id == message_id:
                return message.buttons
        return []

    def send_times(self, chat_id: int | None = None) -> list[float]:
        """Monotonic times of accepted sends, to one chat or to all."""
        return [at for at, chat in self.accepted_sends if chat_id is None or chat == chat_id]

    async def wait_for(
        self,
        match: CallMatch,
        timeout: float = 5.0,  # noqa: ASYNC109  (the brief's signature; applied inside)
        *,
        since: int | None = None,
    ) -> ApiCall:
        """Wait for a call by method name (any case) or predicate and return it.

        Only calls made since the latest push are considered, unless ``since`` gives
        another index into ``calls``; earlier ones would answer a previous step.
        """
        if isinstance(match, str):
            wanted = match.lower()

            def predicate(call: ApiCall) -> bool:
                return call.method.lower() == wanted

        else:
            predicate = match
        index = self.mark if since is None else since
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self._calls_changed
                    for call in self.calls[index:]:
                        if predicate(call):
                            return call
                    index = len(self.calls)
                    await changed.wait()
        except TimeoutError:
            start = self.mark if since is None else since
            seen = [f"{call.method}:{call.status}" for call in self.calls[start:]]
            raise TimeoutError(
                f"no call matching {match!r} within {timeout}s; calls since: {seen}"
            ) from None

    # --- HTTP --------------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _json_response(ApiError(401, "Unauthorized").payload(), 401)
        requested = request.match_info["method"]
        known = self._handlers.get(requested.lower())
        method = known[0] if known else requested
        status = 200
        result: Any = None
        params: dict[str, Any] = {}
        try:
            params = await self._read_params(request)
            if known is None:
                raise ApiError(404, "Not Found")
            failures = self._failures.get(method.lower())
            if failures:
                raise failures.pop(0)
            result = await known[1](params)
            body: dict[str, Any] = {"ok": True, "result": result}
        except ApiError as error:
            status = error.status
            body = error.payload()
            result = None
            if status == 429:
                self.rate_limited_count += 1
        except Exception as error:
            # A bug in the fake: answer in Telegram's shape so the client reports it plainly,
            # and keep it for tests to assert on.
            logger.exception("fake Bot API failed on %s", method)
            self.server_errors.append(error)
            status = 500
            body = ApiError(500, f"Internal Server Error: fake failed: {error!r}").payload()
            result = None
        self._record(ApiCall(method, params, time.monotonic(), status, result))
        logger.debug("%s -> %d", method, status)
        return _json_response(body, status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _json_response(ApiError(401, "Unauthorized").payload(), 401)
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return _json_response(ApiError(404, "Not Found").payload(), 404)
        return web.Response(
            body=stored.content,
            content_type=stored.mime_type or "application/octet-stream",
        )

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.body_exists:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad_request("can't parse JSON object") from None
                if isinstance(body, dict):
                    raw.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        raw[key] = UploadedFile(
                            value.filename,
                            value.content_type,
                            value.file.read(),
                        )
                    else:
                        raw[key] = value
        return _decode_params(raw)

    def _record(self, call: ApiCall) -> None:
        self.calls.append(call)
        self._calls_changed.set()
        self._calls_changed = asyncio.Event()

    # --- methods: updates and bot ------------------------------------------------------------

    async def _true(self, params: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = params.get("offset")
        if isinstance(offset, int):
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if "allowed_updates" in params:
            self._allowed_updates = list(params["allowed_updates"] or [])
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)

        # A newer getUpdates ends the one in flight with 409, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()
        deadline = time.monotonic() + timeout
        self._count_poll(1)
        try:
            while True:
                changed = self._updates_changed
                if self._poll_generation != generation:
                    raise ApiError(409, CONFLICT_POLLING)
                pending = self._deliverable()
                if pending or self._closing:
                    return pending[:limit]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await changed.wait()
        finally:
            self._count_poll(-1)

    def _count_poll(self, delta: int) -> None:
        self.polls_in_flight += delta
        self._polls_changed.set()
        self._polls_changed = asyncio.Event()

    async def wait_polling(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109  (like wait_for)
        """Wait until a getUpdates is held open, i.e. the bot is ready for pushes."""
        async with asyncio.timeout(timeout):
            while self.polls_in_flight == 0:
                await self._polls_changed.wait()

    def _deliverable(self) -> list[dict[str, Any]]:
        if not self._allowed_updates:
            return list(self._updates)
        # Telegram never delivers types the bot did not ask for; they count as confirmed.
        allowed = set(self._allowed_updates)
        self._updates = [update for update in self._updates if allowed.intersection(update)]
        return list(self._updates)

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = str(params.get("url") or "")
        self._wake_pollers()
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not str(command.get("description", "")).strip():
                raise bad_request("command description is empty")
        self.commands[_commands_key(params)] = commands
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(_commands_key(params), [])

    async def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(_commands_key(params), None)
        return True

    async def _set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        self.menu_buttons[params.get("chat_id")] = params.get("menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        return (
            self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "commands"}
        )

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params)
        self._check_blocked(chat["id"])
        if not params.get("action"):
            raise bad_request("wrong parameter action in request")
        return True

    async def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11}

    # --- methods: messages -------------------------------------------------------------------

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        self._check_flood("sendmessage", chat["id"])
        self._check_blocked(chat["id"])
        text, entities = self._formatted(params, "text", "entities", MAX_TEXT_LENGTH)
        if not text:
            raise bad_request("message text is empty")
        markup = _check_markup(params.get("reply_markup"))
        message = self._bot_message(chat, {"text": text}, entities, "entities", markup, params)
        self._remember_sent(message, "text", text, entities, markup, params, None)
        return message

    async def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        self._check_flood("senddocument", chat["id"])
        self._check_blocked(chat["id"])
        stored = self._input_file(params.get("document"), "document")
        caption, entities = self._formatted(
            params,
            "caption",
            "caption_entities",
            MAX_CAPTION_LENGTH,
        )
        markup = _check_markup(params.get("reply_markup"))
        document = {**stored.as_telegram(), "file_name": stored.file_name or "document"}
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        content: dict[str, Any] = {"document": document}
        if caption:
            content["caption"] = caption
        message = self._bot_message(chat, content, entities, "caption_entities", markup, params)
        self._remember_sent(message, "document", caption or None, entities, markup, params, stored)
        return message

    async def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        self._check_flood("sendphoto", chat["id"])
        self._check_blocked(chat["id"])
        stored = self._input_file(params.get("photo"), "photo")
        caption, entities = self._formatted(
            params,
            "caption",
            "caption_entities",
            MAX_CAPTION_LENGTH,
        )
        markup = _check_markup(params.get("reply_markup"))
        sizes = [{**stored.as_telegram(), "width": 800, "height": 600}]
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        message = self._bot_message(chat, content, entities, "caption_entities", markup, params)
        self._remember_sent(message, "photo", caption or None, entities, markup, params, stored)
        return message

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        message, sent = self._editable(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._formatted(params, "text", "entities", MAX_TEXT_LENGTH)
        if not text:
            raise bad_request("message text is empty")
        markup = _check_markup(params.get("reply_markup"))
        return self._apply_edit(message, sent, "text", "entities", text, entities, markup)

    async def _edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        message, sent = self._editable(params)
        if sent.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        caption, entities = self._formatted(
            params,
            "caption",
            "caption_entities",
            MAX_CAPTION_LENGTH,
        )
        markup = _check_markup(params.get("reply_markup"))
        return self._apply_edit(
            message,
            sent,
            "caption",
            "caption_entities",
            caption,
            entities,
            markup,
        )

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        message, sent = self._editable(params)
        markup = _check_markup(params.get("reply_markup"))
        if _inline(markup) == message.get("reply_markup"):
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        _set_markup(message, markup)
        sent.reply_markup = markup
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params)
        key = (chat["id"], params.get("message_id"))
        if key not in self._messages:
            raise bad_request("message to delete not found")
        del self._messages[key]
        for sent in self._sent.get(chat["id"], []):
            if sent.message_id == key[1]:
                sent.deleted = True
        return True

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        callback_id = str(params.get("callback_query_id", ""))
        if callback_id not in self._open_callbacks:
            raise bad_request(QUERY_INVALID.removeprefix("Bad Request: "))
        if len(str(params.get("text", ""))) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_callbacks.discard(callback_id)
        self.callback_answers[callback_id] = params
        return True

    async def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return {**stored.as_telegram(), "file_path": stored.file_path}

    # --- helpers -----------------------------------------------------------------------------

    def _user(self, user_id: int) -> dict[str, Any]:
        return self._users.get(user_id) or self.add_user(user_id)

    def _chat(self, user_id: int, chat_type: str, chat_id: int | None) -> dict[str, Any]:
        if chat_type == "private":
            user = self._user(user_id)
            chat = {"id": user_id, "type": "private", "first_name": user["first_name"]}
            for key in ("last_name", "username"):
                if key in user:
                    chat[key] = user[key]
        else:
            group_id = chat_id if chat_id is not None else -abs(user_id)
            chat = {"id": group_id, "type": chat_type, "title": f"Group {abs(group_id)}"}
        self._chats[chat["id"]] = chat
        return chat

    def _target_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if not isinstance(chat_id, int):
            matches = [
                chat for chat in self._chats.values() if f"@{chat.get('username')}" == chat_id
            ]
            if not matches:
                raise bad_request("chat not found")
            return matches[0]
        if chat_id in self._chats:
            return self._chats[chat_id]
        if not self.allow_unknown_chats:
            if chat_id > 0:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise bad_request("chat not found")
        if chat_id > 0:
            return self._chat(chat_id, "private", None)
        return self._chat(chat_id, "supergroup", chat_id)

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _push_user_message(
        self,
        user_id: int,
        content: dict[str, Any],
        chat_type: str,
        chat_id: int | None,
    ) -> int:
        chat = self._chat(user_id, chat_type, chat_id)
        message = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": self._user(user_id),
            **content,
        }
        self._messages[(chat["id"], message["message_id"])] = message
        return self._enqueue({"message": copy.deepcopy(message)})

    def _enqueue(self, payload: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **payload})
        self.mark = len(self.calls)
        self._wake_pollers()
        return update_id

    def _wake_pollers(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    def _store_file(
        self,
        kind: str,
        content: bytes,
        file_name: str | None,
        mime_type: str | None,
    ) -> StoredFile:
        number = next(self._file_counter)
        suffix = {
            "photo": ".jpg",
            "sticker": ".webp",
            "voice": ".oga",
        }.get(kind, "")
        if kind == "document" and file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"Fake{kind.title()}{number:06d}{secrets.token_hex(4)}",
            file_unique_id=f"U{number:06d}",
            file_path=f"{kind}s/file_{number}{suffix}",
            kind=kind,
            content=content,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _input_file(self, value: Any, kind: str) -> StoredFile:
        if isinstance(value, UploadedFile):
            if not value.data:
                raise bad_request("file must be non-empty")
            mime = value.content_type
            if mime == "application/octet-stream" and value.filename:
                mime = mimetypes.guess_type(value.filename)[0] or mime
            return self._store_file(kind, value.data, value.filename, mime)
        if not isinstance(value, str) or not value:
            raise bad_request(f"there is no {kind} in the request")
        if value.startswith(("http://", "https://")):
            # The fake never fetches anything: no request leaves 127.0.0.1.
            raise bad_request("failed to get HTTP URL content")
        stored = self._files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if kind == "photo" and stored.kind != "photo":
            raise bad_request(f"can't use file of type {stored.kind.title()} as Photo")
        return stored

    def _formatted(
        self,
        params: dict[str, Any],
        text_key: str,
        entities_key: str,
        limit: int,
    ) -> tuple[str, list[dict[str, Any]]]:
        raw = params.get(text_key)
        text = "" if raw is None else str(raw)
        entities = params.get(entities_key)
        parse_mode = str(params.get("parse_mode") or "")
        if isinstance(entities, list):
            parsed = list(entities)
        elif parse_mode.lower() == "html":
            try:
                text, parsed = parse_html(text, strict_ampersand=self.strict_ampersand)
            except HtmlError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        else:
            parsed = []
        text, parsed = strip_text(text, parsed)
        if utf16_len(text) > limit:
            if text_key == "caption":
                raise bad_request("message caption is too long")
            raise bad_request("message is too long")
        return text, parsed

    def _bot_message(
        self,
        chat: dict[str, Any],
        content: dict[str, Any],
        entities: list[dict[str, Any]],
        entities_key: str,
        markup: dict[str, Any] | None,
        params: dict[str, Any],
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "from": dict(self.bot_user),
            "date": int(time.time()),
            "chat": chat,
            **content,
        }
        if entities:
            message[entities_key] = entities
        _set_markup(message, markup)
        reply_to = params.get("reply_to_message_id")
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            reply_to = reply.get("message_id")
        if (chat["id"], reply_to) in self._messages:
            message["reply_to_message"] = copy.deepcopy(self._messages[(chat["id"], reply_to)])
            message["reply_to_message"].pop("reply_to_message", None)
        self._messages[(chat["id"], message["message_id"])] = message
        return copy.deepcopy(message)

    def _remember_sent(
        self,
        message: dict[str, Any],
        kind: str,
        text: str | None,
        entities: list[dict[str, Any]],
        markup: dict[str, Any] | None,
        params: dict[str, Any],
        stored: StoredFile | None,
    ) -> None:
        sent = SentMessage(
            chat_id=message["chat"]["id"],
            message_id=message["message_id"],
            kind=kind,
            text=text,
            entities=entities,
            reply_markup=markup,
            parse_mode=params.get("parse_mode"),
            file=stored,
        )
        self._sent.setdefault(sent.chat_id, []).append(sent)
        self.accepted_sends.append((time.monotonic(), sent.chat_id))

    def _editable(self, params: dict[str, Any]) -> tuple[dict[str, Any], SentMessage]:
        if params.get("inline_message_id"):
            raise bad_request("the fake does not support inline messages")
        chat = self._target_chat(params)
        message = self._messages.get((chat["id"], params.get("message_id")))
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        sent = next(
            sent for sent in self._sent[chat["id"]] if sent.message_id == message["message_id"]
        )
        return message, sent

    def _apply_edit(
        self,
        message: dict[str, Any],
        sent: SentMessage,
        text_key: str,
        entities_key: str,
        text: str,
        entities: list[dict[str, Any]],
        markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        # Editing without reply_markup removes the inline keyboard, as on Telegram.
        unchanged = (
            message.get(text_key, "") == text
            and message.get(entities_key, []) == entities
            and message.get("reply_markup") == _inline(markup)
        )
        if unchanged:
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        sent.history.append(sent.text)
        message[text_key] = text
        if entities:
            message[entities_key] = entities
        else:
            message.pop(entities_key, None)
        _set_markup(message, markup)
        message["edit_date"] = int(time.time())
        sent.text = text
        sent.entities = entities
        sent.reply_markup = markup
        return copy.deepcopy(message)

    def _check_blocked(self, chat_id: int) -> None:
        if chat_id in self.blocked_users:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _check_flood(self, method: str, chat_id: int) -> None:
        if not self.rate_limits or method not in RATE_LIMITED_METHODS:
            return
        now = time.monotonic()
        chat_bucket = self._chat_buckets.get(chat_id)
        if chat_bucket is None:
            chat_bucket = _Bucket(
                self.per_chat_rate, self.per_chat_burst, self.per_chat_burst, now
            )
            self._chat_buckets[chat_id] = chat_bucket
        if self._global_bucket is None:
            self._global_bucket = _Bucket(
                self.global_rate, self.global_burst, self.global_burst, now
            )
        wait = max(chat_bucket.wait(now), self._global_bucket.wait(now))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        chat_bucket.take()
        self._global_bucket.take()


def _json_response(body: dict[str, Any], status: int) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json",
    )


def _decode_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Give form fields the types Telegram would parse them to; resolve attach:// parts."""
    params: dict[str, Any] = {}
    attached: set[str] = set()
    for key, value in raw.items():
        if isinstance(value, str) and value.startswith("attach://"):
            name = value.removeprefix("attach://")
            if isinstance(raw.get(name), UploadedFile):
                params[key] = raw[name]
                attached.add(name)
                continue
        params[key] = _decode_value(key, value)
    for name in attached:
        params.pop(name, None)
    return params


def _decode_value(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            if key == "reply_markup":
                raise bad_request("can't parse reply keyboard markup JSON object") from None
            raise bad_request(f"can't parse {key} JSON object") from None
    if key in INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            if key == "chat_id":
                return value
            try:
                return int(float(value))
            except ValueError:
                raise bad_request(f"invalid {key} specified") from None
    if key in BOOL_FIELDS:
        return value.lower() in ("true", "1")
    return value


def _check_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        for button in (button for row in rows for button in row):
            if not str(button.get("text", "")):
                raise bad_request("BUTTON_TEXT_INVALID")
            data = button.get("callback_data")
            if data is not None and not (
                1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
            ):
                raise bad_request("BUTTON_DATA_INVALID")
            actions = set(button) - {"text"}
            if not actions:
                raise bad_request("text buttons are unallowed in the inline keyboard")
            url = button.get("url")
            if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
                raise bad_request("BUTTON_URL_INVALID")
    return markup


def _inline(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of a markup Telegram echoes in Message.reply_markup."""
    if markup and "inline_keyboard" in markup:
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


def _set_markup(message: dict[str, Any], markup: dict[str, Any] | None) -> None:
    inline = _inline(markup)
    if inline and inline["inline_keyboard"]:
        message["reply_markup"] = inline
    else:
        message.pop("reply_markup", None)


def _commands_key(params: dict[str, Any]) -> str:
    scope = params.get("scope") or {"type": "default"}
    return f"{json.dumps(scope, sort_keys=True)}|{params.get('language_code') or ''}"


# --- wiring the libraries --------------------------------------------------------------------


def make_aiogram_bot(fake: FakeBotApi, token: str | None = None, **kwargs: Any) -> Bot:
    """An aiogram Bot whose every request goes to the fake; ``kwargs`` go to ``Bot`` (for
    example ``default=DefaultBotProperties(parse_mode="HTML")``). Close it with
    ``await bot.session.close()``."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    return Bot(token or fake.token, session=session, **kwargs)


def ptb_urls(fake: FakeBotApi) -> tuple[str, str]:
    """PTB's base_url and base_file_url for the fake; PTB appends the token to both."""
    return f"{fake.base_url}/bot", f"{fake.base_url}/file/bot"


def make_ptb_builder(fake: FakeBotApi, token: str | None = None) -> ApplicationBuilder:
    """A PTB ApplicationBuilder aimed at the fake; add handlers after ``.build()``."""
    from telegram.ext import ApplicationBuilder

    base_url, base_file_url = ptb_urls(fake)
    return (
        ApplicationBuilder()
        .token(token or fake.token)
        .base_url(base_url)
        .base_file_url(base_file_url)
    )


def make_ptb_bot(fake: FakeBotApi, token: str | None = None) -> telegram.Bot:
    """A bare PTB Bot aimed at the fake; use it as ``async with make_ptb_bot(api) as bot``."""
    import telegram

    base_url, base_file_url = ptb_urls(fake)
    return telegram.Bot(token or fake.token, base_url=base_url, base_file_url=base_file_url)


@contextlib.asynccontextmanager
async def aiogram_polling(
    fake: FakeBotApi,
    dispatcher: Dispatcher,
    bot: Bot,
    **kwargs: Any,
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``dispatcher.start_polling`` in a task until the block ends.

    The block starts once the first getUpdates arrived, so pushes made inside it are
    answered; the bot session is left open for the fixture that owns it.
    """
    task = asyncio.create_task(
        dispatcher.start_polling(
            bot,
            handle_signals=False,
            close_bot_session=False,
            **kwargs,
        )
    )
    try:
        await _first_poll(fake, task)
        yield task
    finally:
        if not task.done():
            with contextlib.suppress(RuntimeError):
                await dispatcher.stop_polling()
        await task


@contextlib.asynccontextmanager
async def ptb_polling(app: Application[Any, Any, Any, Any, Any, Any]) -> AsyncIterator[None]:
    """Initialise ``app``, start its updater polling and the application, and stop both."""
    async with app:
        assert app.updater is not None, "build the application with an updater"
        await app.updater.start_polling(poll_interval=0.0)
        await app.start()
        try:
            yield
        finally:
            if app.updater.running:
                await app.updater.stop()
            await app.stop()


async def _first_poll(fake: FakeBotApi, task: asyncio.Task[None]) -> None:
    waiter = asyncio.create_task(fake.wait_polling())
    done, _ = await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        await task
        raise RuntimeError("polling ended before its first getUpdates")
    await waiter


# --- pytest fixtures -------------------------------------------------------------------------

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def forbid_non_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse name lookups of anything but loopback, so no test can reach Telegram."""
    real_getaddrinfo = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in _LOOPBACK:
            raise OSError(f"test tried to resolve {name!r}; only 127.0.0.1 is allowed")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_non_loopback(monkeypatch)


@pytest_asyncio.fixture
async def fake_botapi() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as api:
        yield api
    assert not api.server_errors, f"the fake Bot API itself failed: {api.server_errors!r}"


@pytest_asyncio.fixture
async def aiogram_bot(fake_botapi: FakeBotApi) -> AsyncIterator[Bot]:
    bot = make_aiogram_bot(fake_botapi)
    try:
        yield bot
    finally:
        await bot.session.close()


@pytest_asyncio.fixture
async def ptb_bot(fake_botapi: FakeBotApi) -> AsyncIterator[telegram.Bot]:
    async with make_ptb_bot(fake_botapi) as bot:
        yield bot
