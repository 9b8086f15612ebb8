"""The adapters themselves, on a small scripted conversation, over real polling.

Each test runs on aiogram and on python-telegram-bot against the fake Bot API: what a user
notices about delivery (menus, button presses, edits, long texts, files, errors) must not
depend on the framework.
"""

from __future__ import annotations

import asyncio
import html
import logging

import pytest

from bot.flows.types import Answer, Attachment, Button, Event, EventKind, Reply
from bot.handlers.pipeline import MAX_WAITING
from bot.texts import transport as texts
from tests.bot.e2e.harness import Settled, bot_settings, polling, until
from tests.fakes.botapi import FakeBotApi, parse_html

USER = 501
OTHER_USER = 502

LONG_LINE = "第{n}行：<b>加粗</b> 与 &lt;转义&gt; 的内容。" + "字" * 60


class Scripted:
    """A conversation that does what the text says, and remembers every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.finished: list[tuple[int, str]] = []
        self.uploads: list[bytes] = []

    async def handle(self, event: Event) -> Answer:
        self.events.append(event)
        if event.kind is EventKind.COMMAND and event.command == "start":
            menu = ((Button("继续", "go"), Button("慢慢来", "slow")),)
            return Answer((Reply(f"你好 <b>欢迎</b> {html.escape(event.args)}", menu),))
        if event.kind is EventKind.CALLBACK:
            if event.callback_data == "slow":
                await asyncio.sleep(0.8)
                return Answer((Reply("慢操作完成", edit=True),), toast="太慢了")
            if event.callback_data == "same":
                return Answer((Reply("不变", ((Button("不变", "same"),),), edit=True),))
            return Answer((Reply("已继续", edit=True),), toast="好的")
        if event.kind in (EventKind.DOCUMENT, EventKind.PHOTO):
            assert event.upload is not None
            if event.upload.size > 10 * 1024 * 1024:
                return Answer((Reply("文件太大"),))
            self.uploads.append(await event.upload.fetch())
            return Answer((Reply(f"收到文件 {html.escape(event.upload.file_name)}"),))
        if event.kind is EventKind.TEXT:
            return await self._text(event)
        return Answer((Reply(f"类型 {event.kind} {event.unsupported}"),))

    async def _text(self, event: Event) -> Answer:
        if event.text.startswith("sleep "):
            await asyncio.sleep(float(event.text.split()[1]))
        elif event.text == "long":
            body = "\n".join(LONG_LINE.format(n=n) for n in range(120))
            return Answer((Reply(body, ((Button("好", "go"),),)),))
        elif event.text.startswith("boom"):
            raise RuntimeError(f"cannot handle {event.text}")
        elif event.text == "copy":
            copy = Attachment("协议.pdf", b"%PDF-1.7 signed", "application/pdf")
            return Answer((Reply("<b>协议副本</b> &amp; 附件", attachment=copy),))
        elif event.text == "same":
            return Answer((Reply("不变", ((Button("不变", "same"),),)),))
        self.finished.append((event.user_id, event.text))
        return Answer((Reply(f"收到：{html.escape(event.text)}"),))


@pytest.fixture
def conversation() -> Scripted:
    return Scripted()


@pytest.fixture
def settings(fake_botapi: FakeBotApi, framework: str):  # type: ignore[no-untyped-def]
    return bot_settings(fake_botapi, framework)


async def test_the_command_menu_is_set_in_chinese_at_start(
    framework, settings, conversation, fake_botapi
):
    async with polling(framework, settings, conversation, fake_botapi):
        [call] = fake_botapi.calls_to("setMyCommands")

    menu = {item["command"]: item["description"] for item in call.params["commands"]}
    assert menu == {
        "start": "开始",
        "register": "信息确认",
        "status": "我的状态",
        "invitations": "签约邀请",
        "agreement": "我的协议",
        "breach": "解约申请",
        "faq": "常见问题",
        "settings": "设置",
        "help": "帮助",
        "cancel": "取消",
    }


async def test_a_deep_link_reaches_the_conversation_as_command_and_argument(
    framework, settings, conversation, fake_botapi
):
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.push_message(USER, "/start inv_AbC123")
        await fake_botapi.wait_for("sendMessage")

    [event] = conversation.events
    assert (event.kind, event.command, event.args, event.private) == (
        EventKind.COMMAND,
        "start",
        "inv_AbC123",
        True,
    )
    assert fake_botapi.last_text(USER) == "你好 欢迎 inv_AbC123"
    assert fake_botapi.buttons(USER) == [("继续", "go"), ("慢慢来", "slow")]


async def test_a_button_press_is_answered_and_edits_the_message_in_place(
    framework, settings, conversation, fake_botapi
):
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.push_message(USER, "/start")
        sent = await fake_botapi.wait_for("sendMessage")
        fake_botapi.push_callback(USER, "go", sent.result["message_id"])
        await fake_botapi.wait_for("editMessageText")
        answer = await fake_botapi.wait_for("answerCallbackQuery")

    [message] = fake_botapi.sent_to(USER)
    assert (message.text, message.buttons) == ("已继续", [])
    assert answer.params.get("text") == "好的"
    assert len(fake_botapi.calls_to("sendMessage")) == 1


async def test_a_slow_button_is_answered_before_the_work_is_done(
    framework, settings, conversation, fake_botapi
):
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.push_message(USER, "/start")
        sent = await fake_botapi.wait_for("sendMessage")
        fake_botapi.push_callback(USER, "slow", sent.result["message_id"])
        answer = await fake_botapi.wait_for("answerCallbackQuery", timeout=0.6)
        edit = await fake_botapi.wait_for("editMessageText", timeout=3)

    assert answer.at < edit.at
    assert fake_botapi.last_text(USER) == "慢操作完成"


async def test_one_users_messages_are_handled_in_order_while_others_go_ahead(
    framework, settings, conversation, fake_botapi
):
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.push_message(USER, "sleep 0.6")
        fake_botapi.push_message(USER, "sleep 0.1")
        fake_botapi.push_message(USER, "right after")
        fake_botapi.push_message(OTHER_USER, "not waiting")
        await until(lambda: len(conversation.finished) == 4)

    assert conversation.finished[0] == (OTHER_USER, "not waiting")
    assert [text for user, text in conversation.finished if user == USER] == [
        "sleep 0.6",
        "sleep 0.1",
        "right after",
    ]
    assert [message.text for message in fake_botapi.sent_to(USER)] == [
        "收到：sleep 0.6",
        "收到：sleep 0.1",
        "收到：right after",
    ]


async def test_a_reply_over_4096_characters_arrives_whole_in_several_messages(
    framework, settings, conversation, fake_botapi
):
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.push_message(USER, "long")
        await until(lambda: len(fake_botapi.sent_to(USER)) >= 3)
        await asyncio.sleep(0.1)

    calls = fake_botapi.calls_to("sendMessage")
    assert all(call.status == 200 for call in calls)
    messages = fake_botapi.sent_to(USER)
    assert all(len(message.text or "") <= 4096 for message in messages)
    shown = "\n".join(message.text or "" for message in messages)
    expected, _ = parse_html("\n".join(LONG_LINE.format(n=n) for n in range(120)))
    assert shown == expected
    assert [bool(message.buttons) for message in messages] == [False] * (len(messages) - 1) + [
        True
    ]


async def test_a_10000_character_message_from_the_user_gets_a_reply(
    framework, settings, conversation, fake_botapi
):
    text = "这是一段很长的话" * 1250
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.push_message(USER, text)
        await until(lambda: len(fake_botapi.sent_to(USER)) >= 3)
        await asyncio.sleep(0.1)

    assert all(call.status == 200 for call in fake_botapi.calls_to("sendMessage"))
    assert "".join(message.text or "" for message in fake_botapi.sent_to(USER)) == "收到：" + text


async def test_an_edit_of_a_vanished_message_becomes_a_new_message(
    framework, settings, conversation, fake_botapi
):
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.push_message(USER, "/start")
        sent = await fake_botapi.wait_for("sendMessage")
        fake_botapi.fail_next("editMessageText", 400, "Bad Request: message to edit not found")
        fake_botapi.push_callback(USER, "go", sent.result["message_id"])
        await fake_botapi.wait_for("sendMessage")

    assert fake_botapi.last_text(USER) == "已继续"


async def test_an_edit_that_changes_nothing_counts_as_done(
    framework, settings, conversation, fake_botapi
):
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.push_message(USER, "same")
        sent = await fake_botapi.wait_for("sendMessage")
        fake_botapi.push_callback(USER, "same", sent.result["message_id"])
        edit = await fake_botapi.wait_for("editMessageText")
        await fake_botapi.wait_for("answerCallbackQuery")
        await asyncio.sleep(0.1)

    assert edit.status == 400  # "message is not modified", taken as success
    assert len(fake_botapi.calls_to("sendMessage")) == 1


async def test_a_flood_limit_is_waited_out_once_and_the_reply_arrives(
    framework, settings, conversation, fake_botapi
):
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", 1)
        fake_botapi.push_message(USER, "hello")
        sent = await fake_botapi.wait_for(
            lambda call: call.method == "sendMessage" and call.status == 200, timeout=5
        )

    [refused] = [call for call in fake_botapi.calls_to("sendMessage") if call.status == 429]
    assert sent.at - refused.at >= 0.9
    assert fake_botapi.last_text(USER) == "收到：hello"


async def test_a_user_who_blocked_the_bot_does_not_stop_it_for_others(
    framework, settings, conversation, fake_botapi
):
    fake_botapi.blocked_users.add(USER)
    async with polling(framework, settings, conversation, fake_botapi) as task:
        fake_botapi.push_message(USER, "hello")
        await fake_botapi.wait_for("sendMessage")
        fake_botapi.push_message(OTHER_USER, "still there?")
        await fake_botapi.wait_for(
            lambda call: call.status == 200 and call.method == "sendMessage"
        )
        assert not task.done()

    assert fake_botapi.last_text(OTHER_USER) == "收到：still there?"


async def test_html_telegram_refuses_is_resent_as_plain_text(
    framework, settings, conversation, fake_botapi, caplog
):
    caplog.set_level(logging.INFO)
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.fail_next(
            "sendMessage", 400, "Bad Request: can't parse entities: Unsupported start tag"
        )
        fake_botapi.push_message(USER, "/start a&b")
        await fake_botapi.wait_for(
            lambda call: call.status == 200 and call.method == "sendMessage"
        )

    [first, second] = fake_botapi.calls_to("sendMessage")
    assert (first.status, second.params.get("parse_mode")) == (400, None)
    assert fake_botapi.last_text(USER) == "你好 欢迎 a&b"
    assert "can't parse" not in caplog.text and "a&b" not in caplog.text


async def test_documents_and_photos_are_fetched_only_when_the_conversation_wants_them(
    framework, settings, conversation, fake_botapi
):
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.push_document(USER, b"%PDF-1.7 transcript", "成绩单.pdf")
        await fake_botapi.wait_for("sendMessage")
        fake_botapi.push_photo(USER, b"\xff\xd8\xff student card")
        await fake_botapi.wait_for("sendMessage")
        fake_botapi.push_document(USER, b"x" * (11 * 1024 * 1024), "big.pdf")
        await fake_botapi.wait_for("sendMessage")

    document, photo, big = conversation.events
    assert document.upload is not None and photo.upload is not None and big.upload is not None
    assert (document.kind, document.upload.file_name, document.upload.content_type) == (
        EventKind.DOCUMENT,
        "成绩单.pdf",
        "application/pdf",
    )
    assert (photo.kind, photo.upload.content_type) == (EventKind.PHOTO, "image/jpeg")
    assert big.upload.size == 11 * 1024 * 1024
    assert conversation.uploads == [b"%PDF-1.7 transcript", b"\xff\xd8\xff student card"]
    assert len(fake_botapi.calls_to("getFile")) == 2
    assert fake_botapi.last_text(USER) == "文件太大"


async def test_stickers_voice_contacts_and_groups_are_told_apart(
    framework, settings, conversation, fake_botapi
):
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.push_sticker(USER)
        await fake_botapi.wait_for("sendMessage")
        fake_botapi.push_voice(USER)
        await fake_botapi.wait_for("sendMessage")
        fake_botapi.push_contact(USER, "+8613800138000")
        await fake_botapi.wait_for("sendMessage")
        fake_botapi.push_contact(USER, "+8613900139000", own=False)
        await fake_botapi.wait_for("sendMessage")
        fake_botapi.push_message(USER, "/status@wangqian_test_bot", chat_type="group")
        await fake_botapi.wait_for("sendMessage")

    sticker, voice, contact, forwarded, group = conversation.events
    assert (sticker.kind, sticker.unsupported) == (EventKind.UNSUPPORTED, "sticker")
    assert (voice.kind, voice.unsupported) == (EventKind.UNSUPPORTED, "voice")
    assert (contact.kind, contact.text) == (EventKind.CONTACT, "+8613800138000")
    assert (forwarded.kind, forwarded.text) == (EventKind.CONTACT, "")
    assert (group.kind, group.command, group.private) == (EventKind.COMMAND, "status", False)
    assert group.chat_id != USER


async def test_a_failing_conversation_gets_an_apology_and_polling_goes_on(
    framework, settings, conversation, fake_botapi, caplog
):
    caplog.set_level(logging.DEBUG)
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.push_message(USER, "boom 13912345678")
        await fake_botapi.wait_for("sendMessage")
        fake_botapi.push_message(USER, "13800138000")
        await fake_botapi.wait_for("sendMessage")

    texts_sent = [message.text for message in fake_botapi.sent_to(USER)]
    assert texts_sent == [html.unescape(texts.INTERNAL_ERROR), "收到：13800138000"]
    assert "RuntimeError" in caplog.text
    assert "13800138000" not in caplog.text
    assert "13912345678" not in caplog.text
    assert fake_botapi.token not in caplog.text


async def test_a_file_reply_arrives_as_a_document_with_its_caption(
    framework, settings, conversation, fake_botapi
):
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.push_message(USER, "copy")
        await fake_botapi.wait_for("sendDocument")

    [message] = fake_botapi.sent_to(USER)
    assert message.kind == "document" and message.text == "协议副本 & 附件"
    assert message.file is not None and message.file.content == b"%PDF-1.7 signed"
    assert message.file.file_name == "协议.pdf"


# --- pacing under Telegram's flood limits (report: 335 replies met a 429, some were lost) ---


@pytest.fixture
def telegram_rates(fake_botapi: FakeBotApi, framework: str):  # type: ignore[no-untyped-def]
    """The fake enforces flood limits, the bot paces at Telegram's published rates."""
    fake_botapi.rate_limits = True
    return bot_settings(fake_botapi, framework, telegram_chat_rate=1.0)


async def test_a_burst_from_many_users_is_answered_in_full_without_flood_errors(
    framework, telegram_rates, conversation, fake_botapi, settled: Settled
):
    users = range(600, 620)
    async with polling(framework, telegram_rates, conversation, fake_botapi):
        pushed = [fake_botapi.push_message(u, f"问题{n}") for n in range(10) for u in users]
        for update_id in pushed:
            await settled.wait(update_id, timeout=30)

    for user in users:
        assert [m.text for m in fake_botapi.sent_to(user)] == [f"收到：问题{n}" for n in range(10)]
    assert fake_botapi.rate_limited_count == 0


async def test_a_flooding_user_gets_a_bounded_line_and_one_request_to_slow_down(
    framework, telegram_rates, conversation, fake_botapi, settled: Settled
):
    async with polling(framework, telegram_rates, conversation, fake_botapi):
        pushed = [fake_botapi.push_message(USER, f"刷屏{n}") for n in range(200)]
        other = fake_botapi.push_message(OTHER_USER, "我也在")
        await settled.wait(other, timeout=5)
        assert fake_botapi.last_text(OTHER_USER) == "收到：我也在"
        for update_id in pushed:
            await settled.wait(update_id, timeout=30)

    sent = [m.text or "" for m in fake_botapi.sent_to(USER)]
    assert sent.count(texts.SLOW_DOWN) == 1
    answered = [int(text.removeprefix("收到：刷屏")) for text in sent if text != texts.SLOW_DOWN]
    # The line holds MAX_WAITING; a few more get in as the first replies go out meanwhile.
    assert answered[:MAX_WAITING] == list(range(MAX_WAITING))
    assert answered == sorted(answered) and len(answered) <= 2 * MAX_WAITING
    assert fake_botapi.rate_limited_count == 0


async def test_repeated_flood_limits_are_each_waited_out_in_full(
    framework, settings, conversation, fake_botapi
):
    async with polling(framework, settings, conversation, fake_botapi):
        fake_botapi.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", 2, 2)
        fake_botapi.push_message(USER, "hello")
        sent = await fake_botapi.wait_for(
            lambda call: call.method == "sendMessage" and call.status == 200, timeout=8
        )

    first, second = [c for c in fake_botapi.calls_to("sendMessage") if c.status == 429]
    assert second.at - first.at >= 1.9 and sent.at - second.at >= 1.9
    assert fake_botapi.last_text(USER) == "收到：hello"
