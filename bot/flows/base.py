"""What every flow works with: its dependencies, the event in hand, and reply helpers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.faq import FaqService
from bot.flows.session import Session
from bot.flows.types import Answer, Button, Event, Reply
from core.domain.actors import Actor
from core.domain.errors import NotRegistered
from core.service import AgreementService
from core.views import GraduateView

Rows = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Deps:
    service: AgreementService
    faq: FaqService
    channel: str = "telegram"


@dataclass
class Ctx:
    """One event being handled: who sent it and their conversation state."""

    event: Event
    session: Session
    graduate: GraduateView | None
    channel: str

    @property
    def actor(self) -> Actor:
        if self.graduate is None:
            raise NotRegistered()
        return Actor.graduate(self.graduate.id, self.channel)


def say(text: str, buttons: Rows = (), *, edit: bool = False, toast: str = "") -> Answer:
    return Answer((Reply(text, buttons, edit=edit),), toast=toast)


def join(*answers: Answer) -> Answer:
    replies = tuple(r for a in answers for r in a.replies)
    toast = next((a.toast for a in answers if a.toast), "")
    return Answer(replies, toast=toast, alert=any(a.alert for a in answers))


def notice(text: str) -> Answer:
    """A short answer to a button press: shown as a popup and as a message."""
    return Answer((Reply(text),), toast=text)


def rows(buttons: Iterable[Button], width: int = 2) -> Rows:
    items = list(buttons)
    return tuple(tuple(items[i : i + width]) for i in range(0, len(items), width))


def row(*buttons: Button) -> tuple[Button, ...]:
    return tuple(buttons)


def parse_ints(parts: Sequence[str]) -> tuple[int, ...] | None:
    """Integers from callback data; None for anything forged or malformed."""
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        return None
    if any(v < 0 or v > 2**31 for v in values):
        return None
    return values
