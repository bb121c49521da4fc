"""Collector settings: production refuses the simulator with a clear message."""

from __future__ import annotations

import pytest

from analyticbot.runtime.errors import ConfigError
from services.collector.config import load_collector_settings


@pytest.fixture(autouse=True)
def stores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.invalid/x")
    monkeypatch.setenv("REDIS_URL", "redis://cache.invalid/0")
    monkeypatch.setenv("ANALYTICBOT_AUTH_ADDR", "auth.invalid:50053")


def test_production_refuses_the_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICBOT_ENV", "production")
    monkeypatch.setenv("ANALYTICBOT_COLLECTOR_SOURCE", "simulator")
    with pytest.raises(ConfigError, match="ANALYTICBOT_COLLECTOR_SOURCE=simulator"):
        load_collector_settings()


def test_development_reads_simulator_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICBOT_ENV", "development")
    monkeypatch.setenv("ANALYTICBOT_COLLECTOR_SIMULATOR_CHANNELS", "5")
    monkeypatch.setenv("ANALYTICBOT_COLLECTOR_GRPC_PORT", "0")
    settings = load_collector_settings()
    assert (settings.source, settings.simulator_channels, settings.grpc_port) == ("simulator", 5, 0)


def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICBOT_ENV", "development")
    monkeypatch.setenv("ANALYTICBOT_COLLECTOR_SIMULATOR_SPEED", "fast")
    with pytest.raises(ConfigError, match="ANALYTICBOT_COLLECTOR_SIMULATOR_SPEED"):
        load_collector_settings()


def test_telegram_source_names_every_missing_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICBOT_ENV", "production")
    monkeypatch.setenv("ANALYTICBOT_COLLECTOR_SOURCE", "telegram")
    monkeypatch.setenv("ANALYTICBOT_TELEGRAM_API_ID", "12345")
    with pytest.raises(ConfigError) as caught:
        load_collector_settings()
    assert "ANALYTICBOT_TELEGRAM_API_HASH" in str(caught.value)
    assert "ANALYTICBOT_SESSION_KEY" in str(caught.value)
    assert "ANALYTICBOT_TELEGRAM_API_ID," not in str(caught.value)


def test_authorization_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICBOT_ENV", "development")
    monkeypatch.setenv("ANALYTICBOT_SUPERADMINS", "1, 2")
    settings = load_collector_settings()
    assert settings.superadmins == frozenset({1, 2})
    assert settings.trusted_services == frozenset({"bot", "gateway"})
