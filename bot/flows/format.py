"""Formatting for replies: escaping, Beijing time, money and agreement cards."""

from __future__ import annotations

import html
from datetime import datetime

from bot.texts import flows as t
from bot.texts.timefmt import BEIJING, deadline_line, time_left, when
from core.domain.terms import Terms
from core.views import AgreementView


def esc(value: object) -> str:
    """Escape anything a user, employer or university wrote before it enters HTML."""
    return html.escape(str(value), quote=False)


def money(yuan: int) -> str:
    return f"{yuan:,} 元"


def terms_lines(terms: Terms) -> list[str]:
    lines = [
        t.TERM_POSITION.format(value=esc(terms.position)),
        t.TERM_CITY.format(value=esc(terms.city)),
        t.TERM_SALARY.format(value=money(terms.salary_yuan)),
        t.TERM_PROBATION.format(value=terms.probation_months),
        t.TERM_SERVICE.format(value=terms.service_years),
        t.TERM_PENALTY.format(value=money(terms.penalty_yuan)),
    ]
    insurance = t.TERM_INSURANCE_YES if terms.insurance else t.TERM_INSURANCE_NO
    if terms.insurance_notes:
        insurance += t.TERM_INSURANCE_NOTES.format(notes=esc(terms.insurance_notes))
    lines.append(insurance)
    if terms.other_clauses:
        lines.append(t.TERM_OTHER.format(value=esc(terms.other_clauses)))
    return lines


def agreement_card(view: AgreementView, now: datetime, *, with_deadline: bool = True) -> str:
    """Every term, the version, the digest prefix, state and warnings of one agreement."""
    lines = [
        t.CARD_TITLE.format(employer=esc(view.employer_name)),
        t.CARD_VERSION.format(version=view.version, digest=view.digest[:12]),
        "",
        *terms_lines(view.terms),
        "",
        t.CARD_STATE.format(state=view.state.label),
    ]
    if with_deadline and view.state.value in ("invited", "changes_requested"):
        lines.append(t.CARD_DEADLINE.format(deadline=deadline(view.respond_by, now)))
    if view.change_requests and view.state.value == "changes_requested":
        lines.append(t.CARD_LAST_REQUEST.format(text=esc(view.change_requests[-1])))
    if view.warnings:
        lines.append("")
        lines.append(t.CARD_WARNINGS)
        lines.extend(f"• {esc(w)}" for w in view.warnings)
    return "\n".join(lines)


# The flows call a deadline line by its short name.
deadline = deadline_line
__all__ = ["BEIJING", "deadline", "time_left", "when"]
