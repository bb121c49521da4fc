"""Settings fail at boot with the variable's name; logs are JSON and never show secrets."""

from __future__ import annotations

import json
import logging

import pytest

from analyticbot.runtime.errors import ConfigError
from analyticbot.runtime.logging import configure_logging
from analyticbot.runtime.settings import CommonSettings, load_settings


def test_missing_required_settings_name_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(ConfigError) as caught:
        load_settings(CommonSettings)
    assert "DATABASE_URL" in str(caught.value)
    assert "REDIS_URL" in str(caught.value)


def test_bad_value_is_reported_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:hunter2secret@db/x")
    monkeypatch.setenv("REDIS_URL", "redis://r")
    monkeypatch.setenv("ANALYTICBOT_ENV", "staging")
    with pytest.raises(ConfigError) as caught:
        load_settings(CommonSettings)
    assert "ANALYTICBOT_ENV" in str(caught.value)
    assert "hunter2secret" not in str(caught.value)


def test_settings_are_frozen_and_secrets_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:hunter2secret@db/x")
    monkeypatch.setenv("REDIS_URL", "redis://r")
    settings = load_settings(CommonSettings)
    assert "hunter2secret" not in repr(settings)
    assert settings.database_url.get_secret_value().endswith("@db/x")
    with pytest.raises(ValueError, match="frozen"):
        settings.log_level = "DEBUG"


def test_redis_names_live_in_the_deployments_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("REDIS_URL", "redis://r")
    plain = load_settings(CommonSettings)
    assert plain.redis_name("ab:events:ingest") == "ab:events:ingest"
    monkeypatch.setenv("ANALYTICBOT_REDIS_NAMESPACE", "staging-2")
    assert load_settings(CommonSettings).redis_name("ab:alerts") == "staging-2:ab:alerts"
    # A namespace that would split or glob a name is refused at start.
    monkeypatch.setenv("ANALYTICBOT_REDIS_NAMESPACE", "a:b*")
    with pytest.raises(ConfigError, match="ANALYTICBOT_REDIS_NAMESPACE"):
        load_settings(CommonSettings)


def test_logs_are_json_with_secrets_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("testsvc", secrets=["123456:ABCDEF-token"])
    try:
        logging.getLogger("x").warning("calling with token %s", "123456:ABCDEF-token")
        line = capsys.readouterr().err.strip().splitlines()[-1]
        record = json.loads(line)
        assert record["service"] == "testsvc"
        assert record["level"] == "WARNING"
        assert "ABCDEF" not in line
        assert record["message"] == "calling with token ***"
    finally:
        logging.getLogger().handlers.clear()


def test_export_link_tokens_are_masked_in_every_log(capsys: pytest.CaptureFixture[str]) -> None:
    token = "exl_" + "Ab1-_" * 8 + "xyz"
    configure_logging("testsvc")
    try:
        logging.getLogger("x").warning("GET %s failed", f"https://h/api/v1/exports/{token}")
        record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert record["message"] == "GET https://h/api/v1/exports/exl_*** failed"
    finally:
        logging.getLogger().handlers.clear()
