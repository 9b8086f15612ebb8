"""The conversation: routes each event to a flow and keeps the user's state between events."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.faq import FaqService
from bot.flows.agreement import AgreementFlow
from bot.flows.base import Ctx, Deps, Rows, row, say
from bot.flows.faq import FaqFlow
from bot.flows.format import deadline, esc
from bot.flows.invitations import InvitationsFlow
from bot.flows.registration import PAUSED, RegistrationFlow
from bot.flows.session import Session
from bot.flows.settings import SettingsFlow
from bot.flows.types import Answer, Button, Event, EventKind, StateStore
from bot.texts import flows as t
from core.domain.actors import Actor
from core.domain.errors import DomainError
from core.domain.otp import looks_like_code
from core.domain.states import RegistrationStatus
from core.service import AgreementService

log = logging.getLogger(__name__)

# Telegram caps a message at 4096 characters; anything longer was pasted, not typed.
MAX_INPUT_CHARS = 2000
FLOW_STEPS_WITH_INPUT = ("registration", "signing", "change", "breach")
DEEP_LINK_PREFIX = "inv_"


def state_key(user_id: int) -> str:
    """Where one Telegram (or console) user's conversation state is stored."""
    return f"tg:{user_id}"


class FlowConversation:
    """Implements ``bot.flows.types.Conversation`` on the agreement service and a StateStore."""

    def __init__(
        self,
        service: AgreementService,
        faq: FaqService,
        store: StateStore,
        *,
        channel: str = "telegram",
    ) -> None:
        deps = Deps(service, faq, channel)
        self._service = service
        self._store = store
        self._channel = channel
        self.registration = RegistrationFlow(deps)
        self.invitations = InvitationsFlow(deps)
        self.agreement = AgreementFlow(deps)
        self.settings = SettingsFlow(deps)
        self.faq = FaqFlow(deps)
        # Weak values: a user's lock lives only while one of their events holds it.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def handle(self, event: Event) -> Answer:
        started = time.monotonic()
        if event.kind is EventKind.COMMAND and not event.addressed:
            log.info("update %s: a command for another bot, ignored", event.update_id)
            return Answer()
        if not event.private:
            return self._in_group(event)
        key = state_key(event.user_id)
        async with self._lock(key):
            stored = await self._store.load(key)
            session = Session.from_dict(stored)
            graduate = await self._service.graduate_for_telegram(event.user_id)
            if graduate is not None and graduate.unreachable:
                await self._service.mark_reachable(Actor.graduate(graduate.id, self._channel))
            ctx = Ctx(event, session, graduate, self._channel)
            try:
                answer = await self._dispatch(ctx)
            except DomainError as error:
                answer = self._refusal(ctx, error)
            except Exception:
                log.exception("update %s failed in flow %s", event.update_id, session.flow)
                answer = say(t.INTERNAL_ERROR)
            data = session.to_dict()
            if data != stored:
                if data == Session().to_dict():
                    await self._store.clear(key)
                else:
                    await self._store.save(key, data)
        log.info(
            "update %s graduate %s flow %s step %s handled in %.1f ms",
            event.update_id,
            ctx.graduate.id if ctx.graduate else "-",
            session.flow or "-",
            session.step or "-",
            (time.monotonic() - started) * 1000,
        )
        return answer

    def _in_group(self, event: Event) -> Answer:
        # A group may let the bot see every message: only a command to us gets the pointer,
        # and a button press its toast so that the button stops spinning. Nothing else.
        if event.kind is EventKind.COMMAND:
            log.info("update %s: a command in a group, answered with a pointer", event.update_id)
            return say(t.GROUP_POINTER)
        if event.kind is EventKind.CALLBACK:
            log.info("update %s: a button in a group, answered with a toast", event.update_id)
            return Answer(toast=t.GROUP_POINTER)
        log.debug("update %s: a group message, not answered", event.update_id)
        return Answer()

    @asynccontextmanager
    async def _lock(self, key: str) -> AsyncIterator[None]:
        # Serialises one user's events in this process, so a double tap is seen as one.
        # Across processes (several pollers) only the service's row locks protect state.
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            yield

    def _refusal(self, ctx: Ctx, error: DomainError) -> Answer:
        log.info("update %s refused: %s", ctx.event.update_id, error.code)
        text = esc(error.message)
        if ctx.session.idle:
            text += "\n" + t.NEXT_STEP_MENU
        answer = say(text)
        if ctx.event.kind is EventKind.CALLBACK:
            return Answer(answer.replies, toast=error.message[:180])
        return answer

    # ------------------------------------------------------------------ dispatch

    async def _dispatch(self, ctx: Ctx) -> Answer:
        event = ctx.event
        if event.kind is EventKind.COMMAND:
            return await self._command(ctx, event.command, event.args.strip())
        if event.kind is EventKind.CALLBACK:
            return await self._callback(ctx, event.callback_data)
        if event.kind is EventKind.TEXT and not event.text.strip():
            return say(t.EMPTY_MESSAGE)
        if event.kind is EventKind.TEXT and len(event.text) > MAX_INPUT_CHARS:
            return say(t.TOO_LONG.format(length=len(event.text), limit=MAX_INPUT_CHARS))
        if ctx.session.flow in FLOW_STEPS_WITH_INPUT and ctx.graduate is not None:
            return await self._flow(ctx).on_input(ctx)
        if ctx.session.flow == "registration" and ctx.session.step == "consent":
            return await self.registration.start(ctx)
        if event.kind is EventKind.UNSUPPORTED:
            return say(t.NOT_TEXT_HINT)
        if event.kind in (EventKind.DOCUMENT, EventKind.PHOTO):
            return say(t.UPLOAD_NOT_EXPECTED)
        if event.kind is EventKind.CONTACT:
            return say(t.CONTACT_NOT_USED)
        if looks_like_code(event.text):
            return say(t.NO_CODE_PENDING)
        return await self.faq.ask(ctx, event.text)

    def _flow(self, ctx: Ctx) -> RegistrationFlow | InvitationsFlow | AgreementFlow:
        flow = ctx.session.flow
        if flow == "registration":
            return self.registration
        if flow in ("signing", "change"):
            return self.invitations
        return self.agreement

    async def _command(self, ctx: Ctx, command: str, args: str) -> Answer:
        session = ctx.session
        if command == "cancel":
            if session.idle:
                return say(t.NOTHING_TO_CANCEL)
            if session.flow.startswith("registration"):
                return self.registration.cancel(ctx)
            return self.invitations.cancel(ctx)
        if command == "back":
            if session.flow == "registration" and ctx.graduate is not None:
                return await self.registration.back(ctx)
            return say(t.NOTHING_TO_GO_BACK)
        if command == "register":
            return await self.registration.start(ctx)
        # Any other command leaves the flow in hand. Registration keeps its step, so that
        # /register resumes it, but typed text no longer goes to it.
        if session.flow == "registration":
            session.flow = PAUSED
        elif not session.idle and session.flow != PAUSED:
            session.leave()
        if command == "start":
            if args.startswith(DEEP_LINK_PREFIX):
                if ctx.graduate is None:
                    return self._not_registered()
                return await self.invitations.open_token(ctx, args[len(DEEP_LINK_PREFIX) :])
            return say(f"{t.WELCOME}\n\n{t.MENU_HINT}", self._menu(ctx))
        if command == "help":
            return say(t.HELP, self._menu(ctx))
        if command == "faq":
            return self.faq.menu()
        if ctx.graduate is None:
            if command in ("status", "invitations", "agreement", "breach", "settings"):
                return self._not_registered()
            return say(t.UNKNOWN_COMMAND)
        if command == "status":
            return await self._status(ctx)
        if command == "invitations":
            return await self.invitations.list(ctx)
        if command == "agreement":
            return await self.agreement.show(ctx)
        if command == "breach":
            return await self.agreement.breach(ctx)
        if command == "settings":
            return await self.settings.show(ctx)
        return say(t.UNKNOWN_COMMAND)

    async def _callback(self, ctx: Ctx, data: str) -> Answer:
        prefix, _, rest = data.partition(":")
        parts = rest.split(":") if rest else []
        if prefix == "m":
            return await self._command(ctx, MENU_COMMANDS.get(rest, "start"), "")
        if prefix == "faq":
            return await self.faq.on_callback(ctx, parts)
        if prefix == "reg" and parts and parts[0] in ("agree", "refuse"):
            return await self.registration.on_callback(ctx, parts)
        if ctx.graduate is None:
            return self._not_registered()
        if prefix == "reg":
            return await self.registration.on_callback(ctx, parts)
        if prefix == "inv":
            return await self.invitations.on_callback(ctx, parts)
        if prefix == "sig":
            return await self.invitations.on_signing_callback(ctx, parts)
        if prefix == "brk":
            return await self.agreement.on_callback(ctx, parts)
        if prefix == "set":
            return await self.settings.on_callback(ctx, parts)
        # Buttons on pushes (bot/texts/notify.py) open a screen as a new message.
        if prefix == "agr":
            return await self.agreement.show(ctx)
        if prefix == "st":
            return await self._status(ctx)
        return say(t.STALE_BUTTON, toast=t.STALE_BUTTON)

    # ------------------------------------------------------------------ small screens

    def _menu(self, ctx: Ctx) -> Rows:
        g = ctx.graduate
        if g is None or g.status in (RegistrationStatus.DRAFT, RegistrationStatus.REJECTED):
            label = t.MENU_REGISTER if g is None else t.MENU_CONTINUE_REGISTER
            first: tuple[Button, ...] = row(Button(label, "m:reg"))
        else:
            first = row(Button(t.MENU_INVITATIONS, "m:inv"), Button(t.MENU_AGREEMENT, "m:agr"))
        return (
            first,
            row(Button(t.MENU_STATUS, "m:st"), Button(t.MENU_FAQ, "m:faq")),
            row(Button(t.MENU_SETTINGS, "m:set"), Button(t.MENU_HELP, "m:help")),
        )

    def _not_registered(self) -> Answer:
        return say(t.NOT_REGISTERED, (row(Button(t.MENU_REGISTER, "m:reg")),))

    async def _status(self, ctx: Ctx) -> Answer:
        view = await self._service.status(ctx.actor)
        g = view.graduate
        lines = [t.STATUS_TITLE]
        if g is not None:
            lines.append(t.STATUS_REGISTRATION.format(label=g.status.label))
            if g.status is RegistrationStatus.REJECTED and g.reject_reason:
                lines.append(t.STATUS_REJECT_REASON.format(reason=esc(g.reject_reason)))
        if view.held is not None:
            lines.append(
                t.STATUS_HELD.format(
                    employer=esc(view.held.employer_name),
                    position=esc(view.held.position),
                    state=view.held.state.label,
                )
            )
        else:
            lines.append(t.STATUS_NO_HELD)
        lines.append(t.STATUS_OPEN.format(count=len(view.open_invitations)))
        if view.next_deadline is not None:
            now = self._service.now()
            lines.append(
                t.STATUS_NEXT_DEADLINE.format(
                    label=esc(view.next_deadline.label), when=deadline(view.next_deadline.at, now)
                )
            )
        else:
            lines.append(t.STATUS_NO_DEADLINE)
        return say("\n".join(lines), self._menu(ctx))


MENU_COMMANDS = {
    "reg": "register",
    "st": "status",
    "inv": "invitations",
    "agr": "agreement",
    "faq": "faq",
    "set": "settings",
    "help": "help",
}
