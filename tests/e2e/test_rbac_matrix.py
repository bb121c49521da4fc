"""Role by endpoint by channel: nobody gets a 2xx they have no right to.

Against the stack as a user starts it: real auth, analytics, collector and gateway. Test
users sign in with initData signed by the development bot token (the same launch path as
Telegram's), hold one role on channel A and nothing on channel B, and call every gateway
endpoint and, directly, the gRPC services with their own tokens.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import grpc
import httpx
import pytest

from analyticbot.analytics.v1 import alerts_pb2, analytics_pb2, analytics_pb2_grpc, posts_pb2
from analyticbot.auth.v1 import auth_pb2, auth_pb2_grpc
from analyticbot.collector.v1 import collector_pb2, collector_pb2_grpc
from analyticbot.runtime.initdata import sign_init_data
from analyticbot.runtime.rbac import Role
from tests.e2e.conftest import Stack

CHANNEL_A = 9_000_000_000
CHANNEL_B = 9_000_000_001
USERS = {
    "owner": 2_100_000_001,
    "admin": 2_100_000_002,
    "analyst": 2_100_000_003,
    "viewer": 2_100_000_004,
    "stranger": 2_100_000_005,
}
ROLE = {
    "owner": Role.OWNER,
    "admin": Role.ADMIN,
    "analyst": Role.ANALYST,
    "viewer": Role.VIEWER,
    "stranger": None,
}


def _login(stack: Stack, user_id: int) -> str:
    bot_token = (stack.data_dir / "dev-bot-token").read_text().strip()
    fields = {
        "auth_date": str(int(time.time())),
        "query_id": f"Q{user_id}",
        "user": json.dumps({"id": user_id, "first_name": f"U{user_id}"}),
    }
    with stack.api() as client:
        reply = client.post(
            "/api/v1/auth/telegram", json={"init_data": sign_init_data(fields, bot_token)}
        )
    return str(reply.raise_for_status().json()["access_token"])


@pytest.fixture(scope="module")
def tokens(stack: Stack) -> dict[str, str]:
    """A token per test user; every user but the stranger holds its role on channel A."""
    issued = {name: _login(stack, user_id) for name, user_id in USERS.items()}

    async def grant() -> None:
        conn = await asyncpg.connect(stack.database_url)
        try:
            for name, role in ROLE.items():
                if role is not None:
                    await conn.execute(
                        """INSERT INTO grants (user_id, channel_id, role) VALUES ($1, $2, $3)
                           ON CONFLICT (user_id, channel_id) DO UPDATE SET role = $3""",
                        USERS[name],
                        CHANNEL_A,
                        role.label,
                    )
        finally:
            await conn.close()

    import asyncio

    asyncio.run(grant())
    return issued


@pytest.fixture(scope="module")
def message_id(stack: Stack) -> int:
    """A published post of channel A."""
    token = _login(stack, 1_000_001)  # the development user owns the simulated channels
    deadline = time.monotonic() + 120
    with stack.api() as client:
        while True:
            reply = client.get(
                f"/api/v1/channels/{CHANNEL_A}/posts", headers={"Authorization": f"Bearer {token}"}
            )
            posts = reply.raise_for_status().json()["posts"]
            if posts:
                return int(posts[0]["message_id"])
            assert time.monotonic() < deadline, "channel A has no posts after 120 s"
            time.sleep(1)


# (method, path template, body, minimum role)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, Role]] = [
    ("GET", "/api/v1/channels/{c}/overview", None, Role.VIEWER),
    (
        "GET",
        "/api/v1/channels/{c}/compare?first_start=2026-01-01T00:00:00Z"
        "&first_end=2026-01-08T00:00:00Z&second_start=2026-01-08T00:00:00Z"
        "&second_end=2026-01-15T00:00:00Z",
        None,
        Role.VIEWER,
    ),
    ("GET", "/api/v1/channels/{c}/posts", None, Role.VIEWER),
    ("GET", "/api/v1/channels/{c}/posts/{m}", None, Role.VIEWER),
    ("GET", "/api/v1/channels/{c}/best-time", None, Role.VIEWER),
    ("GET", "/api/v1/channels/{c}/subscribers", None, Role.VIEWER),
    ("GET", "/api/v1/channels/{c}/native-stats", None, Role.VIEWER),
    ("GET", "/api/v1/channels/{c}/alert-rules", None, Role.VIEWER),
    ("GET", "/api/v1/channels/{c}/alerts", None, Role.VIEWER),
    ("GET", "/api/v1/channels/{c}/export.csv", None, Role.ANALYST),
    ("POST", "/api/v1/channels/{c}/export-links", None, Role.ANALYST),
    ("POST", "/api/v1/channels/{c}/alert-rules", {"kind": "subscriber_drop"}, Role.ANALYST),
]


@pytest.mark.parametrize("user", list(USERS))
def test_gateway_grants_exactly_what_the_role_allows(
    stack: Stack, tokens: dict[str, str], message_id: int, user: str
) -> None:
    role = ROLE[user]
    auth = {"Authorization": f"Bearer {tokens[user]}"}
    wrong: list[str] = []
    with stack.api() as client:
        for method, template, body, minimum in ENDPOINTS:
            for channel in (CHANNEL_A, CHANNEL_B):
                path = template.format(c=channel, m=message_id)
                reply = client.request(method, path, headers=auth, json=body)
                allowed = channel == CHANNEL_A and role is not None and role >= minimum
                ok = 200 <= reply.status_code < 300
                if ok != allowed or (not ok and reply.status_code not in (403, 404)):
                    wrong.append(f"{method} {path} → {reply.status_code}")
    assert wrong == [], f"{user}: " + "; ".join(wrong)


def _grpc_calls(
    channel: int,
) -> Iterator[tuple[str, Role | None, Callable[[grpc.Channel, Any], Any]]]:
    """(name, minimum role or None for 'no user at all', call(channel, metadata))."""

    def analytics(ch: grpc.Channel) -> analytics_pb2_grpc.AnalyticsServiceStub:
        return analytics_pb2_grpc.AnalyticsServiceStub(ch)

    yield (
        "GetChannelOverview",
        Role.VIEWER,
        lambda ch, md: analytics(ch).GetChannelOverview(
            analytics_pb2.GetChannelOverviewRequest(channel_id=channel), metadata=md, timeout=10
        ),
    )
    yield (
        "ListPosts",
        Role.VIEWER,
        lambda ch, md: analytics(ch).ListPosts(
            posts_pb2.ListPostsRequest(channel_id=channel), metadata=md, timeout=10
        ),
    )
    yield (
        "ExportPostsCsv",
        Role.ANALYST,
        lambda ch, md: list(
            analytics(ch).ExportPostsCsv(
                analytics_pb2.ExportPostsCsvRequest(channel_id=channel), metadata=md, timeout=20
            )
        ),
    )
    yield (
        "CreateAlertRule",
        Role.ANALYST,
        lambda ch, md: analytics(ch).CreateAlertRule(
            alerts_pb2.CreateAlertRuleRequest(
                channel_id=channel, kind=alerts_pb2.ALERT_KIND_SUBSCRIBER_DROP
            ),
            metadata=md,
            timeout=10,
        ),
    )
    yield (
        "ListMembers",
        Role.ADMIN,
        lambda ch, md: auth_pb2_grpc.AuthServiceStub(ch).ListMembers(
            auth_pb2.ListMembersRequest(channel_id=channel), metadata=md, timeout=10
        ),
    )
    yield (
        "CreateInvite",
        Role.ADMIN,
        lambda ch, md: auth_pb2_grpc.AuthServiceStub(ch).CreateInvite(
            auth_pb2.CreateInviteRequest(
                channel_id=channel, role=auth_pb2.ROLE_VIEWER, single_use=True
            ),
            metadata=md,
            timeout=10,
        ),
    )
    yield (
        "CreateShareLink",
        Role.ADMIN,
        lambda ch, md: auth_pb2_grpc.AuthServiceStub(ch).CreateShareLink(
            auth_pb2.CreateShareLinkRequest(channel_id=channel), metadata=md, timeout=10
        ),
    )
    # Only trusted services and superadmins manage collection; no channel role does.
    yield (
        "SetChannelPaused",
        None,
        lambda ch, md: collector_pb2_grpc.CollectorServiceStub(ch).SetChannelPaused(
            collector_pb2.SetChannelPausedRequest(channel_id=channel, paused=False),
            metadata=md,
            timeout=10,
        ),
    )
    yield (
        "GetCollectionStatus",
        None,
        lambda ch, md: collector_pb2_grpc.CollectorServiceStub(ch).GetCollectionStatus(
            collector_pb2.GetCollectionStatusRequest(channel_ids=[channel]), metadata=md, timeout=10
        ),
    )


SERVICE_OF = {
    "GetChannelOverview": "analytics",
    "ListPosts": "analytics",
    "ExportPostsCsv": "analytics",
    "CreateAlertRule": "analytics",
    "ListMembers": "auth",
    "CreateInvite": "auth",
    "CreateShareLink": "auth",
    "SetChannelPaused": "collector",
    "GetCollectionStatus": "collector",
}


@pytest.mark.parametrize("user", [*USERS, "anonymous"])
def test_grpc_services_enforce_roles_themselves(
    stack: Stack, tokens: dict[str, str], user: str
) -> None:
    ports = json.loads((stack.data_dir / "ports.json").read_text())["grpc"]
    role = ROLE.get(user)
    metadata = () if user == "anonymous" else (("authorization", f"Bearer {tokens[user]}"),)
    wrong: list[str] = []
    for channel in (CHANNEL_A, CHANNEL_B):
        for name, minimum, call in _grpc_calls(channel):
            allowed = (
                channel == CHANNEL_A
                and minimum is not None
                and role is not None
                and role >= minimum
            )
            with grpc.insecure_channel(f"127.0.0.1:{ports[SERVICE_OF[name]]}") as ch:
                try:
                    call(ch, metadata)
                    code = grpc.StatusCode.OK
                except grpc.RpcError as exc:
                    code = exc.code()
            refused = (
                grpc.StatusCode.PERMISSION_DENIED,
                grpc.StatusCode.NOT_FOUND,
                grpc.StatusCode.UNAUTHENTICATED,
            )
            if (code == grpc.StatusCode.OK) != allowed or (
                code != grpc.StatusCode.OK and code not in refused
            ):
                wrong.append(f"{name}({channel}) → {code.name}")
    assert wrong == [], f"{user}: " + "; ".join(wrong)


def _status_once(client: httpx.Client, path: str, headers: dict[str, str], wanted: int) -> int:
    """The path's status once it is ``wanted``, or the last one after 10 s. A change made
    directly in SQL reaches the gateway as PostgreSQL's announcement, relayed by auth
    (docs/decisions.md, "Roles are remembered until PostgreSQL announces a change"):
    normally within milliseconds, never "before the next request" by construction."""
    deadline = time.monotonic() + 10
    while True:
        status = client.get(path, headers=headers).status_code
        if status == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.01)


def test_a_role_change_made_in_sql_applies_once_announced(
    stack: Stack, tokens: dict[str, str]
) -> None:
    import asyncio

    auth = {"Authorization": f"Bearer {tokens['viewer']}"}
    path = f"/api/v1/channels/{CHANNEL_A}/export.csv"
    with stack.api() as client:
        assert client.get(path, headers=auth).status_code == 403
        assert client.get(path, headers=auth).status_code == 403  # remembered now

        async def promote(role: str) -> None:
            conn = await asyncpg.connect(stack.database_url)
            try:
                await conn.execute(
                    "UPDATE grants SET role = $3 WHERE user_id = $1 AND channel_id = $2",
                    USERS["viewer"],
                    CHANNEL_A,
                    role,
                )
            finally:
                await conn.close()

        asyncio.run(promote("analyst"))
        try:
            assert _status_once(client, path, auth, 200) == 200
            assert client.get(path, headers=auth).status_code == 200  # and it stays
        finally:
            asyncio.run(promote("viewer"))
        assert _status_once(client, path, auth, 403) == 403
        assert client.get(path, headers=auth).status_code == 403
    assert httpx.get(f"{stack.url}/healthz").status_code == 200
