"""Gateway settings, local token verification with key refetching, CSP and dev login."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from pydantic import SecretStr

from analyticbot.runtime.errors import ConfigError
from analyticbot.runtime.settings import load_settings
from analyticbot.runtime.tokens import SigningKey, TokenSigner
from gateway.api.dev import dev_init_data
from gateway.config import GatewaySettings
from gateway.errors import APIError
from gateway.keys import KeyRing, bearer_token
from gateway.security import content_security_policy, docs_policy

BASE: dict[str, Any] = {
    "database_url": "postgresql://x@localhost/db",
    "redis_url": "redis://localhost/0",
    "auth_addr": "auth:50051",
    "analytics_addr": "analytics:50051",
}


def test_production_refuses_the_dev_login() -> None:
    with pytest.raises(ConfigError, match="ANALYTICBOT_DEV_LOGIN"):
        GatewaySettings(**BASE, env="production", dev_login=True, dev_bot_token=SecretStr("1:abc"))


def test_dev_login_needs_a_bot_token() -> None:
    with pytest.raises(ConfigError, match="ANALYTICBOT_DEV_BOT_TOKEN"):
        GatewaySettings(**BASE, env="development", dev_login=True)


def test_settings_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", BASE["database_url"])
    monkeypatch.setenv("REDIS_URL", BASE["redis_url"])
    monkeypatch.setenv("ANALYTICBOT_AUTH_ADDR", "auth:1")
    monkeypatch.setenv("ANALYTICBOT_ANALYTICS_ADDR", "analytics:2")
    monkeypatch.setenv("ANALYTICBOT_HTTP_PORT", "9090")
    settings = load_settings(GatewaySettings)
    assert (settings.auth_addr, settings.analytics_addr, settings.http_port) == (
        "auth:1",
        "analytics:2",
        9090,
    )
    assert settings.dev_login is False
    assert settings.env == "production"


def test_missing_peer_address_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", BASE["database_url"])
    monkeypatch.setenv("REDIS_URL", BASE["redis_url"])
    monkeypatch.delenv("ANALYTICBOT_AUTH_ADDR", raising=False)
    monkeypatch.setenv("ANALYTICBOT_ANALYTICS_ADDR", "analytics:2")
    with pytest.raises(ConfigError, match="ANALYTICBOT_AUTH_ADDR"):
        load_settings(GatewaySettings)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeJwksSource:
    """The auth service's key set, counted."""

    def __init__(self) -> None:
        self.signer = TokenSigner([SigningKey.generate()])
        self.fetches = 0
        self.down = False

    async def __call__(self) -> dict[str, Any]:
        self.fetches += 1
        if self.down:
            raise APIError(503, "UNAVAILABLE", "down")
        return self.signer.jwks()

    def token(self) -> str:
        return self.signer.issue("access", "77", 60)[0]


async def test_first_use_loads_keys_and_verifies() -> None:
    source = FakeJwksSource()
    ring = KeyRing(source)
    principal = await ring.verify(source.token())
    assert principal.user_id == 77
    assert source.fetches == 1


async def test_unknown_kid_refetches_at_most_once_per_interval() -> None:
    source, clock = FakeJwksSource(), Clock()
    ring = KeyRing(source, min_refresh_seconds=30, clock=clock)
    await ring.refresh()
    source.signer = TokenSigner([SigningKey.generate()])
    rotated = source.token()
    assert (await ring.verify(rotated)).user_id == 77
    assert source.fetches == 2
    forged = TokenSigner([SigningKey.generate()]).issue("access", "77", 60)[0]
    for _ in range(5):
        with pytest.raises(APIError) as caught:
            await ring.verify(forged)
        assert caught.value.status == 401
    assert source.fetches == 2
    clock.now += 31
    with pytest.raises(APIError):
        await ring.verify(forged)
    assert source.fetches == 3


async def test_no_key_set_yet_is_503_not_401() -> None:
    source = FakeJwksSource()
    source.down = True
    with pytest.raises(APIError) as caught:
        await KeyRing(source).verify(source.token())
    assert caught.value.status == 503


async def test_load_until_ready_retries() -> None:
    source = FakeJwksSource()
    source.down = True

    async def recover() -> dict[str, Any]:
        if source.fetches == 2:
            source.down = False
        return await source()

    ring = KeyRing(recover)
    await ring.load_until_ready(first_delay=0.001)
    assert ring.loaded
    assert source.fetches == 3


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic abc", "token abc"])
def test_malformed_authorization_is_401(header: str | None) -> None:
    with pytest.raises(APIError) as caught:
        bearer_token(header)
    assert caught.value.status == 401
    assert "WWW-Authenticate" in caught.value.headers


def test_bearer_scheme_is_case_insensitive() -> None:
    assert bearer_token("bearer a.b.c") == "a.b.c"


def test_csp_lets_telegram_frame_the_app_without_inline_code() -> None:
    csp = content_security_policy("https://analytics.example.com")
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    assert directives["script-src"] == "'self' https://telegram.org"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["connect-src"] == "'self' wss://analytics.example.com"
    assert "https://web.telegram.org" in directives["frame-ancestors"]
    assert "unsafe" not in csp


def test_docs_policy_allows_exactly_its_inline_script() -> None:
    script = b"const ui = SwaggerUIBundle({});"
    expected = hashlib.sha256(script).digest()
    policy = docs_policy(b"<body><script>" + script + b"</script></body>")
    assert f"'sha256-{base64.b64encode(expected).decode()}'" in policy
    assert "unsafe-inline" not in policy


def test_dev_init_data_follows_telegrams_signature_rule() -> None:
    # Independent of analyticbot.runtime.initdata: the rule from core.telegram.org.
    bot_token = "123456:ABC"
    fields = dict(parse_qsl(dev_init_data(1000001, bot_token, now=1_741_392_000)))
    given = fields.pop("hash")
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    assert given == hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    assert fields["auth_date"] == "1741392000"
    assert json.loads(fields["user"]) == {"id": 1000001, "first_name": "Dev", "language_code": "en"}
    assert fields["query_id"]
