"""The analytics service reads its port from its own variable and fails clearly on bad input."""

from __future__ import annotations

import pytest

from analyticbot.runtime.errors import ConfigError
from analyticbot.runtime.settings import load_settings
from services.analytics.config import DEFAULT_GRPC_PORT, AnalyticsSettings


@pytest.fixture(autouse=True)
def stores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.invalid/analytics")
    monkeypatch.setenv("REDIS_URL", "redis://redis.invalid/0")
    monkeypatch.setenv("ANALYTICBOT_AUTH_ADDR", "auth.invalid:50053")
    monkeypatch.delenv("ANALYTICBOT_ANALYTICS_GRPC_PORT", raising=False)


def test_grpc_port_defaults_and_reads_its_own_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(AnalyticsSettings).grpc_port == DEFAULT_GRPC_PORT
    monkeypatch.setenv("ANALYTICBOT_ANALYTICS_GRPC_PORT", "61000")
    assert load_settings(AnalyticsSettings).grpc_port == 61000


def test_a_bad_port_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICBOT_ANALYTICS_GRPC_PORT", "70000")
    with pytest.raises(ConfigError, match=r"\n  ANALYTICBOT_ANALYTICS_GRPC_PORT: "):
        load_settings(AnalyticsSettings)


def test_missing_database_url_stops_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("ANALYTICBOT_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match=r"\n  DATABASE_URL: Field required"):
        load_settings(AnalyticsSettings)


def test_missing_auth_address_stops_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANALYTICBOT_AUTH_ADDR")
    with pytest.raises(ConfigError, match=r"\n  ANALYTICBOT_AUTH_ADDR: Field required"):
        load_settings(AnalyticsSettings)


def test_superadmins_and_trusted_services_are_comma_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANALYTICBOT_SUPERADMINS", "1, 22,")
    monkeypatch.setenv("ANALYTICBOT_ANALYTICS_TRUSTED_SERVICES", "bot,collector")
    settings = load_settings(AnalyticsSettings)
    assert settings.superadmins == frozenset({1, 22})
    assert settings.trusted_services == frozenset({"bot", "collector"})
