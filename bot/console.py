"""A terminal transport: chat with the flows in a console, buttons shown numbered.

Typing a button's number (one or two digits) or its label presses it; ``/upload PATH``
sends a file; ``/quit``, end of input or Ctrl-C ends the session at once. Telegram HTML is
rendered as plain text. The console is also the ``Notifier`` of pushes, which are printed as
they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import mimetypes
import os
import re
import signal
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterator
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
OTHER_USER_RETRY_S = 600.0
# Only a short number presses a button: a typed six-digit code like 000001 is text.
BUTTON_NUMBER = re.compile(r"\d{1,2}")


def plain(text: str) -> str:
    """Telegram HTML as a terminal shows it: tags dropped, entities decoded."""
    return html.unescape(TAG.sub("", text))


class Console:
    def __init__(self, conversation: Conversation, *, user_id: int, out: TextIO) -> None:
        self._conversation = conversation
        self._user_id = user_id
        self._out = out
        self._buttons: list[Button] = []  # the latest message's, numbered from 1
        self._rows: tuple[tuple[Button, ...], ...] = ()
        self._recent: list[list[Button]] = []  # earlier messages', still pressable by label
        self._updates = count(1)
        self._messages = count(1)
        self._last_message: int | None = None
        self._ended = False

    # ------------------------------------------------------------------ Notifier

    async def push(self, chat_id: int, reply: Reply) -> Delivery:
        if chat_id != self._user_id or self._ended:
            # Not printed after the goodbye: the push waits for the next console session.
            # Another console user's push (the demo graduate's, say) waits until they are here.
            return Delivery(DeliveryStatus.DEFERRED, retry_after_s=OTHER_USER_RETRY_S)
        self._write(t.CONSOLE_PUSH)
        self._show(reply)
        return Delivery(DeliveryStatus.SENT)

    # ------------------------------------------------------------------ the loop

    async def run(self, stream: TextIO, *, greet: bool = True) -> None:
        """Chat until ``/quit``, end of input or Ctrl-C."""
        self._write(t.CONSOLE_INTRO)
        stop = asyncio.Event()
        with _on_interrupt(stop.set):
            if greet:
                await self._handle(self._event(EventKind.COMMAND, command="start", text="/start"))
            async for line in _until(stop, _lines(stream)):
                text = line.strip()
                if not text:
                    self._write(t.CONSOLE_EMPTY)
                    continue
                if text.lower() in QUIT:
                    break
                event = await self._event_for(text)
                if event is not None:
                    await self._handle(event)
        self._ended = True
        self._write(t.CONSOLE_BYE)

    async def _event_for(self, text: str) -> Event | None:
        digits = unicodedata.normalize("NFKC", text)
        if BUTTON_NUMBER.fullmatch(digits) and self._buttons:
            number = int(digits)
            if not 1 <= number <= len(self._buttons):
                self._write(t.CONSOLE_NO_SUCH_BUTTON.format(count=len(self._buttons)))
                self._show_buttons()
                return None
            return self._press(self._buttons[number - 1])
        button = self._labelled(text)
        if button is not None:
            return self._press(button)
        if text == "/upload" or text.startswith("/upload "):
            return self._upload(text.removeprefix("/upload").strip())
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            command = name.split("@", 1)[0].lower()
            return self._event(EventKind.COMMAND, command=command, args=args.strip(), text=text)
        return self._event(EventKind.TEXT, text=text)

    def _press(self, button: Button) -> Event | None:
        if button.url:
            self._write(button.url)
            return None
        return self._event(
            EventKind.CALLBACK, callback_data=button.data, message_id=self._last_message
        )

    def _labelled(self, text: str) -> Button | None:
        for buttons in reversed(self._recent):
            for button in buttons:
                if button.text == text:
                    return button
        return None

    def _upload(self, raw_path: str) -> Event | None:
        if not raw_path:
            self._write(t.CONSOLE_UPLOAD_USAGE)
            return None
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
        self._rows = reply.buttons
        # A push may arrive between two lines: labels of earlier messages stay pressable.
        self._recent = [*self._recent[-9:], self._buttons]
        self._show_buttons()

    def _show_buttons(self) -> None:
        number = 1
        for line in self._rows:
            cells = []
            for button in line:
                cells.append(f"[{number}] {button.text}")
                number += 1
            self._write("  ".join(cells))

    def _write(self, text: str) -> None:
        print(text, file=self._out, flush=True)
        print(file=self._out, flush=True)


async def _lines(stream: TextIO) -> AsyncIterator[str]:
    """Lines typed while the loop stays free for pushes; ends at end of input."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    fd = _watch(stream, chunks.put_nowait)
    if fd is None:
        # A file or an in-memory stream: reading never waits for a person.
        while line := await asyncio.to_thread(stream.readline):
            yield line
        return
    # A terminal or a pipe is watched by the loop rather than read in a thread: a thread
    # blocked in readline would keep the process alive after Ctrl-C until the next Enter.
    try:
        pending = b""
        while chunk := await chunks.get():
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                yield raw.decode(errors="replace") + "\n"
        if pending:
            yield pending.decode(errors="replace")
    finally:
        loop.remove_reader(fd)


def _watch(stream: TextIO, on_chunk: Callable[[bytes], None]) -> int | None:
    """Have the loop pass each chunk of the stream's input to ``on_chunk``; None if it cannot.

    An empty chunk means end of input.
    """
    try:
        fd = stream.fileno()
        asyncio.get_running_loop().add_reader(fd, lambda: on_chunk(os.read(fd, 65536)))
    except (AttributeError, OSError, ValueError, NotImplementedError):
        return None  # in-memory streams, regular files (epoll refuses them), other loops
    return fd


async def _until(stop: asyncio.Event, lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The lines, until ``stop`` is set: then at once, even while a line is awaited."""
    stopped = asyncio.ensure_future(stop.wait())
    try:
        while True:
            following = asyncio.ensure_future(anext(lines))
            await asyncio.wait((following, stopped), return_when=asyncio.FIRST_COMPLETED)
            if stopped.done():
                following.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await following
                return
            try:
                yield following.result()
            except StopAsyncIteration:
                return
    finally:
        stopped.cancel()
        await lines.aclose()  # type: ignore[attr-defined]


@contextlib.contextmanager
def _on_interrupt(callback: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C calls ``callback`` instead of raising, while the block runs."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, callback)
    except (NotImplementedError, RuntimeError, ValueError):
        yield  # not the main thread or no signals here: Ctrl-C raises as usual
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
