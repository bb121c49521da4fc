"""The gateway over HTTP against real gRPC peers (fakes at the transport seam)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from analyticbot.runtime.tokens import SigningKey, TokenSigner
from gateway.app import create_app
from tests.integration.gateway.conftest import SettingsFactory
from tests.integration.gateway.gateway_fakes import (
    CHANNEL_ID,
    OTHER_USER_ID,
    UNKNOWN_CHANNEL_ID,
    USER_ID,
    VIEWER_ONLY_CHANNEL_ID,
    VIEWER_USER_ID,
    Peers,
)

METRIC_KEYS = {"value", "unavailable_reason"}
PERIOD_KEYS = {
    "start",
    "end",
    "posts",
    "subscribers_start",
    "subscribers_end",
    "subscriber_growth",
    "subscriber_growth_percent",
    "views_per_post",
    "forwards_per_post",
    "reactions_per_post",
    "replies_per_post",
    "posts_with_samples",
    "err",
    "err24",
    "er",
    "reach_12h",
    "reach_24h",
    "reach_48h",
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(client: Client) -> dict[str, Any]:
    """The Mini App's development login: fetch signed initData, exchange it."""
    dev = await client.get("/api/v1/dev/init-data")
    assert dev.status_code == 200
    init_data = (await dev.get_json())["init_data"]
    response = await client.post("/api/v1/auth/telegram", json={"init_data": init_data})
    assert response.status_code == 200, await response.get_data()
    body: dict[str, Any] = await response.get_json()
    return body


async def test_dev_login_then_exchange_gives_a_token_for_the_dev_user(
    client: Client,
) -> None:
    body = await login(client)
    assert set(body) == {"access_token", "expires_at", "user", "start_param"}
    assert body["user"] == {
        "user_id": USER_ID,
        "first_name": "Dev",
        "last_name": "",
        "username": "",
        "language_code": "en",
    }
    assert body["expires_at"].endswith("Z")
    assert body["access_token"].count(".") == 2


async def test_dev_init_data_carries_a_fresh_launch(client: Client) -> None:
    response = await client.get("/api/v1/dev/init-data")
    fields = dict(parse_qsl((await response.get_json())["init_data"]))
    assert set(fields) == {"auth_date", "query_id", "user", "hash"}
    assert '"id":1000001' in fields["user"]


async def test_forged_init_data_is_401_invalid_init_data(client: Client) -> None:
    dev = await client.get("/api/v1/dev/init-data")
    forged = (await dev.get_json())["init_data"].replace("1000001", "1000002")
    response = await client.post("/api/v1/auth/telegram", json={"init_data": forged})
    assert response.status_code == 401
    assert (await response.get_json())["code"] == "INVALID_INIT_DATA"


async def test_dev_login_is_absent_in_production(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings(env="production", dev_login=False))
    async with app.test_app():
        response = await app.test_client().get("/api/v1/dev/init-data")
        assert response.status_code == 404
        assert (await response.get_json())["code"] == "NOT_FOUND"
        spec = await (await app.test_client().get("/openapi.json")).get_json()
        assert "/api/v1/dev/init-data" not in spec["paths"]


async def test_channels_lists_the_callers_channels_with_lowercase_roles(
    client: Client, peers: Peers
) -> None:
    token = peers.token()
    response = await client.get("/api/v1/channels", headers=auth(token))
    assert response.status_code == 200
    channels = (await response.get_json())["channels"]
    assert {(c["channel_id"], c["role"]) for c in channels} == {
        (CHANNEL_ID, "owner"),
        (VIEWER_ONLY_CHANNEL_ID, "viewer"),
    }
    assert peers.log.tokens["ListMyChannels"] == [token]


async def test_overview_has_the_promised_shape(client: Client, peers: Peers) -> None:
    token = (await login(client))["access_token"]
    response = await client.get(
        f"/api/v1/channels/{CHANNEL_ID}/overview"
        "?start=2025-03-01T00:00:00%2B01:00&end=2025-03-08T00:00:00Z",
        headers=auth(token),
    )
    assert response.status_code == 200, await response.get_data()
    body = await response.get_json()
    assert set(body) == {"channel_id", "title", "data_as_of", "current", "previous"}
    assert body["channel_id"] == CHANNEL_ID
    assert body["data_as_of"] == "2025-03-07T23:55:00Z"
    for name in ("current", "previous"):
        assert set(body[name]) == PERIOD_KEYS
        for key in PERIOD_KEYS - {"start", "end", "posts", "posts_with_samples"}:
            assert set(body[name][key]) == METRIC_KEYS
    current, previous = body["current"], body["previous"]
    assert current["start"] == "2025-02-28T23:00:00Z"
    assert current["posts"] == 14
    assert current["views_per_post"] == {"value": 812.5, "unavailable_reason": None}
    assert previous["views_per_post"] == {"value": None, "unavailable_reason": "NO_POSTS"}
    # The token travelled to both services, and access was checked before analytics.
    assert peers.log.tokens["CheckAccess"] == [token]
    assert peers.log.tokens["GetChannelOverview"] == [token]
    sent = peers.analytics.requests[-1]
    assert sent.period_start.ToSeconds() == 1740783600


async def test_unencoded_plus_offset_in_the_query_is_accepted(client: Client, peers: Peers) -> None:
    response = await client.get(
        f"/api/v1/channels/{CHANNEL_ID}/overview?start=2025-03-01T00:00:00+01:00",
        headers=auth(peers.token()),
    )
    assert response.status_code == 200


async def test_naive_or_garbage_period_is_400_validation_error(
    client: Client, peers: Peers
) -> None:
    for query in ("start=2025-03-01T00:00:00", "end=yesterday"):
        response = await client.get(
            f"/api/v1/channels/{CHANNEL_ID}/overview?{query}", headers=auth(peers.token())
        )
        assert response.status_code == 400
        assert (await response.get_json())["code"] == "VALIDATION_ERROR"


async def test_unknown_channel_is_404_channel_not_found(client: Client, peers: Peers) -> None:
    response = await client.get(
        f"/api/v1/channels/{UNKNOWN_CHANNEL_ID}/overview", headers=auth(peers.token())
    )
    assert response.status_code == 404
    assert await response.get_json() == {
        "code": "CHANNEL_NOT_FOUND",
        "message": "channel not found",
    }
    assert "GetChannelOverview" not in peers.log.tokens


async def test_someone_elses_channel_is_404_and_analytics_is_never_called(
    client: Client, peers: Peers
) -> None:
    response = await client.get(
        f"/api/v1/channels/{CHANNEL_ID}/overview", headers=auth(peers.token(OTHER_USER_ID))
    )
    assert response.status_code == 404
    assert (await response.get_json())["code"] == "CHANNEL_NOT_FOUND"
    assert "GetChannelOverview" not in peers.log.tokens


async def test_a_role_too_low_is_403_forbidden(client: Client, peers: Peers) -> None:
    response = await client.get(
        f"/api/v1/channels/{VIEWER_ONLY_CHANNEL_ID}/overview", headers=auth(peers.token())
    )
    assert response.status_code == 403
    assert (await response.get_json())["code"] == "FORBIDDEN"
    assert "GetChannelOverview" not in peers.log.tokens


async def test_analytics_not_found_maps_to_channel_not_found(
    client: Client, peers: Peers, monkeypatch: Any
) -> None:
    # Access granted, but analytics has no such channel (e.g. not collected yet).
    from tests.integration.gateway import gateway_fakes

    monkeypatch.setitem(gateway_fakes.GRANTS[USER_ID], UNKNOWN_CHANNEL_ID, 4)
    monkeypatch.setitem(gateway_fakes.MINIMUM_ROLE, UNKNOWN_CHANNEL_ID, 1)
    response = await client.get(
        f"/api/v1/channels/{UNKNOWN_CHANNEL_ID}/overview", headers=auth(peers.token())
    )
    assert response.status_code == 404
    assert (await response.get_json())["code"] == "CHANNEL_NOT_FOUND"
    assert len(peers.log.tokens["GetChannelOverview"]) == 1


async def test_non_numeric_channel_id_is_400_with_a_code(client: Client, peers: Peers) -> None:
    for bad in ("abc", "12.5", "99999999999999999999", "%20"):
        response = await client.get(f"/api/v1/channels/{bad}/overview", headers=auth(peers.token()))
        assert response.status_code == 400, bad
        assert (await response.get_json())["code"] == "INVALID_CHANNEL_ID"


async def test_missing_token_is_401_with_a_challenge(client: Client) -> None:
    for path in ("/api/v1/channels", f"/api/v1/channels/{CHANNEL_ID}/overview"):
        response = await client.get(path)
        assert response.status_code == 401
        assert (await response.get_json())["code"] == "UNAUTHENTICATED"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_forged_tokens_are_401(client: Client, peers: Peers) -> None:
    # Signed by a key the auth service never published, with a kid it does not know.
    stranger = TokenSigner([SigningKey.generate()]).issue("access", str(USER_ID), 900)[0]
    header, payload, signature = peers.token().split(".")
    tampered = f"{header}.{payload[:-2]}AA.{signature}"
    for token in (stranger, tampered, "not-a-jwt", peers.token()[:-4]):
        response = await client.get("/api/v1/channels", headers=auth(token))
        assert response.status_code == 401, token
        assert (await response.get_json())["code"] == "UNAUTHENTICATED"
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert "ListMyChannels" not in peers.log.tokens


async def test_a_rotated_key_is_fetched_once_then_throttled(client: Client, peers: Peers) -> None:
    assert (await client.get("/api/v1/channels", headers=auth(peers.token()))).status_code == 200
    fetches = peers.log.jwks_fetches
    peers.auth.rotate()
    fresh = peers.token()
    assert (await client.get("/api/v1/channels", headers=auth(fresh))).status_code == 200
    assert peers.log.jwks_fetches == fetches + 1
    unknown = TokenSigner([SigningKey.generate()]).issue("access", str(USER_ID), 900)[0]
    for _ in range(3):
        assert (await client.get("/api/v1/channels", headers=auth(unknown))).status_code == 401
    assert peers.log.jwks_fetches == fetches + 1


async def test_security_headers_and_csp_on_every_response(client: Client) -> None:
    for path in ("/", "/api/v1/channels", "/healthz", "/nope/deeper", "/openapi.json"):
        response = await client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self' https://telegram.org" in csp
        assert "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"]
        assert "camera=()" in response.headers["Permissions-Policy"]
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_cross_origin_requests_get_no_cors_grant(client: Client) -> None:
    response = await client.options(
        "/api/v1/channels",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_mini_app_caching_and_fallback(client: Client) -> None:
    index = await client.get("/")
    assert index.status_code == 200
    assert index.headers["Cache-Control"] == "no-cache"
    asset = await client.get("/assets/index-3f2a1b.js")
    assert asset.status_code == 200
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    route = await client.get("/channels/123")
    assert route.status_code == 200
    assert route.headers["Cache-Control"] == "no-cache"
    assert await route.get_data() == await index.get_data()
    assert (await client.get("/favicon.svg")).status_code == 200
    missing = await client.get("/assets/missing-000.js")
    assert missing.status_code == 404
    assert (await missing.get_json())["code"] == "NOT_FOUND"
    api_miss = await client.get("/api/v1/nothing-here")
    assert api_miss.status_code == 404
    assert (await api_miss.get_json())["code"] == "NOT_FOUND"
    traversal = await client.get("/assets/../../etc/passwd")
    assert traversal.status_code == 404


async def test_oversize_body_is_413(client: Client) -> None:
    response = await client.post("/api/v1/auth/telegram", json={"init_data": "x" * (70 * 1024)})
    assert response.status_code == 413
    assert (await response.get_json())["code"] == "PAYLOAD_TOO_LARGE"


async def test_bad_bodies_are_4xx_with_a_code(client: Client) -> None:
    cases: list[dict[str, Any]] = [
        {"json": {}},
        {"json": {"init_data": ""}},
        {"json": {"init_data": 5}},
        {"data": "{not json", "headers": {"Content-Type": "application/json"}},
        {"data": "init_data=x", "headers": {"Content-Type": "text/plain"}},
    ]
    for case in cases:
        response = await client.post("/api/v1/auth/telegram", **case)
        assert 400 <= response.status_code < 500, case
        body = await response.get_json()
        assert set(body) == {"code", "message"}
        assert "Traceback" not in body["message"]
    wrong_method = await client.get("/api/v1/auth/telegram")
    assert wrong_method.status_code == 405
    assert (await wrong_method.get_json())["code"] == "METHOD_NOT_ALLOWED"


async def test_openapi_lists_the_endpoints(client: Client) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    paths = (await response.get_json())["paths"]
    for path in (
        "/api/v1/auth/telegram",
        "/api/v1/channels",
        "/api/v1/channels/{channel_id}/overview",
        "/api/v1/dev/init-data",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    assert "/metrics" not in paths
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "'sha256-" in docs.headers["Content-Security-Policy"]


async def test_health_readiness_and_metrics(client: Client, peers: Peers) -> None:
    assert await (await client.get("/healthz")).get_json() == {"status": "ok"}
    await client.get("/api/v1/channels", headers=auth(peers.token()))
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert (await ready.get_json())["status"] == "ok"
    assert (await ready.get_json())["checks"] == {
        "auth": "SERVING",
        "analytics": "SERVING",
        "keys": "LOADED",
        "redis": "SERVING",
    }
    metrics = await (await client.get("/metrics")).get_data(as_text=True)
    assert 'http_requests_total{method="GET",route="/api/v1/channels",status="200"}' in metrics
    assert "http_request_duration_seconds_bucket" in metrics


async def test_readiness_is_degraded_not_failed_and_calls_are_503_when_analytics_is_down(
    app: Quart, peers: Peers
) -> None:
    client = app.test_client()
    await client.get("/api/v1/channels", headers=auth(peers.token()))  # key set loaded
    await peers.analytics_server.stop(0)
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = await ready.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["analytics"] != "SERVING"
    response = await client.get(
        f"/api/v1/channels/{CHANNEL_ID}/overview", headers=auth(peers.token())
    )
    assert response.status_code == 503
    assert (await response.get_json())["code"] == "UNAVAILABLE"
    assert response.headers["Retry-After"].isdigit()


async def test_a_dashboard_read_survives_analytics_going_down_marked_stale(
    app: Quart, peers: Peers
) -> None:
    client = app.test_client()
    path = f"/api/v1/channels/{CHANNEL_ID}/overview"
    fresh = await client.get(path, headers=auth(peers.token()))
    assert fresh.status_code == 200
    assert "X-Cache" not in fresh.headers
    await asyncio.sleep(0.2)  # the copy is written in the background
    await peers.analytics_server.stop(0)
    stale = await client.get(path, headers=auth(peers.token()))
    assert stale.status_code == 200
    assert stale.headers["X-Cache"] == "stale"
    assert (await stale.get_json()) == (await fresh.get_json())


async def test_api_paths_never_fall_back_to_the_mini_app(client: Client) -> None:
    for path in ("/api", "/api/", "/api/v2/overview"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert (await response.get_json())["code"] == "NOT_FOUND"
    assert (await client.get("/apiary")).headers["Cache-Control"] == "no-cache"
    wrong_method = await client.get("/api/v1/auth/telegram")
    assert wrong_method.headers["Allow"]


async def test_while_auth_is_down_reads_are_authorized_by_analytics_alone(
    app: Quart, peers: Peers
) -> None:
    """A user's dashboard read goes on to analytics, which checks the same grants (a
    channel it refuses stays 404); share links and other permissions get the 503."""
    client = app.test_client()
    base = f"/api/v1/channels/{CHANNEL_ID}"
    share_token = peers.share_token(peers.share_link())
    # The key set is loaded once auth has answered (tokens are then verified locally).
    assert (await client.get(f"{base}/overview", headers=auth(peers.token()))).status_code == 200
    await peers.auth_server.stop(0)
    fresh = await client.get(f"{base}/overview", headers=auth(peers.token()))
    assert fresh.status_code == 200
    assert "X-Cache" not in fresh.headers
    refused = await client.get(
        f"/api/v1/channels/{UNKNOWN_CHANNEL_ID}/overview", headers=auth(peers.token())
    )
    assert refused.status_code == 404
    shared = await client.get(f"{base}/overview", headers=auth(share_token))
    assert shared.status_code == 503
    export = await client.get(f"{base}/export.csv", headers=auth(peers.token()))
    assert export.status_code == 503


@pytest.mark.parametrize(("window", "expected"), [(300.0, 200), (0.0, 503)])
async def test_with_auth_and_analytics_down_a_recently_allowed_user_gets_the_stale_copy(
    make_settings: SettingsFactory, peers: Peers, window: float, expected: int
) -> None:
    """The stale copy needs a gateway-side access decision: a user auth allowed on the
    channel within ``stale_access_seconds`` has one; a user auth never allowed here, or
    anyone once the window is 0, gets the 503."""
    path = f"/api/v1/channels/{CHANNEL_ID}/overview"
    app = create_app(make_settings(stale_access_seconds=window))
    async with app.test_app():
        client = app.test_client()
        fresh = await client.get(path, headers=auth(peers.token()))
        assert fresh.status_code == 200
        await asyncio.sleep(0.2)  # the copy is written in the background
        await peers.auth_server.stop(0)
        await peers.analytics_server.stop(0)
        stale = await client.get(path, headers=auth(peers.token()))
        stranger = await client.get(path, headers=auth(peers.token(VIEWER_USER_ID)))
    assert stale.status_code == expected
    if expected == 200:
        assert stale.headers["X-Cache"] == "stale"
        assert (await stale.get_json()) == (await fresh.get_json())
    assert stranger.status_code == 503
