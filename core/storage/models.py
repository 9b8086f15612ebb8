"""Tables of the agreement service. Times are stored as UTC-aware timestamps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.domain.states import HELD_STATES
from core.storage.base import Base
from core.storage.types import UTCDateTime

TZ = UTCDateTime()
HELD_SQL = "state IN (" + ", ".join(f"'{s.value}'" for s in sorted(HELD_STATES)) + ")"


class University(Base):
    __tablename__ = "universities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    office_contact: Mapped[str] = mapped_column(String(300), default="")
    registration_deadline: Mapped[datetime | None] = mapped_column(TZ)


class Employer(Base):
    __tablename__ = "employers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    credit_check_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TZ)


class Graduate(Base):
    __tablename__ = "graduates"
    __table_args__ = (
        UniqueConstraint("university_id", "student_no"),
        # A verified phone belongs to one graduate: codes to it confirm that graduate's acts.
        Index(
            "uq_graduates_verified_phone",
            "phone",
            unique=True,
            postgresql_where=text("phone_verified"),
            sqlite_where=text("phone_verified"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    consent_at: Mapped[datetime | None] = mapped_column(TZ)
    university_id: Mapped[int | None] = mapped_column(ForeignKey("universities.id"))
    student_no: Mapped[str | None] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(60))
    # The ID number itself is kept only encrypted; the keyed hash finds duplicates.
    id_number_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    id_number_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_masked: Mapped[str | None] = mapped_column(String(18))
    phone: Mapped[str | None] = mapped_column(String(11))
    phone_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    faculty: Mapped[str | None] = mapped_column(String(60))
    major: Mapped[str | None] = mapped_column(String(60))
    education_level: Mapped[str | None] = mapped_column(String(20))
    graduation_year: Mapped[int | None] = mapped_column(Integer)
    industries: Mapped[list[str] | None] = mapped_column(JSON)
    cities: Mapped[list[str] | None] = mapped_column(JSON)
    expected_salary: Mapped[int | None] = mapped_column(Integer)
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    submitted_at: Mapped[datetime | None] = mapped_column(TZ)
    reviewed_at: Mapped[datetime | None] = mapped_column(TZ)
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    unreachable_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)


class TelegramBinding(Base):
    __tablename__ = "telegram_bindings"

    telegram_user_id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False
    )
    graduate_id: Mapped[int] = mapped_column(ForeignKey("graduates.id"), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(TZ)


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    graduate_id: Mapped[int] = mapped_column(ForeignKey("graduates.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(TZ)


class Agreement(Base):
    __tablename__ = "agreements"
    __table_args__ = (
        # The one-held-agreement rule lives in the database so concurrent signings cannot
        # both win, whatever the service code does.
        Index(
            "uq_agreements_one_held",
            "graduate_id",
            unique=True,
            postgresql_where=text(HELD_SQL),
            sqlite_where=text(HELD_SQL),
        ),
        Index("ix_agreements_state_respond_by", "state", "respond_by"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(24), unique=True)
    graduate_id: Mapped[int] = mapped_column(ForeignKey("graduates.id"), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    state: Mapped[str] = mapped_column(String(30))
    version: Mapped[int] = mapped_column(Integer, default=1)
    digest: Mapped[str] = mapped_column(String(64))
    respond_by: Mapped[datetime] = mapped_column(TZ)
    seal_by: Mapped[datetime | None] = mapped_column(TZ)
    signed_at: Mapped[datetime | None] = mapped_column(TZ)
    signed_digest: Mapped[str | None] = mapped_column(String(64))
    signed_challenge_id: Mapped[int | None] = mapped_column(Integer)
    sealed_at: Mapped[datetime | None] = mapped_column(TZ)
    filed_at: Mapped[datetime | None] = mapped_column(TZ)
    termination_from: Mapped[str | None] = mapped_column(String(30))
    termination_by: Mapped[str | None] = mapped_column(String(20))
    termination_reason: Mapped[str | None] = mapped_column(String(1000))
    termination_penalty: Mapped[int | None] = mapped_column(Integer)
    termination_requested_at: Mapped[datetime | None] = mapped_column(TZ)
    termination_respond_by: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)


class AgreementVersion(Base):
    __tablename__ = "agreement_versions"
    __table_args__ = (UniqueConstraint("agreement_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"))
    number: Mapped[int] = mapped_column(Integer)
    terms: Mapped[dict[str, object]] = mapped_column(JSON)
    canonical: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    respond_by: Mapped[datetime] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)


class ChangeRequest(Base):
    __tablename__ = "change_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(TZ)


class CodeChallenge(Base):
    __tablename__ = "code_challenges"
    __table_args__ = (Index("ix_code_challenges_graduate_created", "graduate_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    graduate_id: Mapped[int] = mapped_column(ForeignKey("graduates.id"))
    purpose: Mapped[str] = mapped_column(String(20))
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id"))
    binding: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(11))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime] = mapped_column(TZ)
    wrong_attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(TZ)
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)


class CodeFailure(Base):
    __tablename__ = "code_failures"
    __table_args__ = (Index("ix_code_failures_graduate_at", "graduate_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    graduate_id: Mapped[int] = mapped_column(ForeignKey("graduates.id"))
    challenge_id: Mapped[int] = mapped_column(ForeignKey("code_challenges.id"))
    at: Mapped[datetime] = mapped_column(TZ)


class AuditEntry(Base):
    """Append-only: the migration installs triggers that refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(TZ)
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    graduate_id: Mapped[int | None] = mapped_column(Integer, index=True)
    agreement_id: Mapped[int | None] = mapped_column(Integer, index=True)
    digest: Mapped[str | None] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    detail: Mapped[dict[str, object] | None] = mapped_column(JSON)


class OutboxMessage(Base):
    """Events for graduates, written in the transaction that caused them."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    graduate_id: Mapped[int] = mapped_column(ForeignKey("graduates.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    due_at: Mapped[datetime] = mapped_column(TZ)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(60))
    claimed_until: Mapped[datetime | None] = mapped_column(TZ)
    sent_at: Mapped[datetime | None] = mapped_column(TZ)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(TZ)


class ConversationState(Base):
    """The bot's per-user conversation, so a restart mid-flow loses nothing."""

    __tablename__ = "conversation_states"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[dict[str, object]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(TZ)


class DeadlineMute(Base):
    """A graduate's wish to hear no more reminders about one deadline."""

    __tablename__ = "deadline_mutes"
    __table_args__ = (UniqueConstraint("graduate_id", "deadline_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    graduate_id: Mapped[int] = mapped_column(ForeignKey("graduates.id"))
    deadline_key: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(TZ)
