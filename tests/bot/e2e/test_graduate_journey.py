"""The graduate's journey of issue 3, end to end, on aiogram and on python-telegram-bot.

Real polling against the fake Bot API, the real flows and core on a real database, one-time
codes caught from the SMS webhook the core really calls, and pushes sent by the reminder
worker's one-shot pass. The university and the employer act through the core service.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest

from bot.texts import flows as t
from core.domain.actors import Actor
from core.domain.states import AgreementState, RegistrationStatus
from core.domain.validators import id_check_char
from tests.bot.e2e.harness import Chat, Settled, polling
from tests.bot.e2e.world import (
    EMPLOYER,
    JPEG,
    PDF,
    PDF2,
    UNIVERSITY,
    World,
    terms,
    visible,
)

GRADUATE = 7001
ID_NUMBER = "31010120040506001" + id_check_char("31010120040506001")


async def register_through_the_bot(world: World, chat: Chat, phone: str) -> None:
    """Consent, every field, the phone code, documents as photo and PDF, summary, submit."""
    await chat.send("/register")
    assert "个人信息处理说明" in chat.text
    await chat.press("reg:agree")
    assert "第 1/12 步" in chat.text

    # A sticker where the name is expected gets a hint and the same question again.
    await chat.sticker()
    assert visible(t.NOT_TEXT_IN_STEP.format(what="姓名")) in chat.texts()[-2]
    assert "第 1/12 步" in chat.text

    await chat.send("李四")
    await chat.send(ID_NUMBER)
    await chat.send(phone)
    assert "验证码已发送到" in chat.text
    await chat.send(world.sms.last_code(phone))
    assert visible(t.PHONE_VERIFIED) in chat.texts()[-2]
    university = next(data for text, data in world.api.buttons(chat.user_id) if text == UNIVERSITY)
    await chat.press(university)
    await chat.send("2026123456")
    await chat.send("计算机学院")
    await chat.send("软件工程")
    await chat.press("reg:e:1")
    await chat.send("2026")
    await chat.send("互联网、金融")
    await chat.send("上海、杭州")
    await chat.send("15000")

    await chat.photo(JPEG)
    assert "已收到身份证" in chat.texts()[-2]
    await chat.upload(PDF, "学生证.pdf")
    assert "已收到学生证：学生证.pdf" in chat.texts()[-2]
    await chat.upload(PDF2, "成绩单.pdf")
    await chat.press("reg:dd")
    assert "李四" in chat.text and "139****" in chat.text
    await chat.press("reg:sub")
    assert chat.text == visible(t.SUBMITTED)


async def test_a_graduate_registers_negotiates_signs_and_sees_the_seal(
    world: World,
    settled: Settled,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    api, service, clock = world.api, world.core.service, world.clock
    chat = Chat(api, settled, GRADUATE)
    phone = "13912345678"
    async with polling(world.framework, world.settings, world.conversation, api):
        await chat.send("/start")
        assert "网签助手" in chat.text

        await register_through_the_bot(world, chat, phone)
        graduate = await service.graduate_for_telegram(GRADUATE)
        assert graduate is not None and graduate.status is RegistrationStatus.SUBMITTED
        assert len(graduate.documents) == 3

        university = Actor.university(world.university_id)
        await service.approve_registration(university, graduate.id)
        employer = Actor.employer(world.employer_id)
        invited = await service.invite(
            employer, graduate.id, terms(), clock.now + timedelta(days=5)
        )
        await world.push_pass()
        assert "向你发来签约邀请" in chat.text

        # The card shows the employer's markup as text, escaped, in the message itself.
        await chat.send("/invitations")
        await chat.press(f"inv:v:{invited.id}")
        assert '<script>alert("x")</script>' in chat.text
        assert "a<b 赔偿" in chat.text
        assert EMPLOYER in chat.text

        await chat.press("inv:chg:")
        await chat.send("希望违约金降到 5000 元")
        assert chat.text == t.CHANGE_SENT.format(employer=EMPLOYER)
        view = await service.agreement(employer, invited.id)
        assert view.state is AgreementState.CHANGES_REQUESTED

        clock.advance(hours=2)
        await service.revise(employer, invited.id, terms(penalty_yuan=5000))
        await world.push_pass()
        assert "修改了签约条款（第 2 版）" in chat.text

        await chat.press(f"inv:open:{invited.id}")  # the push's own button
        assert "5,000" in chat.text or "5000" in chat.text
        await chat.press("inv:acc:")
        await chat.press("inv:sign:")
        assert "验证码已发送到 139****5678" in chat.text
        code = world.sms.last_code(phone)
        wrong = "000000" if code != "000000" else "111111"
        await chat.send(wrong)
        assert "验证码不对" in chat.text
        await chat.send(code)
        assert "签约成功（第 2 版）" in chat.text

        clock.advance(hours=3)
        await service.seal(employer, invited.id)
        await world.push_pass()
        assert "已盖章，就业协议书生效" in chat.text
        await chat.press("agr:open")
        assert "后端开发工程师" in chat.text

    # Nothing personal or secret reached the logs, even at DEBUG.
    logged = caplog.text
    found = (re.search(r"\d{6}", sms["text"]) for sms in world.sms.received)
    codes = [match.group() for match in found if match]
    assert len(codes) >= 2 and "update " in logged
    for secret in ("13912345678", "李四", ID_NUMBER, api.token, "希望违约金降到", *codes):
        assert secret not in logged, secret
    every_call = [call for call in api.calls if call.method != "getUpdates"]
    assert [
        call for call in every_call if call.status == 400 and call.method != "editMessageText"
    ] == []
