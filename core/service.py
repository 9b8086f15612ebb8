"""The agreement service: every rule of registration, invitation, signing and termination.

Each public coroutine is one transaction. It names its actor, checks that the actor may act,
and raises a ``DomainError`` when it may not. Expected outcomes of code entry are returned as
``CodeResult`` values rather than raised.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.domain import otp
from core.domain import validators as v
from core.domain.actors import Actor
from core.domain.errors import (
    AlreadyHolding,
    CodeLocked,
    CodeRateLimited,
    ConsentRequired,
    DeadlinePassed,
    DeliveryFailed,
    DuplicateRecord,
    Forbidden,
    InvalidInput,
    InvalidState,
    NotApproved,
    NotFound,
    NotRegistered,
    PhoneNotVerified,
    RegistrationIncomplete,
)
from core.domain.otp import CodeOutcome, CodeResult
from core.domain.states import (
    HELD_STATES,
    OPEN_STATES,
    ActorKind,
    AgreementState,
    CodePurpose,
    DocumentKind,
    RegistrationStatus,
)
from core.domain.terms import Terms, agreement_document, canonical_text, digest
from core.protect import Protector
from core.sms import SmsSender
from core.storage.models import (
    Agreement,
    AgreementVersion,
    AuditEntry,
    ChangeRequest,
    CodeChallenge,
    CodeFailure,
    DeadlineMute,
    Document,
    Employer,
    Graduate,
    OutboxMessage,
    TelegramBinding,
    University,
)
from core.views import (
    AgreementSummary,
    AgreementView,
    AuditView,
    CodeSent,
    Deadline,
    DocumentView,
    GraduateView,
    Page,
    StatusView,
    Transition,
    VersionView,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
CodeSource = Callable[[], str]

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_DOCUMENTS = 12
# (content type, file extension, how the file starts, what its last bytes must hold). The
# end marker catches a header pasted in front of something else; it is not a full decode.
DOCUMENT_FORMATS = (
    ("image/jpeg", "jpg", b"\xff\xd8\xff", b"\xff\xd9", 64),
    ("image/png", "png", b"\x89PNG\r\n\x1a\n", b"IEND", 64),
    ("application/pdf", "pdf", b"%PDF-", b"%%EOF", 2048),
)


def sniff_document(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a JPEG, PNG or PDF judged by its content, else None."""
    for content_type, ext, head, tail, window in DOCUMENT_FORMATS:
        if data.startswith(head) and tail in data[-window:]:
            return content_type, ext
    return None


# Fields of the registration, in the order the bot asks for them.
REGISTRATION_FIELDS = (
    "name",
    "id_number",
    "phone",
    "university",
    "student_no",
    "faculty",
    "major",
    "education_level",
    "graduation_year",
    "industries",
    "cities",
    "expected_salary",
)
FIELD_LABELS = {
    "name": "姓名",
    "id_number": "身份证号",
    "phone": "手机号",
    "university": "学校",
    "student_no": "学号",
    "faculty": "院系",
    "major": "专业",
    "education_level": "学历层次",
    "graduation_year": "毕业年份",
    "industries": "意向行业",
    "cities": "意向城市",
    "expected_salary": "期望月薪",
    "documents": "证件材料",
    "phone_verified": "手机验证",
}
EDITABLE = (RegistrationStatus.DRAFT, RegistrationStatus.REJECTED)


def _typed_code(text: str) -> str:
    # '１２３ ４５６' from a phone keyboard is the same code; anything else is compared as is.
    return otp.looks_like_code(text) or text.strip()


def _event_key(prefix: str) -> str:
    # Each event is its own message: the same kind can recur at the same instant (a
    # termination asked and refused twice), so the key carries a random part, not the time.
    return f"{prefix}:{secrets.token_hex(8)}"


class AgreementService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        protector: Protector,
        sms: SmsSender,
        clock: Clock,
        code_source: CodeSource = otp.generate_code,
        seal_days: int = 7,
        termination_reply_days: int = 15,
    ) -> None:
        self._sessions = sessions
        self._protector = protector
        self._sms = sms
        self._clock = clock
        self._code_source = code_source
        self._seal_period = timedelta(days=seal_days)
        self._termination_period = timedelta(days=termination_reply_days)

    def now(self) -> datetime:
        return self._clock()

    # ------------------------------------------------------------------ lookups

    async def graduate_for_telegram(self, telegram_user_id: int) -> GraduateView | None:
        """The graduate bound to this Telegram account, if any."""
        async with self._sessions() as s:
            binding = await s.get(TelegramBinding, telegram_user_id)
            if binding is None:
                return None
            return await self._graduate_view(s, await s.get_one(Graduate, binding.graduate_id))

    async def chat_for_graduate(self, graduate_id: int) -> int | None:
        async with self._sessions() as s:
            return await s.scalar(
                select(TelegramBinding.chat_id).where(TelegramBinding.graduate_id == graduate_id)
            )

    async def graduate(self, actor: Actor) -> GraduateView:
        """The acting graduate's registration. Raises NotRegistered."""
        async with self._sessions() as s:
            return await self._graduate_view(s, await self._own_graduate(s, actor))

    async def universities(self) -> list[str]:
        async with self._sessions() as s:
            return list(await s.scalars(select(University.name).order_by(University.name)))

    async def university_contact(self, graduate_id: int | None = None) -> str:
        async with self._sessions() as s:
            if graduate_id is not None:
                g = await s.get(Graduate, graduate_id)
                if g is not None and g.university_id is not None:
                    u = await s.get_one(University, g.university_id)
                    return f"{u.name}：{u.office_contact}" if u.office_contact else u.name
            return ""

    # ------------------------------------------------------------------ registration

    async def begin_registration(
        self, telegram_user_id: int, chat_id: int, *, consent: bool, channel: str = "telegram"
    ) -> GraduateView:
        """Create a draft registration bound to this Telegram account after consent.

        Raises ConsentRequired without consent. Returns the existing one when already bound.
        """
        if not consent:
            raise ConsentRequired()
        try:
            return await self._begin_registration(telegram_user_id, chat_id, channel)
        except IntegrityError:
            # A simultaneous first tap from the same account created the binding; use it.
            return await self._begin_registration(telegram_user_id, chat_id, channel)

    async def _begin_registration(
        self, telegram_user_id: int, chat_id: int, channel: str
    ) -> GraduateView:
        now = self.now()
        async with self._sessions() as s, s.begin():
            binding = await s.get(TelegramBinding, telegram_user_id)
            if binding is not None:
                g = await s.get_one(Graduate, binding.graduate_id)
                if g.consent_at is None:
                    g.consent_at = now
                binding.chat_id = chat_id
                return await self._graduate_view(s, g)
            g = Graduate(
                status=RegistrationStatus.DRAFT.value,
                consent_at=now,
                created_at=now,
                updated_at=now,
                phone_verified=False,
                reminders_enabled=True,
            )
            s.add(g)
            await s.flush()
            s.add(
                TelegramBinding(
                    telegram_user_id=telegram_user_id,
                    graduate_id=g.id,
                    chat_id=chat_id,
                    created_at=now,
                )
            )
            self._audit(s, Actor.graduate(g.id, channel), "registration.consent", graduate_id=g.id)
            await s.flush()
            log.info("graduate %s created for a new binding", g.id)
            return await self._graduate_view(s, g)

    async def mark_reachable(self, actor: Actor) -> None:
        """The graduate wrote again after a push bounced: pushes and reminders resume."""
        async with self._sessions() as s, s.begin():
            g = await self._own_graduate(s, actor, lock=True)
            if g.unreachable_at is not None:
                g.unreachable_at = None
                log.info("graduate %s reachable again", g.id)

    async def update_chat(self, telegram_user_id: int, chat_id: int) -> None:
        async with self._sessions() as s, s.begin():
            binding = await s.get(TelegramBinding, telegram_user_id)
            if binding is not None and binding.chat_id != chat_id:
                binding.chat_id = chat_id

    async def save_field(self, actor: Actor, field: str, raw: str) -> GraduateView:
        """Validate and store one registration field.

        Raises InvalidInput (with a Chinese explanation), DuplicateRecord, InvalidState when
        the registration is under review or approved.
        """
        if field not in REGISTRATION_FIELDS:
            raise InvalidInput("未知的字段。", field=field)
        if len(raw) > 1000:
            raise InvalidInput("内容太长了，请简短一些。", field=field)
        now = self.now()
        async with self._sessions() as s, s.begin():
            g = await self._own_graduate(s, actor, lock=True)
            self._require_editable(g)
            if field == "name":
                g.name = v.validate_name(raw)
            elif field == "id_number":
                value = v.validate_id_number(raw, today=self._today())
                lookup = self._protector.lookup_hash(value)
                other = await s.scalar(
                    select(Graduate.id).where(
                        Graduate.id_number_hash == lookup, Graduate.id != g.id
                    )
                )
                if other is not None:
                    raise DuplicateRecord(
                        "这个身份证号已在别的账号登记过。如不是你本人操作，请联系学校就业指导中心。"
                    )
                g.id_number_hash = lookup
                g.id_number_sealed = self._protector.seal(value)
                g.id_number_masked = v.mask_id_number(value)
            elif field == "phone":
                value = v.validate_phone(raw)
                owner = await s.scalar(
                    select(Graduate.id).where(
                        Graduate.phone == value, Graduate.phone_verified, Graduate.id != g.id
                    )
                )
                if owner is not None:
                    raise DuplicateRecord(
                        "这个手机号已被其他账号验证。请填写你本人的手机号；"
                        "如号码被他人占用，请联系学校就业指导中心。"
                    )
                if value != g.phone:
                    g.phone = value
                    g.phone_verified = False
            elif field == "university":
                name = v.normalise(raw)
                uni = await s.scalar(select(University).where(University.name == name))
                if uni is None:
                    names = list(
                        await s.scalars(select(University.name).order_by(University.name))
                    )
                    raise InvalidInput(
                        "没有找到这所学校，请从列表中选择：" + "、".join(names[:10]),
                        field=field,
                    )
                await self._check_student_unique(s, g, uni.id, g.student_no)
                g.university_id = uni.id
            elif field == "student_no":
                student_no = v.validate_student_no(raw)
                await self._check_student_unique(s, g, g.university_id, student_no)
                g.student_no = student_no
            elif field in ("faculty", "major"):
                setattr(
                    g, field, v.validate_short_text(raw, field=field, label=FIELD_LABELS[field])
                )
            elif field == "education_level":
                g.education_level = v.validate_education_level(raw).value
            elif field == "graduation_year":
                g.graduation_year = v.validate_graduation_year(raw, today=self._today())
            elif field in ("industries", "cities"):
                label = "行业" if field == "industries" else "城市"
                setattr(g, field, list(v.split_list(raw, field=field, label=label)))
            elif field == "expected_salary":
                g.expected_salary = v.validate_salary(raw, field=field, label="期望月薪")
            g.updated_at = now
            try:
                await s.flush()
            except IntegrityError:
                # A concurrent registration took the same ID number or student number.
                raise DuplicateRecord() from None
            log.debug("graduate %s saved field %s", g.id, field)
            return await self._graduate_view(s, g)

    async def add_document(
        self, actor: Actor, kind: DocumentKind, file_name: str, content_type: str, data: bytes
    ) -> DocumentView:
        """Store an uploaded ID card, student card or transcript.

        Raises InvalidInput for an empty file, one over 10 MB, or one that is not JPEG, PNG or
        PDF by its content (the declared type is not trusted).
        """
        if not data:
            raise InvalidInput("文件是空的，请重新上传。", field="documents")
        if len(data) > MAX_DOCUMENT_BYTES:
            raise InvalidInput("文件超过 10 MB，请压缩后再上传。", field="documents")
        sniffed = sniff_document(data)
        if sniffed is None:
            raise InvalidInput(
                "只支持 JPG、PNG 图片或 PDF 文件，文件也可能已损坏，请重新导出后上传。",
                field="documents",
            )
        detected, ext = sniffed
        now = self.now()
        async with self._sessions() as s, s.begin():
            g = await self._own_graduate(s, actor, lock=True)
            self._require_editable(g)
            count = await s.scalar(
                select(func.count()).select_from(Document).where(Document.graduate_id == g.id)
            )
            if (count or 0) >= MAX_DOCUMENTS:
                raise InvalidInput(
                    f"最多上传 {MAX_DOCUMENTS} 个文件，请先删掉不需要的。", field="documents"
                )
            # The stored name is ours: a reviewer never downloads "setup.exe" or "x.html".
            doc = Document(
                graduate_id=g.id,
                kind=kind.value,
                file_name=f"{kind.value}-{(count or 0) + 1}.{ext}",
                content_type=detected,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                content=data,
                created_at=now,
            )
            s.add(doc)
            g.updated_at = now
            await s.flush()
            return DocumentView(doc.id, kind, doc.file_name, detected, doc.size)

    async def remove_document(self, actor: Actor, document_id: int) -> None:
        """Delete one of the acting graduate's documents. Raises NotFound, InvalidState."""
        async with self._sessions() as s, s.begin():
            g = await self._own_graduate(s, actor, lock=True)
            self._require_editable(g)
            doc = await s.get(Document, document_id)
            if doc is None or doc.graduate_id != g.id:
                raise NotFound()
            await s.delete(doc)

    async def request_phone_code(self, actor: Actor) -> CodeSent:
        """Send a code to the phone entered in the registration.

        Raises InvalidState when no phone is entered or it is verified already, the code
        limits (CodeRateLimited, CodeLocked) and DeliveryFailed.
        """
        async with self._sessions() as s, s.begin():
            g = await self._own_graduate(s, actor, lock=True)
            if not g.phone:
                raise InvalidState("请先填写手机号。")
            if g.phone_verified:
                raise InvalidState("手机号已经验证过了。")
            sent, code, challenge_id = await self._new_challenge(
                s, g, CodePurpose.PHONE, None, f"phone:{g.phone}"
            )
            phone = g.phone
        text = f"【网签助手】验证码 {code}，用于验证手机号，5 分钟内有效。请勿告诉任何人。"
        await self._deliver(challenge_id, phone, text)
        return sent

    async def verify_phone(self, actor: Actor, code: str) -> CodeResult:
        """Check the phone code; on success the phone is verified."""
        async with self._sessions() as s, s.begin():
            g = await self._own_graduate(s, actor, lock=True)
            if g.phone_verified:
                return CodeResult(CodeOutcome.ALREADY_CONFIRMED)
            challenge = await self._latest_challenge(s, g.id, CodePurpose.PHONE, None)
            result = await self._check_code(s, g, challenge, code, f"phone:{g.phone}")
            if result.outcome is CodeOutcome.OK:
                g.phone_verified = True
                g.updated_at = self.now()
                self._audit(s, actor, "registration.phone_verified", graduate_id=g.id)
                try:
                    await s.flush()
                except IntegrityError:
                    raise DuplicateRecord(
                        "这个手机号刚被其他账号验证。请填写你本人的手机号；"
                        "如号码被他人占用，请联系学校就业指导中心。"
                    ) from None
            return result

    async def submit_registration(self, actor: Actor) -> GraduateView:
        """Send the registration to the university for review.

        Raises RegistrationIncomplete naming what is missing, PhoneNotVerified, InvalidState.
        """
        now = self.now()
        async with self._sessions() as s, s.begin():
            g = await self._own_graduate(s, actor, lock=True)
            if g.status == RegistrationStatus.SUBMITTED.value:
                return await self._graduate_view(s, g)
            self._require_editable(g)
            view = await self._graduate_view(s, g)
            if view.missing:
                labels = "、".join(FIELD_LABELS.get(m, m) for m in view.missing)
                if view.missing == ("phone_verified",):
                    raise PhoneNotVerified()
                raise RegistrationIncomplete(f"还缺：{labels}。", missing=view.missing)
            before = g.status
            g.status = RegistrationStatus.SUBMITTED.value
            g.submitted_at = now
            g.reject_reason = None
            g.updated_at = now
            self._audit(
                s,
                actor,
                "registration.submit",
                graduate_id=g.id,
                from_state=before,
                to_state=g.status,
            )
            return await self._graduate_view(s, g)

    async def registrations(self, status: RegistrationStatus | None = None) -> list[GraduateView]:
        async with self._sessions() as s:
            query = select(Graduate).order_by(Graduate.id)
            if status is not None:
                query = query.where(Graduate.status == status.value)
            return [await self._graduate_view(s, g) for g in await s.scalars(query)]

    async def find_graduate(self, student_no: str, university: str | None = None) -> int:
        """Internal id of the graduate with this student number. Raises NotFound."""
        async with self._sessions() as s:
            query = select(Graduate.id).where(Graduate.student_no == student_no.strip().upper())
            if university:
                query = query.join(University).where(University.name == university)
            ids = list(await s.scalars(query))
            if len(ids) != 1:
                raise NotFound("没有找到这个学号，或学号在多所学校重复（请指定学校）。")
            return ids[0]

    async def university_of(self, graduate_id: int) -> int:
        async with self._sessions() as s:
            uid = await s.scalar(select(Graduate.university_id).where(Graduate.id == graduate_id))
            if uid is None:
                raise NotFound()
            return uid

    async def approve_registration(self, actor: Actor, graduate_id: int) -> GraduateView:
        """University approves a submitted registration. Raises Forbidden, InvalidState."""
        return await self._review(actor, graduate_id, approve=True, reason=None)

    async def reject_registration(
        self, actor: Actor, graduate_id: int, reason: str
    ) -> GraduateView:
        """University rejects with a reason the graduate will read. Raises InvalidInput."""
        reason = v.clean_free_text(reason, field="reason", label="驳回原因", max_len=500)
        return await self._review(actor, graduate_id, approve=False, reason=reason)

    async def set_reminders(self, actor: Actor, enabled: bool) -> None:
        async with self._sessions() as s, s.begin():
            g = await self._own_graduate(s, actor, lock=True)
            g.reminders_enabled = enabled

    # ------------------------------------------------------------------ invitations

    async def register_employer(
        self, name: str, credit_code: str, *, override_check: bool = False, channel: str = "cli"
    ) -> int:
        """Create an employer (or return the existing one with this code).

        Raises InvalidInput / CreditCodeInvalid; ``override_check`` admits an early code that
        fails the check and is recorded in the audit log.
        """
        code = v.validate_credit_code(credit_code, allow_bad_check=override_check)
        overridden = override_check and v.credit_check_char(code[:17]) != code[17]
        name = v.validate_short_text(name, field="employer", label="单位名称", max_len=200)
        async with self._sessions() as s, s.begin():
            existing = await s.scalar(select(Employer).where(Employer.credit_code == code))
            if existing is not None:
                return existing.id
            employer = Employer(
                name=name,
                credit_code=code,
                credit_check_overridden=overridden,
                created_at=self.now(),
            )
            s.add(employer)
            await s.flush()
            self._audit(
                s,
                Actor(ActorKind.SYSTEM, None, channel),
                "employer.register",
                detail={"employer_id": employer.id, "check_overridden": overridden},
            )
            return employer.id

    async def employer_by_code(self, credit_code: str) -> int:
        code = v.normalise(credit_code).upper()
        async with self._sessions() as s:
            eid = await s.scalar(select(Employer.id).where(Employer.credit_code == code))
            if eid is None:
                raise NotFound("没有这个信用代码的单位。")
            return eid

    async def register_university(
        self, name: str, *, office_contact: str = "", registration_deadline: datetime | None = None
    ) -> int:
        async with self._sessions() as s, s.begin():
            uni = await s.scalar(select(University).where(University.name == name))
            if uni is None:
                uni = University(name=name, office_contact=office_contact)
                s.add(uni)
            if office_contact:
                uni.office_contact = office_contact
            if registration_deadline is not None:
                uni.registration_deadline = registration_deadline
            await s.flush()
            return uni.id

    async def invite(
        self, actor: Actor, graduate_id: int, terms: Terms, respond_by: datetime
    ) -> AgreementView:
        """An employer invites a graduate. Raises Forbidden, NotFound, InvalidInput."""
        self._require_kind(actor, ActorKind.EMPLOYER)
        now = self.now()
        self._require_future(respond_by, now)
        async with self._sessions() as s, s.begin():
            employer = await s.get(Employer, actor.id)
            g = await s.get(Graduate, graduate_id)
            if employer is None or g is None:
                raise NotFound()
            a = Agreement(
                token=secrets.token_urlsafe(9),
                graduate_id=g.id,
                employer_id=employer.id,
                state=AgreementState.INVITED.value,
                version=0,
                digest="",
                respond_by=respond_by,
                created_at=now,
                updated_at=now,
            )
            s.add(a)
            await s.flush()
            version = await self._add_version(s, a, employer, g, terms, respond_by)
            self._audit(
                s,
                actor,
                "agreement.invite",
                agreement=a,
                from_state=None,
                to_state=a.state,
                digest=version.digest,
            )
            self._emit(s, a, "invited", {"version": a.version})
            await s.flush()
            log.info("agreement %s invited graduate %s", a.id, g.id)
            return await self._agreement_view(s, a, history=False)

    async def request_changes(self, actor: Actor, agreement_id: int, text: str) -> AgreementView:
        """The graduate asks the employer to change the terms. Raises InvalidState."""
        text = v.clean_free_text(text, field="change_request", label="修改意见", max_len=1000)
        async with self._sessions() as s, s.begin():
            a = await self._own_agreement(s, actor, agreement_id)
            self._require_state(a, AgreementState.INVITED)
            self._require_not_past(a.respond_by, a)
            s.add(
                ChangeRequest(
                    agreement_id=a.id, version=a.version, text=text, created_at=self.now()
                )
            )
            await self._transition(
                s, actor, a, AgreementState.CHANGES_REQUESTED, "agreement.request_changes"
            )
            await self._void_codes(s, a.id)
            return await self._agreement_view(s, a, history=False)

    async def revise(
        self, actor: Actor, agreement_id: int, terms: Terms, respond_by: datetime | None = None
    ) -> AgreementView:
        """The employer issues new terms: a new version, and outstanding codes are void."""
        self._require_kind(actor, ActorKind.EMPLOYER)
        now = self.now()
        if respond_by is not None:
            self._require_future(respond_by, now)
        async with self._sessions() as s, s.begin():
            a = await self._employer_agreement(s, actor, agreement_id)
            self._require_state(a, AgreementState.INVITED, AgreementState.CHANGES_REQUESTED)
            employer = await s.get_one(Employer, a.employer_id)
            g = await s.get_one(Graduate, a.graduate_id)
            deadline = respond_by or a.respond_by
            if deadline <= now:
                raise DeadlinePassed("原回复期限已过，请同时给出新的回复期限。")
            version = await self._add_version(s, a, employer, g, terms, deadline)
            await self._void_codes(s, a.id)
            await self._transition(
                s, actor, a, AgreementState.INVITED, "agreement.revise", digest=version.digest
            )
            self._emit(s, a, "revised", {"version": a.version})
            return await self._agreement_view(s, a, history=False)

    async def decline(self, actor: Actor, agreement_id: int) -> AgreementView:
        """The graduate declines the invitation. Raises InvalidState."""
        async with self._sessions() as s, s.begin():
            a = await self._own_agreement(s, actor, agreement_id)
            self._require_state(a, AgreementState.INVITED, AgreementState.CHANGES_REQUESTED)
            await self._transition(s, actor, a, AgreementState.DECLINED, "agreement.decline")
            await self._void_codes(s, a.id)
            return await self._agreement_view(s, a, history=False)

    async def withdraw(self, actor: Actor, agreement_id: int) -> AgreementView:
        """The employer withdraws an unanswered invitation. Raises InvalidState."""
        async with self._sessions() as s, s.begin():
            a = await self._employer_agreement(s, actor, agreement_id)
            self._require_state(a, AgreementState.INVITED, AgreementState.CHANGES_REQUESTED)
            await self._transition(s, actor, a, AgreementState.WITHDRAWN, "agreement.withdraw")
            await self._void_codes(s, a.id)
            self._emit(s, a, "withdrawn", {})
            return await self._agreement_view(s, a, history=False)

    async def list_agreements(
        self, actor: Actor, *, offset: int = 0, limit: int = 5, open_only: bool = False
    ) -> Page:
        """The acting graduate's agreements, newest first."""
        offset, limit = max(0, offset), max(1, min(limit, 20))
        async with self._sessions() as s:
            g = await self._own_graduate(s, actor)
            where = [Agreement.graduate_id == g.id]
            if open_only:
                where.append(Agreement.state.in_([st.value for st in OPEN_STATES]))
            total = await s.scalar(select(func.count()).select_from(Agreement).where(*where))
            rows = await s.scalars(
                select(Agreement)
                .where(*where)
                .order_by(Agreement.created_at.desc(), Agreement.id.desc())
                .offset(offset)
                .limit(limit)
            )
            items = tuple([await self._summary(s, a) for a in rows])
            return Page(items=items, total=total or 0, offset=offset, limit=limit)

    async def agreement(self, actor: Actor, agreement_id: int) -> AgreementView:
        """One agreement as its graduate, employer or university sees it. Raises NotFound."""
        async with self._sessions() as s:
            a = await s.get(Agreement, agreement_id)
            if a is None or not await self._may_see(s, actor, a):
                raise NotFound()
            return await self._agreement_view(s, a, history=True)

    async def agreement_by_token(self, actor: Actor, token: str) -> AgreementView:
        async with self._sessions() as s:
            a = await s.scalar(select(Agreement).where(Agreement.token == token[:24]))
            if a is None or not await self._may_see(s, actor, a):
                raise NotFound()
            return await self._agreement_view(s, a, history=False)

    async def status(self, actor: Actor) -> StatusView:
        """Registration state, held agreement, open invitations and the next deadline."""
        now = self.now()
        async with self._sessions() as s:
            g = await self._own_graduate(s, actor)
            view = await self._graduate_view(s, g)
            held_row = await s.scalar(
                select(Agreement).where(
                    Agreement.graduate_id == g.id,
                    Agreement.state.in_([st.value for st in HELD_STATES]),
                )
            )
            held = await self._summary(s, held_row) if held_row else None
            open_rows = await s.scalars(
                select(Agreement)
                .where(
                    Agreement.graduate_id == g.id,
                    Agreement.state.in_([st.value for st in OPEN_STATES]),
                )
                .order_by(Agreement.respond_by)
            )
            opened = tuple([await self._summary(s, a) for a in open_rows])
            deadlines = await self._open_deadlines(s, g, now)
            deadlines.sort(key=lambda d: d.at)
            return StatusView(view, held, opened, deadlines[0] if deadlines else None)

    async def deadlines(self, actor: Actor) -> list[Deadline]:
        """The acting graduate's open deadlines, soonest first, with their mute flags."""
        async with self._sessions() as s:
            g = await self._own_graduate(s, actor)
            return await self._open_deadlines(s, g, self.now())

    async def mute_deadline(self, actor: Actor, key: str, *, muted: bool = True) -> None:
        """Stop (or resume) reminders about one of the acting graduate's deadlines.

        Raises NotFound when the key is not one of their open deadlines.
        """
        async with self._sessions() as s, s.begin():
            g = await self._own_graduate(s, actor, lock=True)
            keys = {d.key for d in await self._open_deadlines(s, g, self.now())}
            if key not in keys:
                raise NotFound("这个截止事项已经结束或不存在。")
            row = await s.scalar(
                select(DeadlineMute).where(
                    DeadlineMute.graduate_id == g.id, DeadlineMute.deadline_key == key
                )
            )
            if muted and row is None:
                s.add(DeadlineMute(graduate_id=g.id, deadline_key=key, created_at=self.now()))
            elif not muted and row is not None:
                await s.delete(row)

    async def _open_deadlines(self, s: AsyncSession, g: Graduate, now: datetime) -> list[Deadline]:
        muted = set(
            await s.scalars(
                select(DeadlineMute.deadline_key).where(DeadlineMute.graduate_id == g.id)
            )
        )
        found: list[Deadline] = []
        rows = await s.scalars(select(Agreement).where(Agreement.graduate_id == g.id))
        for a in rows:
            employer = await s.get_one(Employer, a.employer_id)
            if a.state == AgreementState.INVITED.value and a.respond_by > now:
                found.append(
                    Deadline(
                        f"回复「{employer.name}」的签约邀请", a.respond_by, a.id, f"respond:{a.id}"
                    )
                )
            elif a.state == AgreementState.GRADUATE_SIGNED.value and a.seal_by and a.seal_by > now:
                found.append(Deadline(f"「{employer.name}」盖章", a.seal_by, a.id, f"seal:{a.id}"))
            elif (
                a.state == AgreementState.TERMINATION_REQUESTED.value
                and a.termination_respond_by
                and a.termination_respond_by > now
            ):
                found.append(
                    Deadline(
                        "解约申请的答复", a.termination_respond_by, a.id, f"termination:{a.id}"
                    )
                )
        if g.status in (RegistrationStatus.DRAFT.value, RegistrationStatus.REJECTED.value):
            uni = await s.get(University, g.university_id) if g.university_id else None
            if uni and uni.registration_deadline and uni.registration_deadline > now:
                found.append(
                    Deadline(
                        "学校信息确认截止", uni.registration_deadline, None, f"registration:{g.id}"
                    )
                )
        found = [Deadline(d.label, d.at, d.agreement_id, d.key, d.key in muted) for d in found]
        found.sort(key=lambda d: d.at)
        return found

    # ------------------------------------------------------------------ signing

    async def request_signing_code(
        self, actor: Actor, agreement_id: int, expected_digest: str
    ) -> CodeSent:
        """Send a code bound to this version of the agreement to the verified phone.

        Raises NotApproved, AlreadyHolding, InvalidState (terms changed, not open),
        DeadlinePassed, CodeRateLimited, CodeLocked, DeliveryFailed.
        """
        async with self._sessions() as s, s.begin():
            a = await self._own_agreement(s, actor, agreement_id)
            g = await s.get_one(Graduate, a.graduate_id, with_for_update=True)
            self._require_state(a, AgreementState.INVITED)
            if a.digest != expected_digest:
                raise InvalidState("协议条款已经更新，请先查看最新版本。")
            self._require_not_past(a.respond_by, a)
            self._require_approved(g)
            await self._require_not_holding(s, g.id)
            sent, code, challenge_id = await self._new_challenge(
                s, g, CodePurpose.SIGN, a.id, f"sign:{a.id}:{a.digest}"
            )
            employer = await s.get_one(Employer, a.employer_id)
            text = (
                f"【网签助手】验证码 {code}，用于确认与「{employer.name}」签订就业协议"
                f"（第 {a.version} 版），5 分钟内有效。请勿告诉任何人。"
            )
            phone = g.phone or ""
        await self._deliver(challenge_id, phone, text)
        return sent

    async def confirm_signature(
        self, actor: Actor, agreement_id: int, code: str, expected_digest: str | None = None
    ) -> CodeResult:
        """Sign with the one-time code. A repeated correct submission is idempotent.

        Raises NotApproved, AlreadyHolding, DeadlinePassed, InvalidState.
        """
        async with self._sessions() as s, s.begin():
            a = await self._own_agreement(s, actor, agreement_id)
            g = await s.get_one(Graduate, a.graduate_id, with_for_update=True)
            if a.signed_challenge_id is not None and a.state != AgreementState.INVITED.value:
                done = await s.get(CodeChallenge, a.signed_challenge_id)
                if done is not None and otp.code_matches(
                    self._protector.code_key,
                    _typed_code(code),
                    binding=done.binding,
                    stored_hash=done.code_hash,
                ):
                    return CodeResult(CodeOutcome.ALREADY_CONFIRMED)
            self._require_state(a, AgreementState.INVITED)
            if expected_digest is not None and expected_digest != a.digest:
                return CodeResult(CodeOutcome.SUPERSEDED)
            # Refuse before the code is checked, so a held agreement does not burn the code.
            await self._require_not_holding(s, g.id)
            challenge = await self._latest_challenge(s, g.id, CodePurpose.SIGN, a.id)
            result = await self._check_code(s, g, challenge, code, f"sign:{a.id}:{a.digest}")
            if result.outcome is not CodeOutcome.OK:
                return result
            assert challenge is not None
            self._require_approved(g)
            self._require_not_past(a.respond_by, a)
            now = self.now()
            a.signed_challenge_id = challenge.id
            a.signed_digest = a.digest
            a.signed_at = now
            a.seal_by = now + self._seal_period
            await self._transition(s, actor, a, AgreementState.GRADUATE_SIGNED, "agreement.sign")
            try:
                await s.flush()
            except IntegrityError:
                raise AlreadyHolding() from None
            log.info("agreement %s signed by graduate %s", a.id, g.id)
            return result

    async def seal(self, actor: Actor, agreement_id: int) -> AgreementView:
        """The employer seals a signed agreement, which takes effect. Raises InvalidState."""
        async with self._sessions() as s, s.begin():
            a = await self._employer_agreement(s, actor, agreement_id)
            self._require_state(a, AgreementState.GRADUATE_SIGNED)
            if a.seal_by is not None and a.seal_by <= self.now():
                raise DeadlinePassed("盖章期限已过，协议已失效。")
            a.sealed_at = self.now()
            await self._transition(s, actor, a, AgreementState.EFFECTIVE, "agreement.seal")
            self._emit(s, a, "sealed", {})
            return await self._agreement_view(s, a, history=False)

    async def file(self, actor: Actor, agreement_id: int) -> AgreementView:
        """The university files an effective agreement. Raises Forbidden, InvalidState."""
        async with self._sessions() as s, s.begin():
            a = await self._university_agreement(s, actor, agreement_id)
            self._require_state(a, AgreementState.EFFECTIVE)
            a.filed_at = self.now()
            await self._transition(s, actor, a, AgreementState.FILED, "agreement.file")
            self._emit(s, a, "filed", {})
            return await self._agreement_view(s, a, history=False)

    async def expire_due(self, now: datetime | None = None) -> list[Transition]:
        """Expire unanswered invitations and lapse unsealed signatures whose deadline passed."""
        # Missing: termination steps past termination_respond_by only get reminders, no expiry.
        now = now or self.now()
        actor = Actor.system()
        done: list[Transition] = []
        async with self._sessions() as s, s.begin():
            rows = await s.scalars(
                select(Agreement)
                .where(
                    Agreement.state.in_([st.value for st in OPEN_STATES]),
                    Agreement.respond_by <= now,
                )
                .with_for_update(skip_locked=True)
            )
            for a in list(rows):
                before = AgreementState(a.state)
                await self._transition(s, actor, a, AgreementState.EXPIRED, "agreement.expire")
                await self._void_codes(s, a.id)
                self._emit(s, a, "expired", {})
                done.append(Transition(a.id, before, AgreementState.EXPIRED))
            rows = await s.scalars(
                select(Agreement)
                .where(
                    Agreement.state == AgreementState.GRADUATE_SIGNED.value,
                    Agreement.seal_by <= now,
                )
                .with_for_update(skip_locked=True)
            )
            for a in list(rows):
                await self._transition(s, actor, a, AgreementState.LAPSED, "agreement.lapse")
                self._emit(s, a, "lapsed", {})
                done.append(
                    Transition(a.id, AgreementState.GRADUATE_SIGNED, AgreementState.LAPSED)
                )
        if done:
            log.info("expired or lapsed %d agreements", len(done))
        return done

    # ------------------------------------------------------------------ termination

    async def request_termination_code(self, actor: Actor, agreement_id: int) -> CodeSent:
        """Send the code that confirms a graduate's termination request."""
        async with self._sessions() as s, s.begin():
            a = await self._own_agreement(s, actor, agreement_id)
            g = await s.get_one(Graduate, a.graduate_id, with_for_update=True)
            self._require_state(
                a, AgreementState.EFFECTIVE, AgreementState.FILED, AgreementState.GRADUATE_SIGNED
            )
            if a.state == AgreementState.GRADUATE_SIGNED.value:
                raise InvalidState(
                    "单位还没有盖章，协议尚未生效；如需放弃，请直接联系单位和学校。"
                )
            sent, code, challenge_id = await self._new_challenge(
                s, g, CodePurpose.TERMINATE, a.id, f"terminate:{a.id}:{a.digest}"
            )
            text = (
                f"【网签助手】验证码 {code}，用于确认提交解约申请，5 分钟内有效。"
                "如非本人操作请勿提供给他人。"
            )
            phone = g.phone or ""
        await self._deliver(challenge_id, phone, text)
        return sent

    async def request_termination(
        self, actor: Actor, agreement_id: int, reason: str, code: str | None = None
    ) -> CodeResult:
        """Ask to terminate an effective or filed agreement.

        A graduate confirms with the termination code; an employer needs none. Raises
        InvalidState, InvalidInput.
        """
        reason = v.clean_free_text(reason, field="reason", label="解约原因", max_len=1000)
        async with self._sessions() as s, s.begin():
            if actor.kind is ActorKind.GRADUATE:
                a = await self._own_agreement(s, actor, agreement_id)
            else:
                a = await self._employer_agreement(s, actor, agreement_id)
            if (
                a.state == AgreementState.TERMINATION_REQUESTED.value
                and a.termination_by == actor.kind.value
                and a.termination_reason == reason
            ):
                return CodeResult(CodeOutcome.ALREADY_CONFIRMED)
            self._require_state(a, AgreementState.EFFECTIVE, AgreementState.FILED)
            result = CodeResult(CodeOutcome.OK)
            if actor.kind is ActorKind.GRADUATE:
                g = await s.get_one(Graduate, a.graduate_id, with_for_update=True)
                challenge = await self._latest_challenge(s, g.id, CodePurpose.TERMINATE, a.id)
                result = await self._check_code(
                    s, g, challenge, code or "", f"terminate:{a.id}:{a.digest}"
                )
                if result.outcome is not CodeOutcome.OK:
                    return result
            now = self.now()
            a.termination_from = a.state
            a.termination_by = actor.kind.value
            a.termination_reason = reason
            a.termination_penalty = None
            a.termination_requested_at = now
            a.termination_respond_by = now + self._termination_period
            await self._transition(
                s, actor, a, AgreementState.TERMINATION_REQUESTED, "termination.request"
            )
            if actor.kind is ActorKind.EMPLOYER:
                self._emit(s, a, "termination_requested_by_employer", {})
            return result

    async def consent_termination(
        self, actor: Actor, agreement_id: int, penalty_yuan: int | None = None
    ) -> AgreementView:
        """The other party agrees to terminate; the penalty paid is recorded.

        With no amount given, the penalty written in the agreement is recorded. Raises Forbidden
        when the requester tries to consent to its own request, InvalidInput for a penalty
        above the agreed one.
        """
        async with self._sessions() as s, s.begin():
            a = await self._party_agreement(s, actor, agreement_id)
            self._require_state(a, AgreementState.TERMINATION_REQUESTED)
            if a.termination_by == actor.kind.value:
                raise Forbidden("解约需要由另一方同意。")
            version = await self._current_version(s, a)
            agreed = Terms.from_dict(version.terms).penalty_yuan
            if penalty_yuan is None:
                penalty_yuan = agreed
            # The penalty is what the signed agreement says; consent may waive part of it,
            # never raise it.
            if not 0 <= penalty_yuan <= agreed:
                raise InvalidInput(
                    f"违约金应在 0 到协议约定的 {agreed:,} 元之间。", field="penalty"
                )
            a.termination_penalty = penalty_yuan
            await self._transition(
                s,
                actor,
                a,
                AgreementState.TERMINATION_AGREED,
                "termination.consent",
                detail={"penalty_yuan": penalty_yuan},
            )
            self._emit(s, a, "termination_agreed", {"penalty_yuan": penalty_yuan})
            return await self._agreement_view(s, a, history=False)

    async def refuse_termination(self, actor: Actor, agreement_id: int) -> AgreementView:
        """The other party refuses; the agreement returns to where it was."""
        async with self._sessions() as s, s.begin():
            a = await self._party_agreement(s, actor, agreement_id)
            self._require_state(a, AgreementState.TERMINATION_REQUESTED)
            if a.termination_by == actor.kind.value:
                raise Forbidden("解约需要由另一方答复。")
            back = AgreementState(a.termination_from or AgreementState.EFFECTIVE.value)
            await self._transition(s, actor, a, back, "termination.refuse")
            a.termination_respond_by = None
            self._emit(s, a, "termination_refused", {})
            return await self._agreement_view(s, a, history=False)

    async def approve_termination(self, actor: Actor, agreement_id: int) -> AgreementView:
        """The university approves an agreed termination; the graduate may sign again."""
        async with self._sessions() as s, s.begin():
            a = await self._university_agreement(s, actor, agreement_id)
            self._require_state(a, AgreementState.TERMINATION_AGREED)
            await self._transition(s, actor, a, AgreementState.TERMINATED, "termination.approve")
            a.termination_respond_by = None
            self._emit(s, a, "terminated", {"penalty_yuan": a.termination_penalty})
            return await self._agreement_view(s, a, history=False)

    # ------------------------------------------------------------------ internals

    def _today(self) -> date:
        # Beijing date: graduation years and birth dates are Chinese calendar facts.
        return (self.now() + timedelta(hours=8)).date()

    async def _own_graduate(
        self, s: AsyncSession, actor: Actor, *, lock: bool = False
    ) -> Graduate:
        if actor.kind is not ActorKind.GRADUATE or actor.id is None:
            raise Forbidden()
        g = await s.get(Graduate, actor.id, with_for_update=lock or None)
        if g is None:
            raise NotRegistered()
        return g

    async def _own_agreement(self, s: AsyncSession, actor: Actor, agreement_id: int) -> Agreement:
        if actor.kind is not ActorKind.GRADUATE:
            raise Forbidden()
        a = await s.get(Agreement, agreement_id, with_for_update=True)
        if a is None or a.graduate_id != actor.id:
            raise NotFound()
        return a

    async def _employer_agreement(
        self, s: AsyncSession, actor: Actor, agreement_id: int
    ) -> Agreement:
        self._require_kind(actor, ActorKind.EMPLOYER)
        a = await s.get(Agreement, agreement_id, with_for_update=True)
        if a is None or a.employer_id != actor.id:
            raise NotFound()
        return a

    async def _university_agreement(
        self, s: AsyncSession, actor: Actor, agreement_id: int
    ) -> Agreement:
        self._require_kind(actor, ActorKind.UNIVERSITY)
        a = await s.get(Agreement, agreement_id, with_for_update=True)
        if a is None:
            raise NotFound()
        g = await s.get_one(Graduate, a.graduate_id)
        if g.university_id != actor.id:
            raise NotFound()
        return a

    async def _party_agreement(
        self, s: AsyncSession, actor: Actor, agreement_id: int
    ) -> Agreement:
        if actor.kind is ActorKind.GRADUATE:
            return await self._own_agreement(s, actor, agreement_id)
        return await self._employer_agreement(s, actor, agreement_id)

    async def _may_see(self, s: AsyncSession, actor: Actor, a: Agreement) -> bool:
        if actor.kind is ActorKind.GRADUATE:
            return a.graduate_id == actor.id
        if actor.kind is ActorKind.EMPLOYER:
            return a.employer_id == actor.id
        if actor.kind is ActorKind.UNIVERSITY:
            g = await s.get_one(Graduate, a.graduate_id)
            return g.university_id == actor.id
        return actor.kind is ActorKind.SYSTEM

    @staticmethod
    def _require_kind(actor: Actor, kind: ActorKind) -> None:
        if actor.kind is not kind or actor.id is None:
            raise Forbidden()

    @staticmethod
    def _require_editable(g: Graduate) -> None:
        if g.consent_at is None:
            raise ConsentRequired()
        if g.status not in EDITABLE:
            if g.status == RegistrationStatus.SUBMITTED.value:
                raise InvalidState("信息已提交，正在等待学校审核，暂时不能修改。")
            raise InvalidState("信息已通过审核，如需修改请联系学校就业指导中心。")

    @staticmethod
    def _require_approved(g: Graduate) -> None:
        if g.status != RegistrationStatus.APPROVED.value:
            raise NotApproved()
        if not g.phone or not g.phone_verified:
            raise PhoneNotVerified()

    @staticmethod
    def _require_state(a: Agreement, *allowed: AgreementState) -> None:
        if a.state not in {st.value for st in allowed}:
            state = AgreementState(a.state)
            raise InvalidState(
                f"这份协议当前状态是「{state.label}」，不能进行这个操作。",
                state=state.value,
            )

    @staticmethod
    def _require_future(when: datetime, now: datetime) -> None:
        if when.tzinfo is None:
            raise InvalidInput("回复期限需要带时区，例如 +08:00。", field="respond_by")
        if when <= now:
            raise InvalidInput("回复期限必须晚于现在。", field="respond_by")

    def _require_not_past(self, deadline: datetime, a: Agreement) -> None:
        if deadline <= self.now():
            raise DeadlinePassed("已经过了回复期限，这份邀请已失效。", agreement_id=a.id)

    async def _require_not_holding(self, s: AsyncSession, graduate_id: int) -> None:
        held = await s.scalar(
            select(Agreement.id).where(
                Agreement.graduate_id == graduate_id,
                Agreement.state.in_([st.value for st in HELD_STATES]),
            )
        )
        if held is not None:
            raise AlreadyHolding(held_agreement_id=held)

    async def _check_student_unique(
        self, s: AsyncSession, g: Graduate, university_id: int | None, student_no: str | None
    ) -> None:
        # Checked before the new value is set, so autoflush cannot hit the unique index first.
        if university_id is None or student_no is None:
            return
        other = await s.scalar(
            select(Graduate.id).where(
                Graduate.university_id == university_id,
                Graduate.student_no == student_no,
                Graduate.id != g.id,
            )
        )
        if other is not None:
            raise DuplicateRecord(
                "这个学号在本校已被登记。如不是你本人操作，请联系学校就业指导中心。"
            )

    async def _review(
        self, actor: Actor, graduate_id: int, *, approve: bool, reason: str | None
    ) -> GraduateView:
        self._require_kind(actor, ActorKind.UNIVERSITY)
        now = self.now()
        async with self._sessions() as s, s.begin():
            g = await s.get(Graduate, graduate_id, with_for_update=True)
            if g is None or g.university_id != actor.id:
                raise NotFound()
            if g.status != RegistrationStatus.SUBMITTED.value:
                raise InvalidState(
                    f"这份登记当前是「{RegistrationStatus(g.status).label}」，不能审核。"
                )
            before = g.status
            target = RegistrationStatus.APPROVED if approve else RegistrationStatus.REJECTED
            g.status = target.value
            g.reject_reason = reason
            g.reviewed_at = now
            g.updated_at = now
            self._audit(
                s,
                actor,
                f"registration.{'approve' if approve else 'reject'}",
                graduate_id=g.id,
                from_state=before,
                to_state=g.status,
            )
            s.add(
                OutboxMessage(
                    graduate_id=g.id,
                    kind=f"registration_{target.value}",
                    payload={"reason": reason} if reason else {},
                    dedupe_key=_event_key(f"registration:{g.id}:{target.value}"),
                    status="pending",
                    due_at=now,
                    attempts=0,
                    created_at=now,
                )
            )
            return await self._graduate_view(s, g)

    async def _add_version(
        self,
        s: AsyncSession,
        a: Agreement,
        employer: Employer,
        g: Graduate,
        terms: Terms,
        respond_by: datetime,
    ) -> AgreementVersion:
        number = a.version + 1
        university = await s.get(University, g.university_id) if g.university_id else None
        document = agreement_document(
            agreement_id=a.id,
            version=number,
            terms=terms,
            employer={"name": employer.name, "credit_code": employer.credit_code},
            graduate={"name": g.name or "", "student_no": g.student_no or ""},
            university=university.name if university else "",
        )
        version = AgreementVersion(
            agreement_id=a.id,
            number=number,
            terms=terms.to_dict(),
            canonical=canonical_text(document),
            digest=digest(document),
            respond_by=respond_by,
            created_at=self.now(),
        )
        s.add(version)
        a.version = number
        a.digest = version.digest
        a.respond_by = respond_by
        a.updated_at = self.now()
        return version

    async def _current_version(self, s: AsyncSession, a: Agreement) -> AgreementVersion:
        return await s.scalar(
            select(AgreementVersion).where(
                AgreementVersion.agreement_id == a.id, AgreementVersion.number == a.version
            )
        )  # type: ignore[return-value]

    async def _transition(
        self,
        s: AsyncSession,
        actor: Actor,
        a: Agreement,
        to: AgreementState,
        action: str,
        *,
        digest: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        before = a.state
        a.state = to.value
        a.updated_at = self.now()
        self._audit(
            s,
            actor,
            action,
            agreement=a,
            from_state=before,
            to_state=to.value,
            digest=digest or a.digest,
            detail=detail,
        )
        log.debug("agreement %s %s -> %s by %s", a.id, before, to.value, actor.kind.value)

    def _audit(
        self,
        s: AsyncSession,
        actor: Actor,
        action: str,
        *,
        agreement: Agreement | None = None,
        graduate_id: int | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        digest: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        s.add(
            AuditEntry(
                at=self.now(),
                actor_kind=actor.kind.value,
                actor_id=actor.id,
                channel=actor.channel,
                action=action,
                graduate_id=agreement.graduate_id if agreement else graduate_id,
                agreement_id=agreement.id if agreement else None,
                digest=digest,
                from_state=from_state,
                to_state=to_state,
                detail=detail,
            )
        )

    def _emit(self, s: AsyncSession, a: Agreement, kind: str, extra: dict[str, Any]) -> None:
        now = self.now()
        payload = {"agreement_id": a.id, "state": a.state, "version": a.version, **extra}
        s.add(
            OutboxMessage(
                graduate_id=a.graduate_id,
                kind=kind,
                payload=payload,
                dedupe_key=_event_key(f"event:{a.id}:{kind}:{a.version}"),
                status="pending",
                due_at=now,
                attempts=0,
                created_at=now,
            )
        )

    async def _void_codes(self, s: AsyncSession, agreement_id: int) -> None:
        now = self.now()
        await s.execute(
            update(CodeChallenge)
            .where(
                CodeChallenge.agreement_id == agreement_id,
                CodeChallenge.used_at.is_(None),
                CodeChallenge.expires_at > now,
            )
            .values(expires_at=now)
        )

    async def _new_challenge(
        self,
        s: AsyncSession,
        g: Graduate,
        purpose: CodePurpose,
        agreement_id: int | None,
        binding: str,
    ) -> tuple[CodeSent, str, int]:
        now = self.now()
        await self._require_not_locked(s, g.id, now)
        recent = list(
            await s.scalars(
                select(CodeChallenge.created_at)
                .where(
                    CodeChallenge.graduate_id == g.id,
                    CodeChallenge.created_at > now - timedelta(hours=1),
                )
                .order_by(CodeChallenge.created_at.desc())
            )
        )
        if recent and recent[0] > now - otp.MIN_RESEND_INTERVAL:
            wait = int((recent[0] + otp.MIN_RESEND_INTERVAL - now).total_seconds()) + 1
            raise CodeRateLimited(f"验证码刚发过，请 {wait} 秒后再试。", retry_after_s=wait)
        if len(recent) >= otp.MAX_CODES_PER_HOUR:
            wait = int((recent[-1] + timedelta(hours=1) - now).total_seconds()) + 1
            raise CodeRateLimited(
                f"一小时内最多发送 {otp.MAX_CODES_PER_HOUR} 次验证码，"
                f"请 {wait // 60 + 1} 分钟后再试。",
                retry_after_s=wait,
            )
        # Per number as well as per graduate: fresh accounts must not turn us into an SMS
        # cannon aimed at someone else's phone.
        to_number = await s.scalar(
            select(func.count())
            .select_from(CodeChallenge)
            .where(
                CodeChallenge.phone == (g.phone or ""),
                CodeChallenge.created_at > now - timedelta(hours=1),
            )
        )
        if (to_number or 0) >= otp.MAX_CODES_PER_HOUR:
            raise CodeRateLimited(
                "这个手机号一小时内收到的验证码太多了，请稍后再试。", retry_after_s=3600
            )
        # A new code replaces any earlier one for the same purpose and object.
        await s.execute(
            update(CodeChallenge)
            .where(
                CodeChallenge.graduate_id == g.id,
                CodeChallenge.purpose == purpose.value,
                CodeChallenge.agreement_id.is_(None)
                if agreement_id is None
                else CodeChallenge.agreement_id == agreement_id,
                CodeChallenge.used_at.is_(None),
                CodeChallenge.expires_at > now,
            )
            .values(expires_at=now)
        )
        code = self._code_source()
        challenge = CodeChallenge(
            graduate_id=g.id,
            purpose=purpose.value,
            agreement_id=agreement_id,
            binding=binding,
            phone=g.phone or "",
            code_hash=otp.hash_code(self._protector.code_key, code, binding=binding),
            created_at=now,
            expires_at=now + otp.CODE_TTL,
            wrong_attempts=0,
            delivered=False,
        )
        s.add(challenge)
        await s.flush()
        sent = CodeSent(
            phone_masked=v.mask_phone(g.phone or ""),
            expires_at=challenge.expires_at,
            resend_after=now + otp.MIN_RESEND_INTERVAL,
        )
        log.info("code issued for graduate %s purpose %s", g.id, purpose.value)
        return sent, code, challenge.id

    async def _deliver(self, challenge_id: int, phone: str, text: str) -> None:
        ok = False
        try:
            ok = await self._sms.send(phone, text)
        except Exception as exc:  # noqa: BLE001 - any gateway failure means "not delivered"
            # Only the type: a gateway's message or traceback may quote the phone or the text.
            log.warning("sms backend raised %s for challenge %s", type(exc).__name__, challenge_id)
        async with self._sessions() as s, s.begin():
            if ok:
                await s.execute(
                    update(CodeChallenge)
                    .where(CodeChallenge.id == challenge_id)
                    .values(delivered=True)
                )
                return
            # The graduate never got this code: forget it so it costs them no resend quota.
            challenge = await s.get(CodeChallenge, challenge_id)
            if challenge is not None:
                await s.delete(challenge)
        log.warning("code for challenge %s could not be delivered", challenge_id)
        raise DeliveryFailed()

    async def _latest_challenge(
        self, s: AsyncSession, graduate_id: int, purpose: CodePurpose, agreement_id: int | None
    ) -> CodeChallenge | None:
        query = (
            select(CodeChallenge)
            .where(
                CodeChallenge.graduate_id == graduate_id,
                CodeChallenge.purpose == purpose.value,
                CodeChallenge.used_at.is_(None),
            )
            .order_by(CodeChallenge.created_at.desc(), CodeChallenge.id.desc())
            .limit(1)
            .with_for_update()
        )
        if agreement_id is None:
            query = query.where(CodeChallenge.agreement_id.is_(None))
        else:
            query = query.where(CodeChallenge.agreement_id == agreement_id)
        return await s.scalar(query)

    async def _require_not_locked(self, s: AsyncSession, graduate_id: int, now: datetime) -> None:
        failures = list(
            await s.scalars(
                select(CodeFailure.at)
                .where(
                    CodeFailure.graduate_id == graduate_id,
                    CodeFailure.at > now - timedelta(hours=1),
                )
                .order_by(CodeFailure.at)
            )
        )
        if len(failures) >= otp.MAX_WRONG_PER_HOUR:
            unlock = failures[-otp.MAX_WRONG_PER_HOUR] + timedelta(hours=1)
            wait = max(1, int((unlock - now).total_seconds()) + 1)
            raise CodeLocked(
                f"验证码错误次数过多，请 {wait // 60 + 1} 分钟后再试。", retry_after_s=wait
            )

    async def _check_code(
        self,
        s: AsyncSession,
        g: Graduate,
        challenge: CodeChallenge | None,
        code: str,
        binding: str,
    ) -> CodeResult:
        now = self.now()
        try:
            await self._require_not_locked(s, g.id, now)
        except CodeLocked as locked:
            return CodeResult(CodeOutcome.LOCKED, retry_after_s=locked.retry_after_s)
        if challenge is None or not challenge.delivered:
            return CodeResult(CodeOutcome.NO_CODE)
        if challenge.binding != binding:
            return CodeResult(CodeOutcome.SUPERSEDED)
        if challenge.wrong_attempts >= otp.MAX_WRONG_PER_CODE:
            return CodeResult(CodeOutcome.DEAD)
        if challenge.expires_at <= now:
            return CodeResult(CodeOutcome.EXPIRED)
        if otp.code_matches(
            self._protector.code_key,
            _typed_code(code),
            binding=binding,
            stored_hash=challenge.code_hash,
        ):
            challenge.used_at = now
            return CodeResult(CodeOutcome.OK)
        attempts = await s.scalar(
            update(CodeChallenge)
            .where(CodeChallenge.id == challenge.id)
            .values(wrong_attempts=CodeChallenge.wrong_attempts + 1)
            .returning(CodeChallenge.wrong_attempts)
        )
        s.add(CodeFailure(graduate_id=g.id, challenge_id=challenge.id, at=now))
        await s.flush()
        left = max(0, otp.MAX_WRONG_PER_CODE - (attempts or otp.MAX_WRONG_PER_CODE))
        log.info("wrong code for graduate %s, %d attempts left", g.id, left)
        return CodeResult(CodeOutcome.WRONG, attempts_left=left)

    async def _summary(self, s: AsyncSession, a: Agreement) -> AgreementSummary:
        employer = await s.get_one(Employer, a.employer_id)
        version = await self._current_version(s, a)
        terms = Terms.from_dict(version.terms)
        return AgreementSummary(
            id=a.id,
            token=a.token,
            state=AgreementState(a.state),
            employer_name=employer.name,
            position=terms.position,
            city=terms.city,
            salary_yuan=terms.salary_yuan,
            version=a.version,
            digest=a.digest,
            respond_by=a.respond_by,
            created_at=a.created_at,
        )

    async def _agreement_view(
        self, s: AsyncSession, a: Agreement, *, history: bool
    ) -> AgreementView:
        employer = await s.get_one(Employer, a.employer_id)
        versions = list(
            await s.scalars(
                select(AgreementVersion)
                .where(AgreementVersion.agreement_id == a.id)
                .order_by(AgreementVersion.number)
            )
        )
        current = next(x for x in versions if x.number == a.version)
        terms = Terms.from_dict(current.terms)
        audit: tuple[AuditView, ...] = ()
        requests: tuple[str, ...] = ()
        if history:
            entries = await s.scalars(
                select(AuditEntry).where(AuditEntry.agreement_id == a.id).order_by(AuditEntry.id)
            )
            audit = tuple(
                AuditView(
                    e.at, e.actor_kind, e.channel, e.action, e.from_state, e.to_state, e.digest
                )
                for e in entries
            )
            requests = tuple(
                await s.scalars(
                    select(ChangeRequest.text)
                    .where(ChangeRequest.agreement_id == a.id)
                    .order_by(ChangeRequest.id)
                )
            )
        return AgreementView(
            id=a.id,
            token=a.token,
            state=AgreementState(a.state),
            employer_name=employer.name,
            employer_credit_code=employer.credit_code,
            graduate_id=a.graduate_id,
            version=a.version,
            digest=a.digest,
            terms=terms,
            respond_by=a.respond_by,
            seal_by=a.seal_by,
            signed_at=a.signed_at,
            sealed_at=a.sealed_at,
            filed_at=a.filed_at,
            termination_by=a.termination_by,
            termination_reason=a.termination_reason,
            termination_penalty=a.termination_penalty,
            termination_respond_by=a.termination_respond_by,
            warnings=terms.warnings(),
            versions=tuple(
                VersionView(
                    x.number, x.digest, Terms.from_dict(x.terms), x.respond_by, x.created_at
                )
                for x in versions
            ),
            change_requests=requests,
            history=audit,
        )

    async def _graduate_view(self, s: AsyncSession, g: Graduate) -> GraduateView:
        docs = list(
            await s.scalars(
                select(Document).where(Document.graduate_id == g.id).order_by(Document.id)
            )
        )
        uni = await s.get(University, g.university_id) if g.university_id else None
        missing = [
            f
            for f in REGISTRATION_FIELDS
            if (
                getattr(g, f)
                if f not in ("university", "id_number")
                else (uni if f == "university" else g.id_number_hash)
            )
            in (None, "", [])
        ]
        if g.phone and not g.phone_verified:
            missing.append("phone_verified")
        kinds = {d.kind for d in docs}
        if not all(k.value in kinds for k in DocumentKind):
            missing.append("documents")
        return GraduateView(
            id=g.id,
            status=RegistrationStatus(g.status),
            consented=g.consent_at is not None,
            name=g.name,
            id_number_masked=g.id_number_masked,
            phone_masked=v.mask_phone(g.phone) if g.phone else None,
            phone_verified=g.phone_verified,
            university=uni.name if uni else None,
            student_no=g.student_no,
            faculty=g.faculty,
            major=g.major,
            education_level=g.education_level,
            graduation_year=g.graduation_year,
            industries=tuple(g.industries or ()),
            cities=tuple(g.cities or ()),
            expected_salary=g.expected_salary,
            documents=tuple(
                DocumentView(d.id, DocumentKind(d.kind), d.file_name, d.content_type, d.size)
                for d in docs
            ),
            reject_reason=g.reject_reason,
            reminders_enabled=g.reminders_enabled,
            missing=tuple(missing),
            unreachable=g.unreachable_at is not None,
        )
