"""A terminal transport: chat with the flows in a console, buttons shown numbered.

Typing a button's number or its label presses it; ``/upload PATH`` sends a file; ``/quit``
or end of input ends the session. Telegram HTML is rendered as plain text. The console is
also the ``Notifier`` of pushes, which are printed as they arrive.
"""

from __future__ import annotations

import asyncio
import html
import logging
import mimetypes
import re
from collections.abc import AsyncIterator
from itertools import count
from pathlib import Path
from typing import TextIO

from bot.flows.types import (
    Answer,
    Button,
    Conversation,
    Delivery,
    DeliveryStatus,
    Event,
    EventKind,
    Reply,
    Upload,
)
from bot.texts import flows as t

log = logging.getLogger(__name__)

TAG = re.compile(r"<[^>]+>")
QUIT = ("/quit", "/exit")


def plain(text: str) -> str:
    """Telegram HTML as a terminal shows it: tags dropped, entities decoded."""
    return html.unescape(TAG.sub("", text))


class Console:
    def __init__(self, conversation: Conversation, *, user_id: int, out: TextIO) -> None:
        self._conversation = conversation
        self._user_id = user_id
        self._out = out
        self._buttons: list[Button] = []  # the latest message's, numbered from 1
        self._recent: list[list[Button]] = []  # earlier messages', still pressable by label
        self._updates = count(1)
        self._messages = count(1)
        self._last_message: int | None = None

    # ------------------------------------------------------------------ Notifier

    async def push(self, chat_id: int, reply: Reply) -> Delivery:
        self._write(t.CONSOLE_PUSH)
        self._show(reply)
        return Delivery(DeliveryStatus.SENT)

    # ------------------------------------------------------------------ the loop

    async def run(self, stream: TextIO, *, greet: bool = True) -> None:
        """Chat until ``/quit`` or end of input."""
        self._write(t.CONSOLE_INTRO)
        if greet:
            await self._handle(self._event(EventKind.COMMAND, command="start", text="/start"))
        async for line in _lines(stream):
            text = line.strip()
            if not text:
                continue
            if text.lower() in QUIT:
                break
            event = await self._event_for(text)
            if event is not None:
                await self._handle(event)
        self._write(t.CONSOLE_BYE)

    async def _event_for(self, text: str) -> Event | None:
        button = self._pressed(text)
        if button is not None:
            if button.url:
                self._write(button.url)
                return None
            return self._event(
                EventKind.CALLBACK, callback_data=button.data, message_id=self._last_message
            )
        if text.startswith("/upload"):
            return self._upload(text.removeprefix("/upload").strip())
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            command = name.split("@", 1)[0].lower()
            return self._event(EventKind.COMMAND, command=command, args=args.strip(), text=text)
        return self._event(EventKind.TEXT, text=text)

    def _pressed(self, text: str) -> Button | None:
        if text.isdigit() and 1 <= int(text) <= len(self._buttons):
            return self._buttons[int(text) - 1]
        for buttons in reversed(self._recent):
            for button in buttons:
                if button.text == text:
                    return button
        return None

    def _upload(self, raw_path: str) -> Event | None:
        path = Path(raw_path).expanduser()
        if not path.is_file():
            self._write(t.CONSOLE_NO_FILE.format(path=raw_path))
            return None
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"

        async def fetch() -> bytes:
            return await asyncio.to_thread(path.read_bytes)

        upload = Upload(path.name, content_type, path.stat().st_size, fetch)
        kind = EventKind.PHOTO if content_type.startswith("image/") else EventKind.DOCUMENT
        return self._event(kind, upload=upload)

    def _event(self, kind: EventKind, **fields: object) -> Event:
        return Event(
            kind=kind,
            user_id=self._user_id,
            chat_id=self._user_id,
            update_id=next(self._updates),
            **fields,  # type: ignore[arg-type]
        )

    async def _handle(self, event: Event) -> None:
        answer: Answer = await self._conversation.handle(event)
        if answer.toast and not any(answer.toast in r.text for r in answer.replies):
            self._write(t.CONSOLE_TOAST.format(text=answer.toast))
        for reply in answer.replies:
            if reply.edit:
                self._write(t.CONSOLE_EDITED)
            self._show(reply)

    # ------------------------------------------------------------------ output

    def _show(self, reply: Reply) -> None:
        self._last_message = next(self._messages)
        self._write(plain(reply.text))
        if reply.attachment is not None:
            self._write(f"[附件] {reply.attachment.file_name}")
        if not reply.buttons:
            return
        self._buttons = [b for line in reply.buttons for b in line]
        # A push may arrive between two lines: labels of earlier messages stay pressable.
        self._recent = [*self._recent[-9:], self._buttons]
        number = 1
        for line in reply.buttons:
            cells = []
            for button in line:
                cells.append(f"[{number}] {button.text}")
                number += 1
            self._write("  ".join(cells))

    def _write(self, text: str) -> None:
        print(text, file=self._out, flush=True)
        print(file=self._out, flush=True)


async def _lines(stream: TextIO) -> AsyncIterator[str]:
    # A thread per line keeps the loop free for pushes while the user types; works on pipes.
    while True:
        line = await asyncio.to_thread(stream.readline)
        if not line:
            return
        yield line
