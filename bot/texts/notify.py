"""What reminders and event pushes say, in Simplified Chinese. Texts are Telegram HTML.

Times are Beijing time written the way people read them: "12月6日(周六) 18:00". Employer
names come from employers, so they are escaped here.
"""

from __future__ import annotations

import html
from datetime import datetime

from bot.flows.types import Button, Reply
from bot.texts.timefmt import deadline_line, when
from core.reminders import Notice

# Callback data the conversation router answers (bot/flows).
OPEN_INVITATION = "inv:open:{id}"
OPEN_AGREEMENT = "agr:open"
FIX_REGISTRATION = "reg:fix"
STATUS = "st"

BUTTON_INVITATION = "查看邀请"
BUTTON_AGREEMENT = "查看协议"
BUTTON_FIX = "修改登记信息"
BUTTON_REGISTER = "继续信息确认"
BUTTON_STATUS = "查看我的状态"

REMINDER_TITLE = "⏰ <b>截止提醒</b>"
STEP_RESPOND = "回复「{employer}」的签约邀请"
STEP_SEAL = "「{employer}」在线盖章"
STEP_TERMINATION = "答复「{employer}」协议的解约申请"
STEP_REGISTRATION = "学校信息确认"
REMINDER_BODY = "{step}\n{when}"
REMINDER_HINT = {
    "respond": "逾期未回复，邀请会自动失效。",
    "seal": "这是单位的一步；逾期未盖章，你的签字会失效，可联系单位催办。",
    "termination": "请在截止前答复，逾期请联系学校就业指导中心。",
    "registration": "请在截止前提交，审核通过后才能签约。",
}
REGISTRATION_REJECTED_HINT = "你的登记被退回，请按意见修改后重新提交。"

EVENTS = {
    "invited": "📩 「{employer}」向你发来签约邀请，请在 {deadline} 前回复。",
    "revised": (
        "✏️ 「{employer}」修改了签约条款（第 {version} 版），请在 {deadline} 前重新查看并回复。"
    ),
    "withdrawn": "「{employer}」撤回了签约邀请。",
    "expired": "「{employer}」的签约邀请已过回复期限，自动失效。",
    "lapsed": "「{employer}」没有在期限内盖章，你的签字已失效，可以接受其他邀请。",
    "sealed": "✅ 「{employer}」已盖章，就业协议书生效，等待学校备案。",
    "filed": "✅ 学校已备案你和「{employer}」的就业协议书。",
    "termination_requested_by_employer": "「{employer}」申请解除协议，请查看并答复。",
    "termination_agreed": "解约申请已获对方同意，记录的违约金为 {penalty}，等待学校审批。",
    "termination_refused": "对方不同意解约，协议保持原状态。",
    "terminated": "学校已批准解约，与「{employer}」的协议已解除（违约金 {penalty}）。",
    "registration_approved": "✅ 你的信息确认已通过学校审核，现在可以签约了。",
    "registration_rejected": "你的信息确认被学校退回。原因：{reason}\n请修改后重新提交。",
}
EVENT_FALLBACK = "你的签约进度有更新，请查看。"


def render(notice: Notice, now: datetime) -> Reply:
    """The message for one notice, with a button straight to the step it is about."""
    if notice.kind == "reminder":
        return _reminder(notice, now)
    return _event(notice)


def _employer(notice: Notice) -> str:
    return html.escape(notice.employer_name or "用人单位")


def _reminder(notice: Notice, now: datetime) -> Reply:
    assert notice.deadline_at is not None
    employer = _employer(notice)
    step = {
        "respond": STEP_RESPOND,
        "seal": STEP_SEAL,
        "termination": STEP_TERMINATION,
        "registration": STEP_REGISTRATION,
    }[notice.step].format(employer=employer)
    hint = REMINDER_HINT[notice.step]
    if notice.step == "registration" and notice.registration_status == "rejected":
        hint = REGISTRATION_REJECTED_HINT
    text = "\n".join(
        (
            REMINDER_TITLE,
            REMINDER_BODY.format(step=step, when=deadline_line(notice.deadline_at, now)),
            hint,
        )
    )
    return Reply(text, ((_button(notice),),))


def _event(notice: Notice) -> Reply:
    template = EVENTS.get(notice.kind, EVENT_FALLBACK)
    payload = notice.payload
    fields = {
        "employer": _employer(notice),
        "version": payload.get("version", ""),
        "deadline": when(notice.deadline_at) if notice.deadline_at else "截止时间",
        "reason": html.escape(str(payload.get("reason", ""))),
        "penalty": _money(payload.get("penalty_yuan")),
    }
    return Reply(template.format(**fields), ((_button(notice),),))


def _money(value: object) -> str:
    return f"{value:,} 元" if isinstance(value, int) else "见协议"


def _button(notice: Notice) -> Button:
    kind = notice.step if notice.kind == "reminder" else notice.kind
    if kind in ("respond", "invited", "revised") and notice.agreement_id is not None:
        return Button(BUTTON_INVITATION, OPEN_INVITATION.format(id=notice.agreement_id))
    if kind in (
        "seal",
        "termination",
        "sealed",
        "filed",
        "termination_requested_by_employer",
        "termination_agreed",
        "termination_refused",
    ):
        return Button(BUTTON_AGREEMENT, OPEN_AGREEMENT)
    if kind == "registration_rejected" or (
        kind == "registration" and notice.registration_status == "rejected"
    ):
        return Button(BUTTON_FIX, FIX_REGISTRATION)
    return Button(BUTTON_STATUS, STATUS)
