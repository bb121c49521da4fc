"""Native statistics are kept as history, only where the account may view them."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from services.collector.clock import ManualClock
from services.collector.domain import STATS_INTERVAL
from services.collector.service import Collector
from services.collector.simulator import SimulatedSource, channel_id_of, username_of


def _numbers(source: SimulatedSource, start: int) -> tuple[int, int]:
    """A channel number with statistics access and one without."""
    allowed = next(n for n in range(start, start + 200) if source.profile(n).can_view_stats)
    refused = next(n for n in range(start, start + 200) if not source.profile(n).can_view_stats)
    return allowed, refused


async def test_stats_rows_accumulate_per_collection(
    conn: asyncpg.Connection, collector: Collector, source: SimulatedSource, clock: ManualClock,
    number: int,
) -> None:  # fmt: skip
    allowed, refused = _numbers(source, number)
    for n in (allowed, refused):
        await collector.track_channel(conn, f"@{username_of(n)}")
    for _ in range(3):
        for n in (allowed, refused):
            await collector.run_channel(conn, channel_id_of(n))
        clock.advance(STATS_INTERVAL + timedelta(minutes=1))
    rows = await conn.fetch(
        "SELECT channel_id, period, payload FROM broadcast_stats "
        "WHERE channel_id = ANY($1::bigint[]) ORDER BY collected_at",
        [channel_id_of(allowed), channel_id_of(refused)],
    )
    assert [r["channel_id"] for r in rows] == [channel_id_of(allowed)] * 3
    payload = rows[-1]["payload"]
    assert isinstance(payload, dict), "payload must be stored as a JSON object"
    assert payload["followers"]["current"] > 0
    assert rows[0]["period"] != rows[-1]["period"]
