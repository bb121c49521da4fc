"""The Telethon adapter drives the same ingestion as the simulator: real TL objects in,
rows and a resumable cursor out."""

from __future__ import annotations

from typing import Any

import asyncpg
import redis.asyncio as redis
from telethon.tl import functions, types  # type: ignore[import-untyped]
from telethon.tl.tlobject import TLRequest  # type: ignore[import-untyped]

from services.collector.account_pool import AccountPool
from services.collector.clock import ManualClock
from services.collector.events import EventPublisher
from services.collector.service import Collector
from services.collector.telethon_source import TelethonSource
from tests.unit.collector.fakes import FakeClient, MemoryPeerStore, channel, message


def _telegram(channel_id: int, username: str) -> Any:
    posts = {i: message(i, peer_id=types.PeerChannel(channel_id)) for i in range(1, 151)}

    def answer(request: TLRequest, dc: int | None) -> Any:
        if isinstance(request, functions.contacts.ResolveUsernameRequest):
            return types.contacts.ResolvedPeer(
                peer=types.PeerChannel(channel_id),
                chats=[channel(channel_id, username=username)],
                users=[],
            )
        assert isinstance(request, functions.messages.GetHistoryRequest)
        high = request.offset_id or 10**9
        page = sorted((i for i in posts if i < high), reverse=True)[: request.limit]
        return types.messages.ChannelMessages(
            pts=1, count=len(posts), messages=[posts[i] for i in page], topics=[],
            chats=[], users=[],
        )  # fmt: skip

    return answer


async def test_backfill_through_telethon_stores_every_post_and_the_cursor(
    conn: asyncpg.Connection, redis_client: redis.Redis, clock: ManualClock, unique_id: int
) -> None:
    username = f"tl{unique_id}"
    runner = AccountPool(per_account_rate=1000, global_rate=1000)
    runner.add(FakeClient(1, _telegram(unique_id, username)))
    source = TelethonSource(runner, MemoryPeerStore())
    collector = Collector(source, clock, EventPublisher(redis_client))
    row, created = await collector.track_channel(conn, f"@{username}")
    assert (row.channel_id, created) == (unique_id, True)
    assert not await collector.backfill_page(conn, unique_id)
    state = await conn.fetchrow(
        "SELECT backfill_cursor, history_total FROM collection_state WHERE channel_id = $1",
        unique_id,
    )
    assert state is not None
    assert (state["backfill_cursor"], state["history_total"]) == (51, 150)
    while not await collector.backfill_page(conn, unique_id):
        pass
    stored = await conn.fetch(
        "SELECT p.message_id, s.views FROM posts p JOIN post_snapshots s ON s.post_id = p.id "
        "WHERE p.channel_id = $1 ORDER BY p.message_id",
        unique_id,
    )
    assert [(r["message_id"], r["views"]) for r in stored] == [(i, 10 * i) for i in range(1, 151)]
