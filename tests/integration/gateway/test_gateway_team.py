"""Members and invites over HTTP against the fake peers at the gRPC seam: who may manage
the team, invites from creation to acceptance, and refusals mapped to stable codes."""

from __future__ import annotations

from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client

from gateway.app import create_app
from tests.integration.gateway.conftest import SettingsFactory
from tests.integration.gateway.gateway_fakes import (
    ADMIN_USER_ID,
    ANALYST_USER_ID,
    CHANNEL_ID,
    OTHER_USER_ID,
    USER_ID,
    VIEWER_USER_ID,
    Peers,
)

BASE = f"/api/v1/channels/{CHANNEL_ID}"
# Every team route: method, path, body.
TEAM_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "members", None),
    ("DELETE", f"members/{VIEWER_USER_ID}", None),
    ("GET", "invites", None),
    ("POST", "invites", {"role": "viewer"}),
    ("DELETE", "invites/1", None),
    ("GET", "share-links", None),
    ("POST", "share-links", {}),
    ("DELETE", "share-links/1", None),
]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def call(client: Client, method: str, path: str, token: str | None, body: Any = None) -> Any:
    kwargs: dict[str, Any] = {"headers": auth(token) if token else {}}
    if body is not None:
        kwargs["json"] = body
    return await client.open(path, method=method, **kwargs)


@pytest.mark.parametrize(("method", "path", "body"), TEAM_ROUTES)
async def test_viewers_and_analysts_are_403_strangers_404(
    client: Client, peers: Peers, method: str, path: str, body: Any
) -> None:
    for user, status, code in (
        (VIEWER_USER_ID, 403, "FORBIDDEN"),
        (ANALYST_USER_ID, 403, "FORBIDDEN"),
        (OTHER_USER_ID, 404, "CHANNEL_NOT_FOUND"),
    ):
        response = await call(client, method, f"{BASE}/{path}", peers.token(user), body)
        assert response.status_code == status, (user, path)
        assert (await response.get_json())["code"] == code
    unauthenticated = await call(client, method, f"{BASE}/{path}", None, body)
    assert unauthenticated.status_code == 401
    # Refused before any team call reached auth.
    managed = {"ListMembers", "RevokeGrant", "ListInvites", "CreateInvite", "RevokeInvite"}
    managed |= {"ListShareLinks", "CreateShareLink", "RevokeShareLink"}
    assert managed.isdisjoint(peers.log.tokens)


async def test_an_admin_lists_members_with_roles_sources_and_revocability(
    client: Client, peers: Peers
) -> None:
    response = await client.get(f"{BASE}/members", headers=auth(peers.token(ADMIN_USER_ID)))
    assert response.status_code == 200
    members = {m["user_id"]: m for m in (await response.get_json())["members"]}
    assert {uid: (m["role"], m["source"], m["revocable"]) for uid, m in members.items()} == {
        USER_ID: ("owner", "telegram", False),
        ADMIN_USER_ID: ("admin", "telegram", False),
        ANALYST_USER_ID: ("analyst", "invite", True),
        VIEWER_USER_ID: ("viewer", "invite", True),
    }
    assert members[USER_ID]["granted_at"].endswith("Z")


async def test_revoking_a_viewer_takes_their_access_and_owners_are_409(
    client: Client, peers: Peers
) -> None:
    admin = peers.token(ADMIN_USER_ID)
    viewer = peers.token(VIEWER_USER_ID)
    assert (await client.get(f"{BASE}/overview", headers=auth(viewer))).status_code == 200
    revoked = await client.delete(f"{BASE}/members/{VIEWER_USER_ID}", headers=auth(admin))
    assert revoked.status_code == 200
    assert await revoked.get_json() == {"revoked": True}
    assert (await client.get(f"{BASE}/overview", headers=auth(viewer))).status_code == 404

    again = await client.delete(f"{BASE}/members/{VIEWER_USER_ID}", headers=auth(admin))
    assert again.status_code == 404
    assert (await again.get_json())["code"] == "MEMBER_NOT_FOUND"

    owner = await client.delete(f"{BASE}/members/{USER_ID}", headers=auth(admin))
    assert owner.status_code == 409
    body = await owner.get_json()
    assert body["code"] == "GRANT_NOT_REVOCABLE"
    assert "Telegram" in body["message"]

    bad = await client.delete(f"{BASE}/members/abc", headers=auth(admin))
    assert (bad.status_code, (await bad.get_json())["code"]) == (400, "INVALID_USER_ID")


async def test_invite_created_accepted_then_used_up(client: Client, peers: Peers) -> None:
    admin = peers.token(ADMIN_USER_ID)
    created = await client.post(
        f"{BASE}/invites",
        json={"role": "analyst", "single_use": True, "valid_for_seconds": 3600},
        headers=auth(admin),
    )
    assert created.status_code == 201
    body = await created.get_json()
    assert set(body) == {"invite", "payload", "url"}
    assert body["payload"].startswith("inv_")
    assert body["url"] is None  # no bot username / app short name configured
    invite = body["invite"]
    assert (invite["role"], invite["single_use"], invite["uses"]) == ("analyst", True, 0)
    assert invite["created_by"] == ADMIN_USER_ID
    assert invite["expires_at"].endswith("Z")

    listed = await (await client.get(f"{BASE}/invites", headers=auth(admin))).get_json()
    assert [i["invite_id"] for i in listed["invites"]] == [invite["invite_id"]]
    assert "payload" not in listed["invites"][0]

    newcomer = peers.token(OTHER_USER_ID)
    assert (await client.get(f"{BASE}/overview", headers=auth(newcomer))).status_code == 404
    accepted = await client.post(
        "/api/v1/invites/accept", json={"payload": body["payload"]}, headers=auth(newcomer)
    )
    assert accepted.status_code == 200
    assert await accepted.get_json() == {
        "channel_id": CHANNEL_ID,
        "role": "analyst",
        "title": f"Channel {CHANNEL_ID}",
    }
    assert (await client.get(f"{BASE}/overview", headers=auth(newcomer))).status_code == 200

    used = await client.post(
        "/api/v1/invites/accept", json={"payload": body["payload"]}, headers=auth(newcomer)
    )
    assert used.status_code == 409
    assert (await used.get_json())["code"] == "INVITE_UNUSABLE"


async def test_invite_comes_with_a_telegram_link_when_the_bot_is_known(
    make_settings: SettingsFactory, peers: Peers
) -> None:
    app = create_app(make_settings(bot_username="AnalyticDemoBot", bot_app_short_name="stats"))
    async with app.test_app():
        response = await app.test_client().post(
            f"{BASE}/invites", json={"role": "viewer"}, headers=auth(peers.token())
        )
        body = await response.get_json()
    assert response.status_code == 201
    assert body["url"] == f"https://t.me/AnalyticDemoBot/stats?startapp={body['payload']}"


async def test_invites_are_revoked_within_their_channel_only(client: Client, peers: Peers) -> None:
    admin = peers.token(ADMIN_USER_ID)
    created = await client.post(f"{BASE}/invites", json={"role": "viewer"}, headers=auth(admin))
    invite_id = (await created.get_json())["invite"]["invite_id"]
    # The owner also holds a role on another channel: the path must name the invite's own.
    elsewhere = await client.delete(
        f"/api/v1/channels/-1009999/invites/{invite_id}", headers=auth(peers.token())
    )
    assert elsewhere.status_code in (403, 404)
    revoked = await client.delete(f"{BASE}/invites/{invite_id}", headers=auth(admin))
    assert (revoked.status_code, await revoked.get_json()) == (200, {"revoked": True})
    gone = await client.delete(f"{BASE}/invites/{invite_id}", headers=auth(admin))
    assert (gone.status_code, (await gone.get_json())["code"]) == (404, "INVITE_NOT_FOUND")


async def test_invite_bodies_are_validated(client: Client, peers: Peers) -> None:
    admin = auth(peers.token(ADMIN_USER_ID))
    for body in (
        {"role": "admin"},
        {"role": "owner"},
        {"role": "viewer", "valid_for_seconds": 59},
        {"role": "viewer", "valid_for_seconds": 31 * 86400},
        {},
    ):
        response = await client.post(f"{BASE}/invites", json=body, headers=admin)
        assert response.status_code == 400, body
        assert (await response.get_json())["code"] == "VALIDATION_ERROR"
    long = await client.post("/api/v1/invites/accept", json={"payload": "x" * 65}, headers=admin)
    assert long.status_code == 400
