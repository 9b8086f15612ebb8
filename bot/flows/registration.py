"""Registration (信息确认): consent, each field with validation, phone code, documents, submit."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.flows.base import Ctx, Deps, Rows, join, row, rows, say
from bot.flows.definition import FlowDefinition
from bot.flows.format import BEIJING, esc, money
from bot.flows.session import RegistrationState
from bot.flows.types import Answer, Button, EventKind
from bot.texts import flows as t
from core.domain.errors import CodeRateLimited, DeliveryFailed, DomainError, InvalidInput
from core.domain.otp import CodeOutcome, looks_like_code
from core.domain.states import DocumentKind, EducationLevel, RegistrationStatus
from core.domain.validators import has_control
from core.service import FIELD_LABELS, MAX_DOCUMENT_BYTES, REGISTRATION_FIELDS
from core.views import GraduateView

log = logging.getLogger(__name__)

NAME = "registration"
PAUSED = "registration-paused"  # another command interrupted it; /register resumes
FLOW = FlowDefinition(
    NAME,
    start="consent",
    moves={
        "consent": ("field", "phone_code", "documents", "summary"),
        "field": ("field", "phone_code", "documents", "summary"),
        "phone_code": ("field", "documents", "summary"),
        "documents": ("field", "summary"),
        "summary": ("field", "documents", "phone_code"),
    },
    entries=("field", "phone_code", "documents", "summary"),
)
TOTAL = len(REGISTRATION_FIELDS)
EDITABLE = (RegistrationStatus.DRAFT, RegistrationStatus.REJECTED)
LEVELS = tuple(EducationLevel)


class RegistrationFlow:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._service = deps.service

    # ------------------------------------------------------------------ entry points

    async def start(self, ctx: Ctx) -> Answer:
        """/register, the menu button and the rejection push's "fix" button."""
        g = ctx.graduate
        if g is None or not g.consented:
            self._move(ctx, "consent")
            buttons = (
                row(Button(t.CONSENT_AGREE, "reg:agree"), Button(t.CONSENT_REFUSE, "reg:refuse")),
            )
            return say(t.CONSENT, buttons)
        if g.status is RegistrationStatus.SUBMITTED:
            ctx.session.leave()
            return say(t.REGISTRATION_SUBMITTED)
        if g.status is RegistrationStatus.APPROVED:
            ctx.session.leave()
            return say(t.REGISTRATION_APPROVED)
        session = ctx.session
        if session.flow in (NAME, PAUSED) and session.step in FLOW.moves:
            if session.step != "consent":
                return await self.reprompt(ctx)
        if g.status is RegistrationStatus.REJECTED:
            return await self._summary(ctx, g)
        return await self._continue(ctx, g)

    async def reprompt(self, ctx: Ctx) -> Answer:
        """Ask again for whatever the stored step waits for (used when resuming)."""
        g = await self._service.graduate(ctx.actor)
        ctx.graduate = g
        step, state = ctx.session.step, ctx.session.registration
        ctx.session.flow = NAME
        if step == "field" and state.field in REGISTRATION_FIELDS:
            return await self._ask(ctx, state.field, g)
        if step == "phone_code":
            return say(t.PHONE_CODE_ASK, self._code_buttons())
        if step == "documents":
            return self._documents_prompt(ctx, g)
        if step == "summary":
            return await self._summary(ctx, g)
        return await self._continue(ctx, g)

    async def on_callback(self, ctx: Ctx, parts: list[str]) -> Answer:
        action = parts[0] if parts else ""
        if action == "fix":
            if ctx.graduate is not None and ctx.graduate.status in EDITABLE:
                ctx.session.registration = RegistrationState()
                return await self._summary(ctx, ctx.graduate)
            return await self.start(ctx)
        if action == "agree" and self._at(ctx, "consent"):
            return await self._consent(ctx)
        if action == "refuse" and self._at(ctx, "consent"):
            ctx.session.leave()
            return say(t.CONSENT_REFUSED)
        if ctx.session.flow == PAUSED:
            ctx.session.flow = NAME
        if ctx.session.flow != NAME:
            return say(t.USED_BUTTON, toast=t.USED_BUTTON)
        state = ctx.session.registration
        if action == "u" and self._at(ctx, "field") and state.field == "university":
            names = await self._service.universities()
            index = _index(parts, len(names))
            if index is None:
                return say(t.STALE_BUTTON, toast=t.STALE_BUTTON)
            return await self._save(ctx, "university", names[index])
        if action == "e" and self._at(ctx, "field") and state.field == "education_level":
            index = _index(parts, len(LEVELS))
            if index is None:
                return say(t.STALE_BUTTON, toast=t.STALE_BUTTON)
            return await self._save(ctx, "education_level", LEVELS[index].value)
        if action == "resend" and self._at(ctx, "phone_code"):
            return await self._send_phone_code(ctx)
        if action == "dk" and self._at(ctx, "documents") and len(parts) == 2:
            try:
                kind = DocumentKind(parts[1])
            except ValueError:
                return say(t.STALE_BUTTON, toast=t.STALE_BUTTON)
            state.doc_kind = kind.value
            return self._documents_prompt(ctx, await self._service.graduate(ctx.actor))
        if action == "dd" and self._at(ctx, "documents"):
            return await self._after_documents(ctx)
        if action == "ed" and len(parts) == 2 and ctx.session.step in FLOW.moves:
            return await self._edit(ctx, parts[1])
        if action == "sub" and self._at(ctx, "summary"):
            return await self._submit(ctx)
        if action == "back":
            return await self.back(ctx)
        if action == "cancel":
            return self.cancel(ctx)
        return say(t.USED_BUTTON, toast=t.USED_BUTTON)

    async def on_input(self, ctx: Ctx) -> Answer:
        event, step = ctx.event, ctx.session.step
        if step == "documents":
            if event.upload is not None:
                return await self._upload(ctx)
            if event.kind is EventKind.TEXT and event.text.strip() in ("完成", "好了", "done"):
                return await self._after_documents(ctx)
            return say(t.DOCS_NEED_FILE, self._documents_buttons(ctx))
        if event.kind is not EventKind.TEXT:
            what = FIELD_LABELS.get(ctx.session.registration.field, "验证码")
            hint = say(t.NOT_TEXT_IN_STEP.format(what=what))
            return join(hint, await self.reprompt(ctx))
        if step == "consent":
            return await self.start(ctx)
        if step == "field":
            return await self._save(ctx, ctx.session.registration.field, event.text)
        if step == "phone_code":
            return await self._verify_phone(ctx, event.text)
        if step == "summary":
            return await self._summary(ctx, await self._service.graduate(ctx.actor))
        return await self.start(ctx)

    async def back(self, ctx: Ctx) -> Answer:
        step, state = ctx.session.step, ctx.session.registration
        g = await self._service.graduate(ctx.actor)
        if state.editing and step in ("field", "phone_code", "documents"):
            return await self._summary(ctx, g)
        if step == "field":
            index = REGISTRATION_FIELDS.index(state.field)
            if index == 0:
                return join(say(t.FIRST_STEP), await self._ask(ctx, state.field, g))
            previous = REGISTRATION_FIELDS[index - 1]
            return await self._ask(ctx, previous, g)
        if step == "phone_code":
            return await self._ask(ctx, "phone", g)
        if step == "documents":
            return await self._ask(ctx, REGISTRATION_FIELDS[-1], g)
        if step == "summary":
            return self._documents_prompt(ctx, g)
        return say(t.NOTHING_TO_GO_BACK)

    def cancel(self, ctx: Ctx) -> Answer:
        ctx.session.leave()
        ctx.session.registration = RegistrationState()
        return say(t.REGISTRATION_PAUSED)

    # ------------------------------------------------------------------ steps

    async def _consent(self, ctx: Ctx) -> Answer:
        event = ctx.event
        g = await self._service.begin_registration(
            event.user_id, event.chat_id, consent=True, channel=ctx.channel
        )
        ctx.graduate = g
        log.info("graduate %s consented", g.id)
        if g.status not in EDITABLE:
            return await self.start(ctx)
        return await self._continue(ctx, g)

    async def _continue(self, ctx: Ctx, g: GraduateView) -> Answer:
        """Go to the first thing still missing."""
        for name in REGISTRATION_FIELDS:
            if name in g.missing:
                return await self._ask(ctx, name, g)
        if "phone_verified" in g.missing:
            self._move(ctx, "phone_code")
            return say(t.PHONE_CODE_ASK, self._code_buttons())
        if "documents" in g.missing:
            return self._documents_prompt(ctx, g)
        return await self._summary(ctx, g)

    async def _ask(self, ctx: Ctx, name: str, g: GraduateView) -> Answer:
        self._move(ctx, "field")
        ctx.session.registration.field = name
        counter = t.STEP_COUNTER.format(n=REGISTRATION_FIELDS.index(name) + 1, total=TOTAL)
        example = field_example(name, self._service.now())
        text = t.ASK_FIELD.format(counter=counter, label=FIELD_LABELS[name], example=example)
        current = _current_value(g, name)
        if current:
            text += "\n" + t.CURRENT_VALUE.format(value=esc(current))
        choices: list[Button] = []
        if name == "university":
            names = await self._service.universities()
            choices = [Button(n, f"reg:u:{i}") for i, n in enumerate(names[:30])]
        elif name == "education_level":
            choices = [Button(level.value, f"reg:e:{i}") for i, level in enumerate(LEVELS)]
        nav = row(Button(t.BUTTON_BACK, "reg:back"), Button(t.BUTTON_CANCEL, "reg:cancel"))
        return say(text, (*rows(choices), nav))

    async def _save(self, ctx: Ctx, name: str, raw: str) -> Answer:
        try:
            g = await self._service.save_field(ctx.actor, name, raw)
        except InvalidInput as error:
            g = await self._service.graduate(ctx.actor)
            retry = say(t.FIELD_SAVED_RETRY.format(message=esc(error.message)))
            return join(retry, await self._ask(ctx, name, g))
        ctx.graduate = g
        log.debug("graduate %s field %s saved", g.id, name)
        if name == "phone" and not g.phone_verified:
            return await self._send_phone_code(ctx)
        if ctx.session.registration.editing:
            return await self._summary(ctx, g)
        index = REGISTRATION_FIELDS.index(name)
        if index + 1 < TOTAL:
            return await self._ask(ctx, REGISTRATION_FIELDS[index + 1], g)
        return self._documents_prompt(ctx, g)

    async def _send_phone_code(self, ctx: Ctx) -> Answer:
        self._move(ctx, "phone_code")
        try:
            sent = await self._service.request_phone_code(ctx.actor)
        except (CodeRateLimited, DeliveryFailed) as error:
            return say(esc(error.message), self._code_buttons())
        return say(t.PHONE_CODE_SENT.format(phone=esc(sent.phone_masked)), self._code_buttons())

    async def _verify_phone(self, ctx: Ctx, text: str) -> Answer:
        code = looks_like_code(text)
        if code is None:
            return say(t.PHONE_CODE_ASK, self._code_buttons())
        result = await self._service.verify_phone(ctx.actor, code)
        if not result.ok:
            return say(
                code_failure(result.outcome, result.attempts_left, result.retry_after_s),
                self._code_buttons(),
            )
        g = await self._service.graduate(ctx.actor)
        ctx.graduate = g
        done = say(t.PHONE_VERIFIED)
        if ctx.session.registration.editing:
            return join(done, await self._summary(ctx, g))
        following = REGISTRATION_FIELDS[REGISTRATION_FIELDS.index("phone") + 1]
        if following in g.missing:
            return join(done, await self._ask(ctx, following, g))
        return join(done, await self._continue(ctx, g))

    def _documents_prompt(self, ctx: Ctx, g: GraduateView) -> Answer:
        self._move(ctx, "documents")
        state = ctx.session.registration
        have = {d.kind for d in g.documents}
        if not state.doc_kind:
            missing = [k for k in DocumentKind if k not in have]
            state.doc_kind = (missing[0] if missing else DocumentKind.ID_CARD).value
        counts = [f"{k.label} {sum(1 for d in g.documents if d.kind is k)}" for k in DocumentKind]
        uploaded = "，".join(counts) if g.documents else t.DOCS_NONE
        text = t.DOCS_PROMPT.format(uploaded=uploaded, kind=DocumentKind(state.doc_kind).label)
        if have >= set(DocumentKind):
            text += "\n" + t.DOCS_ALL_DONE
        return say(text, self._documents_buttons(ctx))

    def _documents_buttons(self, ctx: Ctx) -> Rows:
        kinds = [Button(k.label, f"reg:dk:{k.value}") for k in DocumentKind]
        return (
            tuple(kinds),
            row(Button(t.DOCS_DONE_BUTTON, "reg:dd")),
            row(Button(t.BUTTON_BACK, "reg:back"), Button(t.BUTTON_CANCEL, "reg:cancel")),
        )

    async def _upload(self, ctx: Ctx) -> Answer:
        upload = ctx.event.upload
        assert upload is not None
        kind = DocumentKind(ctx.session.registration.doc_kind or DocumentKind.ID_CARD.value)
        if upload.size > MAX_DOCUMENT_BYTES:
            return say(t.DOC_TOO_BIG, self._documents_buttons(ctx))
        data = await upload.fetch()
        try:
            doc = await self._service.add_document(
                ctx.actor, kind, upload.file_name, upload.content_type, data
            )
        except InvalidInput as error:
            return say(esc(error.message), self._documents_buttons(ctx))
        g = await self._service.graduate(ctx.actor)
        have = {d.kind for d in g.documents}
        missing = [k for k in DocumentKind if k not in have]
        if missing:
            ctx.session.registration.doc_kind = missing[0].value
        # Echo the sender's own name (they recognise it), minus anything that reorders text.
        shown = "".join(c for c in upload.file_name[:60] if not has_control(c)) or doc.file_name
        saved = say(t.DOC_SAVED.format(kind=kind.label, name=esc(shown)))
        return join(saved, self._documents_prompt(ctx, g))

    async def _after_documents(self, ctx: Ctx) -> Answer:
        return await self._summary(ctx, await self._service.graduate(ctx.actor))

    async def _summary(self, ctx: Ctx, g: GraduateView) -> Answer:
        self._move(ctx, "summary")
        state = ctx.session.registration
        state.editing, state.doc_kind = False, ""
        lines = []
        if g.status is RegistrationStatus.REJECTED and g.reject_reason:
            lines += [t.SUMMARY_REJECTED.format(reason=esc(g.reject_reason)), ""]
        lines.append(t.SUMMARY_TITLE)
        for name in REGISTRATION_FIELDS:
            value = _current_value(g, name) or "—"
            if name == "phone" and g.phone_masked and not g.phone_verified:
                value += t.SUMMARY_PHONE_UNVERIFIED
            lines.append(f"{FIELD_LABELS[name]}：{esc(value)}")
        docs = "，".join(
            f"{k.label} {sum(1 for d in g.documents if d.kind is k)}" for k in DocumentKind
        )
        lines.append(f"{t.SUMMARY_DOCS}：{docs}")
        lines.append("")
        if g.missing:
            items = "、".join(FIELD_LABELS.get(m, m) for m in g.missing)
            lines.append(t.SUMMARY_MISSING.format(items=items))
        else:
            lines.append(t.SUMMARY_READY)
        edits = [Button(FIELD_LABELS[n], f"reg:ed:{n}") for n in REGISTRATION_FIELDS]
        edits.append(Button(t.SUMMARY_DOCS, "reg:ed:documents"))
        buttons = (*rows(edits, width=3), row(Button(t.SUBMIT_BUTTON, "reg:sub")))
        return say("\n".join(lines), buttons)

    async def _edit(self, ctx: Ctx, name: str) -> Answer:
        g = await self._service.graduate(ctx.actor)
        if g.status not in EDITABLE:
            return await self.start(ctx)
        ctx.session.registration.editing = True
        if name == "documents":
            ctx.session.registration.doc_kind = ""
            return self._documents_prompt(ctx, g)
        if name == "phone_verified":
            return await self._send_phone_code(ctx)
        if name not in REGISTRATION_FIELDS:
            return say(t.STALE_BUTTON, toast=t.STALE_BUTTON)
        return await self._ask(ctx, name, g)

    async def _submit(self, ctx: Ctx) -> Answer:
        try:
            g = await self._service.submit_registration(ctx.actor)
        except DomainError as error:
            g = await self._service.graduate(ctx.actor)
            return join(say(esc(error.message)), await self._summary(ctx, g))
        ctx.graduate = g
        ctx.session.leave()
        ctx.session.registration = RegistrationState()
        log.info("graduate %s submitted the registration", g.id)
        return say(t.SUBMITTED)

    # ------------------------------------------------------------------ helpers

    def _move(self, ctx: Ctx, step: str) -> None:
        current = ctx.session.step if ctx.session.flow in (NAME, PAUSED) else ""
        FLOW.check_move(current, step)
        ctx.session.enter(NAME, step)

    @staticmethod
    def _at(ctx: Ctx, step: str) -> bool:
        return ctx.session.flow == NAME and ctx.session.step == step

    @staticmethod
    def _code_buttons() -> Rows:
        return (
            row(
                Button(t.BUTTON_RESEND, "reg:resend"),
                Button(t.BUTTON_CHANGE_PHONE, "reg:ed:phone"),
            ),
            row(Button(t.BUTTON_CANCEL, "reg:cancel")),
        )


def code_failure(outcome: CodeOutcome, attempts_left: int, retry_after_s: int) -> str:
    """Why a code was not accepted, and what to do next."""
    if outcome is CodeOutcome.WRONG:
        return t.CODE_WRONG.format(left=attempts_left) if attempts_left else t.CODE_WRONG_LAST
    if outcome is CodeOutcome.EXPIRED:
        return t.CODE_EXPIRED
    if outcome is CodeOutcome.DEAD:
        return t.CODE_DEAD
    if outcome is CodeOutcome.LOCKED:
        return t.CODE_LOCKED.format(minutes=max(1, (retry_after_s + 59) // 60))
    if outcome is CodeOutcome.SUPERSEDED:
        return t.CODE_SUPERSEDED
    return t.CODE_NONE


def field_example(name: str, now: datetime) -> str:
    """The example shown when asking for a field (the graduation year is this year's)."""
    return t.FIELD_EXAMPLES[name].format(year=now.astimezone(BEIJING).year)


def _index(parts: list[str], size: int) -> int | None:
    if len(parts) != 2 or not parts[1].isdigit():
        return None
    index = int(parts[1])
    return index if index < size else None


def _current_value(g: GraduateView, name: str) -> str:
    if name == "id_number":
        return g.id_number_masked or ""
    if name == "phone":
        return g.phone_masked or ""
    value = getattr(g, name, None)
    if name == "expected_salary" and value is not None:
        return money(value)
    if isinstance(value, tuple):
        return "、".join(value)
    return "" if value is None else str(value)
