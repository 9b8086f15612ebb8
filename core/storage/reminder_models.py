"""Tables of the reminder pipeline: the planned reminders, which double as the send ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.storage.base import Base
from core.storage.models import Agreement
from core.storage.types import UTCDateTime

TZ = UTCDateTime()


class PlannedReminder(Base):
    """One reminder about one deadline at one offset.

    The unique (deadline_key, deadline_at, offset_minutes) makes this the ledger: a reminder
    is planned, and so sent, at most once per deadline time and offset. A revised deadline
    gets new rows; the old rows are voided when the worker finds the time has moved.
    Status: pending → sent, or skipped (step closed, muted, disabled, unreachable, superseded)
    or failed (retries exhausted). A pending row with ``claimed_until`` in the future is
    leased to the worker named in ``claimed_by``.
    """

    __tablename__ = "planned_reminders"
    __table_args__ = (
        UniqueConstraint("deadline_key", "deadline_at", "offset_minutes"),
        # The due query reads only pending rows in due order: a partial index keeps it
        # small however many sent rows pile up.
        Index(
            "ix_planned_reminders_pending_due",
            "due_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_planned_reminders_graduate", "graduate_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deadline_key: Mapped[str] = mapped_column(String(60))
    deadline_at: Mapped[datetime] = mapped_column(TZ)
    offset_minutes: Mapped[int] = mapped_column(Integer)
    graduate_id: Mapped[int] = mapped_column(ForeignKey("graduates.id"))
    agreement_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    due_at: Mapped[datetime] = mapped_column(TZ)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(60))
    claimed_until: Mapped[datetime | None] = mapped_column(TZ)
    sent_at: Mapped[datetime | None] = mapped_column(TZ)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(TZ)


# The planner reads each deadline source by (state, time) range; respond_by already has its
# index in models.py, these cover the other two sources.
Index("ix_agreements_state_seal_by", Agreement.state, Agreement.seal_by)
Index(
    "ix_agreements_state_termination_respond_by",
    Agreement.state,
    Agreement.termination_respond_by,
)
