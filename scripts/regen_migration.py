"""Regenerate the initial migration from the models (allowed until the first release).

Usage: scripts/dev python scripts/regen_migration.py
Writes core/storage/migrations/versions/0001_initial.py, then appends the hand-written
audit-log triggers from 0002 untouched.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from core.storage.db import MIGRATIONS, alembic_config

TARGET = MIGRATIONS / "versions" / "0001_initial.py"


def main() -> None:
    TARGET.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'empty.db'}")
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.revision(
                config, message="initial schema", autogenerate=True, rev_id="0001",
                head="base",
            )
    produced = next((MIGRATIONS / "versions").glob("0001_*.py"))
    if produced != TARGET:
        produced.rename(TARGET)
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
