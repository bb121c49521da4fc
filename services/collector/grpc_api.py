"""gRPC edge of the collector: ``analyticbot.collector.v1.CollectorService``.

Every handler first authorizes the caller (``auth.py``), then acquires a connection,
calls a use case inside the caller's deadline (no Telegram wait outlives it) and
translates rows to messages; domain errors become status codes in the shared
interceptor.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from analyticbot.collector.v1 import collector_pb2, collector_pb2_grpc
from services.collector import accounts_repository as accounts
from services.collector import repository as repo
from services.collector.account_pool import deadline_scope
from services.collector.auth import CollectorAuth
from services.collector.clock import utc_now
from services.collector.domain import ChannelNotTracked, InvalidRequest
from services.collector.service import Collector

SERVICE_NAME = collector_pb2.DESCRIPTOR.services_by_name["CollectorService"].full_name
_STATES = {
    "pending": collector_pb2.BACKFILL_STATE_PENDING,
    "running": collector_pb2.BACKFILL_STATE_RUNNING,
    "done": collector_pb2.BACKFILL_STATE_DONE,
}
_TOKEN_PREFIX = "after:"  # noqa: S105 - a page-token prefix, not a secret
_Context = grpc.aio.ServicerContext[Any, Any]


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _channel(row: repo.ChannelRow) -> collector_pb2.Channel:
    return collector_pb2.Channel(
        channel_id=row.channel_id,
        username=row.username or "",
        title=row.title,
        tracked_since=_timestamp(row.tracked_since),
        paused=row.paused,
        time_zone=row.time_zone,
    )


def encode_page_token(after_id: int) -> str:
    """The opaque token for "channels after ``after_id``"."""
    return base64.urlsafe_b64encode(f"{_TOKEN_PREFIX}{after_id}".encode()).decode()


def decode_page_token(token: str) -> int:
    """The channel id a page token continues after; InvalidRequest if malformed."""
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest("page_token is not a token this service issued") from None
    if not text.startswith(_TOKEN_PREFIX) or not text[len(_TOKEN_PREFIX) :].isdigit():
        raise InvalidRequest("page_token is not a token this service issued")
    return int(text[len(_TOKEN_PREFIX) :])


class CollectorServicer(collector_pb2_grpc.CollectorServiceServicer):
    """The CollectorService RPCs over a pool and the collector's use cases."""

    def __init__(self, pool: asyncpg.Pool, collector: Collector, auth: CollectorAuth) -> None:
        self._pool = pool
        self._collector = collector
        self._auth = auth

    async def TrackChannel(
        self, request: collector_pb2.TrackChannelRequest, context: _Context
    ) -> collector_pb2.TrackChannelResponse:
        await self._auth.may_change(context.invocation_metadata())
        with deadline_scope(context.time_remaining()):
            async with self._pool.acquire() as conn:
                row, created = await self._collector.track_channel(
                    conn, request.reference, request.time_zone
                )
        return collector_pb2.TrackChannelResponse(channel=_channel(row), created=created)

    async def ListTrackedChannels(
        self, request: collector_pb2.ListTrackedChannelsRequest, context: _Context
    ) -> collector_pb2.ListTrackedChannelsResponse:
        await self._auth.may_read(context.invocation_metadata())
        size = request.page_size or 100
        if not 1 <= size <= 500:
            raise InvalidRequest("page_size must be between 1 and 500")
        after = decode_page_token(request.page_token)
        async with self._pool.acquire() as conn:
            rows = await repo.list_channels(conn, after, size + 1)
        more = len(rows) > size
        rows = rows[:size]
        token = encode_page_token(rows[-1].channel_id) if more else ""
        return collector_pb2.ListTrackedChannelsResponse(
            channels=[_channel(r) for r in rows], next_page_token=token
        )

    async def GetCollectionStatus(
        self, request: collector_pb2.GetCollectionStatusRequest, context: _Context
    ) -> collector_pb2.GetCollectionStatusResponse:
        await self._auth.may_read(context.invocation_metadata())
        wanted = sorted(set(request.channel_ids)) or None
        async with self._pool.acquire() as conn:
            found = await repo.collection_status(conn, wanted)
            held = await accounts.account_statuses(conn)
        if wanted is not None:
            missing = sorted(set(wanted) - {s.channel_id for s in found})
            if missing:
                raise ChannelNotTracked(
                    "not tracked: " + ", ".join(str(channel_id) for channel_id in missing)
                )
        now = self._collector.clock.now()
        wall = utc_now()
        return collector_pb2.GetCollectionStatusResponse(
            channels=[self._status(s, now) for s in found],
            accounts=[_account(a, wall) for a in held],
        )

    async def SetChannelPaused(
        self, request: collector_pb2.SetChannelPausedRequest, context: _Context
    ) -> collector_pb2.SetChannelPausedResponse:
        if request.channel_id <= 0:
            raise InvalidRequest("channel_id must be a positive channel id")
        async with self._pool.acquire() as conn:
            await self._auth.may_change_channel(
                conn, context.invocation_metadata(), request.channel_id
            )
            row = await self._collector.set_paused(
                conn, request.channel_id, request.paused, request.reason
            )
        return collector_pb2.SetChannelPausedResponse(channel=_channel(row))

    @staticmethod
    def _status(
        state: repo.CollectionStatus, now: datetime
    ) -> collector_pb2.ChannelCollectionStatus:
        message = collector_pb2.ChannelCollectionStatus(
            channel_id=state.channel_id,
            backfill_state=_STATES.get(
                state.backfill_state, collector_pb2.BACKFILL_STATE_UNSPECIFIED
            ),
            posts_collected=state.posts_collected,
            backfill_cursor=state.backfill_cursor or 0,
            last_error=state.last_error or "",
            history_total=state.history_total or 0,
            paused=state.paused,
        )
        if state.last_refresh_at is not None:
            message.last_refresh_at.CopyFrom(_timestamp(state.last_refresh_at))
            lag = Duration()
            lag.FromTimedelta(max(now - state.last_refresh_at, timedelta(0)))
            message.lag.CopyFrom(lag)
        if state.last_error_at is not None and state.last_error:
            message.last_error_at.CopyFrom(_timestamp(state.last_error_at))
        message.next_run_at.CopyFrom(_timestamp(state.next_run_at))
        if state.last_stats_at is not None:
            message.last_stats_at.CopyFrom(_timestamp(state.last_stats_at))
        return message


def _account(status: accounts.AccountStatus, now: datetime) -> collector_pb2.AccountStatus:
    """An account for the operator view: its state as of ``now`` (wall clock)."""
    resting = status.rest_until is not None and status.rest_until > now
    held = status.lease_until is not None and status.lease_until > now
    if not status.enabled:
        state = collector_pb2.ACCOUNT_STATE_DISABLED
    elif resting:
        state = collector_pb2.ACCOUNT_STATE_FLOOD_WAIT
    elif held:
        state = collector_pb2.ACCOUNT_STATE_ACTIVE
    else:
        state = collector_pb2.ACCOUNT_STATE_IDLE
    message = collector_pb2.AccountStatus(
        account_id=status.account_id,
        label=status.label,
        state=state,
        lease_owner=(status.lease_owner or "") if held else "",
        flood_waits=status.flood_waits,
        last_error=status.last_error or "",
    )
    if resting and status.rest_until is not None:
        message.flood_wait_until.CopyFrom(_timestamp(status.rest_until))
    return message
