"""The fake Bot API, driven by the real aiogram and python-telegram-bot clients."""

import asyncio
import json
import socket
import time

import aiohttp
import pytest
import telegram
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from tests.fakes.botapi import (
    FakeBotApi,
    HtmlError,
    aiogram_polling,
    make_aiogram_bot,
    make_ptb_bot,
    make_ptb_builder,
    parse_html,
    ptb_polling,
)

USER = 1001


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data)] for text, data in pairs
        ]
    )


# --- aiogram Bot -----------------------------------------------------------------------------


async def test_aiogram_get_me_reports_the_fake_bot(
    fake_botapi: FakeBotApi, aiogram_bot: Bot
) -> None:
    me = await aiogram_bot.get_me()

    assert me.id == aiogram_bot.id
    assert me.username == "wangqian_test_bot"


async def test_aiogram_message_with_keyboard_is_recorded(
    fake_botapi: FakeBotApi,
    aiogram_bot: Bot,
) -> None:
    markup = keyboard(("同意", "agree"), ("拒绝", "refuse"))

    message = await aiogram_bot.send_message(
        USER, "<b>请确认</b> 条款", reply_markup=markup, parse_mode="HTML"
    )

    assert message.text == "请确认 条款"
    assert message.entities is not None and message.entities[0].type == "bold"
    assert message.reply_markup is not None
    assert message.reply_markup.model_dump() == markup.model_dump()
    assert message.from_user is not None and message.from_user.id == aiogram_bot.id
    assert fake_botapi.last_text(USER) == "请确认 条款"
    assert fake_botapi.buttons(USER) == [("同意", "agree"), ("拒绝", "refuse")]
    call = fake_botapi.calls_to("sendMessage")[0]
    assert call.params["chat_id"] == USER
    assert call.params["reply_markup"] == markup.model_dump(exclude_none=True)


async def test_aiogram_edit_replaces_text_and_drops_the_keyboard(
    fake_botapi: FakeBotApi,
    aiogram_bot: Bot,
) -> None:
    sent = await aiogram_bot.send_message(USER, "第一版", reply_markup=keyboard(("好", "ok")))

    edited = await aiogram_bot.edit_message_text(
        text="第二版",
        chat_id=USER,
        message_id=sent.message_id,
    )

    assert isinstance(edited, Message)
    assert edited.text == "第二版"
    assert edited.reply_markup is None
    [record] = fake_botapi.sent_to(USER)
    assert (record.text, record.history, record.buttons) == ("第二版", ["第一版"], [])


async def test_aiogram_edit_that_changes_nothing_is_refused(aiogram_bot: Bot) -> None:
    markup = keyboard(("好", "ok"))
    sent = await aiogram_bot.send_message(USER, "不变", reply_markup=markup)

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await aiogram_bot.edit_message_text(
            text="不变",
            chat_id=USER,
            message_id=sent.message_id,
            reply_markup=markup,
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await aiogram_bot.edit_message_text(text="x", chat_id=USER, message_id=999)


async def test_aiogram_answers_a_pushed_callback(
    fake_botapi: FakeBotApi, aiogram_bot: Bot
) -> None:
    sent = await aiogram_bot.send_message(USER, "选择", reply_markup=keyboard(("是", "yes")))
    fake_botapi.push_callback(USER, "yes", sent.message_id)

    [update] = await aiogram_bot.get_updates(timeout=1)
    assert update.callback_query is not None
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == sent.message_id
    assert await aiogram_bot.answer_callback_query(update.callback_query.id, text="收到")

    assert fake_botapi.callback_answers[update.callback_query.id]["text"] == "收到"
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await aiogram_bot.answer_callback_query(update.callback_query.id)


async def test_aiogram_long_poll_returns_as_soon_as_a_message_is_pushed(
    fake_botapi: FakeBotApi,
    aiogram_bot: Bot,
) -> None:
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, fake_botapi.push_message, USER, "/start now")
    started = time.monotonic()

    [update] = await aiogram_bot.get_updates(timeout=10)

    assert time.monotonic() - started < 2
    assert update.message is not None and update.message.text == "/start now"
    assert update.message.entities is not None
    assert (update.message.entities[0].type, update.message.entities[0].length) == (
        "bot_command",
        6,
    )
    assert await aiogram_bot.get_updates(offset=update.update_id + 1, timeout=0) == []


async def test_aiogram_downloads_a_pushed_document(
    fake_botapi: FakeBotApi, aiogram_bot: Bot
) -> None:
    fake_botapi.push_document(USER, b"%PDF-1.7 agreement", "协议.pdf")
    [update] = await aiogram_bot.get_updates()
    assert update.message is not None and update.message.document is not None
    assert update.message.document.mime_type == "application/pdf"

    file = await aiogram_bot.get_file(update.message.document.file_id)
    assert file.file_path is not None
    data = await aiogram_bot.download_file(file.file_path)

    assert data is not None and data.read() == b"%PDF-1.7 agreement"


async def test_aiogram_uploads_a_document_as_multipart(
    fake_botapi: FakeBotApi, aiogram_bot: Bot
) -> None:
    upload = BufferedInputFile(b"signed", filename="agreement.pdf")

    message = await aiogram_bot.send_document(
        USER, upload, caption="<i>已签</i>", parse_mode="HTML"
    )

    assert message.document is not None and message.document.file_name == "agreement.pdf"
    assert message.caption == "已签"
    [record] = fake_botapi.sent_to(USER)
    assert record.file is not None and record.file.content == b"signed"
    again = await aiogram_bot.send_document(USER, message.document.file_id)
    assert again.document is not None and again.document.file_id == message.document.file_id


async def test_aiogram_with_a_wrong_token_is_unauthorized(fake_botapi: FakeBotApi) -> None:
    bot = make_aiogram_bot(fake_botapi, token="42:wrong-token")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await bot.get_me()
    finally:
        await bot.session.close()


# --- PTB Bot ---------------------------------------------------------------------------------


async def test_ptb_urls_point_only_at_the_fake(
    fake_botapi: FakeBotApi, ptb_bot: telegram.Bot
) -> None:
    assert ptb_bot.base_url == f"{fake_botapi.base_url}/bot{fake_botapi.token}"
    assert ptb_bot.base_file_url == f"{fake_botapi.base_url}/file/bot{fake_botapi.token}"
    assert ptb_bot.username == "wangqian_test_bot"


async def test_ptb_message_edit_and_keyboard(
    fake_botapi: FakeBotApi, ptb_bot: telegram.Bot
) -> None:
    markup = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("确认", callback_data="ok")]]
    )

    sent = await ptb_bot.send_message(USER, "a &lt; b", parse_mode="HTML", reply_markup=markup)
    edited = await ptb_bot.edit_message_text(
        "新内容", chat_id=USER, message_id=sent.message_id, reply_markup=markup
    )

    assert sent.text == "a < b"
    assert sent.reply_markup == markup
    assert isinstance(edited, telegram.Message) and edited.text == "新内容"
    assert fake_botapi.buttons(USER, sent.message_id) == [("确认", "ok")]
    with pytest.raises(BadRequest, match="Message is not modified"):
        await ptb_bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=markup)


async def test_ptb_receives_and_answers_a_callback(
    fake_botapi: FakeBotApi, ptb_bot: telegram.Bot
) -> None:
    markup = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("是", callback_data="yes")]]
    )
    sent = await ptb_bot.send_message(USER, "选择", reply_markup=markup)
    fake_botapi.push_callback(USER, "yes", sent.message_id)

    [update] = await ptb_bot.get_updates(timeout=1)

    assert update.callback_query is not None and update.callback_query.data == "yes"
    assert await update.callback_query.answer("好")
    assert fake_botapi.calls_to("answerCallbackQuery")[0].params["text"] == "好"


async def test_ptb_downloads_a_pushed_photo_and_document(
    fake_botapi: FakeBotApi, ptb_bot: telegram.Bot
) -> None:
    fake_botapi.push_photo(USER, b"\xff\xd8jpeg")
    fake_botapi.push_document(USER, b"id card", "id.png", "image/png")

    photo_update, document_update = await ptb_bot.get_updates(timeout=1)

    assert photo_update.message is not None and len(photo_update.message.photo) == 3
    photo = await photo_update.message.photo[-1].get_file()
    assert await photo.download_as_bytearray() == bytearray(b"\xff\xd8jpeg")
    assert document_update.message is not None and document_update.message.document is not None
    document = await document_update.message.document.get_file()
    assert document.file_path is not None and document.file_path.startswith(fake_botapi.base_url)
    assert bytes(await document.download_as_bytearray()) == b"id card"


async def test_ptb_uploads_a_document_as_multipart(
    fake_botapi: FakeBotApi, ptb_bot: telegram.Bot
) -> None:
    message = await ptb_bot.send_document(USER, b"receipt", filename="receipt.txt", caption="回执")

    assert message.document is not None and message.document.file_name == "receipt.txt"
    assert message.document.mime_type == "text/plain"
    [record] = fake_botapi.sent_to(USER)
    assert record.file is not None and record.file.content == b"receipt"


async def test_ptb_commands_and_menu_button_round_trip(ptb_bot: telegram.Bot) -> None:
    commands = [telegram.BotCommand("start", "开始"), telegram.BotCommand("help", "帮助")]

    assert await ptb_bot.set_my_commands(commands)
    assert await ptb_bot.set_chat_menu_button(menu_button=telegram.MenuButtonCommands())

    assert list(await ptb_bot.get_my_commands()) == commands
    assert await ptb_bot.delete_my_commands()
    assert list(await ptb_bot.get_my_commands()) == []


async def test_aiogram_and_ptb_pushes_of_every_kind_parse(
    fake_botapi: FakeBotApi, aiogram_bot: Bot, ptb_bot: telegram.Bot
) -> None:
    fake_botapi.push_sticker(USER)
    fake_botapi.push_voice(USER, b"OggS voice")
    fake_botapi.push_contact(USER, "+8613800000000")
    fake_botapi.push_message(USER, "群里好", chat_type="supergroup", chat_id=-100123)

    ptb_updates = await ptb_bot.get_updates()
    aiogram_updates = await aiogram_bot.get_updates()

    assert [u.update_id for u in ptb_updates] == [u.update_id for u in aiogram_updates]
    sticker, voice, contact, group = (u.message for u in aiogram_updates)
    assert sticker is not None and sticker.sticker is not None
    assert voice is not None and voice.voice is not None
    assert contact is not None and contact.contact is not None
    assert contact.contact.user_id == USER
    assert group is not None and group.chat.type == "supergroup"
    assert ptb_updates[1].message is not None and ptb_updates[1].message.voice is not None


# --- validation like Telegram ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a < b",
        "Tom & Jerry",
        "<br>",
        "<b>unclosed",
        "<b>x</i>",
        "</b>",
        '<span class="x">s</span>',
        "<script>alert(1)</script>",
    ],
)
async def test_unescaped_html_is_refused(aiogram_bot: Bot, text: str) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await aiogram_bot.send_message(USER, text, parse_mode="HTML")


async def test_telegram_html_is_parsed_into_entities() -> None:
    text, entities = parse_html(
        '<b>粗</b> <a href="https://example.org/?a=1&amp;b=2">链</a> '
        '<pre><code class="language-python">x</code></pre> 😀<tg-spoiler>秘</tg-spoiler>'
    )

    assert text == "粗 链 x 😀秘"
    assert [entity["type"] for entity in entities] == ["bold", "text_link", "pre", "spoiler"]
    assert entities[1]["url"] == "https://example.org/?a=1&b=2"
    assert entities[2]["language"] == "python"
    assert entities[3]["offset"] == 8  # the emoji is two UTF-16 units
    with pytest.raises(HtmlError, match='Unsupported start tag "foo" at byte offset 3'):
        parse_html("中<foo>")


async def test_lenient_ampersand_matches_telegram() -> None:
    api = FakeBotApi(strict_ampersand=False)

    assert parse_html("Tom & Jerry", strict_ampersand=api.strict_ampersand)[0] == "Tom & Jerry"


async def test_too_long_empty_and_bad_button_data_are_refused(
    aiogram_bot: Bot, ptb_bot: telegram.Bot
) -> None:
    await aiogram_bot.send_message(USER, "<b>" + "字" * 4096 + "</b>", parse_mode="HTML")

    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await aiogram_bot.send_message(USER, "字" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await aiogram_bot.send_message(USER, "<b> </b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await aiogram_bot.send_message(USER, "x", reply_markup=keyboard(("长", "x" * 65)))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        markup = telegram.InlineKeyboardMarkup(
            [[telegram.InlineKeyboardButton("长", callback_data="字" * 22)]]
        )
        await ptb_bot.send_message(USER, "x", reply_markup=markup)


# --- failures for the reminder pipeline ------------------------------------------------------


async def test_blocked_user_gets_403(
    fake_botapi: FakeBotApi, aiogram_bot: Bot, ptb_bot: telegram.Bot
) -> None:
    fake_botapi.blocked_users.add(USER)

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await aiogram_bot.send_message(USER, "提醒")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await ptb_bot.send_message(USER, "提醒")


async def test_per_chat_flood_limit_answers_429(
    fake_botapi: FakeBotApi, aiogram_bot: Bot, ptb_bot: telegram.Bot
) -> None:
    fake_botapi.rate_limits = True
    fake_botapi.per_chat_burst = 2

    await aiogram_bot.send_message(USER, "1")
    await aiogram_bot.send_message(USER, "2")
    with pytest.raises(TelegramRetryAfter) as aiogram_error:
        await aiogram_bot.send_message(USER, "3")
    with pytest.raises(RetryAfter) as ptb_error:
        await ptb_bot.send_message(USER, "3")
    await aiogram_bot.send_message(USER + 1, "another chat is not limited")

    assert aiogram_error.value.retry_after == 1
    assert ptb_error.value.retry_after.total_seconds() == 1
    assert fake_botapi.rate_limited_count == 2
    assert len(fake_botapi.send_times(USER)) == 2
    assert fake_botapi.calls[-2].status == 429


async def test_global_flood_limit_answers_429(fake_botapi: FakeBotApi, aiogram_bot: Bot) -> None:
    fake_botapi.rate_limits = True
    fake_botapi.global_burst = 3

    for chat in range(3):
        await aiogram_bot.send_message(USER + chat, "x")
    with pytest.raises(TelegramRetryAfter):
        await aiogram_bot.send_message(USER + 9, "x")


async def test_scripted_failures_come_first_and_run_out(
    fake_botapi: FakeBotApi, aiogram_bot: Bot
) -> None:
    fake_botapi.fail_next("sendmessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    fake_botapi.fail_next("sendMessage", 400, "Bad Request: chat not found", count=1)

    with pytest.raises(TelegramRetryAfter) as error:
        await aiogram_bot.send_message(USER, "x")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await aiogram_bot.send_message(USER, "x")
    await aiogram_bot.send_message(USER, "x")

    assert error.value.retry_after == 7


async def test_raw_http_json_form_and_case_insensitive_method(fake_botapi: FakeBotApi) -> None:
    url = f"{fake_botapi.base_url}/bot{fake_botapi.token}"
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{url}/SENDMESSAGE", json={"chat_id": USER, "text": "json", "reply_markup": markup}
        ) as resp:
            assert (await resp.json())["result"]["reply_markup"] == markup
        async with session.get(
            f"{url}/sendMessage", params={"chat_id": str(USER), "text": "query"}
        ) as resp:
            assert resp.status == 200
        async with session.post(f"{url}/noSuchMethod") as resp:
            assert (resp.status, (await resp.json())["description"]) == (404, "Not Found")
        async with session.post(
            f"{url}/sendMessage", data={"chat_id": USER, "text": "x", "reply_markup": "{"}
        ) as resp:
            assert resp.status == 400

    assert [call.params["text"] for call in fake_botapi.calls_to("sendMessage")[:2]] == [
        "json",
        "query",
    ]
    assert json.dumps(fake_botapi.calls_to("sendmessage")[0].params["reply_markup"]) == json.dumps(
        markup
    )


# --- polling end to end ----------------------------------------------------------------------


async def test_aiogram_dispatcher_echoes_through_polling(
    fake_botapi: FakeBotApi, aiogram_bot: Bot
) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        builder = InlineKeyboardBuilder()
        builder.button(text="再来", callback_data="again")
        await message.answer(f"echo: {message.text}", reply_markup=builder.as_markup())

    async with aiogram_polling(fake_botapi, dp, aiogram_bot):
        fake_botapi.push_message(USER, "你好")
        call = await fake_botapi.wait_for("sendMessage")
        fake_botapi.push_message(USER, "第二条")
        await fake_botapi.wait_for(
            lambda c: c.method == "sendMessage" and "第二条" in c.params["text"]
        )

    assert call.params["text"] == "echo: 你好"
    assert [m.text for m in fake_botapi.sent_to(USER)] == ["echo: 你好", "echo: 第二条"]
    assert fake_botapi.buttons(USER) == [("再来", "again")]


async def test_ptb_application_echoes_through_polling(fake_botapi: FakeBotApi) -> None:
    async def echo(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    app = make_ptb_builder(fake_botapi).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))

    async with ptb_polling(app):
        fake_botapi.push_message(USER, "你好")
        call = await fake_botapi.wait_for("sendMessage")

    assert call.params["text"] == "echo: 你好"
    assert fake_botapi.last_text(USER) == "echo: 你好"


async def test_stopping_the_server_ends_a_long_poll_in_flight() -> None:
    async with FakeBotApi() as api:
        bot = make_ptb_bot(api)
        async with bot:
            poll = asyncio.create_task(bot.get_updates(timeout=30))
            await asyncio.sleep(0.2)
            started = time.monotonic()
            await api.stop()
            assert await poll == ()
            assert time.monotonic() - started < 2


async def test_a_newer_get_updates_ends_the_older_with_409(
    fake_botapi: FakeBotApi, aiogram_bot: Bot
) -> None:
    other = make_aiogram_bot(fake_botapi)
    try:
        first = asyncio.create_task(aiogram_bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        second = asyncio.create_task(other.get_updates(timeout=5))
        with pytest.raises(Exception, match="terminated by other getUpdates"):
            await first
        fake_botapi.push_message(USER, "x")
        assert len(await second) == 1
    finally:
        await other.session.close()


async def test_builder_is_a_plain_ptb_builder(fake_botapi: FakeBotApi) -> None:
    assert isinstance(make_ptb_builder(fake_botapi), ApplicationBuilder)


async def test_webhook_blocks_polling_until_deleted(
    fake_botapi: FakeBotApi, ptb_bot: telegram.Bot
) -> None:
    fake_botapi.push_message(USER, "old")
    assert await ptb_bot.set_webhook("https://example.invalid/hook")

    with pytest.raises(telegram.error.Conflict, match="webhook is active"):
        await ptb_bot.get_updates()
    assert await ptb_bot.delete_webhook(drop_pending_updates=True)

    assert await ptb_bot.get_updates() == ()


async def test_callbacks_must_match_a_button_unless_forged(
    fake_botapi: FakeBotApi, aiogram_bot: Bot
) -> None:
    sent = await aiogram_bot.send_message(USER, "选择", reply_markup=keyboard(("是", "yes")))

    with pytest.raises(ValueError, match="no button"):
        fake_botapi.push_callback(USER, "admin", sent.message_id)
    fake_botapi.push_callback(USER, "admin", sent.message_id, strict=False)

    [update] = await aiogram_bot.get_updates()
    assert update.callback_query is not None and update.callback_query.data == "admin"


async def test_aiogram_default_parse_mode_reaches_the_wire(fake_botapi: FakeBotApi) -> None:
    bot = make_aiogram_bot(fake_botapi, default=DefaultBotProperties(parse_mode="HTML"))
    try:
        with pytest.raises(TelegramBadRequest, match="can't parse entities"):
            await bot.send_message(USER, "1 < 2")
        await bot.send_message(USER, "1 &lt; 2")
    finally:
        await bot.session.close()

    assert fake_botapi.calls_to("sendMessage")[-1].params["parse_mode"] == "HTML"
    assert fake_botapi.last_text(USER) == "1 < 2"


async def test_name_lookups_beyond_loopback_are_refused() -> None:
    with pytest.raises(OSError, match="only 127.0.0.1 is allowed"):
        socket.getaddrinfo("telegram.invalid", 443)
