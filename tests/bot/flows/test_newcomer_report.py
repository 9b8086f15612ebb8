"""What a newcomer with only the README hit in the conversations (issue 3 follow-up)."""

from __future__ import annotations

import pytest

from core.demo import seed_demo
from core.domain.actors import Actor
from core.domain.states import AgreementState
from tests.bot.flows.conftest import invite, sample_terms
from tests.bot.flows.test_invitations import approved  # noqa: F401  (a fixture)
from tests.bot.flows.test_registration import register


@pytest.fixture
async def demo(core, clock, conversation):
    return await seed_demo(core, telegram_user_id=1001, now=clock.now)


async def sign_and_seal(chat, core, sms, demo) -> None:
    await chat.command("invitations")
    await chat.tap("1. 示例科技")
    await chat.tap("接受并签约")
    await chat.tap("确认签约")
    await chat.say(sms.last_code())
    await core.service.seal(Actor.employer(demo["employer_id"]), demo["agreement_id"])


async def test_breach_echoes_the_reason_and_keeps_it_while_the_code_must_wait(
    chat, core, sms, clock, demo
):
    await sign_and_seal(chat, core, sms, demo)
    await chat.command("breach")
    assert "/breach" not in chat.text  # the consequences do not point at the screen itself
    await chat.tap("继续申请解约")
    await chat.say("家庭原因需要回老家工作")

    assert "解约原因：家庭原因需要回老家工作" in chat.text
    assert "原因已保存" in chat.text and "秒后点「重新发送」" in chat.text
    assert "秒后）" in chat.button("重新发送").text
    clock.advance(minutes=1)
    await chat.tap("重新发送")
    assert "验证码已发送到 138****8000" in chat.text
    await chat.say(sms.last_code())
    assert "解约申请已提交" in chat.text
    view = await core.service.agreement(Actor.graduate(demo["graduate_id"]), demo["agreement_id"])
    assert view.state is AgreementState.TERMINATION_REQUESTED
    assert view.termination_reason == "家庭原因需要回老家工作"


async def test_a_revised_invitation_says_what_changed_since_the_previous_version(
    chat,
    core,
    clock,
    world,
    approved,  # noqa: F811
):
    employer = Actor.employer(world["employer"])
    first = await invite(core, clock, world["employer"], approved, penalty_yuan=5000)
    await core.service.revise(
        employer,
        first.id,
        sample_terms(penalty_yuan=100000, service_years=5, position="<b>架构师</b>"),
    )

    await chat.command("invitations")
    await chat.tap("1. 测试科技")
    assert "第 2 版" in chat.text
    assert (
        "与第 1 版相比：岗位 后端工程师 → &lt;b&gt;架构师&lt;/b&gt;；"
        "服务期 2 年 → 5 年；违约金 5,000 元 → 100,000 元"
    ) in chat.text
    await chat.tap("接受并签约")
    assert "签约前请再核对一遍全部条款" in chat.text
    assert "违约金 5,000 元 → 100,000 元" in chat.text


async def test_a_first_version_has_no_comparison(chat, core, clock, world, approved):  # noqa: F811
    await invite(core, clock, world["employer"], approved)
    await chat.command("invitations")
    await chat.tap("1. 测试科技")
    assert "第 1 版" in chat.text and "相比" not in chat.text


async def test_an_old_push_button_opens_the_current_version(
    chat,
    core,
    clock,
    world,
    approved,  # noqa: F811
):
    employer = Actor.employer(world["employer"])
    first = await invite(core, clock, world["employer"], approved)
    await core.service.revise(employer, first.id, sample_terms(salary_yuan=13000))
    await chat.tap_data(f"inv:open:{first.id}")  # the push about version 2
    stale_accept = chat.button("接受并签约").data
    await core.service.revise(employer, first.id, sample_terms(salary_yuan=14000))

    # Pushes queued while the bot was down may arrive out of order: 第 3 版 then 第 2 版.
    await chat.tap_data(f"inv:open:{first.id}")
    assert "第 3 版" in chat.text and "14,000 元" in chat.text
    assert "与第 2 版相比：月薪 13,000 元 → 14,000 元" in chat.text
    await chat.tap_data(stale_accept)
    assert "这是最新的第 3 版" in chat.text
    assert "签约前请再核对" not in chat.text


async def test_the_held_agreement_is_called_an_agreement_not_an_invitation(chat, core, sms, demo):
    await sign_and_seal(chat, core, sms, demo)
    await chat.command("agreement")
    assert "示例科技有限公司</b> 的就业协议" in chat.text
    assert "的签约邀请" not in chat.text


async def test_the_university_contact_reads_without_a_doubled_colon(chat, demo):
    await chat.say("食堂今天中午有什么菜")
    assert "：示例大学：" not in chat.text
    assert "有疑问可以联系 示例大学：就业指导中心" in chat.text


async def test_the_summary_shows_the_expected_salary_in_yuan(chat, sms, world):
    await register(chat, sms)
    assert "期望月薪：9,000 元" in chat.text


async def test_an_empty_message_gets_a_hint(chat, demo):
    await chat.say("   ")
    assert "这条消息是空的" in chat.text
