"""Client addresses behind proxies, limit parsing, Retry-After and settings without a
database."""

from __future__ import annotations

from typing import Any

import pytest

from analyticbot.runtime.errors import ConfigError
from analyticbot.runtime.settings import load_settings
from gateway.config import GatewaySettings
from gateway.keys import public_keys
from gateway.ratelimit import client_address, parse_limits, rate_limited, storage_uri

BASE: dict[str, Any] = {
    "redis_url": "redis://localhost/0",
    "auth_addr": "auth:50051",
    "analytics_addr": "analytics:50051",
}


def test_without_a_trusted_proxy_forwarded_for_is_ignored() -> None:
    assert client_address("192.0.2.7", ["203.0.113.9"], 0) == "192.0.2.7"


def test_the_outermost_trusted_proxy_names_the_client() -> None:
    # The client wrote "1.1.1.1"; the one proxy in front appended what it saw.
    assert client_address("10.0.0.2", ["1.1.1.1, 203.0.113.9"], 1) == "203.0.113.9"
    # Two proxies: the second from the right is what the outer one saw.
    assert client_address("10.0.0.2", ["1.1.1.1, 203.0.113.9, 10.0.0.5"], 2) == "203.0.113.9"
    # Several header lines are one list.
    assert client_address("10.0.0.2", ["1.1.1.1", "203.0.113.9"], 1) == "203.0.113.9"


def test_fewer_hops_than_proxies_falls_back_to_the_peer() -> None:
    assert client_address("192.0.2.7", ["203.0.113.9"], 2) == "192.0.2.7"
    assert client_address("192.0.2.7", [], 1) == "192.0.2.7"


def test_ipv6_counts_per_64_and_garbage_shares_one_bucket() -> None:
    assert client_address("2001:db8:1:2:aaaa::1", [], 0) == "2001:db8:1:2::/64"
    assert client_address("2001:db8:1:2:bbbb::9", [], 0) == "2001:db8:1:2::/64"
    assert client_address("::ffff:192.0.2.1", [], 0) == "192.0.2.1"
    assert client_address("10.0.0.2", ["not-an-ip"], 1) == "unknown"
    assert client_address(None, [], 0) == "unknown"


def test_limits_parse_and_refuse_nonsense() -> None:
    assert [str(item) for item in parse_limits("20/minute;200/hour")] == [
        "20 per 1 minute",
        "200 per 1 hour",
    ]
    for bad in ("", "fast", "0/minute"):
        with pytest.raises(ValueError, match="rate limit"):
            parse_limits(bad)


def test_bad_limit_settings_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="ANALYTICBOT_RATE_LIMIT_AUTH_PER_IP"):
        GatewaySettings(**BASE, rate_limit_auth_per_ip="lots")
    with pytest.raises(ConfigError, match="ANALYTICBOT_TRUSTED_PROXY_COUNT"):
        GatewaySettings(**BASE, trusted_proxy_count=-1)


def test_retry_after_is_whole_seconds_and_never_zero() -> None:
    for seconds, expected in ((0.0, "1"), (-3.0, "1"), (0.2, "1"), (1.0, "1"), (41.3, "42")):
        error = rate_limited(seconds)
        assert (error.status, error.code) == (429, "RATE_LIMITED")
        assert error.headers["Retry-After"] == expected


def test_storage_uri_names_the_same_server() -> None:
    assert storage_uri("redis://h:6379/2") == "async+redis://h:6379/2"
    assert storage_uri("rediss://:pw@h/0") == "async+rediss://:pw@h/0"
    assert storage_uri("unix:///run/redis.sock?db=1") == "async+redis+unix:///run/redis.sock?db=1"


def test_the_gateway_needs_no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("ANALYTICBOT_DATABASE_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", BASE["redis_url"])
    monkeypatch.setenv("ANALYTICBOT_AUTH_ADDR", "auth:1")
    monkeypatch.setenv("ANALYTICBOT_ANALYTICS_ADDR", "analytics:2")
    settings = load_settings(GatewaySettings)
    assert not hasattr(settings, "database_url")
    assert settings.trusted_proxy_count == 0


def test_only_public_members_of_accepted_keys_are_republished() -> None:
    jwks = {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": "A",
                "d": "SECRET",
                "kid": "k1",
                "alg": "EdDSA",
            },
            {"kty": "OKP", "crv": "Ed25519", "x": "BBB", "kid": "ignored"},
            "not-a-key",
        ]
    }
    assert public_keys(jwks, accepted={"k1"}) == [
        {"kty": "OKP", "crv": "Ed25519", "x": "A", "kid": "k1", "alg": "EdDSA"}
    ]
