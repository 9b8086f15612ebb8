"""Turning a Telegram update into an ``Event``, the same way on every framework.

Both adapters hand over the update as the Bot API's own JSON (aiogram dumps its model by
alias, PTB calls ``to_dict``), so one mapping decides what a graduate's message means and
the frameworks cannot drift apart.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, NamedTuple

from bot.flows.types import Event, EventKind, Upload

# Update types the bot asks for; anything else Telegram does not even deliver.
ALLOWED_UPDATES = ["message", "callback_query"]

# Message fields that carry content the flows cannot use, in the order they are checked.
UNSUPPORTED_CONTENT = (
    "sticker",
    "voice",
    "video_note",
    "video",
    "animation",
    "audio",
    "location",
    "venue",
    "poll",
    "dice",
    "game",
    "story",
)

Fetcher = Callable[[str], Callable[[], Awaitable[bytes]]]


class Command(NamedTuple):
    name: str  # without the slash, lower case
    args: str
    addressed: bool  # names this bot, or no bot at all


def parse_command(text: str, bot_username: str = "") -> Command | None:
    """``/Start@bot  inv_x`` → Command("start", "inv_x", addressed); None when the text is
    not a command. A command naming a bot is ours only if it names us by our username."""
    if not text.startswith("/") or len(text) == 1:
        return None
    head, _, args = text.partition(" ")
    command, _, addressee = head[1:].partition("@")
    if not command:
        return None
    addressed = not addressee or (bool(bot_username) and addressee.lower() == bot_username.lower())
    return Command(command.lower(), args.strip(), addressed)


def event_from_update(
    update: Mapping[str, Any],
    fetcher: Fetcher,
    bot_username: str = "",
) -> Event | None:
    """The event for one update, or None for an update that carries nothing for the flows."""
    update_id = update.get("update_id")
    query = update.get("callback_query")
    if query is not None:
        return _callback_event(query, update_id)
    message = update.get("message")
    if message is None or "from" not in message:
        return None
    return _message_event(message, update_id, fetcher, bot_username)


def _callback_event(query: Mapping[str, Any], update_id: int | None) -> Event:
    user_id = int(query["from"]["id"])
    message = query.get("message") or {}
    chat = message.get("chat") or {"id": user_id, "type": "private"}
    return Event(
        kind=EventKind.CALLBACK,
        user_id=user_id,
        chat_id=int(chat["id"]),
        private=chat.get("type") == "private",
        callback_data=str(query.get("data") or ""),
        message_id=message.get("message_id"),
        update_id=update_id,
    )


def _message_event(
    message: Mapping[str, Any],
    update_id: int | None,
    fetcher: Fetcher,
    bot_username: str,
) -> Event:
    user_id = int(message["from"]["id"])
    chat = message["chat"]
    base: dict[str, Any] = {
        "user_id": user_id,
        "chat_id": int(chat["id"]),
        "private": chat.get("type") == "private",
        "update_id": update_id,
    }
    text = message.get("text")
    if text is not None:
        command = parse_command(text, bot_username)
        if command is not None:
            return Event(
                kind=EventKind.COMMAND,
                text=text,
                command=command.name,
                args=command.args,
                addressed=command.addressed,
                **base,
            )
        return Event(kind=EventKind.TEXT, text=text, **base)

    document = message.get("document")
    if document is not None:
        upload = Upload(
            file_name=str(document.get("file_name") or "document"),
            content_type=str(document.get("mime_type") or "application/octet-stream"),
            size=int(document.get("file_size") or 0),
            fetch=fetcher(str(document["file_id"])),
        )
        caption = str(message.get("caption") or "")
        return Event(kind=EventKind.DOCUMENT, upload=upload, text=caption, **base)

    photo = message.get("photo")
    if photo:
        # Telegram lists the sizes smallest first; the largest is the one worth keeping.
        largest = photo[-1]
        upload = Upload(
            file_name=f"photo_{largest.get('file_unique_id', 'image')}.jpg",
            content_type="image/jpeg",
            size=int(largest.get("file_size") or 0),
            fetch=fetcher(str(largest["file_id"])),
        )
        caption = str(message.get("caption") or "")
        return Event(kind=EventKind.PHOTO, upload=upload, text=caption, **base)

    contact = message.get("contact")
    if contact is not None:
        # Only the sender's own number counts; a forwarded card arrives without text.
        own = contact.get("user_id") == user_id
        phone = str(contact.get("phone_number") or "") if own else ""
        return Event(kind=EventKind.CONTACT, text=phone, **base)

    what = next((name for name in UNSUPPORTED_CONTENT if name in message), "other")
    return Event(kind=EventKind.UNSUPPORTED, unsupported=what, **base)


class UserTurns:
    """Runs one user's updates one after another, in arrival order, while different
    users proceed concurrently.

    ``enter`` must be called synchronously when an update arrives: it takes the user's
    place in line before any await could let a later update of the same user overtake.
    """

    def __init__(self) -> None:
        self._tails: dict[int, asyncio.Future[None]] = {}

    def enter(self, user_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        previous = self._tails.get(user_id)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[user_id] = mine
        return self._turn(user_id, previous, mine)

    @contextlib.asynccontextmanager
    async def _turn(
        self,
        user_id: int,
        previous: asyncio.Future[None] | None,
        mine: asyncio.Future[None],
    ) -> AsyncIterator[None]:
        try:
            if previous is not None:
                # Shielded: cancelling this update must not cancel the wait of the next one.
                await asyncio.shield(previous)
            yield
        finally:
            if not mine.done():
                mine.set_result(None)
            if self._tails.get(user_id) is mine:
                del self._tails[user_id]
