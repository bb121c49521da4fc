"""The collector over real gRPC: a grpc.aio server on port 0 built by ``main.build``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from analyticbot.collector.v1 import collector_pb2, collector_pb2_grpc
from analyticbot.runtime.tokens import TokenSigner
from services.collector.grpc_api import SERVICE_NAME
from services.collector.main import CollectorApp
from services.collector.simulator import username_of
from tests.integration.collector.conftest import Bearer, service_token


@pytest.fixture
async def channel(app: CollectorApp, signer: TokenSigner) -> AsyncIterator[grpc.aio.Channel]:
    """A channel calling as the bot (a trusted service)."""
    bot = Bearer(service_token(signer, "bot"))
    async with grpc.aio.insecure_channel(
        f"127.0.0.1:{app.server.port}", interceptors=[bot]
    ) as chan:
        yield chan


async def test_track_list_and_status(
    app: CollectorApp, channel: grpc.aio.Channel, number: int, channel_id: int
) -> None:
    stub = collector_pb2_grpc.CollectorServiceStub(channel)
    reference = f"https://t.me/{username_of(number)}"
    first = await stub.TrackChannel(
        collector_pb2.TrackChannelRequest(reference=reference, time_zone="Europe/Berlin")
    )
    again = await stub.TrackChannel(collector_pb2.TrackChannelRequest(reference=str(channel_id)))
    assert first.created
    assert not again.created
    assert first.channel.channel_id == channel_id
    assert first.channel.username == username_of(number)
    assert again.channel.time_zone == "Europe/Berlin"

    await app.scheduler.run_until(20)
    listed: list[int] = []
    token = ""
    while True:
        page = await stub.ListTrackedChannels(
            collector_pb2.ListTrackedChannelsRequest(page_size=1, page_token=token)
        )
        listed.extend(c.channel_id for c in page.channels)
        if not page.next_page_token:
            break
        token = page.next_page_token
    assert channel_id in listed
    assert listed == sorted(listed)

    status = await stub.GetCollectionStatus(
        collector_pb2.GetCollectionStatusRequest(channel_ids=[channel_id])
    )
    (mine,) = status.channels
    assert mine.backfill_state == collector_pb2.BACKFILL_STATE_DONE
    assert mine.posts_collected == mine.history_total > 0
    assert mine.HasField("last_refresh_at") or mine.posts_collected > 0
    assert mine.last_error == ""


@pytest.mark.parametrize(
    ("reference", "code"),
    [
        ("", grpc.StatusCode.INVALID_ARGUMENT),
        ("not a channel!", grpc.StatusCode.INVALID_ARGUMENT),
        ("@nobody_here_at_all", grpc.StatusCode.NOT_FOUND),
    ],
)
async def test_bad_references_get_a_status_and_a_message(
    channel: grpc.aio.Channel, reference: str, code: grpc.StatusCode
) -> None:
    stub = collector_pb2_grpc.CollectorServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.TrackChannel(collector_pb2.TrackChannelRequest(reference=reference))
    assert caught.value.code() == code
    assert caught.value.details()


async def test_bad_paging_and_unknown_status_are_rejected(
    channel: grpc.aio.Channel, channel_id: int
) -> None:
    stub = collector_pb2_grpc.CollectorServiceStub(channel)
    for request in (
        collector_pb2.ListTrackedChannelsRequest(page_size=501),
        collector_pb2.ListTrackedChannelsRequest(page_token="garbage"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ListTrackedChannels(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetCollectionStatus(
            collector_pb2.GetCollectionStatusRequest(channel_ids=[channel_id])
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert str(channel_id) in (caught.value.details() or "")


async def test_health_is_serving_and_reflection_lists_the_service(
    channel: grpc.aio.Channel,
) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", SERVICE_NAME):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    names = set()
    async for response in reflection.ServerReflectionInfo(iter([request])):
        names |= {s.name for s in response.list_services_response.service}
    assert SERVICE_NAME in names


async def test_pausing_stops_collection_and_resuming_restarts_it(
    app: CollectorApp, channel: grpc.aio.Channel, number: int, channel_id: int
) -> None:
    stub = collector_pb2_grpc.CollectorServiceStub(channel)
    await stub.TrackChannel(collector_pb2.TrackChannelRequest(reference=f"@{username_of(number)}"))
    paused = await stub.SetChannelPaused(
        collector_pb2.SetChannelPausedRequest(
            channel_id=channel_id, paused=True, reason="bot removed from the channel"
        )
    )
    assert paused.channel.paused
    await app.scheduler.run_until(20)
    status = await stub.GetCollectionStatus(
        collector_pb2.GetCollectionStatusRequest(channel_ids=[channel_id])
    )
    assert status.channels[0].paused
    assert status.channels[0].posts_collected == 0  # nothing collected while paused
    resumed = await stub.SetChannelPaused(
        collector_pb2.SetChannelPausedRequest(channel_id=channel_id, paused=False)
    )
    assert not resumed.channel.paused
    await app.scheduler.run_until(20)
    status = await stub.GetCollectionStatus(
        collector_pb2.GetCollectionStatusRequest(channel_ids=[channel_id])
    )
    assert status.channels[0].posts_collected > 0
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SetChannelPaused(
            collector_pb2.SetChannelPausedRequest(channel_id=channel_id + 1, paused=True)
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
