"""Export links for Telegram's ``downloadFile``: a short-lived URL whose path token is the
only credential, against the fake peers at the gRPC seam and the test Redis."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis.asyncio as redis
from quart import Quart
from quart.typing import TestClientProtocol as Client

from gateway.app import create_app
from gateway.state import EXTENSION, GatewayState
from tests.integration.gateway.conftest import SettingsFactory
from tests.integration.gateway.gateway_fakes import (
    ANALYST_USER_ID,
    CHANNEL_ID,
    UNKNOWN_CHANNEL_ID,
    USER_ID,
    VIEWER_ONLY_CHANNEL_ID,
    VIEWER_USER_ID,
    Peers,
)

BASE = f"/api/v1/channels/{CHANNEL_ID}"
CSV = b"message_id,views\n1,10\n2,20\n"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def state_of(app: Quart) -> GatewayState:
    state = app.extensions[EXTENSION]
    assert isinstance(state, GatewayState)
    return state


async def create_link(
    client: Client, token: str, channel_id: int = CHANNEL_ID, query: str = ""
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/channels/{channel_id}/export-links{query}", headers=auth(token)
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    body: dict[str, Any] = await response.get_json()
    return body


def path_of(url: str) -> str:
    return urlsplit(url).path


async def test_the_link_downloads_the_bearer_exports_csv_without_authorization(
    client: Client, peers: Peers
) -> None:
    token = peers.token()
    exported = await client.get(f"{BASE}/export.csv", headers=auth(token))
    assert exported.status_code == 200
    before = datetime.now(UTC).replace(microsecond=0)

    link = await create_link(client, token)

    assert link["file_name"] == f"channel-{CHANNEL_ID}-posts.csv"
    url = urlsplit(link["url"])
    assert (url.scheme, url.netloc) == ("http", "localhost")  # absolute: Telegram fetches it
    assert url.path.startswith("/api/v1/exports/exl_")
    expires_at = datetime.fromisoformat(link["expires_at"])
    assert before + timedelta(seconds=300) <= expires_at <= before + timedelta(seconds=301)
    checks_before = len(peers.log.tokens["CheckAccess"])

    downloaded = await client.get(url.path)

    assert downloaded.status_code == 200, await downloaded.get_data(as_text=True)
    assert await downloaded.get_data(as_text=False) == await exported.get_data(as_text=False)
    assert await downloaded.get_data(as_text=False) == CSV
    assert downloaded.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert downloaded.headers["Content-Disposition"] == (
        f'attachment; filename="channel-{CHANNEL_ID}-posts.csv"'
    )
    assert downloaded.headers["Cache-Control"] == "no-store"
    # Access was asked again at download time, and both peers saw the creator's token.
    assert peers.log.tokens["CheckAccess"][checks_before:] == [token]
    assert peers.log.tokens["ExportPostsCsv"][-1] == token


async def test_the_link_keeps_the_period_it_was_made_for(client: Client, peers: Peers) -> None:
    link = await create_link(
        client, peers.token(), query="?start=2025-02-01T00:00:00Z&end=2025-03-01T00:00:00Z"
    )
    assert (await client.get(path_of(link["url"]))).status_code == 200
    request = peers.analytics.requests[-1]
    assert request.channel_id == CHANNEL_ID
    assert request.period_start.ToDatetime(UTC) == datetime(2025, 2, 1, tzinfo=UTC)
    assert request.period_end.ToDatetime(UTC) == datetime(2025, 3, 1, tzinfo=UTC)


async def test_the_url_is_built_on_the_public_url(
    make_settings: SettingsFactory, peers: Peers
) -> None:
    app = create_app(make_settings(public_url="https://analytics.example.com"))
    async with app.test_app():
        link = await create_link(app.test_client(), peers.token())
    assert link["url"].startswith("https://analytics.example.com/api/v1/exports/exl_")


@pytest.mark.parametrize(
    ("user_id", "channel_id", "status", "code"),
    [
        (ANALYST_USER_ID, CHANNEL_ID, 201, None),
        (VIEWER_USER_ID, CHANNEL_ID, 403, "FORBIDDEN"),
        (USER_ID, VIEWER_ONLY_CHANNEL_ID, 403, "FORBIDDEN"),
        (USER_ID, UNKNOWN_CHANNEL_ID, 404, "CHANNEL_NOT_FOUND"),
    ],
)
async def test_making_a_link_needs_export_data(
    client: Client, peers: Peers, user_id: int, channel_id: int, status: int, code: str | None
) -> None:
    response = await client.post(
        f"/api/v1/channels/{channel_id}/export-links", headers=auth(peers.token(user_id))
    )
    assert response.status_code == status
    if code is not None:
        assert (await response.get_json())["code"] == code


async def test_no_link_without_a_user_token(client: Client, peers: Peers) -> None:
    anonymous = await client.post(f"{BASE}/export-links")
    assert anonymous.status_code == 401
    shared = await client.post(f"{BASE}/export-links", headers=auth(peers.share_token()))
    assert shared.status_code == 403
    assert (await shared.get_json())["code"] == "FORBIDDEN"


async def test_an_expired_link_is_refused(app: Quart, client: Client, peers: Peers) -> None:
    link = await create_link(client, peers.token())
    links = state_of(app).export_links
    links.clock = lambda: time.time() + 301
    response = await client.get(path_of(link["url"]))
    assert response.status_code == 401
    assert (await response.get_json())["code"] == "EXPORT_LINK_EXPIRED"
    assert "ExportPostsCsv" not in peers.log.tokens


async def test_the_ttl_is_configurable_and_never_outlives_the_access_token(
    make_settings: SettingsFactory, peers: Peers
) -> None:
    app = create_app(make_settings(export_link_ttl_seconds=60))
    async with app.test_app():
        client = app.test_client()
        now = time.time()
        configured = await create_link(client, peers.token())
        short_token = peers.token(ttl_seconds=30)
        capped = await create_link(client, short_token)
        dying = await client.post(f"{BASE}/export-links", headers=auth(peers.token(ttl_seconds=3)))
    assert abs(datetime.fromisoformat(configured["expires_at"]).timestamp() - (now + 60)) <= 2
    assert abs(datetime.fromisoformat(capped["expires_at"]).timestamp() - (now + 30)) <= 2
    # A link that would live only seconds: the Mini App signs in again and retries.
    assert dying.status_code == 401
    assert (await dying.get_json())["code"] == "UNAUTHENTICATED"


def tampered(path: str) -> str:
    last = path[-1]
    return path[:-1] + ("A" if last != "A" else "B")


def respelled(path: str) -> str:
    """The same 32 bytes spelled differently: the last character's 2 unused bits set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    value = alphabet.index(path[-1])
    return path[:-1] + alphabet[value ^ 1]


async def test_a_tampered_or_unknown_link_is_refused(client: Client, peers: Peers) -> None:
    path = path_of((await create_link(client, peers.token()))["url"])
    for bad in (
        tampered(path),
        respelled(path),
        path[:-1],
        path + "A",
        "/api/v1/exports/exl_" + "A" * 43,
        "/api/v1/exports/" + path.rsplit("/", 1)[1].removeprefix("exl_"),
    ):
        response = await client.get(bad)
        assert response.status_code == 401, bad
        assert (await response.get_json())["code"] == "EXPORT_LINK_INVALID", bad
    assert "ExportPostsCsv" not in peers.log.tokens


async def test_bearer_tokens_and_link_tokens_are_not_interchangeable(
    client: Client, peers: Peers
) -> None:
    token = peers.token()
    link_token = path_of((await create_link(client, token))["url"]).rsplit("/", 1)[1]

    as_link = await client.get(f"/api/v1/exports/{token}")
    assert as_link.status_code == 401
    assert (await as_link.get_json())["code"] == "EXPORT_LINK_INVALID"
    with_header = await client.get(f"/api/v1/exports/{peers.share_token()}", headers=auth(token))
    assert with_header.status_code == 401

    for path in (f"{BASE}/export.csv", f"{BASE}/overview", "/api/v1/channels"):
        as_bearer = await client.get(path, headers=auth(link_token))
        assert as_bearer.status_code == 401, path
        assert (await as_bearer.get_json())["code"] == "UNAUTHENTICATED"
    assert "ExportPostsCsv" not in peers.log.tokens


async def test_a_member_removed_after_making_the_link_cannot_download(
    client: Client, peers: Peers
) -> None:
    link = await create_link(client, peers.token(ANALYST_USER_ID))
    revoked = await client.delete(
        f"{BASE}/members/{ANALYST_USER_ID}", headers=auth(peers.token(USER_ID))
    )
    assert revoked.status_code == 200

    response = await client.get(path_of(link["url"]))

    assert response.status_code == 404
    assert (await response.get_json())["code"] == "CHANNEL_NOT_FOUND"
    assert "ExportPostsCsv" not in peers.log.tokens


async def test_redis_holds_no_usable_credential(
    make_settings: SettingsFactory, peers: Peers, redis_client: redis.Redis
) -> None:
    prefix = f"test:export-link:{uuid.uuid4().hex}"
    app = create_app(make_settings(export_link_key_prefix=prefix))
    token = peers.token()
    async with app.test_app():
        link = await create_link(app.test_client(), token)
    keys = [key async for key in redis_client.scan_iter(match=f"{prefix}:*")]
    assert len(keys) == 1
    link_token = link["url"].rsplit("/", 1)[1]
    stored = await redis_client.get(keys[0])
    assert stored is not None
    for secret in (token, link_token, link_token.removeprefix("exl_")):
        assert secret.encode() not in stored
        assert secret.encode() not in keys[0]
    assert b"access_token" not in stored
    assert 0 < await redis_client.pttl(keys[0]) <= (300 + 300) * 1000
    await redis_client.delete(*keys)


async def test_downloads_count_against_the_creators_rate_limit(
    make_settings: SettingsFactory, peers: Peers
) -> None:
    app = create_app(make_settings(rate_limit_per_user="3/minute"))
    async with app.test_app():
        client = app.test_client()
        link = await create_link(client, peers.token())  # 1
        assert (await client.get(path_of(link["url"]))).status_code == 200  # 2
        assert (await client.get(path_of(link["url"]))).status_code == 200  # 3
        limited = await client.get(path_of(link["url"]))
    assert limited.status_code == 429
    assert (await limited.get_json())["code"] == "RATE_LIMITED"
