"""Routing: commands, group chats, long messages, stray media, the FAQ, settings, breach."""

from __future__ import annotations

import uuid

import pytest

from bot.flows.definition import FlowDefinition, FlowDefinitionError
from bot.flows.session import Session
from bot.flows.types import EventKind
from bot.state import RedisStateStore
from core.demo import seed_demo
from core.domain.actors import Actor
from core.domain.states import AgreementState
from core.storage.faq import SqlFeedbackStore
from tests.bot.flows.conftest import Chat


@pytest.fixture
async def demo(core, clock, conversation):
    """The demo graduate, approved, bound to this chat, with one open invitation."""
    data = await seed_demo(core, telegram_user_id=1001, now=clock.now)
    return data


async def test_group_chats_get_a_pointer_and_no_personal_data(conversation, demo):
    group = Chat(conversation, 1001, private=False)
    await group.command("status")
    assert "私聊" in group.text
    assert "示例" not in group.text and "张三" not in group.text
    silent = await group.say("违约金能谈吗")
    assert silent.replies == () and not silent.toast
    pressed = await group.tap_data("m:st")
    assert pressed.replies == () and "私聊" in pressed.toast


async def test_a_command_for_another_bot_is_ignored_not_sent_to_the_faq(chat, demo):
    answer = await chat._send(
        kind=EventKind.COMMAND, command="start", text="/start@otherbot", addressed=False
    )
    assert answer.replies == () and not answer.toast


async def test_a_ten_thousand_character_message_gets_a_polite_reply(chat, demo):
    answer = await chat.say("问" * 10_000)
    assert "消息太长了（10000 字）" in chat.text
    assert len(answer.replies) == 1 and len(chat.text) < 200


async def test_free_text_goes_to_the_faq_with_feedback_buttons(chat, core, demo):
    await chat.say("违约金太高了能不能和单位协商减少")
    assert "有帮助" in chat.button("有帮助").text
    first = await chat.tap("有帮助")
    assert first.toast
    again = await chat.tap("有帮助")
    assert again.toast == "已经收到你的反馈。"


async def test_forged_votes_count_once_per_topic_whatever_is_opened_between(chat, core, demo):
    # Report: 40 forged faq:y: presses alternating two topics counted 20 votes each.
    topics = ("breach.penalty", "signing.otp")
    for n in range(40):
        topic = topics[n % 2]
        await chat.tap_data(f"faq:t:{topic}")
        answer = await chat.tap_data(f"faq:y:{topic}")
        if n >= 2:
            assert answer.toast == "已经收到你的反馈。" and not answer.replies
    await chat.tap_data("faq:n:breach.penalty")

    counts = await SqlFeedbackStore(core.engine).counts()
    assert [(topic, helpful + unhelpful) for topic, helpful, unhelpful in counts] == [
        ("breach.penalty", 1),
        ("signing.otp", 1),
    ]


def test_remembered_votes_are_bounded_and_survive_storage() -> None:
    session = Session()
    for n in range(150):
        session.vote(f"topic.{n}")

    restored = Session.from_dict(session.to_dict())

    assert len(restored.faq_votes) == 100
    assert restored.has_voted("topic.149") and not restored.has_voted("topic.49")


async def test_an_unknown_question_is_answered_honestly_with_the_university_contact(chat, demo):
    await chat.say("食堂今天中午有什么菜")
    assert "答不了" in chat.text
    assert "行政楼 101 室" in chat.text


async def test_the_faq_menu_browses_categories_and_topics(chat, demo):
    await chat.command("faq")
    await chat.tap("违约与解约")
    assert chat.last.edit
    chat_buttons = [b.data for line in chat.last.buttons for b in line]
    assert any(d.startswith("faq:t:breach.") for d in chat_buttons)
    await chat.tap_data("faq:t:breach.penalty")
    assert "违约金" in chat.text
    await chat.tap_data("faq:t:no.such.topic")
    assert "/faq" in chat.text


async def test_a_code_typed_outside_any_flow_is_not_sent_to_the_faq(chat, demo):
    await chat.say("123456")
    assert "现在没有等待验证码的操作" in chat.text


async def test_strangers_are_offered_registration(conversation):
    stranger = Chat(conversation, 5005)
    await stranger.command("start")
    assert "网签助手" in stranger.text
    assert stranger.button("开始信息确认").data == "m:reg"
    await stranger.command("agreement")
    assert "还没有做信息确认" in stranger.text
    await stranger.sticker()
    assert "文字" in stranger.text
    await stranger.command("nonsense")
    assert "/help" in stranger.text


async def test_settings_turn_reminders_off_and_mute_one_deadline(chat, core, demo):
    await chat.command("settings")
    assert "截止提醒：已开启" in chat.text
    await chat.tap("关闭提醒")
    assert "截止提醒：已关闭" in chat.text and chat.last.edit
    await chat.tap("不再提醒")
    assert "（不提醒）" in chat.text
    me = Actor.graduate(demo["graduate_id"])
    deadlines = await core.service.deadlines(me)
    assert deadlines and all(d.muted for d in deadlines)
    assert not (await core.service.graduate(me)).reminders_enabled
    await chat.tap_data("set:m:respond:999999")
    assert "已经结束或不存在" in chat.text


async def test_status_and_agreement_after_signing_then_a_termination_request(
    chat, core, sms, clock, demo
):
    await chat.command("invitations")
    await chat.tap("1. 示例科技")
    await chat.tap("接受并签约")
    await chat.tap("确认签约")
    await chat.say(sms.last_code())
    employer = Actor.employer(demo["employer_id"])
    await core.service.seal(employer, demo["agreement_id"])

    await chat.command("status")
    assert "已签协议：示例科技有限公司｜软件开发工程师（已生效）" in chat.text
    await chat.command("agreement")
    assert "摘要（SHA-256）" in chat.text and "单位盖章，协议生效" in chat.text

    await chat.command("breach")
    assert "解约之前，请先了解后果" in chat.text and "5,000 元" in chat.text
    clock.advance(minutes=2)
    await chat.tap("继续申请解约")
    await chat.say("家庭原因需要回老家工作")
    assert "验证码已发送到 138****8000" in chat.text
    await chat.say(sms.last_code())
    assert "解约申请已提交" in chat.text and "对方同意：等待中" in chat.text
    me = Actor.graduate(demo["graduate_id"])
    view = await core.service.agreement(me, demo["agreement_id"])
    assert view.state is AgreementState.TERMINATION_REQUESTED
    await core.service.consent_termination(employer, view.id)
    await chat.command("breach")
    assert "对方同意 ✓（违约金 5,000 元）" in chat.text


async def test_unreadable_state_starts_afresh(state_store, chat, demo):
    await state_store.save("tg:1001", {"schema": 1, "flow": "registration", "seq": "x"})
    await chat.command("status")
    assert "我的状态" in chat.text


def test_a_flow_with_an_unreachable_step_fails_when_built():
    with pytest.raises(FlowDefinitionError, match="unreachable"):
        FlowDefinition("broken", start="a", moves={"a": ("b",), "b": (), "orphan": ()})
    with pytest.raises(FlowDefinitionError, match="undefined"):
        FlowDefinition("broken", start="a", moves={"a": ("nowhere",)})


def test_session_state_round_trips_through_json():
    session = Session()
    session.enter("registration", "field")
    session.registration.field = "phone"
    session.use(session.next_seq())
    assert Session.from_dict(session.to_dict()) == session


@pytest.mark.redis
async def test_redis_store_keeps_state_under_its_prefix():
    store = RedisStateStore.from_url("redis://127.0.0.1:6379/0", prefix=f"test:{uuid.uuid4()}:")
    try:
        assert await store.load("tg:1") is None
        await store.save("tg:1", {"flow": "registration", "n": 1})
        assert await store.load("tg:1") == {"flow": "registration", "n": 1}
        await store.clear("tg:1")
        assert await store.load("tg:1") is None
    finally:
        await store.clear("tg:1")
        await store.close()


async def test_sql_store_survives_a_new_store_object(core, state_store):
    await state_store.save("tg:9", {"flow": "signing"})
    from bot.state import SqlStateStore

    assert await SqlStateStore(core.sessions).load("tg:9") == {"flow": "signing"}


async def test_push_buttons_open_their_screens(chat, demo):
    await chat.tap_data(f"inv:open:{demo['agreement_id']}")
    assert "的签约邀请" in chat.text and not chat.last.edit
    await chat.tap_data("agr:open")
    assert "还没有已签的协议" in chat.text
    await chat.tap_data("st")
    assert "我的状态" in chat.text


async def test_a_graduate_who_blocked_the_bot_is_reachable_again_once_they_write(
    chat, core, clock, demo
):
    from core.reminders import mark_unreachable

    await mark_unreachable(core.sessions, demo["graduate_id"], clock.now)
    assert (await core.service.graduate_for_telegram(1001)).unreachable

    await chat.command("status")

    assert not (await core.service.graduate_for_telegram(1001)).unreachable
