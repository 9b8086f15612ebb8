"""Regenerate the initial migration from the models.

Only while no database that matters was made from it: an existing database stays at 0001 and
would never get the new tables. From the first deployment on, add a new revision instead.

Usage: scripts/dev python scripts/regen_migration.py
Rewrites core/storage/migrations/versions/0001_initial.py; the later hand-written
revisions (audit-log triggers and so on) are kept as they are.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from core.storage.db import MIGRATIONS, alembic_config

VERSIONS = MIGRATIONS / "versions"
TARGET = VERSIONS / "0001_initial.py"


def main() -> None:
    TARGET.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # Later revisions depend on 0001; park them while it is rebuilt.
        parked = [p.rename(Path(tmp) / p.name) for p in sorted(VERSIONS.glob("0*.py"))]
        try:
            generate(Path(tmp))
        finally:
            for path in parked:
                path.rename(VERSIONS / path.name)
    produced = next(VERSIONS.glob("0001_*.py"))
    if produced != TARGET:
        produced.rename(TARGET)
    tidy(TARGET)
    print(f"wrote {TARGET}")


def tidy(path: Path) -> None:
    """Hold the generated file to the project's style: ruff, and no line over 99."""
    ruff = Path(sys.executable).with_name("ruff")
    subprocess.run([ruff, "format", "-q", str(path)], check=True)
    subprocess.run([ruff, "check", "-q", "--fix", "--select", "I,F401", str(path)], check=True)
    lines = []
    for line in path.read_text().splitlines():
        if len(line) > 99 and line.strip().startswith('"') and ", '" in line:
            # A long SQL literal (a partial index's WHERE): split into adjacent pieces.
            indent = line[: len(line) - len(line.lstrip())]
            body = line.strip().rstrip(",")
            tail = "," if line.rstrip().endswith(",") else ""
            pieces = body[1:-1].split(", ")
            for i, piece in enumerate(pieces):
                end = "" if i == len(pieces) - 1 else ", "
                lines.append(f'{indent}"{piece}{end}"' + (tail if end == "" else ""))
        else:
            lines.append(line)
    path.write_text("\n".join(lines) + "\n")


def generate(tmp: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp / 'empty.db'}")
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.revision(
            config, message="initial schema", autogenerate=True, rev_id="0001", head="base"
        )


if __name__ == "__main__":
    main()
