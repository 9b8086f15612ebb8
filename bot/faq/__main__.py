"""Command line: ask the FAQ, report feedback counts, score an evaluation file.

python -m bot.faq ask [--json] [TEXT]     no TEXT: one question per line from stdin
python -m bot.faq report [--database-url URL]
python -m bot.faq eval FILE [-v]
"""

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence

from bot.faq.evaluation import evaluate, read_cases
from bot.faq.matcher import FaqEngine
from bot.faq.model import FaqAnswer

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/wangqian.db"


def _as_json(result: FaqAnswer) -> str:
    return json.dumps(
        {
            "topic": result.topic.id if result.topic else None,
            "score": round(result.score, 4),
            "alternatives": [t.id for t in result.alternatives],
            "answer": result.answer_text,
        },
        ensure_ascii=False,
    )


def _as_text(result: FaqAnswer) -> str:
    head = f"[{result.outcome.value} {result.topic.id if result.topic else '-'}"
    return f"{head} {result.score:.3f}]\n{result.answer_text}\n"


def _ask(engine: FaqEngine, questions: Sequence[str], as_json: bool) -> None:
    for question in questions:
        result = engine.answer(question)
        print(_as_json(result) if as_json else _as_text(result), flush=True)


async def _report(database_url: str) -> int:
    from sqlalchemy import inspect

    from core.storage.faq import FAQ_TABLES, SqlFeedbackStore

    try:
        from core.storage.db import create_engine
    except ImportError:  # engine factory not landed; plain async engine is enough here
        from sqlalchemy.ext.asyncio import create_async_engine as create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            present = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        missing = sorted({t.name for t in FAQ_TABLES} - present)
        if missing:
            print(f"tables missing: {', '.join(missing)}; run the migrations", file=sys.stderr)
            return 1
        store = SqlFeedbackStore(engine)
        counts = await store.counts()
        unanswered = await store.recent_unanswered()
    finally:
        await engine.dispose()
    print(f"{'topic':<28}{'有帮助':>8}{'没帮助':>8}")
    for topic_id, helpful, unhelpful in counts:
        print(f"{topic_id:<28}{helpful:>10}{unhelpful:>10}")
    if not counts:
        print("(no feedback yet)")
    print(f"\nlatest unanswered questions ({len(unanswered)}):")
    for created_at, text in unanswered:
        print(f"{created_at:%Y-%m-%d %H:%M}  {text}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.faq")
    commands = parser.add_subparsers(dest="command", required=True)
    ask = commands.add_parser("ask", help="answer TEXT, or each line of stdin")
    ask.add_argument("--json", action="store_true", help="one JSON object per answer")
    ask.add_argument("text", nargs="*")
    report = commands.add_parser("report", help="feedback counts per topic")
    report.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
    )
    scoring = commands.add_parser("eval", help="score an evaluation file")
    scoring.add_argument("file")
    scoring.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)

    if args.command == "report":
        return asyncio.run(_report(args.database_url))
    engine = FaqEngine.load()
    if args.command == "eval":
        result = evaluate(engine, read_cases(args.file))
        print(result.summary())
        if args.verbose:
            print("\n".join(result.misses))
        return 0
    if args.text:
        questions = [" ".join(args.text)]
    else:
        questions = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    _ask(engine, questions, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
