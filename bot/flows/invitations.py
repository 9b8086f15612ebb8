"""Invitations: the list, the detail card, asking for changes, declining and signing.

Action buttons carry ``inv:<action>:<agreement id>:<version>:<nonce>``. None of it is
trusted: the service checks ownership (NotFound for someone else's agreement), a version
that is not the current one shows the new terms, and a nonce that is not the latest card's
means the button was used already.
"""

from __future__ import annotations

import logging

from bot.flows.base import Ctx, Deps, Rows, join, parse_ints, row, say
from bot.flows.definition import FlowDefinition
from bot.flows.format import agreement_card, deadline, esc, money, when
from bot.flows.registration import code_failure
from bot.flows.session import InvitationState
from bot.flows.types import Answer, Button, EventKind
from bot.texts import flows as t
from core.domain.errors import CodeRateLimited, DeliveryFailed, DomainError
from core.domain.otp import CodeOutcome, looks_like_code
from core.domain.states import OPEN_STATES, AgreementState
from core.views import AgreementView

log = logging.getLogger(__name__)

PAGE_SIZE = 5
SIGNING = FlowDefinition("signing", start="code", moves={"code": ()})
CHANGE = FlowDefinition("change", start="text", moves={"text": ()})
ACTIONS = ("acc", "chg", "dec", "dey", "sign")


class InvitationsFlow:
    def __init__(self, deps: Deps) -> None:
        self._service = deps.service

    # ------------------------------------------------------------------ list and card

    async def list(self, ctx: Ctx, offset: int = 0, *, edit: bool = False) -> Answer:
        page = await self._service.list_agreements(ctx.actor, offset=offset, limit=PAGE_SIZE)
        if page.total == 0:
            return say(t.INVITATIONS_EMPTY, edit=edit)
        if not page.items and offset > 0:
            return await self.list(ctx, 0, edit=edit)
        now = self._service.now()
        lines = [
            t.INVITATIONS_TITLE.format(
                total=page.total, first=offset + 1, last=offset + len(page.items)
            )
        ]
        buttons: list[tuple[Button, ...]] = []
        for n, item in enumerate(page.items, start=offset + 1):
            left = ""
            if item.state in OPEN_STATES:
                left = " · " + deadline(item.respond_by, now)
            lines.append(
                t.INVITATION_LINE.format(
                    n=n,
                    employer=esc(item.employer_name),
                    position=esc(item.position),
                    city=esc(item.city),
                    salary=money(item.salary_yuan),
                    state=item.state.label,
                    deadline=left,
                )
            )
            buttons.append(row(Button(f"{n}. {item.employer_name[:20]}", f"inv:v:{item.id}")))
        nav: list[Button] = []
        if offset > 0:
            nav.append(Button(t.PAGE_PREV, f"inv:p:{max(0, offset - PAGE_SIZE)}"))
        if offset + len(page.items) < page.total:
            nav.append(Button(t.PAGE_NEXT, f"inv:p:{offset + PAGE_SIZE}"))
        if nav:
            buttons.append(tuple(nav))
        return say("\n\n".join(lines), tuple(buttons), edit=edit)

    async def open_token(self, ctx: Ctx, token: str) -> Answer:
        """The deep link /start inv_<token>."""
        view = await self._service.agreement_by_token(ctx.actor, token)
        return await self.card(ctx, view.id)

    async def card(self, ctx: Ctx, agreement_id: int, *, edit: bool = False) -> Answer:
        view = await self._service.agreement(ctx.actor, agreement_id)
        return self._card(ctx, view, edit=edit)

    def _card(self, ctx: Ctx, view: AgreementView, *, edit: bool = False) -> Answer:
        text = agreement_card(view, self._service.now())
        buttons: list[tuple[Button, ...]] = []
        if view.state in OPEN_STATES:
            seq = ctx.session.next_seq()
            tail = f"{view.id}:{view.version}:{seq}"
            if view.state is AgreementState.INVITED:
                buttons.append(row(Button(t.BUTTON_ACCEPT, f"inv:acc:{tail}")))
                buttons.append(
                    row(
                        Button(t.BUTTON_CHANGE, f"inv:chg:{tail}"),
                        Button(t.BUTTON_DECLINE, f"inv:dec:{tail}"),
                    )
                )
            else:
                buttons.append(row(Button(t.BUTTON_DECLINE, f"inv:dec:{tail}")))
        buttons.append(row(Button(t.BACK_TO_LIST, "inv:p:0")))
        return say(text, tuple(buttons), edit=edit)

    # ------------------------------------------------------------------ buttons

    async def on_callback(self, ctx: Ctx, parts: list[str]) -> Answer:
        action = parts[0] if parts else ""
        if action == "p":
            numbers = parse_ints(parts[1:2])
            return await self.list(ctx, numbers[0] if numbers else 0, edit=True)
        if action in ("v", "open"):  # "open" comes from push buttons (bot/texts/notify.py)
            numbers = parse_ints(parts[1:2])
            if not numbers:
                return say(t.STALE_BUTTON, toast=t.STALE_BUTTON)
            return await self.card(ctx, numbers[0], edit=action == "v")
        if action == "x":
            return self.cancel(ctx)
        numbers = parse_ints(parts[1:4])
        if action not in ACTIONS or numbers is None or len(numbers) != 3:
            return say(t.STALE_BUTTON, toast=t.STALE_BUTTON)
        agreement_id, version, seq = numbers
        if seq in ctx.session.used:
            return say(t.USED_BUTTON, toast=t.USED_BUTTON)
        view = await self._service.agreement(ctx.actor, agreement_id)
        if view.version != version:
            note = say(t.TERMS_CHANGED.format(version=view.version), toast=t.TERMS_CHANGED[:6])
            return join(note, self._card(ctx, view))
        if seq != ctx.session.seq:
            return join(say(t.STALE_BUTTON, toast=t.STALE_BUTTON), self._card(ctx, view))
        allowed = (AgreementState.INVITED,) if action in ("acc", "sign", "chg") else OPEN_STATES
        if view.state not in allowed:
            return say(t.STATE_NOW.format(state=view.state.label), toast=t.USED_BUTTON)
        ctx.session.use(seq)
        if action == "acc":
            return self._confirm_signing(ctx, view)
        if action == "sign":
            return await self._send_code(ctx, view)
        if action == "chg":
            ctx.session.leave()
            CHANGE.check_move("", "text")
            ctx.session.enter("change", "text")
            ctx.session.invitation = InvitationState(view.id, view.version, view.digest)
            employer = esc(view.employer_name)
            cancel = (row(Button(t.BUTTON_CANCEL, "inv:x")),)
            return say(t.CHANGE_ASK.format(employer=employer), cancel, edit=True)
        if action == "dec":
            tail = f"{view.id}:{view.version}:{ctx.session.next_seq()}"
            buttons = (
                row(
                    Button(t.DECLINE_YES, f"inv:dey:{tail}"),
                    Button(t.DECLINE_NO, f"inv:v:{view.id}"),
                ),
            )
            text = t.DECLINE_CONFIRM.format(employer=esc(view.employer_name))
            return say(text, buttons, edit=True)
        declined = await self._service.decline(ctx.actor, view.id)
        log.info("agreement %s declined", declined.id)
        return say(t.DECLINED.format(employer=esc(declined.employer_name)), edit=True)

    async def on_signing_callback(self, ctx: Ctx, parts: list[str]) -> Answer:
        action = parts[0] if parts else ""
        if ctx.session.flow != "signing":
            return say(t.USED_BUTTON, toast=t.USED_BUTTON)
        if action == "re":
            state = ctx.session.invitation
            view = await self._service.agreement(ctx.actor, state.agreement_id)
            if view.digest != state.digest:
                return await self._superseded(ctx, view)
            return await self._send_code(ctx, view)
        if action == "x":
            ctx.session.leave()
            return say(t.SIGN_CANCELLED)
        return say(t.STALE_BUTTON, toast=t.STALE_BUTTON)

    def cancel(self, ctx: Ctx) -> Answer:
        was_signing = ctx.session.flow == "signing"
        ctx.session.leave()
        return say(t.SIGN_CANCELLED if was_signing else t.CANCELLED)

    # ------------------------------------------------------------------ typed input

    async def on_input(self, ctx: Ctx) -> Answer:
        if ctx.event.kind is not EventKind.TEXT:
            what = "6 位验证码" if ctx.session.flow == "signing" else "修改意见"
            return say(t.NOT_TEXT_IN_STEP.format(what=what))
        if ctx.session.flow == "change":
            return await self._request_changes(ctx)
        return await self._confirm_code(ctx)

    async def _request_changes(self, ctx: Ctx) -> Answer:
        state = ctx.session.invitation
        view = await self._service.request_changes(ctx.actor, state.agreement_id, ctx.event.text)
        ctx.session.leave()
        log.info("agreement %s changes requested", view.id)
        return say(t.CHANGE_SENT.format(employer=esc(view.employer_name)))

    async def _confirm_code(self, ctx: Ctx) -> Answer:
        code = looks_like_code(ctx.event.text)
        if code is None:
            return say(t.SIGN_CODE_ASK, self._code_buttons())
        state = ctx.session.invitation
        try:
            result = await self._service.confirm_signature(
                ctx.actor, state.agreement_id, code, state.digest
            )
        except DomainError:
            ctx.session.leave()
            raise
        if result.outcome is CodeOutcome.SUPERSEDED:
            view = await self._service.agreement(ctx.actor, state.agreement_id)
            return await self._superseded(ctx, view)
        if not result.ok:
            text = code_failure(result.outcome, result.attempts_left, result.retry_after_s)
            return say(text, self._code_buttons())
        ctx.session.leave()
        view = await self._service.agreement(ctx.actor, state.agreement_id)
        log.info("agreement %s signed through the bot", view.id)
        seal_by = when(view.seal_by) if view.seal_by else "—"
        return say(
            t.SIGNED.format(
                version=view.version, employer=esc(view.employer_name), seal_by=seal_by
            )
        )

    # ------------------------------------------------------------------ signing

    def _confirm_signing(self, ctx: Ctx, view: AgreementView) -> Answer:
        card = agreement_card(view, self._service.now())
        tail = f"{view.id}:{view.version}:{ctx.session.next_seq()}"
        buttons = (
            row(Button(t.SIGN_CONFIRM_BUTTON, f"inv:sign:{tail}")),
            row(Button(t.DECLINE_NO, f"inv:v:{view.id}")),
        )
        return say(t.SIGN_CONFIRM.format(card=card), buttons, edit=True)

    async def _send_code(self, ctx: Ctx, view: AgreementView) -> Answer:
        try:
            sent = await self._service.request_signing_code(ctx.actor, view.id, view.digest)
        except (CodeRateLimited, DeliveryFailed) as error:
            if ctx.session.flow != "signing":
                raise
            return say(esc(error.message), self._code_buttons())
        if ctx.session.flow != "signing":
            ctx.session.leave()
            SIGNING.check_move("", "code")
            ctx.session.enter("signing", "code")
        ctx.session.invitation = InvitationState(view.id, view.version, view.digest)
        text = t.SIGN_CODE_SENT.format(phone=esc(sent.phone_masked))
        return say(text, self._code_buttons())

    async def _superseded(self, ctx: Ctx, view: AgreementView) -> Answer:
        ctx.session.leave()
        return join(say(t.CODE_SUPERSEDED), self._card(ctx, view))

    @staticmethod
    def _code_buttons() -> Rows:
        return (row(Button(t.BUTTON_RESEND, "sig:re"), Button(t.BUTTON_CANCEL, "sig:x")),)
