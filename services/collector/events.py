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


CHANNEL_TOPIC_PREFIX = "ab:events:channel:"


def channel_topic(channel_id: int, prefix: str = CHANNEL_TOPIC_PREFIX) -> str:
    """The pub/sub channel of one Telegram channel's events."""
    return f"{prefix}{channel_id}"


class EventPublisher:
    """Publishes ingest events to Redis (under the names given, which a deployment's
    Redis namespace may prefix)."""

    def __init__(
        self,
        client: redis.Redis,
        stream: str = INGEST_STREAM,
        topic_prefix: str = CHANNEL_TOPIC_PREFIX,
    ) -> None:
        self._redis = client
        self._stream = stream
        self._topic_prefix = topic_prefix

    async def publish(self, channel_id: int, kind: EventKind, at: datetime) -> None:
        """Append to the stream and publish to the channel's topic, in one round trip."""
        stamp = at.isoformat()
        payload = json.dumps({"channel_id": channel_id, "kind": kind, "at": stamp})
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(
                self._stream,
                {"channel_id": str(channel_id), "kind": kind, "at": stamp},
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
            pipe.publish(channel_topic(channel_id, self._topic_prefix), payload)
            await pipe.execute()
