"""Grant changes passed on to the gateways over Redis pub/sub.

The gateway owns no database connection, and used to ask ``CheckAccess`` on every
request: a gRPC round trip per dashboard read (docs/benchmarks.md). It now remembers
auth's answers (gateway/access_cache.py) and forgets them on what this relay publishes
on ``topic``:

- ``u:<user id>``: that user's roles changed (PostgreSQL announced it to auth's grant
  cache, or auth changed it itself);
- ``*``: forget everyone (``TRUNCATE grants``);
- ``alive``: every ``heartbeat_seconds`` while auth's grant cache is listening, so
  nothing it was told has been missed;
- ``deaf``: at once when it stops listening (then no more ``alive`` until it listens
  again). A gateway trusts what it remembers only while an ``alive`` is recent.

Messages leave in the order the changes were seen, from one task. Every auth replica
relays every change, so gateways hear of each change once per replica; forgetting is
idempotent. A publish that fails (Redis unreachable) is dropped: the gateways' own
subscription is then failing too, and a gateway that cannot hear stops trusting.
"""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as redis
from redis.exceptions import RedisError

from analyticbot.runtime.grant_cache import GrantCache
from analyticbot.runtime.memo import ALIVE, DEAF, EVERYONE, USER_PREFIX

log = logging.getLogger(__name__)


class GrantRelay:
    """Publishes ``cache``'s forgotten users and its liveness on ``topic``."""

    def __init__(
        self,
        cache: GrantCache,
        client: redis.Redis,
        topic: str,
        *,
        heartbeat_seconds: float = 1.0,
    ) -> None:
        self._cache = cache
        self._client = client
        self._topic = topic
        self._heartbeat = heartbeat_seconds
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        cache.observe(self._forgotten)

    def _forgotten(self, user_id: int | None) -> None:
        if not self._cache.listening:
            self._outbox.put_nowait(DEAF)
        elif user_id is None:
            self._outbox.put_nowait(EVERYONE)
        else:
            self._outbox.put_nowait(f"{USER_PREFIX}{user_id}")

    async def run(self) -> None:
        """Publish until cancelled: each change as it comes, and ``alive`` (or ``deaf``)
        every ``heartbeat_seconds`` however many changes there are."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            try:
                message = await asyncio.wait_for(self._outbox.get(), max(0.0, due - loop.time()))
            except TimeoutError:
                message = ALIVE if self._cache.listening else DEAF
                due = loop.time() + self._heartbeat
            try:
                await self._client.publish(self._topic, message)
            except (RedisError, OSError):
                log.warning("grant change not relayed: Redis unavailable")
