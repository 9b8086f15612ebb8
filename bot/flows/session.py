"""Typed conversation state per user, stored as JSON in the StateStore."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

log = logging.getLogger(__name__)

SCHEMA = 1
T = TypeVar("T")

# FAQ topics a user's votes are remembered for; older votes may be cast again.
MAX_FAQ_VOTES = 100


@dataclass
class RegistrationState:
    field: str = ""  # the registration field being asked
    editing: bool = False  # return to the summary after this field
    doc_kind: str = ""  # which document the next upload is


@dataclass
class InvitationState:
    agreement_id: int = 0
    version: int = 0
    digest: str = ""


@dataclass
class BreachState:
    agreement_id: int = 0
    reason: str = ""


@dataclass
class Session:
    flow: str = ""  # "" when no conversation is in progress
    step: str = ""
    seq: int = 0  # nonce of the latest card with action buttons
    registration: RegistrationState = field(default_factory=RegistrationState)
    invitation: InvitationState = field(default_factory=InvitationState)
    breach: BreachState = field(default_factory=BreachState)
    faq_votes: list[str] = field(default_factory=list)  # topics voted on, oldest first
    used: list[int] = field(default_factory=list)  # nonces of cards already acted on

    @property
    def idle(self) -> bool:
        return not self.flow

    def enter(self, flow: str, step: str) -> None:
        self.flow, self.step = flow, step

    def leave(self) -> None:
        self.flow, self.step = "", ""
        self.invitation = InvitationState()
        self.breach = BreachState()

    def next_seq(self) -> int:
        self.seq = (self.seq + 1) % 1_000_000
        return self.seq

    def use(self, seq: int) -> None:
        self.used = [*self.used[-19:], seq]

    def has_voted(self, topic_id: str) -> bool:
        return topic_id in self.faq_votes

    def vote(self, topic_id: str) -> None:
        self.faq_votes = [*self.faq_votes[-(MAX_FAQ_VOTES - 1) :], topic_id]

    def to_dict(self) -> dict[str, object]:
        return {"schema": SCHEMA, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, object] | None) -> Session:
        if not data or data.get("schema") != SCHEMA:
            return cls()
        votes: list[object] = data.get("faq_votes", [])  # type: ignore[assignment]
        try:
            return cls(
                flow=str(data.get("flow", "")),
                step=str(data.get("step", "")),
                seq=int(data.get("seq", 0)),  # type: ignore[call-overload]
                registration=_load(RegistrationState, data.get("registration")),
                invitation=_load(InvitationState, data.get("invitation")),
                breach=_load(BreachState, data.get("breach")),
                faq_votes=[str(x) for x in votes][-MAX_FAQ_VOTES:],
                used=[int(x) for x in data.get("used", [])],  # type: ignore[attr-defined]
            )
        except (TypeError, ValueError):
            log.warning("discarded unreadable conversation state")
            return cls()


def _load(kind: type[T], raw: Any) -> T:
    if not isinstance(raw, dict):
        return kind()
    names = {f.name for f in fields(kind)}  # type: ignore[arg-type]
    return kind(**{k: v for k, v in raw.items() if k in names})
