"""Rate limits (real Redis), the JWKS endpoint and request shape limits, over HTTP.

Every test counts under its own Redis key prefix (see ``make_settings``) and uses
random user ids and addresses, so runs sharing one Redis never disturb each other.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from gateway.app import create_app
from tests.integration.gateway.conftest import SettingsFactory
from tests.integration.gateway.gateway_fakes import Peers

AppFactory = Callable[..., Any]


def some_ip() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def some_user() -> int:
    return random.randrange(10**9, 2 * 10**9)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def started(make_settings: SettingsFactory) -> Callable[..., Any]:
    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Quart]:
        app = create_app(make_settings(**overrides))
        async with app.test_app():
            yield app

    return start


def assert_rate_limited(response: Any, body: dict[str, Any], *, window: int) -> None:
    assert response.status_code == 429
    assert body["code"] == "RATE_LIMITED"
    assert set(body) == {"code", "message"}
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= window


async def test_each_user_has_a_limit_of_their_own(started: Any, peers: Peers) -> None:
    async with started(rate_limit_per_user="3/minute") as app:
        client = app.test_client()
        first, second = peers.token(some_user()), peers.token(some_user())
        for _ in range(3):
            assert (await client.get("/api/v1/channels", headers=bearer(first))).status_code == 200
        refused = await client.get("/api/v1/channels", headers=bearer(first))
        assert_rate_limited(refused, await refused.get_json(), window=60)
        assert "Content-Security-Policy" in refused.headers
        assert (await client.get("/api/v1/channels", headers=bearer(second))).status_code == 200


async def test_each_client_ip_has_a_limit_behind_a_trusted_proxy(started: Any) -> None:
    async with started(rate_limit_per_ip="3/minute", trusted_proxy_count=1) as app:
        client = app.test_client()
        ip = some_ip()
        for _ in range(3):
            # The client may prepend anything; the proxy's own entry (rightmost) counts.
            forwarded = {"X-Forwarded-For": f"{some_ip()}, {ip}"}
            response = await client.get("/api/v1/channels", headers=forwarded)
            assert response.status_code == 401
        refused = await client.get("/api/v1/channels", headers={"X-Forwarded-For": ip})
        assert_rate_limited(refused, await refused.get_json(), window=60)
        other = await client.get("/api/v1/channels", headers={"X-Forwarded-For": some_ip()})
        assert other.status_code == 401


async def test_an_authenticated_read_counts_against_its_user_not_its_ip(
    started: Any, peers: Peers
) -> None:
    async with started(rate_limit_per_ip="3/minute", trusted_proxy_count=1) as app:
        client = app.test_client()
        ip = {"X-Forwarded-For": some_ip()}
        token = bearer(peers.token(some_user()))
        # The first read verifies the token, so it counts per IP too; the next ones only
        # per user (the user's limit is far off).
        for _ in range(5):
            assert (
                await client.get("/api/v1/channels", headers={**ip, **token})
            ).status_code == 200
        forged = bearer(peers.token(some_user())[:-4] + "AAAA")
        statuses = [
            (await client.get("/api/v1/channels", headers={**ip, **forged})).status_code
            for _ in range(3)
        ]
        assert statuses == [401, 401, 429]


async def test_a_known_token_on_a_route_that_never_verifies_it_counts_the_ip(
    started: Any, peers: Peers
) -> None:
    async with started(rate_limit_per_ip="2/minute", trusted_proxy_count=1) as app:
        client = app.test_client()
        headers = {"X-Forwarded-For": some_ip(), **bearer(peers.token(some_user()))}
        assert (await client.get("/api/v1/channels", headers=headers)).status_code == 200
        assert (await client.get("/.well-known/jwks.json", headers=headers)).status_code == 200
        refused = await client.get("/.well-known/jwks.json", headers=headers)
        assert_rate_limited(refused, await refused.get_json(), window=60)
        assert "Content-Security-Policy" in refused.headers


async def test_forwarded_for_is_ignored_without_a_trusted_proxy(started: Any) -> None:
    async with started(rate_limit_per_ip="2/minute") as app:
        client = app.test_client()
        statuses = [
            (
                await client.get("/api/v1/channels", headers={"X-Forwarded-For": some_ip()})
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [401, 401, 429]


async def test_the_login_has_a_stricter_limit_than_reads(started: Any, peers: Peers) -> None:
    async with started(rate_limit_auth_per_ip="2/minute", trusted_proxy_count=1) as app:
        client = app.test_client()
        ip = {"X-Forwarded-For": some_ip()}
        for _ in range(2):
            response = await client.post(
                "/api/v1/auth/telegram", json={"init_data": "auth_date=1&hash=00"}, headers=ip
            )
            assert response.status_code == 401
        refused = await client.post(
            "/api/v1/auth/telegram", json={"init_data": "auth_date=1&hash=00"}, headers=ip
        )
        assert_rate_limited(refused, await refused.get_json(), window=60)
        read = await client.get("/api/v1/channels", headers={**ip, **bearer(peers.token())})
        assert read.status_code == 200


async def test_a_limit_resets_after_its_window(started: Any, peers: Peers) -> None:
    async with started(rate_limit_per_user="2/second") as app:
        client = app.test_client()
        token = peers.token(some_user())
        for _ in range(2):
            assert (await client.get("/api/v1/channels", headers=bearer(token))).status_code == 200
        refused = await client.get("/api/v1/channels", headers=bearer(token))
        assert_rate_limited(refused, await refused.get_json(), window=1)
        await asyncio.sleep(int(refused.headers["Retry-After"]) + 0.1)
        assert (await client.get("/api/v1/channels", headers=bearer(token))).status_code == 200


async def test_probes_and_the_mini_app_are_not_counted(started: Any) -> None:
    async with started(rate_limit_per_ip="1/minute") as app:
        client = app.test_client()
        for _ in range(3):
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/")).status_code == 200


async def test_redis_down_reads_pass_and_the_login_is_refused(
    started: Any, peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = "redis://:secret-password@127.0.0.1:1/0"
    with caplog.at_level(logging.WARNING, logger="gateway.ratelimit"):
        async with started(redis_url=unreachable, rate_limit_per_user="1/minute") as app:
            client = app.test_client()
            for _ in range(3):
                read = await client.get("/api/v1/channels", headers=bearer(peers.token()))
                assert read.status_code == 200
            login = await client.post("/api/v1/auth/telegram", json={"init_data": "a=b&hash=0"})
            assert login.status_code == 503
            assert (await login.get_json())["code"] == "UNAVAILABLE"
            assert login.headers["Retry-After"].isdigit()
    warnings = [r for r in caplog.records if r.name == "gateway.ratelimit"]
    assert len(warnings) == 1, "one line per outage, not one per request"
    assert "unreachable" in warnings[0].getMessage()
    assert "secret-password" not in caplog.text


async def test_jwks_is_the_verifying_key_set_with_caching(client: Client, peers: Peers) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Content-Type"].startswith("application/json")
    body = await response.get_json()
    assert body == peers.auth.signer.jwks()
    assert all("d" not in key for key in body["keys"])
    # A token signed with the published key is what the gateway accepts.
    assert (await client.get("/api/v1/channels", headers=bearer(peers.token()))).status_code == 200


async def test_jwks_is_503_while_auth_never_answered(
    make_settings: SettingsFactory, peers: Peers
) -> None:
    await peers.auth_server.stop(0)
    app = create_app(make_settings())
    async with app.test_app():
        response = await app.test_client().get("/.well-known/jwks.json")
        assert response.status_code == 503
        assert (await response.get_json())["code"] == "UNAVAILABLE"


async def test_request_shape_limits(client: Client, peers: Peers) -> None:
    long_query = await client.get("/api/v1/channels?x=" + "a" * 3000)
    assert long_query.status_code == 414
    assert (await long_query.get_json())["code"] == "URI_TOO_LONG"
    big_headers = await client.get("/api/v1/channels", headers={"X-Padding": "a" * 17000})
    assert big_headers.status_code == 431
    assert (await big_headers.get_json())["code"] == "HEADERS_TOO_LARGE"
    body_on_get = await client.get(
        "/api/v1/channels", json={"channels": []}, headers=bearer(peers.token())
    )
    assert body_on_get.status_code == 400
    assert (await body_on_get.get_json())["code"] == "BODY_NOT_ALLOWED"
    not_utf8 = await client.post(
        "/api/v1/auth/telegram",
        data=b'{"init_data": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert not_utf8.status_code == 400
    assert (await not_utf8.get_json())["code"] == "VALIDATION_ERROR"


async def test_openapi_declares_the_shared_error_responses(client: Client) -> None:
    spec = await (await client.get("/openapi.json")).get_json()
    login = spec["paths"]["/api/v1/auth/telegram"]["post"]["responses"]
    assert {"400", "401", "413", "414", "429", "431", "500", "503"} <= set(login)
    assert login["429"]["headers"]["Retry-After"]["required"] is True
    overview = spec["paths"]["/api/v1/channels/{channel_id}/overview"]["get"]["responses"]
    assert "WWW-Authenticate" in overview["401"]["headers"]
    assert "429" not in spec["paths"]["/healthz"]["get"]["responses"]
    error = login["429"]["content"]["application/json"]["schema"]
    assert error["required"] == ["code", "message"]
