"""Registration through the conversation, on the real core and the SQL state store."""

from __future__ import annotations

from bot.flows.router import FlowConversation
from core.demo import demo_id_number
from core.domain.actors import Actor
from core.domain.states import RegistrationStatus
from tests.bot.flows.conftest import TINY_PNG, Chat

ANSWERS = [
    ("name", "李四"),
    ("id_number", demo_id_number()),
    ("phone", "139 1234 5678"),
]
AFTER_PHONE = [
    ("student_no", "2026123456"),
    ("faculty", "信息学院"),
    ("major", "计算机科学与技术"),
]
AFTER_LEVEL = [
    ("graduation_year", "2026"),
    ("industries", "互联网、教育"),
    ("cities", "杭州，上海"),
    ("expected_salary", "9000"),
]


async def register(chat: Chat, sms, *, stop_after: str = "") -> None:
    """Walk the whole registration as a graduate would, up to submitting it."""
    await chat.command("register")
    assert "个人信息处理说明" in chat.text
    await chat.tap("同意")
    for name, value in ANSWERS:
        await chat.say(value)
        if name == stop_after:
            return
    assert "验证码已发送到 139****5678" in chat.text
    await chat.say(sms.last_code())
    assert "手机号验证成功" in chat.text
    assert "第 4/12 步" in chat.text
    await chat.tap("测试大学")
    for _name, value in AFTER_PHONE:
        await chat.say(value)
    await chat.tap("本科")
    for _name, value in AFTER_LEVEL:
        await chat.say(value)
    assert "上传材料" in chat.text
    for _ in range(3):
        await chat.upload(TINY_PNG)
    assert "三种材料都齐了" in chat.text
    await chat.tap("完成")
    assert "请核对你的信息" in chat.text


async def test_a_graduate_registers_end_to_end(chat, core, sms, world):
    await register(chat, sms)
    assert "信息齐全" in chat.text
    assert "110***" in chat.text and demo_id_number() not in chat.text
    await chat.tap("提交审核")
    assert "已提交" in chat.text

    graduate = await core.service.graduate_for_telegram(chat.user_id)
    assert graduate is not None
    assert graduate.status is RegistrationStatus.SUBMITTED
    assert graduate.cities == ("杭州", "上海")
    assert len(graduate.documents) == 3


async def test_an_invalid_id_number_is_explained_and_asked_again(chat, core, sms, world):
    await chat.command("register")
    await chat.tap("同意")
    await chat.say("李四")
    await chat.say("11010520040312001X")
    assert "校验位不对" in chat.text
    assert "第 2/12 步" in chat.text
    graduate = await core.service.graduate_for_telegram(chat.user_id)
    assert graduate is not None and graduate.name == "李四"


async def test_registration_resumes_after_a_restart(
    chat, core, sms, world, faq_engine, state_store, conversation
):
    await register(chat, sms, stop_after="phone")
    await chat.say(sms.last_code())
    assert "第 4/12 步" in chat.text

    # A new process: a new conversation object over the same database and state store.
    restarted = FlowConversation(core.service, conversation.faq._faq, state_store)
    again = Chat(restarted, chat.user_id)
    await again.say("测试大学")
    assert "第 5/12 步" in again.text
    await again.command("status")
    await again.command("register")
    assert "第 5/12 步" in again.text


async def test_back_returns_to_the_previous_field_and_cancel_keeps_what_was_typed(
    chat, core, sms, world
):
    await chat.command("register")
    await chat.tap("同意")
    await chat.say("李四")
    await chat.command("back")
    assert "第 1/12 步" in chat.text and "李四" in chat.text
    await chat.command("cancel")
    assert "/register" in chat.text
    await chat.command("register")
    assert "第 2/12 步" in chat.text


async def test_a_sticker_during_registration_gets_a_hint_and_loses_nothing(chat, sms, world):
    await chat.command("register")
    await chat.tap("同意")
    await chat.say("李四")
    await chat.sticker()
    assert "这里需要文字" in chat.text
    assert "第 2/12 步" in chat.text
    await chat.say(demo_id_number())
    assert "第 3/12 步" in chat.text


async def test_a_wrong_document_type_is_refused(chat, core, sms, world):
    await register(chat, sms, stop_after="phone")
    await chat.command("cancel")
    graduate = await core.service.graduate_for_telegram(chat.user_id)
    actor = Actor.graduate(graduate.id)
    await chat.command("register")
    await chat.tap_data("reg:ed:documents")
    await chat.upload(b"MZ\x90\x00 not a picture", name="virus.png")
    assert "只支持 JPG、PNG 图片或 PDF" in chat.text
    assert (await core.service.graduate(actor)).documents == ()


async def test_a_rejected_registration_is_fixed_from_the_push_button(chat, core, sms, world):
    await register(chat, sms)
    await chat.tap("提交审核")
    graduate = await core.service.graduate_for_telegram(chat.user_id)
    office = Actor.university(world["university"])
    await core.service.reject_registration(office, graduate.id, "学号<与>学籍不符")
    await chat.tap_data("reg:fix")
    assert "学号&lt;与&gt;学籍不符" in chat.text
    await chat.tap_data("reg:ed:student_no")
    await chat.say("2026123457")
    assert "请核对你的信息" in chat.text
    await chat.tap("提交审核")
    assert (await core.service.graduate(Actor.graduate(graduate.id))).status is (
        RegistrationStatus.SUBMITTED
    )
