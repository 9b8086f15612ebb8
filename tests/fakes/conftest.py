import pytest

from tests.fakes.botapi import (  # noqa: F401  (fixtures are found by name)
    aiogram_bot,
    fake_botapi,
    forbid_non_loopback,
    ptb_bot,
)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here fails loudly if a library tries to reach a real host."""
    forbid_non_loopback(monkeypatch)
    # PTB warns on RetryAfter.retry_after (read in its own __init__) unless timedeltas are
    # opted in; with warnings as errors a 429 would otherwise surface as that warning.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
