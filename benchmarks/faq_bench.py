"""Time per question and start-up of the FAQ engine (a report, not a timed test).

Run: scripts/dev bench faq_bench
Shipped KB: every evaluation question, repeated. Generated KB: 1,000 topics of 15
phrasings built from the shipped KB's own vocabulary, asked generated and real questions.
"""

import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bot.faq import FaqEngine
from bot.faq.evaluation import read_cases
from bot.faq.knowledge import load_knowledge, parse_knowledge

ROOT = Path(__file__).resolve().parents[1]
EVAL_FILES = [ROOT / "tests" / "faq" / name for name in ("eval_tuning.tsv", "eval_holdout.tsv")]
STARTUP_CODE = (
    "import time; t = time.perf_counter(); from bot.faq import FaqEngine; "
    "FaqEngine.load(); print(time.perf_counter() - t)"
)


def timings(engine: FaqEngine, questions: list[str], rounds: int) -> list[float]:
    for question in questions[:50]:
        engine.answer(question)
    samples = []
    for _ in range(rounds):
        for question in questions:
            start = time.perf_counter()
            engine.answer(question)
            samples.append(time.perf_counter() - start)
    return samples


def describe(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(
        f"{label}: {len(samples)} questions, median {statistics.median(ordered) * 1e6:.0f} µs,"
        f" p99 {p99 * 1e6:.0f} µs, max {ordered[-1] * 1e6:.0f} µs"
    )


def generated_knowledge(topics: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    shipped = json.loads((ROOT / "bot" / "faq" / "knowledge.json").read_text("utf-8"))
    words = sorted(
        {
            text[i : i + 2]
            for topic in shipped["topics"]
            for text in topic["phrasings"]
            for i in range(len(text) - 1)
        }
    )
    items = []
    for n in range(topics):
        core = rng.sample(words, 3)
        phrasings = ["".join(core[: rng.randint(1, 3)] + rng.sample(words, 3)) for _ in range(15)]
        items.append(
            {
                "id": f"gen.{n}",
                "category": "gen",
                "title": "".join(core),
                "phrasings": phrasings,
                "keywords": core,
                "answer": "生成的回答",
            }
        )
    return {
        "categories": [{"id": "gen", "title": "生成"}],
        "aliases": shipped["aliases"],
        "topics": items,
        "out_of_scope": shipped["out_of_scope"],
    }


def main() -> None:
    real = [case.question for path in EVAL_FILES for case in read_cases(path)]

    startups = []
    for _ in range(5):
        out = subprocess.run(
            [sys.executable, "-c", STARTUP_CODE], capture_output=True, text=True, check=True
        )
        startups.append(float(out.stdout))
    print(
        f"start-up (imports + load + index, fresh process): median "
        f"{statistics.median(startups) * 1e3:.0f} ms, max {max(startups) * 1e3:.0f} ms"
    )
    start = time.perf_counter()
    engine = FaqEngine(load_knowledge())
    elapsed = time.perf_counter() - start
    print(f"load + index, shipped KB (modules imported): {elapsed * 1e3:.0f} ms")
    describe("shipped KB", timings(engine, real, rounds=20))

    data = generated_knowledge(1000)
    start = time.perf_counter()
    big = FaqEngine(parse_knowledge(data))
    print(f"load + index, 1,000-topic KB: {(time.perf_counter() - start) * 1e3:.0f} ms")
    rng = random.Random(11)
    generated = [rng.choice(t["phrasings"]) for t in data["topics"] for _ in range(1)]
    describe("1,000-topic KB, generated questions", timings(big, generated, rounds=3))
    describe("1,000-topic KB, real questions", timings(big, real, rounds=3))


if __name__ == "__main__":
    main()
