"""Formatting for replies: escaping, Beijing time, money and agreement cards."""

from __future__ import annotations

import html
from datetime import datetime

from bot.texts import flows as t
from bot.texts.timefmt import BEIJING, deadline_line, time_left, when
from core.domain.states import HELD_STATES
from core.domain.terms import Terms
from core.views import AgreementView

MAX_CHANGED_VALUE = 30  # a longer position or city is cut in the one-line summary of changes


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


def terms_changes(before: Terms, after: Terms) -> list[str]:
    """What a revision changed, one short phrase per term, in the card's order."""

    def short(text: str) -> str:
        cut = text if len(text) <= MAX_CHANGED_VALUE else text[: MAX_CHANGED_VALUE - 1] + "…"
        return esc(cut)

    def insurance(terms: Terms) -> str:
        return t.CHANGE_INSURANCE_YES if terms.insurance else t.CHANGE_INSURANCE_NO

    pairs = (
        (t.CHANGE_POSITION, short(before.position), short(after.position)),
        (t.CHANGE_CITY, short(before.city), short(after.city)),
        (t.CHANGE_SALARY, money(before.salary_yuan), money(after.salary_yuan)),
        (t.CHANGE_PROBATION, *(t.MONTHS.format(n=x.probation_months) for x in (before, after))),
        (t.CHANGE_SERVICE, *(t.YEARS.format(n=x.service_years) for x in (before, after))),
        (t.CHANGE_PENALTY, money(before.penalty_yuan), money(after.penalty_yuan)),
        (t.CHANGE_INSURANCE, insurance(before), insurance(after)),
    )
    changes = [
        t.CHANGE_FROM_TO.format(term=term, old=old, new=new)
        for term, old, new in pairs
        if old != new
    ]
    if before.insurance_notes != after.insurance_notes:
        changes.append(t.CHANGE_INSURANCE_NOTES)
    if before.other_clauses != after.other_clauses:
        changes.append(t.CHANGE_OTHER)
    return changes


def revision_line(view: AgreementView) -> str:
    """'与第 N 版相比：…' for a revised agreement; empty for a first version."""
    previous = next((x for x in view.versions if x.number == view.version - 1), None)
    if previous is None:
        return ""
    changes = terms_changes(previous.terms, view.terms)
    if not changes:
        return t.CHANGES_NONE.format(version=previous.number)
    return t.CHANGES_SINCE.format(version=previous.number, changes="；".join(changes))


def agreement_card(view: AgreementView, now: datetime, *, with_deadline: bool = True) -> str:
    """Every term, the version, what it changed, the digest prefix, state and warnings."""
    title = t.CARD_TITLE_HELD if view.state in HELD_STATES else t.CARD_TITLE
    lines = [
        title.format(employer=esc(view.employer_name)),
        t.CARD_VERSION.format(version=view.version, digest=view.digest[:12]),
    ]
    changed = revision_line(view)
    if changed:
        lines.append(changed)
    lines += [
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
