"""Read models handed to channels: plain frozen data, no database objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.domain.states import AgreementState, DocumentKind, RegistrationStatus
from core.domain.terms import Terms


@dataclass(frozen=True, slots=True)
class DocumentView:
    id: int
    kind: DocumentKind
    file_name: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class GraduateView:
    id: int
    status: RegistrationStatus
    consented: bool
    name: str | None
    id_number_masked: str | None
    phone_masked: str | None
    phone_verified: bool
    university: str | None
    student_no: str | None
    faculty: str | None
    major: str | None
    education_level: str | None
    graduation_year: int | None
    industries: tuple[str, ...]
    cities: tuple[str, ...]
    expected_salary: int | None
    documents: tuple[DocumentView, ...]
    reject_reason: str | None
    reminders_enabled: bool
    missing: tuple[str, ...] = ()
    unreachable: bool = False  # a push bounced (blocked bot); cleared when they write again


@dataclass(frozen=True, slots=True)
class VersionView:
    number: int
    digest: str
    terms: Terms
    respond_by: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditView:
    at: datetime
    actor_kind: str
    channel: str
    action: str
    from_state: str | None
    to_state: str | None
    digest: str | None


@dataclass(frozen=True, slots=True)
class AgreementSummary:
    id: int
    token: str
    state: AgreementState
    employer_name: str
    position: str
    city: str
    salary_yuan: int
    version: int
    digest: str
    respond_by: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AgreementView:
    id: int
    token: str
    state: AgreementState
    employer_name: str
    employer_credit_code: str
    graduate_id: int
    version: int
    digest: str
    terms: Terms
    respond_by: datetime
    seal_by: datetime | None
    signed_at: datetime | None
    sealed_at: datetime | None
    filed_at: datetime | None
    termination_by: str | None
    termination_reason: str | None
    termination_penalty: int | None
    termination_respond_by: datetime | None
    warnings: tuple[str, ...]
    versions: tuple[VersionView, ...] = ()
    change_requests: tuple[str, ...] = ()
    history: tuple[AuditView, ...] = ()


@dataclass(frozen=True, slots=True)
class Deadline:
    """An open step with a time limit. ``key`` names it for reminders and mutes:
    ``respond:<agreement>``, ``seal:<agreement>``, ``termination:<agreement>``,
    ``registration:<graduate>``."""

    label: str
    at: datetime
    agreement_id: int | None = None
    key: str = ""
    muted: bool = False


@dataclass(frozen=True, slots=True)
class StatusView:
    graduate: GraduateView | None
    held: AgreementSummary | None
    open_invitations: tuple[AgreementSummary, ...]
    next_deadline: Deadline | None


@dataclass(frozen=True, slots=True)
class CodeSent:
    phone_masked: str
    expires_at: datetime
    resend_after: datetime


@dataclass(frozen=True, slots=True)
class Transition:
    agreement_id: int
    from_state: AgreementState
    to_state: AgreementState


@dataclass(frozen=True, slots=True)
class Page:
    items: tuple[AgreementSummary, ...]
    total: int
    offset: int
    limit: int
    extra: dict[str, object] = field(default_factory=dict)
