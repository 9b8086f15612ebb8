"""Invitations and signing through the conversation: the paths graduates take and misuse."""

from __future__ import annotations

import pytest

from core.domain.actors import Actor
from core.domain.states import AgreementState, RegistrationStatus
from tests.bot.flows.conftest import Chat, invite, sample_terms
from tests.bot.flows.test_registration import register


@pytest.fixture
async def approved(chat, core, sms, clock, world) -> int:
    """A graduate registered through the bot and approved by the university office."""
    await register(chat, sms)
    await chat.tap("提交审核")
    graduate = await core.service.graduate_for_telegram(chat.user_id)
    office = Actor.university(world["university"])
    view = await core.service.approve_registration(office, graduate.id)
    assert view.status is RegistrationStatus.APPROVED
    clock.advance(minutes=2)  # past the one-minute gap after the phone code
    return graduate.id


async def test_invited_graduate_asks_for_a_change_then_signs_the_revision(
    chat, core, sms, clock, world, approved
):
    employer = Actor.employer(world["employer"])
    first = await invite(core, clock, world["employer"], approved, penalty_yuan=8000)

    await chat.command("invitations")
    assert "测试科技有限公司" in chat.text and "月薪 12,000 元" in chat.text
    assert "截止，还剩 3 天 4 小时" in chat.text
    await chat.tap("1. 测试科技")
    assert "违约金 8,000 元偏高" in chat.text
    assert chat.last.edit
    await chat.tap("要求修改")
    await chat.say("违约金希望降到 3000 元")
    assert "已把你的修改意见转给" in chat.text
    assert (await core.service.agreement(employer, first.id)).change_requests == (
        "违约金希望降到 3000 元",
    )

    await core.service.revise(employer, first.id, sample_terms(penalty_yuan=3000))
    await chat.command("invitations")
    await chat.tap("1. 测试科技")
    assert "第 2 版" in chat.text and "偏高" not in chat.text
    await chat.tap("接受并签约")
    assert "签约前请再核对一遍全部条款" in chat.text
    await chat.tap("确认签约")
    assert "验证码已发送到 139****5678" in chat.text
    await chat.say(" ".join(sms.last_code()))
    assert "签约成功（第 2 版）" in chat.text
    assert "盖章" in chat.text
    view = await core.service.agreement(employer, first.id)
    assert view.state is AgreementState.GRADUATE_SIGNED


async def test_forged_callback_for_another_graduates_invitation_is_refused(
    chat, core, sms, clock, world, approved, conversation
):
    mine = await invite(core, clock, world["employer"], approved)
    other_graduate = await core.service.begin_registration(2002, 2002, consent=True)
    theirs = await invite(core, clock, world["employer"], other_graduate.id)

    await chat.command("invitations")
    await chat.tap("1. 测试科技")
    real = chat.button("接受并签约").data
    forged = real.replace(f":{mine.id}:", f":{theirs.id}:")
    assert forged != real
    sent_before = len(sms.sent)
    await chat.tap_data(forged)
    assert "没有找到这条记录，或你无权查看" in chat.text
    assert "测试科技" not in chat.text
    await chat.tap_data(f"inv:v:{theirs.id}")
    assert "没有找到这条记录" in chat.text
    await chat.tap_data("inv:sign:abc:1:1")
    assert "按钮已失效" in chat.text
    assert len(sms.sent) == sent_before
    other = Actor.graduate(other_graduate.id)
    assert (await core.service.agreement(other, theirs.id)).state is AgreementState.INVITED


async def test_a_second_tap_on_a_used_button_says_so(chat, core, sms, clock, world, approved):
    agreement = await invite(core, clock, world["employer"], approved)
    await chat.command("invitations")
    await chat.tap("1. 测试科技")
    await chat.tap("接受并签约")
    confirm = chat.button("确认签约").data
    await chat.tap_data(confirm)
    codes = len(sms.sent)
    second = await chat.tap_data(confirm)
    assert second.toast == "这个按钮已经用过了。"
    assert len(sms.sent) == codes

    await chat.say(sms.last_code())
    assert "签约成功" in chat.text
    graduate = Actor.graduate(approved)
    assert (await core.service.agreement(graduate, agreement.id)).state is (
        AgreementState.GRADUATE_SIGNED
    )


async def test_wrong_expired_and_reused_codes_are_explained(
    chat, core, sms, clock, world, approved
):
    await invite(core, clock, world["employer"], approved)
    await chat.command("invitations")
    await chat.tap("1. 测试科技")
    await chat.tap("接受并签约")
    await chat.tap("确认签约")
    right = sms.last_code()
    wrong = "000000" if right != "000000" else "111111"
    await chat.say(wrong)
    assert "验证码不对。这个验证码还能再试 4 次" in chat.text
    await chat.say("一二三")
    assert "6 位数字验证码" in chat.text

    clock.advance(minutes=6)
    await chat.say(right)
    assert "验证码已过期" in chat.text
    await chat.tap("重新发送")
    assert "验证码已发送" in chat.text
    fresh = sms.last_code()
    await chat.say(fresh)
    assert "签约成功" in chat.text
    await chat.say(fresh)
    assert "现在没有等待验证码的操作" in chat.text


async def test_resend_obeys_the_one_minute_limit(chat, core, sms, clock, world, approved):
    await invite(core, clock, world["employer"], approved)
    await chat.command("invitations")
    await chat.tap("1. 测试科技")
    await chat.tap("接受并签约")
    await chat.tap("确认签约")
    await chat.tap("重新发送")
    assert "秒后再试" in chat.text
    assert len([text for _, text in sms.sent if "签订" in text]) == 1


async def test_terms_changed_since_the_code_was_sent_shows_the_new_version(
    chat, core, sms, clock, world, approved
):
    agreement = await invite(core, clock, world["employer"], approved)
    await chat.command("invitations")
    await chat.tap("1. 测试科技")
    stale_accept = chat.button("接受并签约").data
    await chat.tap("接受并签约")
    await chat.tap("确认签约")
    code = sms.last_code()
    employer = Actor.employer(world["employer"])
    await core.service.revise(employer, agreement.id, sample_terms(salary_yuan=13000))
    await chat.say(code)
    assert "单位修改了条款" in chat.text and "第 2 版" in chat.text
    assert "13,000" in chat.text
    await chat.tap_data(stale_accept)
    assert "这个按钮已经用过了" in chat.text


async def test_decline_needs_a_confirmation(chat, core, sms, clock, world, approved):
    agreement = await invite(core, clock, world["employer"], approved)
    await chat.command("invitations")
    await chat.tap("1. 测试科技")
    await chat.tap("拒绝")
    assert "拒绝后不能撤回" in chat.text
    me = Actor.graduate(approved)
    assert (await core.service.agreement(me, agreement.id)).state is AgreementState.INVITED
    await chat.tap("确定拒绝")
    assert "已拒绝" in chat.text
    assert (await core.service.agreement(me, agreement.id)).state is AgreementState.DECLINED


async def test_employer_text_is_escaped(chat, core, sms, clock, world, approved):
    await invite(
        core,
        clock,
        world["employer"],
        approved,
        position="<b>架构师</b>",
        other_clauses='<a href="http://x">点这里</a> & 其他',
    )
    await chat.command("invitations")
    assert "&lt;b&gt;架构师&lt;/b&gt;" in chat.text
    await chat.tap("1. 测试科技")
    assert "&lt;a href=" in chat.text and "&amp; 其他" in chat.text
    assert "<a " not in chat.text


async def test_deep_link_opens_the_invitation(chat, core, sms, clock, world, approved):
    agreement = await invite(core, clock, world["employer"], approved)
    await chat.command("start", f"inv_{agreement.token}")
    assert "的签约邀请" in chat.text and "接受并签约" in chat.last.buttons[0][0].text
    await chat.command("start", "inv_not-a-token")
    assert "没有找到这条记录" in chat.text


async def test_invitation_list_pages_newest_first(chat, core, sms, clock, world, approved):
    for salary in range(10000, 10007):
        await invite(core, clock, world["employer"], approved, salary_yuan=salary)
        clock.advance(minutes=1)
    await chat.command("invitations")
    assert "共 7 份，第 1–5 份" in chat.text
    assert chat.text.index("10,006") < chat.text.index("10,005")
    await chat.tap("下一页")
    assert chat.last.edit and "第 6–7 份" in chat.text and "10,000" in chat.text


async def test_signing_is_refused_before_approval(chat, core, sms, clock, world):
    await register(chat, sms)
    await chat.tap("提交审核")
    graduate = await core.service.graduate_for_telegram(chat.user_id)
    await invite(core, clock, world["employer"], graduate.id)
    clock.advance(minutes=2)
    await chat.command("invitations")
    await chat.tap("1. 测试科技")
    await chat.tap("接受并签约")
    await chat.tap("确认签约")
    assert "还没有通过学校审核" in chat.text
    assert "Traceback" not in chat.text


async def test_a_second_graduate_sees_nothing_of_the_first(
    chat, core, sms, clock, world, approved, conversation
):
    await invite(core, clock, world["employer"], approved)
    stranger = Chat(conversation, 3003)
    await stranger.command("invitations")
    assert "还没有做信息确认" in stranger.text
    await stranger.command("status")
    assert "测试科技" not in stranger.text


async def test_two_simultaneous_taps_send_one_code(chat, core, sms, clock, world, approved):
    import asyncio

    await invite(core, clock, world["employer"], approved)
    await chat.command("invitations")
    await chat.tap("1. 测试科技")
    await chat.tap("接受并签约")
    confirm = chat.button("确认签约").data
    before = len(sms.sent)
    first, second = await asyncio.gather(chat.tap_data(confirm), chat.tap_data(confirm))
    assert len(sms.sent) == before + 1
    assert sorted([first.toast, second.toast]) == ["", "这个按钮已经用过了。"]
