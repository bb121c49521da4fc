"""Share links over HTTP and the WebSocket against the fake peers at the gRPC seam:
management by admins, the exchange without a login, what a share token may read and
what it may not, revocation on the next request, rate limits, and the ``/s`` page."""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client

from gateway.app import create_app
from tests.integration.gateway.conftest import SettingsFactory
from tests.integration.gateway.gateway_fakes import (
    ADMIN_USER_ID,
    CHANNEL_ID,
    VIEWER_ONLY_CHANNEL_ID,
    VIRAL_POST_ID,
    Peers,
)
from tests.integration.gateway.test_gateway_live import closed_with, receive

BASE = f"/api/v1/channels/{CHANNEL_ID}"
READS = (
    "overview",
    "compare?first_start=2025-03-01T00:00:00Z&first_end=2025-03-08T00:00:00Z"
    "&second_start=2025-02-22T00:00:00Z&second_end=2025-03-01T00:00:00Z",
    "posts",
    f"posts/{VIRAL_POST_ID}",
    "best-time",
    "subscribers",
    "native-stats",
)
REFUSED: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
    ("GET", "export.csv", None),
    ("GET", "alert-rules", None),
    ("POST", "alert-rules", {"kind": "subscriber_drop"}),
    ("DELETE", "alert-rules/1", None),
    ("GET", "alerts", None),
    ("GET", "members", None),
    ("GET", "invites", None),
    ("POST", "invites", {"role": "viewer"}),
    ("GET", "share-links", None),
    ("POST", "share-links", {}),
)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def some_ip() -> dict[str, str]:
    return {"X-Forwarded-For": f"10.9.{random.randrange(256)}.{random.randrange(1, 255)}"}


async def exchange(client: Client, token: str) -> Any:
    return await client.post("/api/v1/share/exchange", json={"token": token})


async def test_an_admin_creates_lists_and_revokes_a_link(client: Client, peers: Peers) -> None:
    admin = auth(peers.token(ADMIN_USER_ID))
    created = await client.post(f"{BASE}/share-links", json={"ttl_seconds": 3600}, headers=admin)
    assert created.status_code == 201
    body = await created.get_json()
    assert set(body) == {"link", "token", "url"}
    assert body["token"].startswith("shr_")
    assert len(body["token"]) == 47
    assert body["url"] == f"http://localhost/s#{body['token']}"
    link = body["link"]
    assert (link["channel_id"], link["created_by"], link["status"]) == (
        CHANNEL_ID,
        ADMIN_USER_ID,
        "active",
    )
    assert (link["revoked_at"], link["last_used_at"]) == (None, None)
    expires = datetime.fromisoformat(link["expires_at"])
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)

    listed = await (await client.get(f"{BASE}/share-links", headers=admin)).get_json()
    assert [lk["link_id"] for lk in listed["links"]] == [link["link_id"]]
    assert "token" not in listed["links"][0]

    path = f"{BASE}/share-links/{link['link_id']}"
    first = await client.delete(path, headers=admin)
    assert (first.status_code, await first.get_json()) == (200, {"revoked": True})
    second = await client.delete(path, headers=admin)
    assert (second.status_code, await second.get_json()) == (200, {"revoked": False})
    assert (await (await client.get(f"{BASE}/share-links", headers=admin)).get_json()) == {
        "links": []
    }
    inactive = await client.get(f"{BASE}/share-links?include_inactive=true", headers=admin)
    [revoked] = (await inactive.get_json())["links"]
    assert revoked["status"] == "revoked"
    assert revoked["revoked_at"].endswith("Z")

    unknown = await client.delete(f"{BASE}/share-links/999", headers=admin)
    assert (unknown.status_code, (await unknown.get_json())["code"]) == (
        404,
        "SHARE_LINK_NOT_FOUND",
    )
    bad = await client.delete(f"{BASE}/share-links/x1", headers=admin)
    assert (bad.status_code, (await bad.get_json())["code"]) == (400, "INVALID_LINK_ID")


async def test_the_url_uses_the_public_origin_when_configured(
    make_settings: SettingsFactory, peers: Peers
) -> None:
    app = create_app(make_settings(public_url="https://analytics.example.com"))
    async with app.test_app():
        response = await app.test_client().post(
            f"{BASE}/share-links", json={}, headers=auth(peers.token())
        )
    body = await response.get_json()
    assert body["url"] == f"https://analytics.example.com/s#{body['token']}"


async def test_too_many_links_is_409_and_bad_ttls_are_400(client: Client, peers: Peers) -> None:
    owner = auth(peers.token())
    peers.auth.max_live_links = 1
    assert (await client.post(f"{BASE}/share-links", json={}, headers=owner)).status_code == 201
    full = await client.post(f"{BASE}/share-links", json={}, headers=owner)
    assert full.status_code == 409
    assert (await full.get_json())["code"] == "TOO_MANY_SHARE_LINKS"
    short = await client.post(f"{BASE}/share-links", json={"ttl_seconds": 59}, headers=owner)
    assert (short.status_code, (await short.get_json())["code"]) == (400, "VALIDATION_ERROR")
    peers.auth.max_live_links = 100
    long = await client.post(f"{BASE}/share-links", json={"ttl_seconds": 40 * 86400}, headers=owner)
    assert (long.status_code, (await long.get_json())["code"]) == (400, "INVALID_ARGUMENT")


async def test_an_exchanged_token_reads_its_channel_like_a_viewer(
    client: Client, peers: Peers
) -> None:
    link = peers.share_link()
    response = await exchange(client, link.token)
    assert response.status_code == 200
    body = await response.get_json()
    assert body["channel_id"] == CHANNEL_ID
    assert body["channel"] == {
        "channel_id": CHANNEL_ID,
        "title": f"Channel {CHANNEL_ID}",
        "username": "sharedchannel",
    }
    assert body["expires_at"].endswith("Z")
    assert body["link_expires_at"].endswith("Z")
    assert response.headers["Cache-Control"] == "no-store"
    token = body["access_token"]
    for path in READS:
        read = await client.get(f"{BASE}/{path}", headers=auth(token))
        assert read.status_code == 200, path
    channels = await client.get("/api/v1/channels", headers=auth(token))
    assert (await channels.get_json())["channels"] == [
        {
            "channel_id": CHANNEL_ID,
            "title": "Test channel",
            "username": "",
            "role": "viewer",
            "shared": True,
        }
    ]
    assert "ListMyChannels" not in peers.log.tokens


async def test_a_share_token_is_refused_everywhere_else(client: Client, peers: Peers) -> None:
    token = peers.share_token()
    for method, path, body in REFUSED:
        kwargs: dict[str, Any] = {"headers": auth(token)}
        if body is not None:
            kwargs["json"] = body
        response = await client.open(f"{BASE}/{path}", method=method, **kwargs)
        assert response.status_code == 403, path
        assert (await response.get_json())["code"] == "FORBIDDEN"
    other = await client.get(
        f"/api/v1/channels/{VIEWER_ONLY_CHANNEL_ID}/overview", headers=auth(token)
    )
    assert (other.status_code, (await other.get_json())["code"]) == (404, "CHANNEL_NOT_FOUND")
    accept = await client.post(
        "/api/v1/invites/accept", json={"payload": "inv_x"}, headers=auth(token)
    )
    assert accept.status_code == 403
    # Refused by the gateway itself: no peer was asked.
    assert set(peers.log.tokens) == set()
    assert peers.analytics.requests == []


async def test_revoking_a_link_ends_its_tokens_on_the_next_request(
    client: Client, peers: Peers
) -> None:
    link = peers.share_link()
    token = (await (await exchange(client, link.token)).get_json())["access_token"]
    assert (await client.get(f"{BASE}/overview", headers=auth(token))).status_code == 200
    admin = auth(peers.token(ADMIN_USER_ID))
    path = f"{BASE}/share-links/{link.link.link_id}"
    assert (await client.delete(path, headers=admin)).status_code == 200

    for read in ("overview", "posts"):
        refused = await client.get(f"{BASE}/{read}", headers=auth(token))
        assert refused.status_code == 401
        assert (await refused.get_json())["code"] == "SHARE_LINK_REVOKED"
    listed = await client.get("/api/v1/channels", headers=auth(token))
    assert (listed.status_code, (await listed.get_json())["code"]) == (401, "SHARE_LINK_REVOKED")

    again = await exchange(client, link.token)
    assert again.status_code == 401
    assert (await again.get_json())["code"] == "SHARE_LINK_REVOKED"
    assert 'error="invalid_token"' in again.headers["WWW-Authenticate"]


async def test_expired_and_unknown_links_have_their_own_codes(client: Client, peers: Peers) -> None:
    expired = peers.share_link()
    expired.link.expires_at.FromDatetime(datetime.now(UTC) - timedelta(seconds=1))
    for secret, code in (
        (expired.token, "SHARE_LINK_EXPIRED"),
        ("shr_" + "A" * 43, "SHARE_LINK_UNKNOWN"),
        ("not-a-share-link", "SHARE_LINK_UNKNOWN"),
    ):
        response = await exchange(client, secret)
        assert response.status_code == 401, secret
        assert (await response.get_json())["code"] == code
    for body in ({}, {"token": ""}, {"token": "x" * 65}, {"token": 5}):
        refused = await client.post("/api/v1/share/exchange", json=body)
        assert (refused.status_code, (await refused.get_json())["code"]) == (
            400,
            "VALIDATION_ERROR",
        )


async def test_secrets_never_reach_the_logs(
    client: Client, peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    link = peers.share_link()
    peers.auth.share_links[link.link.link_id].link.revoked_at.FromDatetime(datetime.now(UTC))
    await exchange(client, link.token)
    await exchange(client, "shr_" + "B" * 43)
    created = await client.post(f"{BASE}/share-links", json={}, headers=auth(peers.token()))
    invite = await client.post(
        f"{BASE}/invites", json={"role": "viewer"}, headers=auth(peers.token())
    )
    secrets = [link.token, "shr_" + "B" * 43, (await created.get_json())["token"]]
    secrets.append((await invite.get_json())["payload"])
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert all(secret not in logged for secret in secrets)


async def test_the_exchange_is_limited_per_ip_and_per_link(
    make_settings: SettingsFactory, peers: Peers
) -> None:
    app = create_app(
        make_settings(
            trusted_proxy_count=1,
            rate_limit_share_exchange_per_ip="2/minute",
            rate_limit_share_exchange_per_link="3/minute",
        )
    )
    link = peers.share_link()
    async with app.test_app():
        client = app.test_client()
        ip = some_ip()
        for _ in range(2):
            ok = await client.post("/api/v1/share/exchange", json={"token": link.token}, headers=ip)
            assert ok.status_code == 200
        refused = await client.post(
            "/api/v1/share/exchange", json={"token": link.token}, headers=ip
        )
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        # A third address may still exchange, once: the link's own budget is 3.
        third = await client.post(
            "/api/v1/share/exchange", json={"token": link.token}, headers=some_ip()
        )
        assert third.status_code == 200
        spent = await client.post(
            "/api/v1/share/exchange", json={"token": link.token}, headers=some_ip()
        )
        assert (spent.status_code, (await spent.get_json())["code"]) == (429, "RATE_LIMITED")
        other = peers.share_link()
        fresh = await client.post(
            "/api/v1/share/exchange", json={"token": other.token}, headers=some_ip()
        )
        assert fresh.status_code == 200
    assert len(peers.log.exchanged) == 4  # refused exchanges never reached auth


async def test_share_page_is_served_unframed_unreferred_and_unindexed(client: Client) -> None:
    shared = await client.get("/s")
    assert shared.status_code == 200
    assert b"/assets/index-3f2a1b.js" in await shared.get_data()
    assert shared.headers["Referrer-Policy"] == "no-referrer"
    assert shared.headers["X-Robots-Tag"] == "noindex"
    assert "frame-ancestors 'none'" in shared.headers["Content-Security-Policy"]
    app_page = await client.get("/")
    assert "X-Robots-Tag" not in app_page.headers
    assert "https://web.telegram.org" in app_page.headers["Content-Security-Policy"]


async def test_a_share_token_watches_its_channel_until_the_link_is_revoked(
    make_settings: SettingsFactory, peers: Peers
) -> None:
    app = create_app(
        make_settings(websocket_heartbeat_seconds=0.1, websocket_access_recheck_seconds=0.1)
    )
    link = peers.share_link()
    token = peers.share_token(link)
    async with app.test_app():
        client = app.test_client()
        other = f"/api/v1/channels/{VIEWER_ONLY_CHANNEL_ID}/live"
        async with client.websocket(other) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert await closed_with(ws) == 4404
        async with client.websocket(f"{BASE}/live") as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert (await receive(ws))["type"] == "ready"
            assert (await receive(ws))["kind"] == "initial"
            link.link.revoked_at.FromDatetime(datetime.now(UTC))
            assert await closed_with(ws) == 4401
