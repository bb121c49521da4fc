"""SQL of the analytics read side: free functions whose first argument is a connection.

Every query costs O(posts in the period) or O(1) index probes, never a scan over all
snapshots: ``subscribers(t)`` is one backward probe of the ``channel_snapshots`` primary
key per moment. Post queries are in ``posts_repository``. ``tests/integration/analytics``
checks the plans.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from services.analytics.domain import Channel

# A connection of its own or one borrowed from a pool.
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy

CHANNEL_SQL = "SELECT id, title FROM channels WHERE id = $1"

# subscribers(t) for each t in $2, in the order given: the last sample at or before t.
SUBSCRIBERS_AT_SQL = """
SELECT (
    SELECT cs.subscribers
    FROM channel_snapshots AS cs
    WHERE cs.channel_id = $1 AND cs.sampled_at <= m.at
    ORDER BY cs.sampled_at DESC
    LIMIT 1
) AS subscribers
FROM unnest($2::timestamptz[]) WITH ORDINALITY AS m (at, n)
ORDER BY m.n
"""

# The newest of the channel's newest subscriber sample and the collector's last refresh
# and subscriber-sampling times (collection_state is kept by the collector).
FRESHNESS_SQL = """
SELECT greatest(
    (SELECT max(cs.sampled_at) FROM channel_snapshots AS cs WHERE cs.channel_id = $1),
    (SELECT greatest(st.last_refresh_at, st.last_subscribers_at)
     FROM collection_state AS st
     WHERE st.channel_id = $1)
)
"""


async def get_channel(conn: Connection, channel_id: int) -> Channel | None:
    """The tracked channel ``channel_id``, or None."""
    row = await conn.fetchrow(CHANNEL_SQL, channel_id)
    if row is None:
        return None
    return Channel(id=row["id"], title=row["title"])


async def subscribers_at(
    conn: Connection, channel_id: int, moments: Sequence[datetime]
) -> list[int | None]:
    """``subscribers(t)`` for each of ``moments``, in order: the channel's last subscriber
    sample at or before t, or None when it has none by then."""
    rows = await conn.fetch(SUBSCRIBERS_AT_SQL, channel_id, list(moments))
    return [row["subscribers"] for row in rows]


async def collection_freshness(conn: Connection, channel_id: int) -> datetime | None:
    """When the channel's data was last known fresh: its newest subscriber sample or the
    collector's last refresh of it, whichever is newer; None when neither exists."""
    value: datetime | None = await conn.fetchval(FRESHNESS_SQL, channel_id)
    return value
