"""Idempotent demo data, so a newcomer can walk an agreement from invitation to filed."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select

from core.bootstrap import Core
from core.domain.actors import Actor
from core.domain.states import HELD_STATES, OPEN_STATES, DocumentKind, RegistrationStatus
from core.domain.terms import Terms
from core.domain.validators import credit_check_char, id_check_char, mask_id_number
from core.storage.models import Agreement, Document, Graduate, TelegramBinding

UNIVERSITY = "示例大学"
EMPLOYER = "示例科技有限公司"
STUDENT_NO = "2026000001"
PHONE = "13800138000"
# A 1x1 PNG stands in for each document.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def demo_credit_code() -> str:
    first17 = "91110108MA01ABCD0"
    return first17 + credit_check_char(first17)


def demo_id_number() -> str:
    first17 = "11010520040312001"
    return first17 + id_check_char(first17)


async def seed_demo(
    core: Core, *, telegram_user_id: int | None, now: datetime
) -> dict[str, object]:
    """Create the demo university, employer, approved graduate and one open invitation."""
    service = core.service
    university_id = await service.register_university(
        UNIVERSITY, office_contact="就业指导中心，行政楼 101 室，工作日 9:00–17:00"
    )
    employer_id = await service.register_employer(EMPLOYER, demo_credit_code())
    async with core.sessions() as s, s.begin():
        g = await s.scalar(
            select(Graduate).where(
                Graduate.university_id == university_id, Graduate.student_no == STUDENT_NO
            )
        )
        if g is None:
            id_number = demo_id_number()
            g = Graduate(
                status=RegistrationStatus.APPROVED.value,
                consent_at=now,
                university_id=university_id,
                student_no=STUDENT_NO,
                name="张三",
                id_number_hash=core.protector.lookup_hash(id_number),
                id_number_sealed=core.protector.seal(id_number),
                id_number_masked=mask_id_number(id_number),
                phone=PHONE,
                phone_verified=True,
                faculty="计算机学院",
                major="软件工程",
                education_level="本科",
                graduation_year=2026,
                industries=["互联网"],
                cities=["北京"],
                expected_salary=12000,
                submitted_at=now,
                reviewed_at=now,
                reminders_enabled=True,
                created_at=now,
                updated_at=now,
            )
            s.add(g)
            await s.flush()
            for kind in DocumentKind:
                s.add(
                    Document(
                        graduate_id=g.id,
                        kind=kind.value,
                        file_name=f"{kind.value}.png",
                        content_type="image/png",
                        size=len(TINY_PNG),
                        sha256=hashlib.sha256(TINY_PNG).hexdigest(),
                        content=TINY_PNG,
                        created_at=now,
                    )
                )
        if telegram_user_id is not None:
            mine = await s.get(TelegramBinding, telegram_user_id)
            theirs = await s.scalar(
                select(TelegramBinding).where(TelegramBinding.graduate_id == g.id)
            )
            if mine is None or mine.graduate_id != g.id:
                if mine is not None:
                    await s.delete(mine)
                if theirs is not None:
                    await s.delete(theirs)
                await s.flush()
                s.add(
                    TelegramBinding(
                        telegram_user_id=telegram_user_id,
                        graduate_id=g.id,
                        chat_id=telegram_user_id,
                        created_at=now,
                    )
                )
        graduate_id = g.id
        # The demo invitation is made once: after it is declined or terminated, a restart
        # must not keep inventing new ones. The first (live one first) is reported.
        live = await s.scalar(
            select(Agreement.id)
            .where(Agreement.graduate_id == graduate_id)
            .order_by(
                Agreement.state.in_([st.value for st in OPEN_STATES | HELD_STATES]).desc(),
                Agreement.id,
            )
            .limit(1)
        )
    agreement_id = live
    if agreement_id is None:
        terms = Terms(
            position="软件开发工程师",
            city="北京",
            salary_yuan=15000,
            probation_months=3,
            service_years=3,
            penalty_yuan=5000,
            insurance=True,
            insurance_notes="按北京市标准缴纳五险一金",
            other_clauses="入职前需提供毕业证和学位证。",
        )
        view = await service.invite(
            Actor.employer(employer_id, "demo"), graduate_id, terms, now + timedelta(days=7)
        )
        agreement_id = view.id
    return {
        "university_id": university_id,
        "employer_id": employer_id,
        "employer_credit_code": demo_credit_code(),
        "graduate_id": graduate_id,
        "student_no": STUDENT_NO,
        "agreement_id": agreement_id,
        "telegram_user_id": telegram_user_id,
    }
