"""Every RPC authorizes its caller: a token, then the permission table on the channel."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import asyncpg
import grpc
import pytest

from analyticbot.analytics.v1 import alerts_pb2, analytics_pb2, posts_pb2
from tests.integration.analytics.conftest import SUPERADMIN
from tests.integration.analytics.dataset import X, seed

if TYPE_CHECKING:
    from analyticbot.analytics.v1.analytics_pb2_grpc import (
        AnalyticsServiceAsyncStub as AsyncStub,
    )

Metadata = tuple[tuple[str, str], ...]


def bearer(token: str) -> Metadata:
    return (("authorization", f"Bearer {token}"),)


async def grant(pool: asyncpg.Pool, user: int, channel_id: int, role: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING", user)
        await conn.execute(
            "INSERT INTO grants (user_id, channel_id, role) VALUES ($1, $2, $3)",
            user,
            channel_id,
            role,
        )


async def code_of(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value.code()


async def test_viewer_sees_but_may_not_export_or_set_alerts(
    stub: AsyncStub,
    pool: asyncpg.Pool,
    channel_id: int,
    unique_id: int,
    token: Callable[..., str],
) -> None:
    await seed(pool, channel_id)
    viewer = unique_id % 1_000_000_000 + 10
    await grant(pool, viewer, channel_id, "viewer")
    as_viewer = bearer(token("access", str(viewer)))
    overview = await stub.GetChannelOverview(
        analytics_pb2.GetChannelOverviewRequest(channel_id=channel_id), metadata=as_viewer
    )
    assert overview.channel_id == channel_id
    post = await stub.GetPost(
        posts_pb2.GetPostRequest(channel_id=channel_id, message_id=X), metadata=as_viewer
    )
    assert post.post.message_id == X
    export = stub.ExportPostsCsv(
        analytics_pb2.ExportPostsCsvRequest(channel_id=channel_id), metadata=as_viewer
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in export:
            pass
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    rule = alerts_pb2.CreateAlertRuleRequest(
        channel_id=channel_id, kind=alerts_pb2.ALERT_KIND_POST_VIRAL
    )
    assert (
        await code_of(stub.CreateAlertRule(rule, metadata=as_viewer))
        == grpc.StatusCode.PERMISSION_DENIED
    )


async def test_strangers_and_bad_tokens_learn_nothing(
    stub: AsyncStub,
    pool: asyncpg.Pool,
    channel_id: int,
    unique_id: int,
    token: Callable[..., str],
) -> None:
    await seed(pool, channel_id)
    request = analytics_pb2.GetChannelOverviewRequest(channel_id=channel_id)
    stranger = bearer(token("access", str(unique_id % 1_000_000_000 + 11)))
    assert await code_of(stub.GetChannelOverview(request, metadata=stranger)) == (
        grpc.StatusCode.NOT_FOUND
    )
    other_share = bearer(token("share", "link", cid=channel_id + 1))
    assert await code_of(stub.GetChannelOverview(request, metadata=other_share)) == (
        grpc.StatusCode.NOT_FOUND
    )
    untrusted = bearer(token("service", "svc:collector"))
    assert await code_of(stub.GetChannelOverview(request, metadata=untrusted)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    for metadata in (bearer("not-a-jwt"), (("x-other", "1"),)):
        assert await code_of(stub.GetChannelOverview(request, metadata=metadata)) == (
            grpc.StatusCode.UNAUTHENTICATED
        )


async def test_share_links_and_superadmins_may_read(
    stub: AsyncStub, pool: asyncpg.Pool, channel_id: int, token: Callable[..., str]
) -> None:
    await seed(pool, channel_id)
    link_id = await pool.fetchval(
        """INSERT INTO share_links (token_hash, channel_id, expires_at)
           VALUES ($1, $2, now() + interval '1 day') RETURNING id""",
        os.urandom(32),
        channel_id,
    )
    request = analytics_pb2.GetChannelOverviewRequest(channel_id=channel_id)
    share = bearer(token("share", f"share:{link_id}", cid=channel_id))
    assert (await stub.GetChannelOverview(request, metadata=share)).channel_id == channel_id
    admin = bearer(token("access", str(SUPERADMIN)))
    assert (await stub.GetChannelOverview(request, metadata=admin)).channel_id == channel_id
    # A share link reads; it does not export.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in stub.ExportPostsCsv(
            analytics_pb2.ExportPostsCsvRequest(channel_id=channel_id), metadata=share
        ):
            pass
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    # Revocation applies on the next request, whatever the token's own expiry.
    await pool.execute("UPDATE share_links SET revoked_at = now() WHERE id = $1", link_id)
    assert await code_of(stub.GetChannelOverview(request, metadata=share)) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
