"""One-time codes: shape, expiry, single use, attempt limits, resend limits and binding."""

import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.domain.errors import CodeLocked, CodeRateLimited, InvalidState, NotFound
from core.domain.otp import CodeOutcome
from core.domain.states import AgreementState as S
from core.storage.models import CodeChallenge, CodeFailure
from tests.core.conftest import id_number, phone, terms


async def _code_for(world, me, agreement_id: int) -> str:
    view = await world.svc.agreement(me, agreement_id)
    await world.svc.request_signing_code(me, agreement_id, view.digest)
    return world.sms.last_code()


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_a_code_is_six_digits_sent_to_the_verified_phone(world):
    me = await world.graduate()
    a = await world.invite(me)
    sent = await world.svc.request_signing_code(me, a.id, a.digest)
    number, text = world.sms.sent[-1]
    assert number == phone(1)
    assert re.fullmatch(r"\d{6}", world.sms.last_code())
    assert "示例科技有限公司" in text and "5 分钟" in text
    assert sent.phone_masked == "139****0001"
    assert sent.expires_at == world.clock.now + timedelta(minutes=5)
    assert sent.resend_after == world.clock.now + timedelta(minutes=1)


async def test_a_code_works_until_five_minutes_and_not_at_five(world):
    me = await world.graduate()
    a = await world.invite(me)
    b = await world.invite(me, employer=world.other_employer)
    code_a = await _code_for(world, me, a.id)
    world.clock.advance(minutes=5)
    assert (await world.svc.confirm_signature(me, a.id, code_a)).outcome is CodeOutcome.EXPIRED
    world.clock.advance(seconds=1)
    code_b = await _code_for(world, me, b.id)
    world.clock.advance(minutes=4, seconds=59)
    assert (await world.svc.confirm_signature(me, b.id, code_b)).outcome is CodeOutcome.OK


async def test_a_spaced_code_is_accepted(world):
    me = await world.graduate()
    a = await world.invite(me)
    code = await _code_for(world, me, a.id)
    result = await world.svc.confirm_signature(me, a.id, f" {code}\n")
    assert result.outcome is CodeOutcome.OK


async def test_a_full_width_code_counts_as_the_same_code(world):
    me = await world.graduate()
    a = await world.invite(me)
    code = await _code_for(world, me, a.id)
    full = "".join(chr(ord(c) + 0xFEE0) for c in code)
    typed = f"{full[:3]} {full[3:]}"
    assert (await world.svc.confirm_signature(me, a.id, typed)).outcome is CodeOutcome.OK
    again = await world.svc.confirm_signature(me, a.id, typed)
    assert again.outcome is CodeOutcome.ALREADY_CONFIRMED


async def test_a_code_is_used_once(world):
    me = await world.graduate()
    a = await world.effective(me)
    await world.svc.request_termination_code(me, a.id)
    code = world.sms.last_code()
    assert (await world.svc.request_termination(me, a.id, "读研", code)).ok
    await world.svc.refuse_termination(world.employer, a.id)
    again = await world.svc.request_termination(me, a.id, "读研", code)
    assert again.outcome is CodeOutcome.NO_CODE
    assert (await world.svc.agreement(me, a.id)).state is S.EFFECTIVE


async def test_five_wrong_entries_kill_the_code(world):
    me = await world.graduate()
    a = await world.invite(me)
    code = await _code_for(world, me, a.id)
    left = []
    for _ in range(5):
        result = await world.svc.confirm_signature(me, a.id, _wrong(code))
        assert result.outcome is CodeOutcome.WRONG
        left.append(result.attempts_left)
    assert left == [4, 3, 2, 1, 0]
    assert (await world.svc.confirm_signature(me, a.id, code)).outcome is CodeOutcome.DEAD
    assert (await world.svc.agreement(me, a.id)).state is S.INVITED
    # A fresh code works again.
    world.clock.advance(seconds=61)
    fresh = await _code_for(world, me, a.id)
    assert (await world.svc.confirm_signature(me, a.id, fresh)).outcome is CodeOutcome.OK


async def test_ten_failures_in_an_hour_lock_codes_and_a_new_code_does_not_reset_it(world):
    me = await world.graduate()
    a = await world.invite(me)
    world.clock.advance(hours=1)  # out of the phone code's resend window
    first_failure = world.clock.now
    for wrong_count in (4, 4, 2):
        code = await _code_for(world, me, a.id)
        for _ in range(wrong_count):
            result = await world.svc.confirm_signature(me, a.id, _wrong(code))
            assert result.outcome is CodeOutcome.WRONG
        world.clock.advance(seconds=61)
    world.clock.advance(seconds=-61)
    locked = await world.svc.confirm_signature(me, a.id, code)
    assert locked.outcome is CodeOutcome.LOCKED
    assert 0 < locked.retry_after_s <= 3600
    world.clock.advance(seconds=61)
    with pytest.raises(CodeLocked) as caught:
        await world.svc.request_signing_code(me, a.id, a.digest)
    assert caught.value.code == "otp.locked"
    assert "分钟后再试" in caught.value.message

    world.clock.now = first_failure + timedelta(hours=1, seconds=1)
    fresh = await _code_for(world, me, a.id)
    assert (await world.svc.confirm_signature(me, a.id, fresh)).outcome is CodeOutcome.OK


async def test_a_new_code_waits_a_minute_and_at_most_five_go_out_an_hour(world):
    me = await world.graduate(via_service=True)
    a = await world.invite(me)
    world.clock.advance(hours=1)
    start = world.clock.now
    await world.svc.request_signing_code(me, a.id, a.digest)
    world.clock.advance(seconds=30)
    with pytest.raises(CodeRateLimited) as caught:
        await world.svc.request_signing_code(me, a.id, a.digest)
    assert caught.value.retry_after_s == 31
    for _ in range(4):
        world.clock.advance(seconds=31)
        await world.svc.request_signing_code(me, a.id, a.digest)
        world.clock.advance(seconds=30)
    world.clock.advance(minutes=10)
    with pytest.raises(CodeRateLimited, match="一小时内最多发送 5 次"):
        await world.svc.request_signing_code(me, a.id, a.digest)
    assert len(world.sms.sent) == 1 + 5
    world.clock.now = start + timedelta(hours=1, seconds=1)
    await world.svc.request_signing_code(me, a.id, a.digest)
    assert (await world.svc.confirm_signature(me, a.id, world.sms.last_code())).ok


async def test_a_resent_code_replaces_the_earlier_one(world):
    me = await world.graduate()
    a = await world.invite(me)
    old = await _code_for(world, me, a.id)
    world.clock.advance(seconds=61)
    new = await _code_for(world, me, a.id)
    if old != new:
        assert (await world.svc.confirm_signature(me, a.id, old)).outcome is CodeOutcome.WRONG
    assert (await world.svc.confirm_signature(me, a.id, new)).outcome is CodeOutcome.OK


async def test_another_graduate_cannot_use_the_code(world):
    me = await world.graduate()
    other = await world.graduate()
    a = await world.invite(me)
    theirs = await world.invite(other)
    code = await _code_for(world, me, a.id)
    with pytest.raises(NotFound):
        await world.svc.confirm_signature(other, a.id, code)
    result = await world.svc.confirm_signature(other, theirs.id, code)
    assert result.outcome is CodeOutcome.NO_CODE
    assert (await world.svc.confirm_signature(me, a.id, code)).ok


async def test_revised_terms_void_an_outstanding_code(world):
    me = await world.graduate()
    a = await world.invite(me)
    code = await _code_for(world, me, a.id)
    revised = await world.svc.revise(world.employer, a.id, terms(salary_yuan=9000))
    result = await world.svc.confirm_signature(me, a.id, code)
    assert result.outcome is CodeOutcome.SUPERSEDED
    result = await world.svc.confirm_signature(me, a.id, code, a.digest)
    assert result.outcome is CodeOutcome.SUPERSEDED
    assert (await world.svc.agreement(me, a.id)).state is S.INVITED
    world.clock.advance(seconds=61)
    with pytest.raises(InvalidState, match="条款已经更新"):
        await world.svc.request_signing_code(me, a.id, a.digest)
    await world.svc.request_signing_code(me, a.id, revised.digest)
    signed = await world.svc.confirm_signature(me, a.id, world.sms.last_code(), revised.digest)
    assert signed.outcome is CodeOutcome.OK
    view = await world.svc.agreement(me, a.id)
    assert view.history[-1].digest == revised.digest


async def test_asking_for_changes_voids_an_outstanding_code(world):
    me = await world.graduate()
    a = await world.invite(me)
    code = await _code_for(world, me, a.id)
    await world.svc.request_changes(me, a.id, "改薪资")
    await world.svc.revise(world.employer, a.id, terms())
    assert (await world.svc.confirm_signature(me, a.id, code)).outcome is CodeOutcome.SUPERSEDED


async def test_a_code_for_one_agreement_does_not_sign_another(world):
    me = await world.graduate()
    a = await world.invite(me)
    b = await world.invite(me, employer=world.other_employer)
    code_a = await _code_for(world, me, a.id)
    assert (await world.svc.confirm_signature(me, b.id, code_a)).outcome is CodeOutcome.NO_CODE
    world.clock.advance(seconds=61)
    code_b = await _code_for(world, me, b.id)
    if code_a != code_b:
        result = await world.svc.confirm_signature(me, b.id, code_a)
        assert result.outcome is CodeOutcome.WRONG
    # A's code is still good for A: codes of different agreements do not replace each other.
    assert (await world.svc.confirm_signature(me, a.id, code_a)).outcome is CodeOutcome.OK


async def test_a_phone_code_verifies_only_the_phone_it_was_sent_to(world):
    me = await world.graduate(submit=False)
    await world.svc.request_phone_code(me)
    code = world.sms.last_code()
    await world.svc.save_field(me, "phone", "13700000000")
    assert (await world.svc.verify_phone(me, code)).outcome is CodeOutcome.SUPERSEDED
    world.clock.advance(seconds=61)
    await world.svc.request_phone_code(me)
    assert world.sms.sent[-1][0] == "13700000000"
    assert (await world.svc.verify_phone(me, world.sms.last_code())).outcome is CodeOutcome.OK
    assert (await world.svc.graduate(me)).phone_verified
    again = await world.svc.verify_phone(me, "000000")
    assert again.outcome is CodeOutcome.ALREADY_CONFIRMED
    with pytest.raises(InvalidState, match="已经验证"):
        await world.svc.request_phone_code(me)


async def test_codes_are_stored_only_as_keyed_hashes(world):
    me = await world.graduate(via_service=True)
    a = await world.invite(me)
    code = await _code_for(world, me, a.id)
    async with world.core.sessions() as s:
        rows = list(await s.scalars(select(CodeChallenge)))
    assert len(rows) == 2  # the phone code and this one
    for row in rows:
        values = [str(getattr(row, c.key)) for c in CodeChallenge.__table__.columns]
        assert not any(code in value for value in values)
        assert re.fullmatch(r"[0-9a-f]{64}", row.code_hash)
    # A plain hash of the code would be guessable in a million tries; ours needs the key.
    import hashlib

    assert hashlib.sha256(code.encode()).hexdigest() != rows[-1].code_hash


async def test_nothing_personal_is_logged_through_a_whole_signing(world, caplog):
    caplog.set_level(logging.DEBUG)
    me = await world.graduate(via_service=True)
    a = await world.invite(me)
    code = await _code_for(world, me, a.id)
    await world.svc.confirm_signature(me, a.id, _wrong(code))
    await world.svc.confirm_signature(me, a.id, code)
    await world.svc.confirm_signature(me, a.id, code)
    await world.svc.seal(world.employer, a.id)
    world.clock.advance(seconds=61)
    await world.svc.request_termination_code(me, a.id)
    await world.svc.request_termination(me, a.id, "个人原因", world.sms.last_code())
    codes = {m.group(1) for _, text in world.sms.sent for m in [re.search(r"(\d{6})", text)]}
    secrets = {id_number(1), phone(1), "李 四", "2026000001", *codes}
    assert caplog.records, "the service logs its transitions"
    for record in caplog.records:
        line = record.getMessage() + repr(record.args)
        for secret in secrets:
            assert secret not in line, (record.name, secret)


async def test_wrong_entries_are_counted_per_graduate(world):
    me = await world.graduate()
    a = await world.invite(me)
    code = await _code_for(world, me, a.id)
    for _ in range(3):
        await world.svc.confirm_signature(me, a.id, _wrong(code))
    async with world.core.sessions() as s:
        count = await s.scalar(
            select(func.count()).select_from(CodeFailure).where(CodeFailure.graduate_id == me.id)
        )
    assert count == 3
