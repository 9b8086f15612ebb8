"""The append-only audit log, employer registration with its override, and error codes."""

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

import core.domain.errors as errors
from core.domain.actors import Actor
from core.domain.errors import CreditCodeInvalid, DomainError, InvalidInput
from core.storage.models import AuditEntry
from tests.core.conftest import credit_code


async def test_every_transition_names_actor_channel_and_digest(world):
    me = Actor.graduate((await world.graduate()).id, channel="telegram")
    a = await world.invite(me)
    await world.svc.request_changes(me, a.id, "改薪资")
    revised = await world.svc.revise(world.employer, a.id, a.terms)
    await world.sign(me, a.id)
    await world.svc.seal(world.employer, a.id)
    await world.svc.file(world.university, a.id)
    await world.svc.request_termination(world.employer, a.id, "岗位取消")
    await world.svc.consent_termination(me, a.id, 1000)
    await world.svc.approve_termination(world.university, a.id)

    rows = await world.audit(a.id)
    seen = [(r.action, r.actor_kind, r.actor_id, r.channel, r.digest) for r in rows]
    emp, uni = world.employer.id, world.university.id
    v1, v2 = a.digest, revised.digest
    assert seen == [
        ("agreement.invite", "employer", emp, "cli", v1),
        ("agreement.request_changes", "graduate", me.id, "telegram", v1),
        ("agreement.revise", "employer", emp, "cli", v2),
        ("agreement.sign", "graduate", me.id, "telegram", v2),
        ("agreement.seal", "employer", emp, "cli", v2),
        ("agreement.file", "university", uni, "cli", v2),
        ("termination.request", "employer", emp, "cli", v2),
        ("termination.consent", "graduate", me.id, "telegram", v2),
        ("termination.approve", "university", uni, "cli", v2),
    ]
    assert all(r.at is not None and r.graduate_id == me.id for r in rows)
    chain = [(r.from_state, r.to_state) for r in rows]
    assert all(prev[1] == cur[0] for prev, cur in zip(chain, chain[1:], strict=False))


async def test_expiry_is_recorded_as_the_system(world):
    me = await world.graduate()
    a = await world.invite(me, days=1)
    world.clock.advance(days=2)
    await world.svc.expire_due()
    last = (await world.audit(a.id))[-1]
    assert last.action == "agreement.expire"
    assert (last.actor_kind, last.actor_id, last.channel) == ("system", None, "scheduler")


@pytest.mark.parametrize("statement", ["update", "delete"])
async def test_the_database_refuses_to_change_the_audit_log(world, statement):
    me = await world.graduate()
    await world.invite(me)
    before = len(await world.audit())
    change = (
        update(AuditEntry).values(action="agreement.forged")
        if statement == "update"
        else delete(AuditEntry)
    )
    with pytest.raises(DBAPIError, match="append-only"):
        async with world.core.sessions() as s, s.begin():
            await s.execute(change)
    rows = await world.audit()
    assert len(rows) == before
    assert "agreement.forged" not in {r.action for r in rows}


async def test_raw_sql_cannot_change_the_audit_log_either(world):
    await world.graduate()
    with pytest.raises(DBAPIError):
        async with world.core.engine.begin() as conn:
            await conn.execute(text("UPDATE audit_log SET channel = 'x'"))


async def test_an_employer_with_a_valid_credit_code_registers_once(world):
    code = credit_code("91320000MA1MXXXX0")
    first = await world.svc.register_employer("新公司", code)
    again = await world.svc.register_employer("新公司", code.lower())
    assert first == again
    assert await world.svc.employer_by_code(code) == first


async def test_a_failing_credit_code_needs_the_recorded_override(world):
    good = credit_code("91110000MA00AAAA0")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(CreditCodeInvalid):
        await world.svc.register_employer("老企业", bad)
    employer_id = await world.svc.register_employer("老企业", bad, override_check=True)
    entry = (await world.audit())[-1]
    assert entry.action == "employer.register"
    assert entry.detail == {"employer_id": employer_id, "check_overridden": True}
    ordinary = [e for e in await world.audit() if e.action == "employer.register"][0]
    assert ordinary.detail["check_overridden"] is False


async def test_the_override_does_not_admit_a_malformed_code(world):
    with pytest.raises(InvalidInput):
        await world.svc.register_employer("坏代码", "91110000MA00AAAAO0", override_check=True)


def _error_classes() -> list[type[DomainError]]:
    found = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, DomainError)
    ]
    return sorted(found, key=lambda c: c.__name__)


def test_every_domain_error_has_its_own_stable_code_and_a_chinese_message():
    classes = _error_classes()
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    expected = {
        "NotFound": "not_found",
        "Forbidden": "forbidden",
        "InvalidInput": "invalid_input",
        "InvalidState": "invalid_state",
        "AlreadyHolding": "agreement.already_holding",
        "DeadlinePassed": "agreement.deadline_passed",
        "CodeRateLimited": "otp.rate_limited",
        "CodeLocked": "otp.locked",
        "DeliveryFailed": "otp.delivery_failed",
        "NotApproved": "registration.not_approved",
        "PhoneNotVerified": "registration.phone_unverified",
        "ConsentRequired": "registration.consent_required",
        "CreditCodeInvalid": "employer.credit_code_invalid",
    }
    actual = {c.__name__: c.code for c in classes}
    assert {k: actual[k] for k in expected} == expected
    for cls in classes:
        message = cls().message
        assert any("\u4e00" <= ch <= "\u9fff" for ch in message), cls.__name__
        assert str(cls()).startswith(cls.code + ": ")
