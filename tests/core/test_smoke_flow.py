"""One agreement from invitation to filed, through the service, on both databases."""

from datetime import timedelta

from core.demo import seed_demo
from core.domain.actors import Actor
from core.domain.otp import CodeOutcome
from core.domain.states import AgreementState


async def test_demo_agreement_goes_from_invitation_to_filed(core, clock, sms):
    demo = await seed_demo(core, telegram_user_id=7, now=clock.now)
    svc = core.service
    me = Actor.graduate(demo["graduate_id"])
    view = await svc.agreement(me, demo["agreement_id"])

    sent = await svc.request_signing_code(me, view.id, view.digest)
    assert sent.phone_masked == "138****8000"
    result = await svc.confirm_signature(me, view.id, sms.last_code())
    assert result.outcome is CodeOutcome.OK

    employer = Actor.employer(demo["employer_id"])
    university = Actor.university(demo["university_id"])
    clock.advance(hours=1)
    assert (await svc.seal(employer, view.id)).state is AgreementState.EFFECTIVE
    assert (await svc.file(university, view.id)).state is AgreementState.FILED
    assert clock.now - timedelta(hours=1) > view.versions[0].created_at - timedelta(days=1)


async def test_demo_makes_no_new_invitation_after_the_first_one_ended(core, clock):
    demo = await seed_demo(core, telegram_user_id=7, now=clock.now)
    me = Actor.graduate(demo["graduate_id"])
    await core.service.decline(me, demo["agreement_id"])

    again = await seed_demo(core, telegram_user_id=7, now=clock.now)

    assert again["agreement_id"] == demo["agreement_id"]
    page = await core.service.list_agreements(me)
    assert page.total == 1
