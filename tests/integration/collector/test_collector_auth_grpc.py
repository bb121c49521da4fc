"""Who may call the collector, over real gRPC, and the account view of the status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import grpc
import pytest

from analyticbot.collector.v1 import collector_pb2, collector_pb2_grpc
from analyticbot.runtime.tokens import SigningKey, TokenSigner
from services.collector import accounts_repository as accounts
from services.collector.clock import utc_now
from services.collector.main import CollectorApp
from services.collector.simulator import username_of
from tests.integration.collector.conftest import SUPERADMIN, service_token


@pytest.fixture
async def plain(app: CollectorApp) -> AsyncIterator[collector_pb2_grpc.CollectorServiceAsyncStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.server.port}") as chan:
        yield collector_pb2_grpc.CollectorServiceStub(chan)


def _as(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def _code(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    code: grpc.StatusCode = caught.value.code()
    return code


async def test_every_rpc_needs_a_valid_token(
    plain: collector_pb2_grpc.CollectorServiceAsyncStub, number: int
) -> None:
    track = collector_pb2.TrackChannelRequest(reference=f"@{username_of(number)}")
    status = collector_pb2.GetCollectionStatusRequest()
    assert await _code(plain.TrackChannel(track)) == grpc.StatusCode.UNAUTHENTICATED
    assert await _code(plain.GetCollectionStatus(status)) == grpc.StatusCode.UNAUTHENTICATED
    forged = TokenSigner([SigningKey.generate()]).issue("service", "svc:bot", 300)[0]
    assert (
        await _code(plain.TrackChannel(track, metadata=_as(forged)))
        == grpc.StatusCode.UNAUTHENTICATED
    )


async def test_changes_need_a_trusted_service_or_a_superadmin(
    plain: collector_pb2_grpc.CollectorServiceAsyncStub, signer: TokenSigner, number: int
) -> None:
    track = collector_pb2.TrackChannelRequest(reference=f"@{username_of(number)}")
    analytics = service_token(signer, "analytics")
    user = signer.issue("access", "77", 300)[0]
    superadmin = signer.issue("access", str(SUPERADMIN), 300)[0]
    share = signer.issue("share", "share:1", 300, extra={"cid": 1})[0]
    for token in (analytics, user, share):
        code = await _code(plain.TrackChannel(track, metadata=_as(token)))
        assert code == grpc.StatusCode.PERMISSION_DENIED
    created = await plain.TrackChannel(track, metadata=_as(superadmin))
    paused = await plain.SetChannelPaused(
        collector_pb2.SetChannelPausedRequest(channel_id=created.channel.channel_id, paused=True),
        metadata=_as(service_token(signer, "gateway")),
    )
    assert paused.channel.paused
    pause = collector_pb2.SetChannelPausedRequest(channel_id=created.channel.channel_id)
    code = await _code(plain.SetChannelPaused(pause, metadata=_as(analytics)))
    assert code == grpc.StatusCode.PERMISSION_DENIED


async def test_reads_are_for_services_and_superadmins(
    plain: collector_pb2_grpc.CollectorServiceAsyncStub, signer: TokenSigner
) -> None:
    status = collector_pb2.GetCollectionStatusRequest()
    listing = collector_pb2.ListTrackedChannelsRequest(page_size=1)
    analytics = service_token(signer, "analytics")
    await plain.GetCollectionStatus(status, metadata=_as(analytics))
    await plain.ListTrackedChannels(listing, metadata=_as(analytics))
    superadmin = signer.issue("access", str(SUPERADMIN), 300)[0]
    await plain.ListTrackedChannels(listing, metadata=_as(superadmin))
    user = signer.issue("access", "77", 300)[0]
    code = await _code(plain.GetCollectionStatus(status, metadata=_as(user)))
    assert code == grpc.StatusCode.PERMISSION_DENIED


async def test_status_shows_each_account_and_its_flood_wait(
    plain: collector_pb2_grpc.CollectorServiceAsyncStub,
    signer: TokenSigner,
    pool: asyncpg.Pool,
    unique_id: int,
) -> None:
    label = f"acct-{unique_id}"
    until = utc_now() + timedelta(minutes=7)
    async with pool.acquire() as conn:
        account_id = await accounts.save_account(conn, label, b"sealed", None, None)
        await accounts.record_rest(conn, account_id, until, "FloodWait 420s")
    reply = await plain.GetCollectionStatus(
        collector_pb2.GetCollectionStatusRequest(), metadata=_as(service_token(signer, "bot"))
    )
    (mine,) = [a for a in reply.accounts if a.label == label]
    assert mine.state == collector_pb2.ACCOUNT_STATE_FLOOD_WAIT
    assert mine.flood_wait_until.ToDatetime().replace(microsecond=0) == until.replace(
        microsecond=0, tzinfo=None
    )
    assert (mine.flood_waits, mine.last_error) == (1, "FloodWait 420s")
