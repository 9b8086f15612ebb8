"""`python -m bot` refuses unsafe or wrong settings at start-up, naming no secret."""

from __future__ import annotations

import os
import subprocess
import sys


def run_bot(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SMS_"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_polling_telegram_without_an_sms_gateway_is_refused_at_start(tmp_path):
    result = run_bot(
        tmp_path,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        SECRET_KEY="k" * 40,
        TELEGRAM_BOT_TOKEN="123456:SECRET-TOKEN-VALUE",
        TELEGRAM_API_URL="http://127.0.0.1:9",
    )
    assert result.returncode == 2
    assert "SMS_WEBHOOK_URL is required" in result.stderr


def test_a_wrong_setting_is_named_without_echoing_any_value(tmp_path):
    result = run_bot(
        tmp_path,
        BOT_FRAMEWORK="telethon",
        TELEGRAM_BOT_TOKEN="123456:SECRET-TOKEN-VALUE",
        TELEGRAM_API_URL="http://127.0.0.1:9",
    )
    assert result.returncode == 2
    assert "BOT_FRAMEWORK" in result.stderr
    assert "SECRET-TOKEN-VALUE" not in result.stderr and "telethon" not in result.stderr
