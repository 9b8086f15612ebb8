"""Fixtures for end-to-end tests: the real aiogram and PTB polling against the fake Bot API.

``framework`` runs a test once per framework; ``world`` adds the core on a real database,
the real flows, an SMS gateway and the push worker (see ``world.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.bot.e2e.harness import Settled
from tests.bot.e2e.world import world  # noqa: F401  (fixtures are found by name)
from tests.fakes.botapi import (  # noqa: F401
    fake_botapi,
    forbid_non_loopback,
)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here fails loudly if a library tries to reach a real host."""
    forbid_non_loopback(monkeypatch)
    # PTB warns when its RetryAfter is built unless timedeltas are opted in.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture(params=["aiogram", "ptb"])
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settled() -> Iterator[Settled]:
    handler = Settled()
    logger = logging.getLogger("bot.handlers.pipeline")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
