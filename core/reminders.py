"""Reminders before deadlines and the durable queue of pushes to graduates.

Reminders are derived from the data, never from timers in memory. A planner pass reads every
open deadline close enough to need a reminder (the same four sources as
``AgreementService._open_deadlines``) and writes one ``PlannedReminder`` row per deadline
time and offset; the unique (key, time, offset) makes that table the ledger, so a reminder
is planned once and sent at most once. A revised deadline is a new time, so it gets new rows
and the old ones are voided when claimed. Whether to send is decided again when a row is
claimed, against the live data: a closed step, a moved deadline, a mute, reminders switched
off or an unreachable graduate all turn the row into ``skipped``.

Event pushes are the ``outbox`` rows the service writes in the transaction of each change;
both queues are claimed the same way.

Once-only, and which side it errs on: a worker claims rows with a lease (``claimed_by``,
``claimed_until``) in a committed transaction, sends, then marks the row sent. Telegram's
send cannot join our transaction, so a crash after a send and before its mark leaves the row
leased; when the lease runs out another pass sends it again. The design therefore errs on
the side of a duplicate, at most one per message that was in flight at the crash, and never
loses a reminder: a missed deadline costs a graduate far more than a second reminder does.
Marking before sending would turn that duplicate into a silent loss.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, cast, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Select

from core.domain.states import AgreementState, RegistrationStatus
from core.storage.models import (
    Agreement,
    DeadlineMute,
    Employer,
    Graduate,
    OutboxMessage,
    TelegramBinding,
    University,
)
from core.storage.reminder_models import PlannedReminder

log = logging.getLogger(__name__)

BEIJING = ZoneInfo("Asia/Shanghai")
DEFAULT_OFFSETS = (timedelta(hours=72), timedelta(hours=24), timedelta(hours=2))

PENDING = "pending"
SENT = "sent"
SKIPPED = "skipped"
FAILED = "failed"
BLOCKED = "blocked"


# ---------------------------------------------------------------------------- schedule


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A nightly window, in local time, when no reminder goes out.

    A reminder that falls inside it moves to the window's end, unless the deadline itself
    comes before that end: then it moves to ``lead`` before the window starts.
    """

    start: time = time(22, 0)
    end: time = time(8, 0)
    zone: ZoneInfo = BEIJING
    lead: timedelta = timedelta(minutes=30)

    @classmethod
    def parse(cls, text: str, zone: str = "Asia/Shanghai") -> QuietHours:
        """``"22:00-08:00"``; an empty string or ``"off"`` means no quiet hours."""
        if text.strip().lower() in ("", "off", "none"):
            return cls(time(0, 0), time(0, 0), ZoneInfo(zone))
        try:
            first, second = (part.strip() for part in text.split("-"))
            return cls(time.fromisoformat(first), time.fromisoformat(second), ZoneInfo(zone))
        except ValueError:
            raise ValueError(f"quiet hours must look like 22:00-08:00, not {text!r}") from None

    def window(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The quiet window containing ``at`` as (start, end) in UTC, or None."""
        if self.start == self.end:
            return None
        local = at.astimezone(self.zone)
        day = local.date()
        for start_day in (day - timedelta(days=1), day):
            start = datetime.combine(start_day, self.start, self.zone)
            end_day = start_day if self.end > self.start else start_day + timedelta(days=1)
            end = datetime.combine(end_day, self.end, self.zone)
            if start <= local < end:
                return start.astimezone(at.tzinfo), end.astimezone(at.tzinfo)
        return None

    def fire_time(self, deadline: datetime, offset: timedelta) -> datetime:
        """When the reminder ``offset`` before ``deadline`` goes out."""
        raw = deadline - offset
        quiet = self.window(raw)
        if quiet is None:
            return raw
        start, end = quiet
        if deadline < end:
            # Waiting for the morning would be too late: go the evening before.
            return start - self.lead
        return end


@dataclass(frozen=True, slots=True)
class Schedule:
    offsets: tuple[timedelta, ...] = DEFAULT_OFFSETS
    quiet: QuietHours = field(default_factory=QuietHours)

    def __post_init__(self) -> None:
        if not self.offsets or any(o <= timedelta(0) for o in self.offsets):
            raise ValueError("reminder offsets must be positive")

    @property
    def horizon(self) -> timedelta:
        # A quiet shift brings a reminder at most a whole night forward; plan that far ahead.
        return max(self.offsets) + timedelta(hours=24)

    def plan(
        self, deadline: datetime, set_at: datetime | None, now: datetime
    ) -> list[tuple[int, datetime, str | None]]:
        """(offset minutes, due time, skip reason or None) for each offset of one deadline.

        An offset whose time had passed when the deadline was set is skipped: the push that
        announced the deadline said it already. Of the offsets already due now, only the
        nearest to the deadline is kept, so a late worker sends one catch-up, not three.
        """
        rows: list[tuple[int, datetime, str | None]] = []
        due_now: list[int] = []
        for offset in sorted(set(self.offsets), reverse=True):
            minutes = int(offset.total_seconds() // 60)
            fire = self.quiet.fire_time(deadline, offset)
            if fire >= deadline:
                rows.append((minutes, fire, "too_late"))
            elif set_at is not None and fire < set_at:
                rows.append((minutes, fire, "set_late"))
            else:
                rows.append((minutes, fire, None))
                if fire <= now:
                    due_now.append(minutes)
        keep = min(due_now) if due_now else None
        return [
            (m, fire, "superseded" if reason is None and m in due_now and m != keep else reason)
            for m, fire, reason in rows
        ]


# ---------------------------------------------------------------------------- deadlines


@dataclass(frozen=True, slots=True)
class OpenDeadline:
    key: str
    step: str  # respond, seal, termination, registration
    at: datetime
    graduate_id: int
    agreement_id: int | None
    set_at: datetime | None


def _key(prefix: str, column: Any) -> Any:
    return (literal(prefix, String) + cast(column, String)).label("key")


def _sources(
    lo: datetime | None,
    hi: datetime | None,
    *,
    agreement_ids: Sequence[int] | None = None,
    graduate_ids: Sequence[int] | None = None,
) -> list[tuple[str, Select[Any]]]:
    """One query per kind of deadline: (step, select of key, at, graduate, agreement, set_at).

    The rules match ``AgreementService._open_deadlines``, which serves one graduate; these
    serve many at once, by deadline range or by id.
    """
    agreement_steps = (
        ("respond", AgreementState.INVITED, Agreement.respond_by, Agreement.updated_at),
        ("seal", AgreementState.GRADUATE_SIGNED, Agreement.seal_by, Agreement.signed_at),
        (
            "termination",
            AgreementState.TERMINATION_REQUESTED,
            Agreement.termination_respond_by,
            Agreement.termination_requested_at,
        ),
    )
    out: list[tuple[str, Select[Any]]] = []
    for step, state, at, set_at in agreement_steps:
        q = select(
            _key(f"{step}:", Agreement.id),
            at.label("at"),
            Agreement.graduate_id.label("graduate_id"),
            Agreement.id.label("agreement_id"),
            set_at.label("set_at"),
        ).where(Agreement.state == state.value, at.is_not(None))
        if lo is not None:
            q = q.where(at > lo)
        if hi is not None:
            q = q.where(at <= hi)
        if agreement_ids is not None:
            q = q.where(Agreement.id.in_(agreement_ids))
        out.append((step, q))
    at = University.registration_deadline
    q = (
        select(
            _key("registration:", Graduate.id),
            at.label("at"),
            Graduate.id.label("graduate_id"),
            literal(None, Integer).label("agreement_id"),
            func.coalesce(Graduate.reviewed_at, Graduate.created_at).label("set_at"),
        )
        .join(University, University.id == Graduate.university_id)
        .where(
            Graduate.status.in_(
                [RegistrationStatus.DRAFT.value, RegistrationStatus.REJECTED.value]
            ),
            at.is_not(None),
        )
    )
    if lo is not None:
        q = q.where(at > lo)
    if hi is not None:
        q = q.where(at <= hi)
    if graduate_ids is not None:
        q = q.where(Graduate.id.in_(graduate_ids))
    out.append(("registration", q))
    return out


def _deadline(step: str, row: Any) -> OpenDeadline:
    return OpenDeadline(row.key, step, row.at, row.graduate_id, row.agreement_id, row.set_at)


# ---------------------------------------------------------------------------- planner


# Missing: quiet-hour placement runs in Python, so a first pass over 1,000,000 deadlines
# takes seconds; a set-based INSERT ... SELECT per dialect would remove that.
async def plan_reminders(
    sessions: async_sessionmaker[AsyncSession],
    schedule: Schedule,
    now: datetime,
    *,
    chunk: int = 2000,
) -> int:
    """Write the reminder rows of every open deadline within the planning horizon.

    Idempotent and safe to run in several workers at once: a row that exists is left alone.
    Returns the number of deadlines newly planned.
    """
    hi = now + schedule.horizon
    planned = 0
    for step, base in _sources(now, hi):
        at = base.selected_columns.at
        # Deadlines with no row for their current time yet; the unique index answers this.
        # Walk the range in deadline order so each chunk starts where the last one ended.
        q = (
            base.where(
                ~exists().where(
                    PlannedReminder.deadline_key == base.selected_columns.key,
                    PlannedReminder.deadline_at == at,
                )
            )
            .order_by(at)
            .limit(chunk)
        )
        cursor = now
        while True:
            async with sessions() as s, s.begin():
                rows = (await s.execute(q.where(at >= cursor))).all()
                found = [_deadline(step, row) for row in rows]
                if found:
                    await _insert_plans(s, schedule, found, now)
            planned += len(found)
            if len(found) < chunk:
                break
            cursor = found[-1].at
    if planned:
        log.info("planned reminders for %d deadlines", planned)
    return planned


async def _insert_plans(
    s: AsyncSession, schedule: Schedule, deadlines: Iterable[OpenDeadline], now: datetime
) -> None:
    values = []
    for d in deadlines:
        for minutes, fire, reason in schedule.plan(d.at, d.set_at, now):
            values.append(
                {
                    "deadline_key": d.key,
                    "deadline_at": d.at,
                    "offset_minutes": minutes,
                    "graduate_id": d.graduate_id,
                    "agreement_id": d.agreement_id,
                    "status": SKIPPED if reason else PENDING,
                    "due_at": fire,
                    "attempts": 0,
                    "last_error": reason,
                    "created_at": now,
                }
            )
    dialect = s.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # The table, not the mapped class: Core's executemany sends many rows per statement,
    # where the ORM bulk path with ON CONFLICT went a few rows at a time (12 s for 44,000).
    stmt = insert(PlannedReminder.__table__).on_conflict_do_nothing(
        index_elements=["deadline_key", "deadline_at", "offset_minutes"]
    )
    await s.execute(stmt, values)


# ---------------------------------------------------------------------------- claiming


Queue = type[PlannedReminder] | type[OutboxMessage]


@dataclass(frozen=True, slots=True)
class Claimed:
    """A queue row leased to one worker."""

    queue: str  # "reminder" or "event"
    id: int
    graduate_id: int
    kind: str  # "reminder" or the outbox kind
    due_at: datetime
    attempts: int
    deadline_key: str = ""
    deadline_at: datetime | None = None
    offset_minutes: int = 0
    agreement_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def _model(queue: str) -> Queue:
    return PlannedReminder if queue == "reminder" else OutboxMessage


async def claim(
    sessions: async_sessionmaker[AsyncSession],
    queue: str,
    worker: str,
    now: datetime,
    *,
    lease: timedelta,
    limit: int,
) -> list[Claimed]:
    """Lease up to ``limit`` due rows of one queue to ``worker``, soonest first.

    On PostgreSQL the rows are locked ``FOR UPDATE SKIP LOCKED`` while the lease is written,
    so concurrent workers take disjoint rows without waiting on each other; on SQLite the
    write lock taken at BEGIN serialises claims.
    """
    model = _model(queue)
    due = (
        select(model.id)
        .where(
            model.status == PENDING,
            model.due_at <= now,
            or_(model.claimed_until.is_(None), model.claimed_until < now),
        )
        .order_by(model.due_at, model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if queue == "reminder":
        columns: tuple[Any, ...] = (
            PlannedReminder.deadline_key,
            PlannedReminder.deadline_at,
            PlannedReminder.offset_minutes,
            PlannedReminder.agreement_id,
        )
    else:
        columns = (OutboxMessage.kind, OutboxMessage.payload)
    # One statement finds, locks and leases the batch: one round trip, no ORM objects.
    stmt = (
        update(model)
        .where(model.id.in_(due.scalar_subquery()))
        .values(claimed_by=worker, claimed_until=now + lease)
        .returning(model.id, model.graduate_id, model.due_at, model.attempts, *columns)
    )
    async with sessions() as s, s.begin():
        rows = sorted((await s.execute(stmt)).all(), key=lambda row: (row.due_at, row.id))
    if queue == "reminder":
        return [
            Claimed(
                "reminder",
                row.id,
                row.graduate_id,
                "reminder",
                row.due_at,
                row.attempts,
                deadline_key=row.deadline_key,
                deadline_at=row.deadline_at,
                offset_minutes=row.offset_minutes,
                agreement_id=row.agreement_id,
            )
            for row in rows
        ]
    return [
        Claimed(
            "event",
            row.id,
            row.graduate_id,
            row.kind,
            row.due_at,
            row.attempts,
            agreement_id=_int(row.payload.get("agreement_id")),
            payload=dict(row.payload),
        )
        for row in rows
    ]


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


# ---------------------------------------------------------------------------- preparing


@dataclass(frozen=True, slots=True)
class Notice:
    """What to tell one graduate: rendered by the bot's catalogue, sent by a notifier."""

    kind: str  # "reminder" or an outbox kind
    chat_id: int
    step: str = ""
    deadline_at: datetime | None = None
    agreement_id: int | None = None
    employer_name: str = ""
    registration_status: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Verdict:
    """For one claimed row: a notice to send, a time to postpone to, or a reason to skip."""

    item: Claimed
    notice: Notice | None = None
    postpone_to: datetime | None = None
    skip: str = ""


async def prepare(
    sessions: async_sessionmaker[AsyncSession],
    items: Sequence[Claimed],
    schedule: Schedule,
    now: datetime,
) -> list[Verdict]:
    """Decide, against the live data, what each claimed row becomes."""
    if not items:
        return []
    graduate_ids = sorted({i.graduate_id for i in items})
    reminders = [i for i in items if i.queue == "reminder"]
    keys = sorted({i.deadline_key for i in reminders})
    async with sessions() as s:
        flags = {
            row.id: row
            for row in await s.execute(
                select(
                    Graduate.id,
                    Graduate.reminders_enabled,
                    Graduate.unreachable_at,
                    Graduate.status,
                ).where(Graduate.id.in_(graduate_ids))
            )
        }
        chats = dict(
            (
                await s.execute(
                    select(TelegramBinding.graduate_id, TelegramBinding.chat_id).where(
                        TelegramBinding.graduate_id.in_(graduate_ids)
                    )
                )
            ).all()
        )
        agreement_ids = sorted({i.agreement_id for i in items if i.agreement_id is not None})
        agreements = {
            row.id: row
            for row in await s.execute(
                select(Agreement.id, Employer.name, Agreement.respond_by)
                .join(Employer, Employer.id == Agreement.employer_id)
                .where(Agreement.id.in_(agreement_ids))
            )
        }
        live = await _live_deadlines(s, reminders, now) if reminders else {}
        muted = set()
        nearer: set[tuple[str, datetime, int]] = set()
        if keys:
            muted = {
                (row.graduate_id, row.deadline_key)
                for row in await s.execute(
                    select(DeadlineMute.graduate_id, DeadlineMute.deadline_key).where(
                        DeadlineMute.deadline_key.in_(keys)
                    )
                )
            }
            # Rows of the same deadline, due now, at a nearer offset: they supersede.
            nearer = {
                (row.deadline_key, row.deadline_at, row.offset_minutes)
                for row in await s.execute(
                    select(
                        PlannedReminder.deadline_key,
                        PlannedReminder.deadline_at,
                        PlannedReminder.offset_minutes,
                    ).where(
                        PlannedReminder.deadline_key.in_(keys),
                        PlannedReminder.status.in_([PENDING, SENT]),
                        PlannedReminder.due_at <= now,
                    )
                )
            }
    verdicts: list[Verdict] = []
    for item in items:
        g = flags.get(item.graduate_id)
        chat = chats.get(item.graduate_id)
        if g is None or chat is None:
            verdicts.append(Verdict(item, skip="no_chat"))
            continue
        if g.unreachable_at is not None:
            verdicts.append(Verdict(item, skip="unreachable"))
            continue
        if item.queue == "event":
            a = agreements.get(item.agreement_id) if item.agreement_id is not None else None
            notice = Notice(
                item.kind,
                chat,
                deadline_at=a.respond_by if a is not None else None,
                agreement_id=item.agreement_id,
                employer_name=a.name if a is not None else "",
                registration_status=g.status,
                payload=item.payload,
            )
            verdicts.append(Verdict(item, notice))
            continue
        d = live.get(item.deadline_key)
        if d is None or d.at <= now:
            verdicts.append(Verdict(item, skip="closed"))
        elif d.at != item.deadline_at:
            verdicts.append(Verdict(item, skip="moved"))
        elif not g.reminders_enabled:
            verdicts.append(Verdict(item, skip="disabled"))
        elif (item.graduate_id, item.deadline_key) in muted:
            verdicts.append(Verdict(item, skip="muted"))
        elif any(
            key == item.deadline_key and at == item.deadline_at and m < item.offset_minutes
            for key, at, m in nearer
        ):
            verdicts.append(Verdict(item, skip="superseded"))
        elif (quiet := schedule.quiet.window(now)) is not None and d.at >= quiet[1]:
            # Claimed late, inside the night: the morning is still early enough.
            verdicts.append(Verdict(item, postpone_to=quiet[1]))
        else:
            notice = Notice(
                "reminder",
                chat,
                step=d.step,
                deadline_at=d.at,
                agreement_id=d.agreement_id,
                employer_name=agreements[d.agreement_id].name if d.agreement_id else "",
                registration_status=g.status,
            )
            verdicts.append(Verdict(item, notice))
    return verdicts


async def _live_deadlines(
    s: AsyncSession, items: Sequence[Claimed], now: datetime
) -> dict[str, OpenDeadline]:
    agreement_ids = sorted({i.agreement_id for i in items if i.agreement_id is not None})
    graduate_ids = sorted(
        {i.graduate_id for i in items if i.deadline_key.startswith("registration:")}
    )
    found: dict[str, OpenDeadline] = {}
    for step, q in _sources(None, None, agreement_ids=agreement_ids, graduate_ids=graduate_ids):
        for row in await s.execute(q):
            found[row.key] = _deadline(step, row)
    return found


# ---------------------------------------------------------------------------- outcomes


async def mark_sent(
    sessions: async_sessionmaker[AsyncSession], queue: str, row_id: int, worker: str, now: datetime
) -> bool:
    """Record a send; False when the lease had passed to another worker meanwhile."""
    return (queue, row_id) in await mark_all_sent(sessions, [(queue, row_id)], worker, now)


async def mark_all_sent(
    sessions: async_sessionmaker[AsyncSession],
    sends: Sequence[tuple[str, int]],
    worker: str,
    now: datetime,
) -> set[tuple[str, int]]:
    """Record several sends, given as (queue, row id), in one transaction.

    Returns those recorded; one missing had its lease pass to another worker meanwhile.
    """
    done: set[tuple[str, int]] = set()
    if not sends:
        return done
    async with sessions() as s, s.begin():
        for queue in sorted({q for q, _ in sends}):
            model = _model(queue)
            ids = sorted(i for q, i in sends if q == queue)
            result = await s.execute(
                update(model)
                .where(model.id.in_(ids), model.claimed_by == worker, model.status == PENDING)
                .values(status=SENT, sent_at=now, claimed_until=None)
                .returning(model.id)
            )
            done.update((queue, row_id) for row_id in result.scalars())
    for queue, row_id in sends:
        if (queue, row_id) not in done:
            log.warning("%s %d was sent but its lease had passed to another worker", queue, row_id)
    return done


async def finish(
    sessions: async_sessionmaker[AsyncSession],
    outcomes: Sequence[tuple[Claimed, str, str]],
    worker: str,
) -> None:
    """Close rows for good: (item, status, reason) with status skipped, failed or blocked."""
    if not outcomes:
        return
    async with sessions() as s, s.begin():
        for item, status, reason in outcomes:
            model = _model(item.queue)
            await s.execute(
                update(model)
                .where(model.id == item.id, model.claimed_by == worker, model.status == PENDING)
                .values(status=status, claimed_until=None, last_error=reason[:300])
            )


async def release(
    sessions: async_sessionmaker[AsyncSession],
    item: Claimed,
    worker: str,
    due_at: datetime,
    *,
    failed_attempt: bool = False,
    error: str = "",
) -> None:
    """Give a row back to the queue, due again at ``due_at``."""
    model = _model(item.queue)
    values: dict[str, Any] = {"due_at": due_at, "claimed_until": None, "claimed_by": None}
    if failed_attempt:
        values["attempts"] = model.attempts + 1
        values["last_error"] = error[:300]
    async with sessions() as s, s.begin():
        await s.execute(
            update(model)
            .where(model.id == item.id, model.claimed_by == worker, model.status == PENDING)
            .values(**values)
        )


async def mark_unreachable(
    sessions: async_sessionmaker[AsyncSession], graduate_id: int, now: datetime
) -> None:
    """The graduate blocked the bot or is gone: stop sending until they write again."""
    async with sessions() as s, s.begin():
        await s.execute(
            update(Graduate)
            .where(Graduate.id == graduate_id, Graduate.unreachable_at.is_(None))
            .values(unreachable_at=now)
        )
    log.info("graduate %d marked unreachable", graduate_id)


async def mark_reachable(sessions: async_sessionmaker[AsyncSession], graduate_id: int) -> None:
    """The graduate wrote to the bot again: reminders and pushes resume."""
    async with sessions() as s, s.begin():
        await s.execute(
            update(Graduate)
            .where(Graduate.id == graduate_id, Graduate.unreachable_at.is_not(None))
            .values(unreachable_at=None)
        )


# ---------------------------------------------------------------------------- for the office


@dataclass(frozen=True, slots=True)
class UnreachableGraduate:
    graduate_id: int
    student_no: str
    name: str
    university: str
    unreachable_at: datetime
    deadline_key: str
    step: str
    deadline_at: datetime


async def unreachable_with_deadlines(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    within: timedelta,
    *,
    university: str | None = None,
) -> list[UnreachableGraduate]:
    """Graduates the bot cannot reach who have a deadline within ``within``, soonest first."""
    out: list[UnreachableGraduate] = []
    async with sessions() as s:
        for step, q in _sources(now, now + within):
            sub = q.subquery()
            stmt = (
                select(
                    Graduate.id,
                    Graduate.student_no,
                    Graduate.name,
                    University.name.label("university"),
                    Graduate.unreachable_at,
                    sub.c.key,
                    sub.c.at,
                )
                .join(sub, sub.c.graduate_id == Graduate.id)
                .outerjoin(University, University.id == Graduate.university_id)
                .where(Graduate.unreachable_at.is_not(None))
            )
            if university is not None:
                stmt = stmt.where(University.name == university)
            for row in await s.execute(stmt):
                out.append(
                    UnreachableGraduate(
                        row.id,
                        row.student_no or "",
                        row.name or "",
                        row.university or "",
                        row.unreachable_at,
                        row.key,
                        step,
                        row.at,
                    )
                )
    out.sort(key=lambda u: (u.deadline_at, u.graduate_id))
    return out
