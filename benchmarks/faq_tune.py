"""Grid search of the FAQ matcher's weights and thresholds on the tuning questions only.

Run: .venv/bin/python benchmarks/faq_tune.py
The held-out file is deliberately not read here.
"""

import itertools
from dataclasses import replace
from pathlib import Path

from bot.faq.evaluation import read_cases
from bot.faq.knowledge import load_knowledge
from bot.faq.matcher import FaqEngine, MatchSettings
from bot.faq.model import Outcome

TUNING = Path(__file__).resolve().parents[1] / "tests" / "faq" / "eval_tuning.tsv"


def objective(engine, ranked_cases, settings):
    top1 = direct = oos_answered = oos_suggested = n_in = n_oos = 0
    for case, ranked in ranked_cases:
        result = engine.decide(ranked, settings)
        guess = result.best_guess
        got = guess.id if guess and result.outcome is not Outcome.UNKNOWN else None
        if case.expected is None:
            n_oos += 1
            oos_answered += result.outcome is Outcome.ANSWERED
            oos_suggested += result.outcome is Outcome.AMBIGUOUS
        else:
            n_in += 1
            top1 += got == case.expected
            direct += got == case.expected and result.outcome is Outcome.ANSWERED
    rates = (top1 / n_in, direct / n_in, oos_answered / n_oos, oos_suggested / n_oos)
    score = rates[0] + 0.3 * rates[1] - 3 * rates[2] - 0.5 * rates[3]
    return score, rates


def main() -> None:
    knowledge = load_knowledge()
    cases = read_cases(TUNING)
    best = None
    for uni, qcov, pcov, ratio in itertools.product(
        (0.3, 0.5, 0.8), (0.5, 1.0, 1.5), (0.0, 0.5, 1.0), (0.5, 1.0, 1.5)
    ):
        base = MatchSettings(
            unigram_weight=uni, w_query_cover=qcov, w_phrase_cover=pcov, w_ratio=ratio
        )
        engine = FaqEngine(knowledge, base)
        ranked_cases = [(case, engine.rank(case.question)) for case in cases]
        for answer_at, refuse, close, oos in itertools.product(
            (0.4, 0.45, 0.5, 0.55, 0.6),
            (0.2, 0.25, 0.3, 0.35, 0.4),
            (0.0, 0.02, 0.05),
            (0.0, 0.03, 0.06, 0.1),
        ):
            if refuse > answer_at:
                continue
            settings = replace(
                base,
                answer_at=answer_at,
                refuse_below=refuse,
                close_margin=close,
                out_of_scope_margin=oos,
            )
            score, rates = objective(engine, ranked_cases, settings)
            if best is None or score > best[0]:
                best = (score, rates, settings)
                print(
                    f"{score:.3f} top1={rates[0]:.3f} direct={rates[1]:.3f}"
                    f" oos_ans={rates[2]:.3f} oos_sugg={rates[3]:.3f} {settings}"
                )


if __name__ == "__main__":
    main()
