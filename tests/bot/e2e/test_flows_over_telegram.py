"""What a graduate must be able to rely on, through the real flows, on both frameworks:
forged buttons reveal nothing, a double tap acts once, long messages and group chats are
handled politely, and a restart mid-registration loses nothing."""

from __future__ import annotations

import pytest

from bot.faq import FaqEngine, FaqService, InMemoryFeedbackStore
from bot.flows.router import FlowConversation
from bot.state import SqlStateStore
from bot.texts import flows as t
from core.domain.actors import Actor
from core.domain.states import AgreementState
from tests.bot.e2e.harness import Chat, Settled, bot_settings, polling
from tests.bot.e2e.world import World, approved_graduate, invite, visible

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

OWNER = 8001
STRANGER = 8002


async def test_forged_buttons_for_another_graduates_invitation_reveal_nothing(
    world: World, settled: Settled
) -> None:
    owner = await approved_graduate(
        world, OWNER, phone="13711112222", student_no="2026000101", id_first17="11010119990101001"
    )
    await approved_graduate(
        world,
        STRANGER,
        phone="13733334444",
        student_no="2026000102",
        id_first17="11010119990202002",
    )
    agreement = await invite(world, owner, position="量化研究员")
    stranger = Chat(world.api, settled, STRANGER)
    sms_before = len(world.sms.received)

    async with polling(world.framework, world.settings, world.conversation, world.api):
        await stranger.send("/start")
        [message] = world.api.sent_to(STRANGER)
        for forged in (
            f"inv:v:{agreement}",
            f"inv:acc:{agreement}:1:1",
            f"inv:sign:{agreement}:1:1",
            f"inv:dec:{agreement}:1:1",
        ):
            await stranger.press_exact(forged, message.message_id, forged=True)

    seen = "\n".join(stranger.texts())
    assert "量化研究员" not in seen and "星河" not in seen
    assert len(world.api.callback_answers) == 4
    assert len(world.sms.received) == sms_before
    view = await world.core.service.agreement(Actor.graduate(owner), agreement)
    assert view.state is AgreementState.INVITED


async def test_a_double_tap_on_sign_sends_one_code(world: World, settled: Settled) -> None:
    owner = await approved_graduate(
        world, OWNER, phone="13711112222", student_no="2026000101", id_first17="11010119990101001"
    )
    agreement = await invite(world, owner)
    chat = Chat(world.api, settled, OWNER)
    world.clock.advance(minutes=5)  # past the one-code-a-minute limit of the phone check
    sms_before = len(world.sms.received)

    async with polling(world.framework, world.settings, world.conversation, world.api):
        await chat.send(f"/start inv_{await _token(world, owner, agreement)}")
        await chat.press("inv:acc:")
        message_id, data = chat.button("inv:sign:")
        first = world.api.push_callback(OWNER, data, message_id)
        second = world.api.push_callback(OWNER, data, message_id)
        await settled.wait(first)
        await settled.wait(second)

    assert len(world.sms.received) == sms_before + 1
    answers = list(world.api.callback_answers.values())
    assert len(answers) == 3  # accept, and both taps on sign
    # The second tap waited for the first, so its button was answered at once, untoasted;
    # the "already used" note arrives as a message.
    assert visible(t.USED_BUTTON) in chat.texts()


async def test_a_10000_character_message_gets_a_polite_answer(
    world: World, settled: Settled
) -> None:
    chat = Chat(world.api, settled, OWNER)
    async with polling(world.framework, world.settings, world.conversation, world.api):
        await chat.send("违约金怎么算" * 1667)

    assert chat.text == t.TOO_LONG.format(length=10002, limit=2000)
    assert all(call.status == 200 for call in world.api.calls_to("sendMessage"))


async def test_a_group_chat_gets_a_pointer_and_no_personal_data(
    world: World, settled: Settled
) -> None:
    await approved_graduate(
        world, OWNER, phone="13711112222", student_no="2026000101", id_first17="11010119990101001"
    )
    async with polling(world.framework, world.settings, world.conversation, world.api):
        update = world.api.push_message(OWNER, "/status", chat_type="group")
        await settled.wait(update)

    [group_chat] = [chat for chat in world.api._chats.values() if chat["type"] == "group"]
    assert world.api.last_text(group_chat["id"]) == visible(t.GROUP_POINTER)
    assert world.api.sent_to(OWNER) == []


async def test_in_a_group_only_commands_to_this_bot_are_answered(
    world: World, settled: Settled
) -> None:
    # Report: with access to every group message the bot answered each one with the pointer.
    group = -4242
    api = world.api
    async with polling(world.framework, world.settings, world.conversation, api):
        for text in (
            "大家好",
            "违约金怎么算",
            "/status@otherbot",
            "/start",
            "/help@wangqian_test_bot",
        ):
            await settled.wait(api.push_message(OWNER, text, chat_type="group", chat_id=group))
        await settled.wait(api.push_message(STRANGER, "/faq", chat_type="group", chat_id=group))
        await settled.wait(api.push_sticker(OWNER))  # in private: still answered
        pointer = api.sent_to(group)[0].message_id
        pressed = api.push_callback(OWNER, "m:st", pointer, chat_id=group, strict=False)
        await settled.wait(pressed)

    assert [message.text for message in api.sent_to(group)] == [visible(t.GROUP_POINTER)] * 3
    [toast] = list(api.callback_answers.values())
    assert toast.get("text") == visible(t.GROUP_POINTER)
    assert [message.text for message in api.sent_to(OWNER)] == [visible(t.NOT_TEXT_HINT)]


async def test_in_private_a_command_for_another_bot_is_ignored(
    world: World, settled: Settled
) -> None:
    chat = Chat(world.api, settled, OWNER)
    async with polling(world.framework, world.settings, world.conversation, world.api):
        await chat.send("/start@otherbot")
        await chat.send("/help@WangQian_Test_Bot")

    [reply] = chat.texts()
    assert reply.startswith(visible(t.HELP)[:10])


async def test_registration_resumes_after_a_restart_even_on_the_other_framework(
    world: World, settled: Settled
) -> None:
    chat = Chat(world.api, settled, OWNER)
    async with polling(world.framework, world.settings, world.conversation, world.api):
        await chat.send("/register")
        await chat.press("reg:agree")
        await chat.send("赵六")
        assert "第 2/12 步" in chat.text

    # A new process: new conversation objects over the same database, other framework.
    other = "ptb" if world.framework == "aiogram" else "aiogram"
    settings = bot_settings(
        world.api, other, database_url=world.settings.database_url, sms_webhook_url=world.sms.url
    )
    faq = FaqService(FaqEngine.load(), InMemoryFeedbackStore())
    fresh = FlowConversation(world.core.service, faq, SqlStateStore(world.core.sessions))
    async with polling(other, settings, fresh, world.api):
        await chat.send("/register")
        assert "第 2/12 步" in chat.text and "身份证号" in chat.text
        await chat.send("/status")
        await chat.send("/register")
        assert "第 2/12 步" in chat.text


async def test_the_button_on_a_push_opens_what_it_announces(
    world: World, settled: Settled
) -> None:
    owner = await approved_graduate(
        world, OWNER, phone="13711112222", student_no="2026000101", id_first17="11010119990101001"
    )
    await invite(world, owner, position="数据分析师")
    chat = Chat(world.api, settled, OWNER)
    async with polling(world.framework, world.settings, world.conversation, world.api):
        await world.push_pass()
        await chat.press("inv:open:")

    assert "数据分析师" in chat.text


async def _token(world: World, graduate_id: int, agreement_id: int) -> str:
    view = await world.core.service.agreement(Actor.graduate(graduate_id), agreement_id)
    return view.token
