"""Scoring the engine against an evaluation file of graduates' questions.

File format: one `topic<TAB>question` per line; `-` as the topic marks a question that
should not be answered; lines starting with `#` are comments.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.faq.matcher import FaqEngine
from bot.faq.model import Outcome

OUT_OF_SCOPE = "-"


@dataclass(frozen=True, slots=True)
class Case:
    expected: str | None
    question: str


@dataclass
class Report:
    in_scope: int = 0
    top1_correct: int = 0
    answered_correct: int = 0
    out_of_scope: int = 0
    oos_answered: int = 0
    oos_suggested: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def top1_accuracy(self) -> float:
        return self.top1_correct / self.in_scope if self.in_scope else 0.0

    @property
    def oos_answered_rate(self) -> float:
        return self.oos_answered / self.out_of_scope if self.out_of_scope else 0.0

    def summary(self) -> str:
        return (
            f"in-scope {self.in_scope}: top-1 {self.top1_accuracy:.1%}"
            f" (answered directly and right {self.answered_correct}/{self.in_scope});"
            f" out-of-scope {self.out_of_scope}: answered {self.oos_answered_rate:.1%},"
            f" offered suggestions {self.oos_suggested}"
        )


def read_cases(path: str | Path) -> list[Case]:
    cases = []
    for line in Path(path).read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        expected, question = line.split("\t", 1)
        cases.append(Case(None if expected == OUT_OF_SCOPE else expected, question))
    return cases


def evaluate(engine: FaqEngine, cases: Iterable[Case]) -> Report:
    """Top-1 counts the best guess of an answered or ambiguous reply, never a refusal."""
    report = Report()
    for case in cases:
        result = engine.answer(case.question)
        guess = result.best_guess
        got = guess.id if guess and result.outcome is not Outcome.UNKNOWN else None
        if case.expected is None:
            report.out_of_scope += 1
            if result.outcome is Outcome.ANSWERED:
                report.oos_answered += 1
            elif result.outcome is Outcome.AMBIGUOUS:
                report.oos_suggested += 1
            if result.outcome is not Outcome.UNKNOWN:
                report.misses.append(f"OOS  {case.question} -> {got} {result.score:.3f}")
            continue
        report.in_scope += 1
        if got == case.expected:
            report.top1_correct += 1
            if result.outcome is Outcome.ANSWERED:
                report.answered_correct += 1
        else:
            report.misses.append(
                f"MISS {case.question} -> {got} ({result.outcome.value} {result.score:.3f})"
                f" want {case.expected}"
            )
    return report
