"""Settings refuse unsafe keys; the embedded default makes a development key and says so."""

import logging

import pytest
from pydantic import ValidationError

from core.bootstrap import open_core
from core.config import ConfigError, CoreSettings

STRONG = "k" * 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "DATABASE_URL", "SMS_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_a_server_database_needs_a_secret_key():
    settings = CoreSettings(database_url="postgresql+asyncpg://db.example/x", _env_file=None)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        settings.key_bytes()


async def test_the_core_does_not_start_on_a_server_without_a_key(tmp_path):
    settings = CoreSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db", _env_file=None)
    with pytest.raises(ConfigError):
        async with open_core(settings):
            pass


def test_a_short_secret_key_is_refused_without_echoing_it():
    with pytest.raises(ValidationError) as caught:
        CoreSettings(secret_key="short-key-abc", _env_file=None)
    assert "32 characters" in str(caught.value)
    assert "short-key-abc" not in str(caught.value)


def test_the_key_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://db.example/x")
    settings = CoreSettings(_env_file=None)
    assert settings.key_bytes() == STRONG.encode()
    assert STRONG not in repr(settings)


def test_the_embedded_default_generates_a_development_key_and_warns(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    settings = CoreSettings(_env_file=None)
    assert settings.embedded
    assert settings.effective_database_url.endswith("data/wangqian.db")
    key = settings.key_bytes()
    assert len(key) == 64
    assert (tmp_path / "data" / ".dev-secret-key").stat().st_mode & 0o077 == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("generated a development secret key" in w for w in warnings)
    assert all(key.decode() not in w for w in warnings)

    caplog.clear()
    assert CoreSettings(_env_file=None).key_bytes() == key
    assert any("development secret key" in r.getMessage() for r in caplog.records)


def test_serving_telegram_needs_an_sms_gateway_unless_the_console_is_chosen_on_purpose():
    for url in ("", "sqlite+aiosqlite:///x.db", "postgresql+asyncpg://db/x"):
        with pytest.raises(ConfigError, match="SMS_WEBHOOK_URL"):
            CoreSettings(_env_file=None, database_url=url).check_sms()
    CoreSettings(_env_file=None, sms_backend="console").check_sms()
    CoreSettings(_env_file=None, sms_webhook_url="http://127.0.0.1:9/").check_sms()
    with pytest.raises(ConfigError, match="needs SMS_WEBHOOK_URL"):
        CoreSettings(_env_file=None, sms_backend="webhook").check_sms()


def test_the_console_backend_is_built_only_for_a_local_database():
    from core.bootstrap import build_sms
    from core.sms import ConsoleSms, UnconfiguredSms

    assert isinstance(build_sms(CoreSettings(_env_file=None)), ConsoleSms)
    server = CoreSettings(_env_file=None, database_url="postgresql+asyncpg://db/x")
    assert isinstance(build_sms(server), UnconfiguredSms)


async def test_an_unconfigured_gateway_delivers_nothing_and_says_so(caplog):
    from core.bootstrap import build_sms

    sms = build_sms(CoreSettings(_env_file=None, database_url="postgresql+asyncpg://db/x"))
    with caplog.at_level(logging.ERROR):
        assert await sms.send("13800138000", "验证码 123456") is False
    assert "123456" not in caplog.text and "13800138000" not in caplog.text
