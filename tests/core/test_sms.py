"""Code delivery: the webhook backend against a real HTTP server, and the console backend."""

import io
import logging
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from core.bootstrap import open_core
from core.domain.actors import Actor
from core.domain.errors import DeliveryFailed
from core.domain.otp import CodeOutcome
from core.sms import ConsoleSms, WebhookSms


class Gateway:
    """A real HTTP server on 127.0.0.1 that records what it is sent."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self.status = 200

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        return web.json_response({"ok": self.status == 200}, status=self.status)


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[Gateway, str]]:
    gw = Gateway()
    app = web.Application()
    app.router.add_post("/sms", gw.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield gw, f"http://127.0.0.1:{port}/sms"
    await runner.cleanup()


async def test_the_webhook_posts_phone_and_text_as_json(gateway):
    gw, url = gateway
    assert await WebhookSms(url, retries=2).send("13800138000", "验证码 123456")
    assert gw.received == [{"phone": "13800138000", "text": "验证码 123456"}]


async def test_the_webhook_retries_a_failing_gateway_then_gives_up(gateway):
    gw, url = gateway
    gw.status = 500
    assert not await WebhookSms(url, retries=3).send("13800138000", "验证码 123456")
    assert len(gw.received) == 3


async def test_an_unreachable_gateway_is_a_failed_delivery():
    with socket.socket() as probe:  # a port that was free a moment ago, now closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = WebhookSms(f"http://127.0.0.1:{port}/sms", retries=2, timeout_s=1)
    assert not await sender.send("13800138000", "x")


async def test_a_code_that_could_not_be_sent_is_reported_and_left_unusable(
    gateway, settings, clock
):
    gw, url = gateway
    gw.status = 500
    hooked = settings.model_copy(update={"sms_webhook_url": url, "sms_webhook_retries": 2})
    async with open_core(hooked, clock=clock, migrate_schema=False) as core:
        g = await core.service.begin_registration(1, 1, consent=True)
        me = Actor.graduate(g.id)
        await core.service.save_field(me, "phone", "13800138000")
        with pytest.raises(DeliveryFailed) as caught:
            await core.service.request_phone_code(me)
        assert caught.value.code == "otp.delivery_failed"
        assert "发送失败" in caught.value.message
        assert len(gw.received) == 2
        code = gw.received[0]["text"].split("验证码 ")[1][:6]
        result = await core.service.verify_phone(me, code)
        assert result.outcome is CodeOutcome.NO_CODE
        assert not (await core.service.graduate(me)).phone_verified

        # The failed send costs no resend quota: once the gateway is back, a code goes out.
        gw.status = 200
        await core.service.request_phone_code(me)
        code = gw.received[-1]["text"].split("验证码 ")[1][:6]
        assert (await core.service.verify_phone(me, code)).outcome is CodeOutcome.OK


async def test_the_console_backend_masks_the_phone():
    stream = io.StringIO()
    assert await ConsoleSms(stream).send("13800138000", "验证码 123456")
    line = stream.getvalue()
    assert "138****8000" in line and "13800138000" not in line
    assert "验证码 123456" in line


class LeakyGateway:
    """A backend whose failure message quotes what it was given."""

    async def send(self, phone: str, text: str) -> bool:
        raise RuntimeError(f"gateway refused {phone}: {text}")


async def test_a_raising_backend_is_a_failed_delivery_and_leaks_nothing_to_the_log(
    settings, clock, caplog
):
    caplog.set_level(logging.DEBUG)
    async with open_core(settings, clock=clock, sms=LeakyGateway(), migrate_schema=False) as core:
        g = await core.service.begin_registration(1, 1, consent=True)
        me = Actor.graduate(g.id)
        await core.service.save_field(me, "phone", "13800138000")
        with pytest.raises(DeliveryFailed):
            await core.service.request_phone_code(me)
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "RuntimeError" in logged
    assert "13800138000" not in logged and "验证码" not in logged
