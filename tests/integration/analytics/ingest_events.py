"""The collector's ingest event, published as it does after a committed batch."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import redis.asyncio as redis

from services.analytics.events import EventHub


async def publish(client: redis.Redis, prefix: str, channel_id: int, at: datetime) -> None:
    """What the collector does after a committed refresh batch: the stream entry and the
    channel's topic (``<prefix>ingest``, ``<prefix>channel:<id>``)."""
    fields = {"channel_id": str(channel_id), "kind": "refresh", "at": at.isoformat()}
    await client.xadd(f"{prefix}ingest", fields)  # type: ignore[arg-type]
    await client.publish(f"{prefix}channel:{channel_id}", json.dumps(fields))


async def publish_and_hear(
    client: redis.Redis, prefix: str, hub: EventHub, channel_id: int, at: datetime
) -> None:
    """``publish``, then wait until ``hub`` has heard it over pub/sub."""
    before = hub.generation(channel_id)
    await publish(client, prefix, channel_id, at)
    for _ in range(250):
        if hub.generation(channel_id) > before:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the hub did not hear the event within 5 s")
