"""Identical dashboard reads in flight together share one analytics call, while auth is
asked for every request (no grant relay is heard here, so no answer of auth's is
remembered: that is test_access_cache's): a role change or a revoked share link applies
to the very next read, and no read gets an answer from a call sent before it arrived."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from quart import Quart

from gateway.app import create_app
from tests.integration.gateway.conftest import SettingsFactory
from tests.integration.gateway.gateway_fakes import (
    ANALYST_USER_ID,
    CHANNEL_ID,
    USER_ID,
    VIEWER_USER_ID,
    Peers,
)

OVERVIEW = f"/api/v1/channels/{CHANNEL_ID}/overview"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def calls(peers: Peers, method: str) -> int:
    return len(peers.log.tokens.get(method, []))


async def until(condition: Any) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in 2 s")


async def read(app: Quart, token: str) -> tuple[int, Any]:
    response = await app.test_client().get(OVERVIEW, headers=auth(token))
    return response.status_code, await response.get_json()


async def test_reads_in_flight_together_share_the_next_call_not_an_earlier_one(
    app: Quart, peers: Peers
) -> None:
    peers.analytics.overview_gate.clear()
    first = asyncio.create_task(read(app, peers.token()))
    await until(lambda: calls(peers, "GetChannelOverview") == 1)
    # The data changes while the first call is in flight: later reads must see it.
    peers.analytics.overview_title = "after the change"
    later = [asyncio.create_task(read(app, peers.token())) for _ in range(5)]
    await until(lambda: calls(peers, "CheckAccess") == 6)
    peers.analytics.overview_gate.set()
    status, body = await first
    assert (status, body["title"]) == (200, "Test channel")
    for status, body in await asyncio.gather(*later):
        assert (status, body["title"]) == (200, "after the change")
    assert calls(peers, "GetChannelOverview") == 2
    assert calls(peers, "CheckAccess") == 6


async def test_reads_one_after_another_each_ask_analytics(app: Quart, peers: Peers) -> None:
    for _ in range(3):
        assert (await read(app, peers.token()))[0] == 200
    assert calls(peers, "GetChannelOverview") == 3


async def test_a_removed_grant_applies_to_a_read_arriving_while_a_call_is_in_flight(
    app: Quart, peers: Peers
) -> None:
    peers.analytics.overview_gate.clear()
    first = asyncio.create_task(read(app, peers.token()))
    await until(lambda: calls(peers, "GetChannelOverview") == 1)
    peers.auth.removed.add((USER_ID, CHANNEL_ID))
    status, body = await read(app, peers.token())
    assert (status, body["code"]) == (404, "CHANNEL_NOT_FOUND")
    peers.analytics.overview_gate.set()
    assert (await first)[0] == 200
    assert calls(peers, "GetChannelOverview") == 1


async def test_a_revoked_share_link_applies_to_a_read_arriving_while_a_call_is_in_flight(
    app: Quart, peers: Peers
) -> None:
    link = peers.share_link()
    shared = peers.share_token(link)
    peers.analytics.overview_gate.clear()
    first = asyncio.create_task(read(app, peers.token()))
    await until(lambda: calls(peers, "GetChannelOverview") == 1)
    link.link.revoked_at.FromDatetime(datetime.now(UTC))
    status, body = await read(app, shared)
    assert (status, body["code"]) == (401, "SHARE_LINK_REVOKED")
    peers.analytics.overview_gate.set()
    assert (await first)[0] == 200


async def test_a_call_refused_to_its_sender_is_not_passed_on(app: Quart, peers: Peers) -> None:
    """The shared call carries its sender's token; when analytics refuses that token,
    the reads that joined it send their own call, with their own token."""
    peers.analytics.overview_gate.clear()
    busy = asyncio.create_task(read(app, peers.token()))
    await until(lambda: calls(peers, "GetChannelOverview") == 1)
    sender = asyncio.create_task(read(app, peers.token(VIEWER_USER_ID)))
    await until(lambda: calls(peers, "CheckAccess") == 2)
    joiner = asyncio.create_task(read(app, peers.token(ANALYST_USER_ID)))
    await until(lambda: calls(peers, "CheckAccess") == 3)
    peers.analytics.denied_subjects.add(str(VIEWER_USER_ID))
    peers.analytics.overview_gate.set()
    assert (await busy)[0] == 200
    assert (await sender)[0] == 403
    assert (await joiner)[0] == 200
    assert calls(peers, "GetChannelOverview") == 3
    assert peers.log.tokens["GetChannelOverview"][2] == peers.log.tokens["CheckAccess"][2]


async def test_sharing_can_be_turned_off(make_settings: SettingsFactory, peers: Peers) -> None:
    app = create_app(make_settings(share_concurrent_reads=False))
    async with app.test_app():
        peers.analytics.overview_gate.clear()
        reads = [asyncio.create_task(read(app, peers.token())) for _ in range(3)]
        await until(lambda: calls(peers, "GetChannelOverview") == 3)
        peers.analytics.overview_gate.set()
        assert [status for status, _ in await asyncio.gather(*reads)] == [200, 200, 200]
