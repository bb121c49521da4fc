"""Ingest events: after each committed batch the collector says which channel changed.

Two Redis channels carry the same event, for different consumers:

- Stream ``ab:events:ingest`` (capped near 100,000 entries), one entry per batch::

      XADD ab:events:ingest MAXLEN ~ 100000 * channel_id <id> kind <kind> at <iso-8601>

  for consumers that must not miss one (alerts, via consumer groups).
- Pub/sub channel ``ab:events:channel:<id>`` with the JSON object
  ``{"channel_id": <id>, "kind": "<kind>", "at": "<iso-8601>"}`` for live views.

``kind`` is ``backfill`` (history page stored), ``refresh`` (counters refreshed or new
posts found) or ``subscribers`` (subscriber count sampled). ``at`` is the collector's
time of the batch (simulated time in a demo). Events are published after the commit, so
a consumer reading the database on an event always sees the batch.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

import redis.asyncio as redis

EventKind = Literal["backfill", "refresh", "subscribers"]
INGEST_STREAM = "ab:events:ingest"
STREAM_MAXLEN = 100_000


def channel_topic(channel_id: int) -> str:
    """The pub/sub channel of one Telegram channel's events."""
    return f"ab:events:channel:{channel_id}"


class EventPublisher:
    """Publishes ingest events to Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    async def publish(self, channel_id: int, kind: EventKind, at: datetime) -> None:
        """Append to the stream and publish to the channel's topic, in one round trip."""
        stamp = at.isoformat()
        payload = json.dumps({"channel_id": channel_id, "kind": kind, "at": stamp})
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(
                INGEST_STREAM,
                {"channel_id": str(channel_id), "kind": kind, "at": stamp},
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
            pipe.publish(channel_topic(channel_id), payload)
            await pipe.execute()
