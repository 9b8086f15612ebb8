"""The held agreement (/agreement) and a termination request (/breach) with its tracking."""

from __future__ import annotations

import logging

from bot.flows.base import Ctx, Deps, Rows, join, parse_ints, row, say
from bot.flows.definition import FlowDefinition
from bot.flows.format import agreement_card, esc, money, when
from bot.flows.registration import code_failure
from bot.flows.session import BreachState
from bot.flows.types import Answer, Button, EventKind
from bot.texts import flows as t
from core.domain.errors import CodeRateLimited, DeliveryFailed
from core.domain.otp import looks_like_code
from core.domain.states import AgreementState
from core.views import AgreementView

log = logging.getLogger(__name__)

NAME = "breach"
FLOW = FlowDefinition(NAME, start="reason", moves={"reason": ("code",), "code": ("reason",)})
CONSEQUENCE_TOPICS = ("breach.consequences", "breach.penalty")
TRACKED = (
    AgreementState.TERMINATION_REQUESTED,
    AgreementState.TERMINATION_AGREED,
    AgreementState.TERMINATED,
)
MAX_REASON_CHARS = 1000


class AgreementFlow:
    def __init__(self, deps: Deps) -> None:
        self._service = deps.service
        self._faq = deps.faq

    async def _held(self, ctx: Ctx) -> AgreementView | None:
        status = await self._service.status(ctx.actor)
        if status.held is None:
            return None
        return await self._service.agreement(ctx.actor, status.held.id)

    async def show(self, ctx: Ctx) -> Answer:
        view = await self._held(ctx)
        if view is None:
            return say(t.AGREEMENT_NONE, (row(Button(t.MENU_INVITATIONS, "inv:p:0")),))
        lines = [
            t.AGREEMENT_TITLE.format(employer=esc(view.employer_name)),
            agreement_card(view, self._service.now(), with_deadline=False),
            "",
            t.AGREEMENT_DIGEST.format(version=view.version, digest=view.digest),
        ]
        if view.signed_at:
            lines.append(t.AGREEMENT_SIGNED_AT.format(when=when(view.signed_at)))
        if view.state is AgreementState.GRADUATE_SIGNED and view.seal_by:
            lines.append(t.AGREEMENT_SEAL_BY.format(when=when(view.seal_by)))
        if view.sealed_at:
            lines.append(t.AGREEMENT_SEALED_AT.format(when=when(view.sealed_at)))
        if view.filed_at:
            lines.append(t.AGREEMENT_FILED_AT.format(when=when(view.filed_at)))
        if view.history:
            lines += ["", t.AGREEMENT_HISTORY]
            lines += [
                t.HISTORY_LINE.format(when=when(e.at), action=t.ACTIONS.get(e.action, e.action))
                for e in view.history
            ]
        buttons: Rows = ()
        if view.state in (AgreementState.EFFECTIVE, AgreementState.FILED):
            buttons = (row(Button(t.BUTTON_BREACH, "brk:start")),)
        return say("\n".join(lines), buttons)

    # ------------------------------------------------------------------ termination

    async def breach(self, ctx: Ctx) -> Answer:
        view = await self._held(ctx)
        if view is None:
            return say(t.BREACH_NONE)
        if view.state in TRACKED:
            return self._tracking(view)
        if view.state is AgreementState.GRADUATE_SIGNED:
            return say(t.BREACH_NOT_EFFECTIVE)
        parts = [t.BREACH_INTRO]
        for topic_id in CONSEQUENCE_TOPICS:
            try:
                topic = self._faq.engine.topic(topic_id)
            except KeyError:
                continue
            parts.append(f"<b>{esc(topic.title)}</b>\n{esc(_inside_breach(topic.answer))}")
        parts.append(t.BREACH_PENALTY_LINE.format(penalty=money(view.terms.penalty_yuan)))
        seq = ctx.session.next_seq()
        buttons = (
            row(
                Button(t.BREACH_CONTINUE, f"brk:go:{view.id}:{seq}"),
                Button(t.BREACH_STOP, "brk:x"),
            ),
        )
        return say("\n\n".join(parts), buttons)

    async def on_callback(self, ctx: Ctx, parts: list[str]) -> Answer:
        action = parts[0] if parts else ""
        if action == "start":
            return await self.breach(ctx)
        if action == "x":
            ctx.session.leave()
            return say(t.BREACH_STOPPED, edit=True)
        if action == "go":
            numbers = parse_ints(parts[1:3])
            if numbers is None or len(numbers) != 2:
                return say(t.STALE_BUTTON, toast=t.STALE_BUTTON)
            agreement_id, seq = numbers
            if seq in ctx.session.used or seq != ctx.session.seq:
                return say(t.USED_BUTTON, toast=t.USED_BUTTON)
            view = await self._service.agreement(ctx.actor, agreement_id)
            if view.state not in (AgreementState.EFFECTIVE, AgreementState.FILED):
                return say(t.STATE_NOW.format(state=view.state.label), toast=t.USED_BUTTON)
            ctx.session.use(seq)
            ctx.session.leave()
            FLOW.check_move("", "reason")
            ctx.session.enter(NAME, "reason")
            ctx.session.breach = BreachState(agreement_id=view.id)
            return say(t.BREACH_ASK_REASON, self._cancel_button())
        if action == "re" and ctx.session.flow == NAME and ctx.session.step == "code":
            return await self._send_code(ctx)
        return say(t.USED_BUTTON, toast=t.USED_BUTTON)

    async def on_input(self, ctx: Ctx) -> Answer:
        if ctx.event.kind is not EventKind.TEXT:
            what = "解约原因" if ctx.session.step == "reason" else "6 位验证码"
            return say(t.NOT_TEXT_IN_STEP.format(what=what))
        text = ctx.event.text.strip()
        if ctx.session.step == "reason":
            if not text:
                return say(t.BREACH_REASON_EMPTY, self._cancel_button())
            if len(text) > MAX_REASON_CHARS:
                limit = t.TOO_LONG.format(length=len(text), limit=MAX_REASON_CHARS)
                return say(limit, self._cancel_button())
            ctx.session.breach.reason = text
            echo = t.BREACH_REASON_ECHO.format(reason=esc(_short(text)))
            return await self._send_code(ctx, echo=echo)
        code = looks_like_code(text)
        if code is None:
            return say(t.SIGN_CODE_ASK, self._code_buttons())
        state = ctx.session.breach
        result = await self._service.request_termination(
            ctx.actor, state.agreement_id, state.reason, code
        )
        if not result.ok:
            text = code_failure(result.outcome, result.attempts_left, result.retry_after_s)
            return say(text, self._code_buttons())
        ctx.session.leave()
        view = await self._service.agreement(ctx.actor, state.agreement_id)
        log.info("agreement %s termination requested by its graduate", view.id)
        return join(say(t.BREACH_SUBMITTED), self._tracking(view))

    async def _send_code(self, ctx: Ctx, *, echo: str = "") -> Answer:
        FLOW.check_move(ctx.session.step, "code")
        ctx.session.step = "code"
        lead = f"{echo}\n" if echo else ""
        try:
            sent = await self._service.request_termination_code(
                ctx.actor, ctx.session.breach.agreement_id
            )
        except CodeRateLimited as error:
            # One code a minute per graduate, whatever it is for: the reason waits here.
            wait = max(1, error.retry_after_s)
            text = lead + t.BREACH_CODE_WAIT.format(seconds=wait)
            return say(text, self._code_buttons(wait))
        except DeliveryFailed as error:
            return say(lead + esc(error.message), self._code_buttons())
        text = lead + t.BREACH_CODE_SENT.format(phone=esc(sent.phone_masked))
        return say(text, self._code_buttons())

    def _tracking(self, view: AgreementView) -> Answer:
        title = t.TRACKING_TITLE.format(employer=esc(view.employer_name))
        if view.state is AgreementState.TERMINATION_REQUESTED:
            by = t.BY_GRADUATE if view.termination_by == "graduate" else t.BY_EMPLOYER
            respond_by = when(view.termination_respond_by) if view.termination_respond_by else "—"
            body = t.TRACKING_REQUESTED.format(by=by, respond_by=respond_by)
        elif view.state is AgreementState.TERMINATION_AGREED:
            penalty = money(view.termination_penalty or 0)
            body = t.TRACKING_AGREED.format(penalty=penalty)
        else:
            body = t.TRACKING_DONE
        return say(f"{title}\n{body}")

    @staticmethod
    def _cancel_button() -> Rows:
        return (row(Button(t.BUTTON_CANCEL, "brk:x")),)

    @staticmethod
    def _code_buttons(wait_s: int = 0) -> Rows:
        resend = t.BUTTON_RESEND_AFTER.format(seconds=wait_s) if wait_s else t.BUTTON_RESEND
        return (row(Button(resend, "brk:re"), Button(t.BUTTON_CANCEL, "brk:x")),)


def _short(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _inside_breach(answer: str) -> str:
    """A FAQ answer shown inside /breach, without its paragraphs pointing to /breach."""
    return "\n\n".join(p for p in answer.split("\n\n") if "/breach" not in p)
