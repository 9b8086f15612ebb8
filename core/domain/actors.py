"""Who is acting, and through which channel: every service call names one."""

from __future__ import annotations

from dataclasses import dataclass

from core.domain.states import ActorKind


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: int | None
    channel: str

    @classmethod
    def graduate(cls, graduate_id: int, channel: str = "telegram") -> Actor:
        return cls(ActorKind.GRADUATE, graduate_id, channel)

    @classmethod
    def employer(cls, employer_id: int, channel: str = "cli") -> Actor:
        return cls(ActorKind.EMPLOYER, employer_id, channel)

    @classmethod
    def university(cls, university_id: int, channel: str = "cli") -> Actor:
        return cls(ActorKind.UNIVERSITY, university_id, channel)

    @classmethod
    def system(cls, channel: str = "scheduler") -> Actor:
        return cls(ActorKind.SYSTEM, None, channel)
