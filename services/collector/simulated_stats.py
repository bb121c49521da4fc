"""Native statistics of a simulated channel, shaped like ``stats.broadcastStats``.

Derived from the simulator's subscriber curve, so they agree with the subscriber
snapshots: followers now and one period (7 days) earlier, and the daily follower graph.
Like Telegram, only channels whose profile allows it (``can_view_stats``) have them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.collector.domain import BroadcastStats, StatsForbidden
from services.collector.simulator import channel_id_of, profile, subscribers_at

PERIOD = timedelta(days=7)


def simulated_broadcast_stats(seed: int, number: int, now: datetime) -> BroadcastStats:
    """The statistics of simulated channel ``number`` at ``now``."""
    if not profile(seed, number).can_view_stats:
        raise StatsForbidden(f"channel {channel_id_of(number)}: statistics are not available")
    start = now - PERIOD
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    days = [midnight - timedelta(days=back) for back in range(7, -1, -1)]
    followers = [subscribers_at(seed, number, day) for day in days]
    payload: dict[str, object] = {
        "_": "stats.BroadcastStats",
        "period": {"min_date": start.isoformat(), "max_date": now.isoformat()},
        "followers": {
            "current": float(subscribers_at(seed, number, now)),
            "previous": float(subscribers_at(seed, number, start)),
        },
        "growth_graph": {
            "_": "StatsGraph",
            "json": {
                "columns": [
                    ["x", *(int(day.timestamp() * 1000) for day in days)],
                    ["y0", *followers],
                ],
                "types": {"x": "x", "y0": "line"},
                "names": {"y0": "Total followers"},
            },
        },
    }
    return BroadcastStats(period=f"{start.isoformat()}/{now.isoformat()}", payload=payload)
