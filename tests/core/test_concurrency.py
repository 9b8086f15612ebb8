"""The invariants under real concurrency: simultaneous calls over separate connections.

These run on both back ends; PostgreSQL is the one that matters (row locks and the partial
unique index), SQLite serialises writers with BEGIN IMMEDIATE.
"""

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.domain.actors import Actor
from core.domain.errors import AlreadyHolding
from core.domain.otp import CodeOutcome
from core.domain.states import AgreementState as S
from core.domain.validators import credit_check_char
from core.storage.models import Agreement, AuditEntry, CodeFailure


async def _count(world, model, *where) -> int:
    async with world.core.sessions() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_simultaneous_confirmations_of_different_invitations_sign_exactly_one(world):
    me = await world.graduate()
    world.clock.advance(hours=1)  # the phone code no longer counts towards five an hour
    employers = [world.employer, world.other_employer]
    for i in range(3):
        code = f"91440300MA5{i:06d}"
        eid = await world.svc.register_employer(f"公司{i}", code + credit_check_char(code))
        employers.append(Actor.employer(eid))
    invitations = [await world.invite(me, employer=e) for e in employers]
    codes = []
    for a in invitations:
        await world.svc.request_signing_code(me, a.id, a.digest)
        codes.append(world.sms.last_code())
        world.clock.advance(seconds=61)
    world.clock.advance(seconds=-61)

    pairs = zip(invitations, codes, strict=True)
    results = await asyncio.gather(
        *(world.svc.confirm_signature(me, a.id, c) for a, c in pairs), return_exceptions=True
    )
    ok = [r for r in results if not isinstance(r, BaseException) and r.ok]
    refused = [r for r in results if isinstance(r, AlreadyHolding)]
    assert len(ok) == 1, results
    assert len(refused) == len(invitations) - 1, results
    states = [(await world.svc.agreement(me, a.id)).state for a in invitations]
    assert states.count(S.GRADUATE_SIGNED) == 1
    assert states.count(S.INVITED) == len(invitations) - 1
    assert await _count(world, AuditEntry, AuditEntry.action == "agreement.sign") == 1


async def test_concurrent_wrong_guesses_kill_the_code_after_exactly_five(world):
    me = await world.graduate()
    a = await world.invite(me)
    await world.svc.request_signing_code(me, a.id, a.digest)
    code = world.sms.last_code()
    wrong = [f"{(int(code) + k) % 1_000_000:06d}" for k in range(1, 9)]

    results = await asyncio.gather(*(world.svc.confirm_signature(me, a.id, w) for w in wrong))
    outcomes = sorted(r.outcome.value for r in results)
    assert outcomes == ["dead"] * 3 + ["wrong"] * 5
    assert await _count(world, CodeFailure, CodeFailure.graduate_id == me.id) == 5
    sixth = await world.svc.confirm_signature(me, a.id, code)
    assert sixth.outcome is CodeOutcome.DEAD
    assert (await world.svc.agreement(me, a.id)).state is S.INVITED


async def test_a_double_submitted_confirmation_succeeds_twice_with_one_event(world):
    me = await world.graduate()
    a = await world.invite(me)
    await world.svc.request_signing_code(me, a.id, a.digest)
    code = world.sms.last_code()

    results = await asyncio.gather(
        *(world.svc.confirm_signature(me, a.id, code, a.digest) for _ in range(4))
    )
    assert all(r.ok for r in results)
    assert sorted(r.outcome.value for r in results) == ["already_confirmed"] * 3 + ["ok"]
    signs = await _count(
        world, AuditEntry, AuditEntry.action == "agreement.sign", AuditEntry.agreement_id == a.id
    )
    assert signs == 1


async def test_the_database_refuses_a_second_held_agreement_by_itself(world):
    """Even a writer that skips the service's checks cannot hold two agreements."""
    me = await world.graduate()
    a = await world.invite(me)
    b = await world.invite(me, employer=world.other_employer)
    await world.sign(me, a.id)
    with pytest.raises(IntegrityError):
        async with world.core.sessions() as s, s.begin():
            (await s.get_one(Agreement, b.id)).state = S.EFFECTIVE.value
