"""Every transition of DOMAIN.md's state diagram, and every refusal on the way."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.domain.actors import Actor
from core.domain.errors import (
    AlreadyHolding,
    DeadlinePassed,
    Forbidden,
    InvalidInput,
    InvalidState,
    NotApproved,
    NotFound,
    PhoneNotVerified,
)
from core.domain.otp import CodeOutcome
from core.domain.states import AgreementState as S
from core.storage.models import OutboxMessage
from tests.core.conftest import terms


async def _outbox(world) -> list[str]:
    async with world.core.sessions() as s:
        return list(await s.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))


async def test_an_invitation_is_signed_sealed_and_filed(world):
    me = await world.graduate(via_service=True)
    a = await world.invite(me)
    assert a.state is S.INVITED and a.version == 1 and len(a.digest) == 64
    signed = await world.sign(me, a.id)
    assert signed.state is S.GRADUATE_SIGNED
    assert signed.seal_by == signed.signed_at + timedelta(days=7)
    sealed = await world.svc.seal(world.employer, a.id)
    assert sealed.state is S.EFFECTIVE
    filed = await world.svc.file(world.university, a.id)
    assert filed.state is S.FILED and filed.filed_at == world.clock.now
    history = (await world.svc.agreement(me, a.id)).history
    assert [(h.action, h.from_state, h.to_state) for h in history] == [
        ("agreement.invite", None, "invited"),
        ("agreement.sign", "invited", "graduate_signed"),
        ("agreement.seal", "graduate_signed", "effective"),
        ("agreement.file", "effective", "filed"),
    ]
    assert {h.digest for h in history} == {a.digest}
    assert await _outbox(world) == ["registration_approved", "invited", "sealed", "filed"]


async def test_asking_for_changes_then_a_revision_makes_a_new_version(world):
    me = await world.graduate()
    a = await world.invite(me)
    asked = await world.svc.request_changes(me, a.id, "  希望试用期改为 1 个月 ")
    assert asked.state is S.CHANGES_REQUESTED
    revised = await world.svc.revise(world.employer, a.id, terms(probation_months=1))
    assert revised.state is S.INVITED
    assert revised.version == 2 and revised.digest != a.digest
    view = await world.svc.agreement(me, a.id)
    assert [v.number for v in view.versions] == [1, 2]
    assert [v.digest for v in view.versions] == [a.digest, revised.digest]
    assert view.change_requests == ("希望试用期改为 1 个月",)
    assert view.terms.probation_months == 1
    assert view.history[-1].digest == revised.digest
    signed = await world.sign(me, a.id)
    assert signed.state is S.GRADUATE_SIGNED


async def test_an_employer_may_revise_an_invitation_nobody_asked_about(world):
    me = await world.graduate()
    a = await world.invite(me)
    later = world.clock.now + timedelta(days=20)
    revised = await world.svc.revise(world.employer, a.id, terms(salary_yuan=16000), later)
    assert revised.respond_by == later and revised.terms.salary_yuan == 16000


async def test_identical_terms_in_a_new_version_still_get_a_new_digest(world):
    me = await world.graduate()
    a = await world.invite(me)
    again = await world.svc.revise(world.employer, a.id, terms())
    assert again.digest != a.digest  # the version number is part of what is signed


async def test_a_graduate_declines(world):
    me = await world.graduate()
    a = await world.invite(me)
    assert (await world.svc.decline(me, a.id)).state is S.DECLINED
    with pytest.raises(InvalidState, match="已拒绝"):
        await world.svc.request_signing_code(me, a.id, a.digest)
    with pytest.raises(InvalidState):
        await world.svc.revise(world.employer, a.id, terms())


async def test_a_graduate_declines_after_asking_for_changes(world):
    me = await world.graduate()
    a = await world.invite(me)
    await world.svc.request_changes(me, a.id, "薪资太低")
    assert (await world.svc.decline(me, a.id)).state is S.DECLINED


async def test_an_employer_withdraws_an_unanswered_invitation(world):
    me = await world.graduate()
    a = await world.invite(me)
    assert (await world.svc.withdraw(world.employer, a.id)).state is S.WITHDRAWN
    with pytest.raises(InvalidState, match="单位已撤回"):
        await world.svc.decline(me, a.id)
    assert "withdrawn" in await _outbox(world)


async def test_an_unanswered_invitation_expires_when_respond_by_passes(world):
    me = await world.graduate()
    a = await world.invite(me, days=3)
    asked = await world.invite(me)
    await world.svc.request_changes(me, asked.id, "请写明五险一金基数")
    world.clock.advance(days=3)
    done = await world.svc.expire_due()
    assert [(t.agreement_id, t.to_state) for t in done] == [(a.id, S.EXPIRED)]
    assert (await world.svc.agreement(me, a.id)).state is S.EXPIRED
    assert await world.svc.expire_due() == []
    world.clock.advance(days=5)
    assert [t.from_state for t in await world.svc.expire_due()] == [S.CHANGES_REQUESTED]


async def test_an_unsealed_signature_lapses_when_seal_by_passes(world):
    me = await world.graduate()
    a = await world.invite(me)
    await world.sign(me, a.id)
    world.clock.advance(days=7)
    with pytest.raises(DeadlinePassed, match="盖章期限已过"):
        await world.svc.seal(world.employer, a.id)
    done = await world.svc.expire_due()
    assert [(t.from_state, t.to_state) for t in done] == [(S.GRADUATE_SIGNED, S.LAPSED)]
    # A lapsed agreement no longer holds the graduate.
    b = await world.invite(me, employer=world.other_employer)
    assert (await world.sign(me, b.id)).state is S.GRADUATE_SIGNED


async def test_a_termination_asked_by_the_graduate_is_consented_and_approved(world):
    me = await world.graduate()
    a = await world.effective(me, penalty_yuan=3000)
    await world.svc.request_termination_code(me, a.id)
    result = await world.svc.request_termination(me, a.id, "考上研究生", world.sms.last_code())
    assert result.outcome is CodeOutcome.OK
    view = await world.svc.agreement(me, a.id)
    assert view.state is S.TERMINATION_REQUESTED
    assert view.termination_by == "graduate" and view.termination_reason == "考上研究生"
    assert view.termination_respond_by == world.clock.now + timedelta(days=15)

    agreed = await world.svc.consent_termination(world.employer, a.id)
    assert agreed.state is S.TERMINATION_AGREED and agreed.termination_penalty == 3000
    done = await world.svc.approve_termination(world.university, a.id)
    assert done.state is S.TERMINATED
    entry = [e for e in await world.audit(a.id) if e.action == "termination.consent"][0]
    assert entry.detail == {"penalty_yuan": 3000}

    # Free again: another invitation can be signed.
    world.clock.advance(seconds=61)
    b = await world.invite(me, employer=world.other_employer)
    assert (await world.sign(me, b.id)).state is S.GRADUATE_SIGNED


async def test_a_consented_penalty_may_differ_from_the_written_one(world):
    me = await world.graduate()
    a = await world.effective(me, penalty_yuan=8000)
    await world.svc.request_termination_code(me, a.id)
    await world.svc.request_termination(me, a.id, "家庭原因", world.sms.last_code())
    agreed = await world.svc.consent_termination(world.employer, a.id, 2000)
    assert agreed.termination_penalty == 2000


async def test_a_consented_penalty_above_the_agreed_one_is_refused(world):
    me = await world.graduate()
    a = await world.effective(me, penalty_yuan=5000)
    await world.svc.request_termination_code(me, a.id)
    await world.svc.request_termination(me, a.id, "家庭原因", world.sms.last_code())
    with pytest.raises(InvalidInput, match="5,000"):
        await world.svc.consent_termination(world.employer, a.id, 9999)
    view = await world.svc.agreement(me, a.id)
    assert view.state is S.TERMINATION_REQUESTED and view.termination_penalty is None


async def test_a_refused_termination_returns_a_filed_agreement_to_filed(world):
    me = await world.graduate()
    a = await world.effective(me)
    await world.svc.file(world.university, a.id)
    await world.svc.request_termination(world.employer, a.id, "岗位取消")
    back = await world.svc.refuse_termination(me, a.id)
    assert back.state is S.FILED and back.termination_respond_by is None
    # Asked and refused again at the same moment: still one event each, no clash.
    await world.svc.request_termination(world.employer, a.id, "岗位取消")
    assert (await world.svc.refuse_termination(me, a.id)).state is S.FILED
    assert (await _outbox(world)).count("termination_refused") == 2


async def test_an_employer_asked_termination_is_consented_by_the_graduate(world):
    me = await world.graduate()
    a = await world.effective(me)
    result = await world.svc.request_termination(world.employer, a.id, "岗位取消")
    assert result.outcome is CodeOutcome.OK
    assert "termination_requested_by_employer" in await _outbox(world)
    agreed = await world.svc.consent_termination(me, a.id, 0)
    assert agreed.state is S.TERMINATION_AGREED and agreed.termination_penalty == 0


async def test_a_party_cannot_answer_its_own_termination_request(world):
    me = await world.graduate()
    a = await world.effective(me)
    await world.svc.request_termination(world.employer, a.id, "岗位取消")
    with pytest.raises(Forbidden, match="另一方"):
        await world.svc.consent_termination(world.employer, a.id)
    with pytest.raises(Forbidden):
        await world.svc.refuse_termination(world.employer, a.id)
    with pytest.raises(Forbidden):
        await world.svc.consent_termination(world.university, a.id)
    with pytest.raises(InvalidState, match="解约申请中"):
        await world.svc.approve_termination(world.university, a.id)


async def test_a_repeated_termination_request_is_not_a_second_event(world):
    me = await world.graduate()
    a = await world.effective(me)
    await world.svc.request_termination(world.employer, a.id, "岗位取消")
    again = await world.svc.request_termination(world.employer, a.id, "岗位取消")
    assert again.outcome is CodeOutcome.ALREADY_CONFIRMED
    actions = [e.action for e in await world.audit(a.id)]
    assert actions.count("termination.request") == 1


async def test_termination_is_refused_before_the_employer_seals(world):
    me = await world.graduate()
    a = await world.invite(me)
    await world.sign(me, a.id)
    with pytest.raises(InvalidState, match="还没有盖章"):
        await world.svc.request_termination_code(me, a.id)
    with pytest.raises(InvalidState):
        await world.svc.request_termination(world.employer, a.id, "不要了")


async def test_a_termination_needs_a_reason(world):
    me = await world.graduate()
    a = await world.effective(me)
    with pytest.raises(InvalidInput, match="解约原因"):
        await world.svc.request_termination(world.employer, a.id, "  ")


# ---------------------------------------------------------------- who may act


async def test_another_graduates_agreement_is_not_found(world):
    me = await world.graduate()
    other = await world.graduate()
    a = await world.invite(me)
    for call in (
        world.svc.agreement(other, a.id),
        world.svc.agreement_by_token(other, a.token),
        world.svc.request_signing_code(other, a.id, a.digest),
        world.svc.confirm_signature(other, a.id, "123456"),
        world.svc.request_changes(other, a.id, "改"),
        world.svc.decline(other, a.id),
        world.svc.request_termination_code(other, a.id),
    ):
        with pytest.raises(NotFound):
            await call
    assert (await world.svc.list_agreements(other)).total == 0
    assert (await world.svc.agreement(me, a.id)).state is S.INVITED
    assert (await world.svc.agreement_by_token(me, a.token)).id == a.id


async def test_another_employer_cannot_touch_the_agreement(world):
    me = await world.graduate()
    a = await world.invite(me)
    for call in (
        world.svc.agreement(world.other_employer, a.id),
        world.svc.revise(world.other_employer, a.id, terms()),
        world.svc.withdraw(world.other_employer, a.id),
        world.svc.seal(world.other_employer, a.id),
    ):
        with pytest.raises(NotFound):
            await call


async def test_another_university_cannot_file_or_approve(world):
    me = await world.graduate()
    a = await world.effective(me)
    with pytest.raises(NotFound):
        await world.svc.file(world.other_university, a.id)
    with pytest.raises(NotFound):
        await world.svc.agreement(world.other_university, a.id)
    assert (await world.svc.agreement(world.university, a.id)).state is S.EFFECTIVE


async def test_the_wrong_kind_of_actor_is_forbidden(world):
    me = await world.graduate()
    a = await world.invite(me)
    with pytest.raises(Forbidden):
        await world.svc.invite(me, me.id, terms(), world.clock.now + timedelta(days=1))
    with pytest.raises(Forbidden):
        await world.svc.invite(world.university, me.id, terms(), world.clock.now)
    with pytest.raises(Forbidden):
        await world.svc.seal(me, a.id)
    with pytest.raises(Forbidden):
        await world.svc.seal(world.university, a.id)
    with pytest.raises(Forbidden):
        await world.svc.file(world.employer, a.id)
    with pytest.raises(Forbidden):
        await world.svc.decline(world.employer, a.id)
    with pytest.raises(Forbidden):
        await world.svc.request_signing_code(world.employer, a.id, a.digest)
    with pytest.raises(Forbidden):
        await world.svc.withdraw(me, a.id)
    with pytest.raises(Forbidden):
        await world.svc.list_agreements(world.employer)


REFUSED_IN = {
    "invited": ("seal", "file", "termination", "consent", "approve_termination"),
    "changes_requested": ("request_changes", "sign_code", "seal"),
    "graduate_signed": ("decline", "withdraw", "revise", "request_changes", "file", "sign_code"),
    "effective": ("seal", "withdraw", "sign_code", "consent", "approve_termination", "decline"),
    "filed": ("file", "decline", "seal", "revise", "refuse"),
}


@pytest.mark.parametrize("setup", REFUSED_IN)
async def test_each_command_is_refused_in_the_wrong_state(world, setup):
    me = await world.graduate()
    a = await world.invite(me)
    if setup == "changes_requested":
        await world.svc.request_changes(me, a.id, "改一下")
    if setup in ("graduate_signed", "effective", "filed"):
        await world.sign(me, a.id)
    if setup in ("effective", "filed"):
        await world.svc.seal(world.employer, a.id)
    if setup == "filed":
        await world.svc.file(world.university, a.id)
    svc, emp, uni = world.svc, world.employer, world.university
    calls = {
        "seal": lambda: svc.seal(emp, a.id),
        "file": lambda: svc.file(uni, a.id),
        "termination": lambda: svc.request_termination(emp, a.id, "原因"),
        "request_changes": lambda: svc.request_changes(me, a.id, "再改"),
        "sign_code": lambda: svc.request_signing_code(me, a.id, a.digest),
        "decline": lambda: svc.decline(me, a.id),
        "withdraw": lambda: svc.withdraw(emp, a.id),
        "revise": lambda: svc.revise(emp, a.id, terms()),
        "consent": lambda: svc.consent_termination(me, a.id),
        "refuse": lambda: svc.refuse_termination(me, a.id),
        "approve_termination": lambda: svc.approve_termination(uni, a.id),
    }
    for command in REFUSED_IN[setup]:
        with pytest.raises(InvalidState) as caught:
            await calls[command]()
        assert caught.value.code == "invalid_state", command
        assert S(setup).label in caught.value.message, command
    assert (await svc.agreement(me, a.id)).state.value == setup


async def test_signing_is_refused_after_respond_by(world):
    me = await world.graduate()
    a = await world.invite(me, days=1)
    world.clock.advance(days=1)
    with pytest.raises(DeadlinePassed, match="回复期限"):
        await world.svc.request_signing_code(me, a.id, a.digest)
    with pytest.raises(DeadlinePassed):
        await world.svc.request_changes(me, a.id, "改")


async def test_a_code_confirmed_after_respond_by_does_not_sign(world):
    me = await world.graduate()
    a = await world.invite(me, days=1)
    world.clock.advance(days=1, minutes=-2)
    await world.svc.request_signing_code(me, a.id, a.digest)
    world.clock.advance(minutes=3)
    with pytest.raises(DeadlinePassed):
        await world.svc.confirm_signature(me, a.id, world.sms.last_code())
    assert (await world.svc.agreement(me, a.id)).state is S.INVITED


async def test_a_graduate_not_yet_approved_cannot_sign(world):
    me = await world.graduate(approve=False)
    a = await world.invite(me)
    with pytest.raises(NotApproved) as caught:
        await world.svc.request_signing_code(me, a.id, a.digest)
    assert caught.value.code == "registration.not_approved"
    assert "审核通过后" in caught.value.message


async def test_a_graduate_whose_phone_is_unverified_cannot_sign(world):
    me = await world.graduate()
    a = await world.invite(me)
    # An operator correcting the record leaves the phone unverified.
    async with world.core.sessions() as s, s.begin():
        from core.storage.models import Graduate

        (await s.get_one(Graduate, me.id)).phone_verified = False
    with pytest.raises(PhoneNotVerified):
        await world.svc.request_signing_code(me, a.id, a.digest)


async def test_a_second_signature_is_refused_and_the_other_invitation_stays_visible(world):
    me = await world.graduate()
    first = await world.invite(me)
    second = await world.invite(me, employer=world.other_employer)
    await world.sign(me, first.id)
    with pytest.raises(AlreadyHolding) as caught:
        await world.svc.request_signing_code(me, second.id, second.digest)
    assert caught.value.code == "agreement.already_holding"
    assert "解约" in caught.value.message
    assert caught.value.details["held_agreement_id"] == first.id
    page = await world.svc.list_agreements(me)
    assert {x.id: x.state for x in page.items} == {
        first.id: S.GRADUATE_SIGNED,
        second.id: S.INVITED,
    }
    status = await world.svc.status(me)
    assert status.held.id == first.id
    assert [x.id for x in status.open_invitations] == [second.id]
    # Still free to decline or ask for changes on the other one.
    await world.svc.request_changes(me, second.id, "等我解约")


async def test_a_code_requested_before_another_signature_cannot_sign_afterwards(world):
    me = await world.graduate()
    first = await world.invite(me)
    second = await world.invite(me, employer=world.other_employer)
    await world.svc.request_signing_code(me, second.id, second.digest)
    second_code = world.sms.last_code()
    world.clock.advance(seconds=61)
    await world.sign(me, first.id)
    with pytest.raises(AlreadyHolding) as caught:
        await world.svc.confirm_signature(me, second.id, second_code)
    assert caught.value.details["held_agreement_id"] == first.id
    assert (await world.svc.agreement(me, second.id)).state is S.INVITED


async def test_an_invitation_needs_a_future_aware_deadline(world):
    me = await world.graduate()
    with pytest.raises(InvalidInput, match="晚于现在"):
        await world.svc.invite(world.employer, me.id, terms(), world.clock.now)
    with pytest.raises(InvalidInput):
        naive = datetime(2030, 1, 1)  # noqa: DTZ001  (the point of the test)
        await world.svc.invite(world.employer, me.id, terms(), naive)
    with pytest.raises(NotFound):
        await world.svc.invite(world.employer, 999, terms(), world.clock.now + timedelta(days=1))


@pytest.mark.parametrize(
    "change",
    [
        {"salary_yuan": 0},
        {"position": " "},
        {"probation_months": 13},
        {"service_years": -1},
        {"penalty_yuan": -1},
    ],
)
def test_nonsense_terms_are_refused_in_chinese(change):
    with pytest.raises(InvalidInput) as caught:
        terms(**change)
    assert caught.value.field == next(iter(change))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in caught.value.message)


def test_terms_that_often_hurt_graduates_carry_warnings():
    notes = terms(
        penalty_yuan=20000, service_years=5, probation_months=8, insurance=False
    ).warnings()
    assert len(notes) == 4
    assert any("20,000" in n for n in notes)
    assert terms().warnings() == ()


async def test_revising_after_respond_by_needs_a_new_deadline(world):
    me = await world.graduate()
    a = await world.invite(me, days=1)
    await world.svc.request_changes(me, a.id, "改")
    world.clock.advance(days=2)
    with pytest.raises(DeadlinePassed, match="新的回复期限"):
        await world.svc.revise(world.employer, a.id, terms())
    later = world.clock.now + timedelta(days=3)
    assert (await world.svc.revise(world.employer, a.id, terms(), later)).state is S.INVITED


async def test_status_shows_the_next_deadline_in_order(world):
    me = await world.graduate()
    await world.invite(me, days=5)
    soon = await world.invite(me, employer=world.other_employer, days=2)
    status = await world.svc.status(me)
    assert status.next_deadline.agreement_id == soon.id
    assert status.next_deadline.key == f"respond:{soon.id}"
    await world.svc.mute_deadline(me, f"respond:{soon.id}")
    assert [d.muted for d in await world.svc.deadlines(me)] == [True, False]
    with pytest.raises(NotFound):
        await world.svc.mute_deadline(me, "respond:999")


async def test_times_come_back_aware_in_utc(world):
    me = await world.graduate()
    a = await world.invite(me)
    view = await world.svc.agreement(me, a.id)
    assert view.respond_by.tzinfo is not None
    assert view.respond_by.utcoffset() == timedelta(0)
    assert view.versions[0].created_at == world.clock.now
    assert view.respond_by == datetime(2026, 6, 8, 2, 2, 1, tzinfo=UTC) + (
        view.respond_by - datetime(2026, 6, 8, 2, 2, 1, tzinfo=UTC)
    )
    assert Actor.graduate(me.id).channel == "telegram"
