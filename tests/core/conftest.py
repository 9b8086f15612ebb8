"""A small world for the core tests: a university, employers, registered graduates.

Graduates are registered through the service itself (consent, fields, documents, phone
code, submission, approval), so every test starts from states a real user can reach.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select

import core.storage.all_models  # noqa: F401  (every table on the metadata, for TRUNCATE)
from core.bootstrap import Core
from core.domain.actors import Actor
from core.domain.states import DocumentKind, RegistrationStatus
from core.domain.terms import Terms
from core.domain.validators import credit_check_char, id_check_char, mask_id_number
from core.service import AgreementService
from core.storage.base import Base
from core.storage.models import AuditEntry, Document, Graduate, TelegramBinding, University
from core.views import AgreementView
from tests.conftest import PG_ADMIN_DSN, FakeClock, RecordingSms, _pg_url

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def id_number(serial: int, birth: str = "20040312") -> str:
    first17 = f"110105{birth}{serial % 1000:03d}"
    return first17 + id_check_char(first17)


def credit_code(body: str) -> str:
    return body + credit_check_char(body)


def phone(serial: int) -> str:
    return f"139{serial:08d}"


def terms(**changes: object) -> Terms:
    base: dict[str, object] = {
        "position": "软件开发工程师",
        "city": "北京",
        "salary_yuan": 15000,
        "probation_months": 3,
        "service_years": 3,
        "penalty_yuan": 5000,
    }
    base.update(changes)
    return Terms(**base)  # type: ignore[arg-type]


@dataclass
class World:
    core: Core
    clock: FakeClock
    sms: RecordingSms
    university: Actor
    other_university: Actor
    employer: Actor
    other_employer: Actor
    _serial: int = 0

    @property
    def svc(self) -> AgreementService:
        return self.core.service

    async def graduate(
        self,
        *,
        approve: bool = True,
        submit: bool = True,
        university: str = "示例大学",
        via_service: bool = False,
    ) -> Actor:
        """A registered graduate, approved unless told otherwise.

        Anything short of approval goes through the service step by step; an approved one is
        written straight to the database (as the demo does) unless ``via_service`` is set,
        which keeps the many agreement tests fast. test_registration covers the real path.
        """
        self._serial += 1
        n = self._serial
        if approve and submit and not via_service:
            return await self._approved_graduate(n, university)
        g = await self.svc.begin_registration(1000 + n, 1000 + n, consent=True)
        me = Actor.graduate(g.id)
        values = {
            "name": "李 四",
            "id_number": id_number(n),
            "phone": phone(n),
            "university": university,
            "student_no": f"2026{n:06d}",
            "faculty": "计算机学院",
            "major": "软件工程",
            "education_level": "本科",
            "graduation_year": "2026",
            "industries": "互联网、金融",
            "cities": "北京 上海",
            "expected_salary": "12k",
        }
        for field, raw in values.items():
            await self.svc.save_field(me, field, raw)
        for kind in DocumentKind:
            await self.svc.add_document(me, kind, f"{kind.value}.png", "image/png", PNG)
        if not submit:
            return me
        await self.svc.request_phone_code(me)
        assert (await self.svc.verify_phone(me, self.sms.last_code())).ok
        # The phone code counts towards the resend limit: step past the one-minute gap.
        self.clock.advance(seconds=61)
        await self.svc.submit_registration(me)
        if approve:
            uni = self.university if university == "示例大学" else self.other_university
            await self.svc.approve_registration(uni, g.id)
        return me

    async def _approved_graduate(self, n: int, university: str) -> Actor:
        now = self.clock.now
        number = id_number(n)
        protector = self.core.protector
        async with self.core.sessions() as s, s.begin():
            uni = await s.scalar(select(University).where(University.name == university))
            g = Graduate(
                status=RegistrationStatus.APPROVED.value,
                consent_at=now,
                university_id=uni.id,
                student_no=f"2026{n:06d}",
                name="李 四",
                id_number_hash=protector.lookup_hash(number),
                id_number_sealed=protector.seal(number),
                id_number_masked=mask_id_number(number),
                phone=phone(n),
                phone_verified=True,
                faculty="计算机学院",
                major="软件工程",
                education_level="本科",
                graduation_year=2026,
                industries=["互联网"],
                cities=["北京"],
                expected_salary=12000,
                reminders_enabled=True,
                created_at=now,
                updated_at=now,
            )
            s.add(g)
            await s.flush()
            s.add(
                TelegramBinding(
                    telegram_user_id=1000 + n, graduate_id=g.id, chat_id=1000 + n, created_at=now
                )
            )
            for kind in DocumentKind:
                s.add(
                    Document(
                        graduate_id=g.id,
                        kind=kind.value,
                        file_name=f"{kind.value}.png",
                        content_type="image/png",
                        size=len(PNG),
                        sha256="0" * 64,
                        content=PNG,
                        created_at=now,
                    )
                )
            return Actor.graduate(g.id)

    async def invite(
        self, me: Actor, *, employer: Actor | None = None, days: int = 7, **changes: object
    ) -> AgreementView:
        return await self.svc.invite(
            employer or self.employer,
            me.id,  # type: ignore[arg-type]
            terms(**changes),
            self.clock.now + timedelta(days=days),
        )

    async def sign(self, me: Actor, agreement_id: int) -> AgreementView:
        """Request a signing code and confirm it; leaves the clock past the resend gap."""
        view = await self.svc.agreement(me, agreement_id)
        await self.svc.request_signing_code(me, agreement_id, view.digest)
        result = await self.svc.confirm_signature(me, agreement_id, self.sms.last_code())
        assert result.ok, result
        self.clock.advance(seconds=61)
        return await self.svc.agreement(me, agreement_id)

    async def effective(self, me: Actor, **changes: object) -> AgreementView:
        a = await self.invite(me, **changes)
        await self.sign(me, a.id)
        return await self.svc.seal(self.employer, a.id)

    async def audit(self, agreement_id: int | None = None) -> list[AuditEntry]:
        async with self.core.sessions() as s:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if agreement_id is not None:
                query = query.where(AuditEntry.agreement_id == agreement_id)
            return list(await s.scalars(query))


@pytest.fixture(scope="session")
def core_pg_database(pg_template: str | None) -> Iterator[str | None]:
    """One PostgreSQL database for the whole core suite, cloned once from the template."""
    if pg_template is None:
        yield None
        return
    name = f"wq_core_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        await conn.execute(sql)
        await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield name
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    core_pg_database: str | None,
) -> AsyncIterator[str]:
    """Like the shared fixture, but PostgreSQL is emptied rather than cloned per test.

    Cloning a database costs about half a second on a busy server; emptying every table
    (TRUNCATE fires no row triggers, so the append-only audit log can be cleared) is
    a few milliseconds, and each test still starts from a migrated, empty schema.
    """
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    if core_pg_database is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    conn = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{core_pg_database}")
    await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    await conn.close()
    yield _pg_url(core_pg_database)


@pytest.fixture
async def world(core: Core, clock: FakeClock, sms: RecordingSms) -> World:
    svc = core.service
    uni = await svc.register_university("示例大学", office_contact="就业指导中心 101 室")
    other_uni = await svc.register_university("另一所大学")
    employer = await svc.register_employer("示例科技有限公司", credit_code("91110108MA01ABCD0"))
    other = await svc.register_employer("别家公司", credit_code("91310000MA1FL0000"))
    return World(
        core,
        clock,
        sms,
        Actor.university(uni),
        Actor.university(other_uni),
        Actor.employer(employer),
        Actor.employer(other),
    )
