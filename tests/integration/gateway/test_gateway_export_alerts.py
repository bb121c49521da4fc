"""The CSV export (streamed, never buffered) and alert rules over HTTP, against the
fake peers at the gRPC seam."""

from __future__ import annotations

import asyncio
from typing import cast

from quart.testing import connections
from quart.typing import TestClientProtocol as Client

from tests.integration.gateway.gateway_fakes import (
    CHANNEL_ID,
    VIEWER_USER_ID,
    Peers,
)

BASE = f"/api/v1/channels/{CHANNEL_ID}"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_export_streams_chunks_before_the_fake_produced_the_last(
    client: Client, peers: Peers
) -> None:
    fake = peers.analytics
    fake.export_chunks = 50
    fake.export_gate.clear()  # the fake stops before its last chunk until released
    async with client.request(f"{BASE}/export.csv", headers=auth(peers.token())) as opened:
        conn = cast(connections.TestHTTPConnection, opened)
        await conn.send_complete()
        first = await asyncio.wait_for(conn.receive(), 5)
        assert first.startswith(b"message_id,views\n")
        assert conn.status_code == 200
        assert conn.headers is not None
        assert conn.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert conn.headers["Content-Disposition"] == (
            f'attachment; filename="channel-{CHANNEL_ID}-posts.csv"'
        )
        assert fake.export_produced < fake.export_chunks  # streamed, not buffered
        fake.export_gate.set()
        body = first
        while True:
            try:
                body += await asyncio.wait_for(conn.receive(), 5)
            except (EOFError, asyncio.CancelledError):
                break
            if fake.export_produced == fake.export_chunks and body.endswith(b"49,490\n"):
                break
    lines = body.decode().splitlines()
    assert lines[0] == "message_id,views"
    assert lines[-1] == "49,490"
    assert len(lines) == 50


async def test_export_needs_export_data(client: Client, peers: Peers) -> None:
    response = await client.get(f"{BASE}/export.csv", headers=auth(peers.token(VIEWER_USER_ID)))
    assert response.status_code == 403
    assert await response.get_json() == {
        "code": "FORBIDDEN",
        "message": "the viewer role may not export data",
    }
    assert "ExportPostsCsv" not in peers.log.tokens


async def test_export_refused_by_analytics_is_a_json_error(client: Client, peers: Peers) -> None:
    peers.analytics.denied_subjects.add("1000001")
    response = await client.get(f"{BASE}/export.csv", headers=auth(peers.token()))
    assert response.status_code == 403
    assert (await response.get_json())["code"] == "FORBIDDEN"


async def test_alert_rules_create_list_delete(client: Client, peers: Peers) -> None:
    token = peers.token()
    created = await client.post(
        f"{BASE}/alert-rules",
        json={"kind": "subscriber_drop", "threshold": 7.5},
        headers=auth(token),
    )
    assert created.status_code == 201, await created.get_data()
    rule = await created.get_json()
    assert rule == {
        "rule_id": 1,
        "channel_id": CHANNEL_ID,
        "kind": "subscriber_drop",
        "threshold": 7.5,
        "created_at": "2025-03-08T00:00:00Z",
    }
    default = await client.post(
        f"{BASE}/alert-rules", json={"kind": "post_viral"}, headers=auth(token)
    )
    assert not peers.analytics.requests[-1].HasField("threshold")
    assert (await default.get_json())["kind"] == "post_viral"
    listed = await (await client.get(f"{BASE}/alert-rules", headers=auth(token))).get_json()
    assert [r["rule_id"] for r in listed["rules"]] == [1, 2]
    deleted = await client.delete(f"{BASE}/alert-rules/1", headers=auth(token))
    assert deleted.status_code == 204
    assert await deleted.get_data() == b""
    again = await client.delete(f"{BASE}/alert-rules/1", headers=auth(token))
    assert (again.status_code, (await again.get_json())["code"]) == (404, "ALERT_RULE_NOT_FOUND")


async def test_alert_rule_validation_and_permission(client: Client, peers: Peers) -> None:
    for body in ({"kind": "ALERT_KIND_POST_VIRAL"}, {"kind": "post_viral", "threshold": 0}):
        response = await client.post(f"{BASE}/alert-rules", json=body, headers=auth(peers.token()))
        assert (response.status_code, (await response.get_json())["code"]) == (
            400,
            "VALIDATION_ERROR",
        )
    viewer = auth(peers.token(VIEWER_USER_ID))
    refused = await client.post(f"{BASE}/alert-rules", json={"kind": "post_viral"}, headers=viewer)
    assert refused.status_code == 403
    assert (await client.get(f"{BASE}/alert-rules", headers=viewer)).status_code == 200
    assert (await client.delete(f"{BASE}/alert-rules/1", headers=viewer)).status_code == 403
    assert "CreateAlertRule" not in peers.log.tokens


async def test_alerts_page_newest_first_with_a_cursor(client: Client, peers: Peers) -> None:
    token = peers.token()
    page = await (await client.get(f"{BASE}/alerts?limit=2", headers=auth(token))).get_json()
    assert [a["sequence"] for a in page["alerts"]] == [3, 2]
    assert page["alerts"][0]["kind"] == "post_viral"
    assert page["alerts"][0]["data"] == {"performance_index": 2.5}
    assert page["next_cursor"] == "2"
    rest = await (
        await client.get(f"{BASE}/alerts?limit=2&cursor=2", headers=auth(token))
    ).get_json()
    assert rest["alerts"][0]["message_id"] is None  # about the channel
    assert rest["alerts"][0]["kind"] == "subscriber_drop"
    assert rest["next_cursor"] is None
