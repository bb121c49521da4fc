"""Roles read from ``grants``, remembered until PostgreSQL announces that they changed.

Every read RPC is authorized against the caller's role on the channel, and the role
used to be one primary-key query per call: a quarter of the analytics service's CPU on
a cached read (docs/benchmarks.md). Roles change rarely, so they are remembered here,
and forgotten when the triggers of migrations/0011_grants_notify.sql announce a change
(``NOTIFY grants_changed``, payload the user id, or empty for "everyone"). Triggers
send it, so a change made directly in SQL is seen as well as one made by auth.

When the cache may be trusted, and when it is not used at all:

- Only while its own connection is listening. Until ``LISTEN`` is confirmed, after that
  connection is lost (PostgreSQL restart, network), and while reconnecting, every role
  is read from the database as before, and the remembered ones are dropped: a change
  missed while deaf is never served.
- A role read from the database is kept only if no announcement arrived while it was
  being read (a generation count): the read may have started before the change
  committed, and its answer would otherwise outlive the announcement that should have
  dropped it.
- A change takes effect once its announcement reaches this process, normally within a
  millisecond of the commit; each entry is also dropped after ``ttl_seconds`` as a last
  bound, should a notification ever go missing while the connection stays up.
- The listening connection is probed every ``probe_seconds``; a connection that no
  longer answers counts as lost.

Writes never go through here: code that changes grants in a transaction reads the roles
it decides on from that transaction (``analyticbot.runtime.rbac.authorize`` with the
connection).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import asyncpg

from analyticbot.runtime.memo import MISSING, Memo
from analyticbot.runtime.metrics import GRANT_CACHE_LISTENING, GRANT_CACHE_READS
from analyticbot.runtime.rbac import Role, require_live_share_link, role_of
from analyticbot.runtime.tokens import Principal

log = logging.getLogger(__name__)

_FROM_MEMORY = GRANT_CACHE_READS.labels("memory")
_FROM_DATABASE = GRANT_CACHE_READS.labels("database")

CHANNEL = "grants_changed"


class GrantCache:
    """A role per (user, channel), read through ``pool`` and kept while listening to
    ``dsn``'s announcements (``run``). Without a ``dsn`` it never listens, and reads
    every role from the database."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str | None = None,
        *,
        ttl_seconds: float = 60.0,
        max_users: int = 50_000,
        probe_seconds: float = 5.0,
        retry_seconds: tuple[float, float] = (0.2, 5.0),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        self._probe_seconds = probe_seconds
        self._retry = retry_seconds
        # user id -> channel id -> role (None: no grant)
        self._roles: Memo[int, Role | None] = Memo(
            ttl_seconds=ttl_seconds, max_owners=max_users, clock=clock
        )
        self._listening = False
        self._conn: asyncpg.Connection | None = None
        self.hits = 0
        self.misses = 0
        self.announcements = 0
        self.connections = 0
        self._observers: list[Callable[[int | None], None]] = []

    @property
    def listening(self) -> bool:
        """Whether announcements are being received, so remembered roles may be served."""
        return self._listening

    async def role(self, user_id: int, channel_id: int) -> Role | None:
        """The user's role on the channel (None: no grant)."""
        if self._listening:
            remembered = self._roles.get(user_id, channel_id)
            if remembered is not MISSING:
                self.hits += 1
                _FROM_MEMORY.inc()
                return remembered
        self.misses += 1
        _FROM_DATABASE.inc()
        generation = self._roles.generation
        async with self._pool.acquire() as conn:
            role = await role_of(conn, user_id, channel_id)
        if self._listening:
            self._roles.put(user_id, channel_id, role, generation)
        return role

    async def require_live_share_link(self, principal: Principal) -> None:
        """Share links are not remembered: revoking one takes effect on the next call."""
        async with self._pool.acquire() as conn:
            await require_live_share_link(conn, principal)

    def observe(self, observer: Callable[[int | None], None]) -> None:
        """Call ``observer(user_id)`` whenever a user's roles are forgotten (None:
        everyone's, also when the cache stops listening): a relay passes it on to the
        processes that keep access decisions of their own (services/auth/grant_relay.py)."""
        self._observers.append(observer)

    def forget(self, user_id: int | None = None) -> None:
        """Drop what is remembered of ``user_id`` (of everyone when None), and keep any
        read already in flight from being remembered."""
        self._roles.forget(user_id)
        for observer in self._observers:
            observer(user_id)

    def _announced(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        self.announcements += 1
        if isinstance(payload, str) and payload.isdigit():
            self.forget(int(payload))
        else:
            self.forget()

    def _deaf(self) -> None:
        self._listening = False
        GRANT_CACHE_LISTENING.set(0)
        self.forget()

    async def run(self) -> None:
        """Listen until cancelled, reconnecting with jittered backoff after a loss."""
        if self._dsn is None:
            raise ValueError("a grant cache without a dsn cannot listen")
        dsn = self._dsn
        delay = self._retry[0]
        try:
            while True:
                try:
                    await self._listen(dsn)
                    delay = self._retry[0]
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                    log.warning("grant announcements lost; roles are read on every call")
                except Exception:  # the loop must outlive any surprise: it only listens
                    log.exception("grant listener failed; roles are read on every call")
                self._deaf()
                await self._close()
                await asyncio.sleep(random.uniform(0, delay))
                delay = min(delay * 2, self._retry[1])
        finally:
            self._deaf()
            await self._close()

    async def _listen(self, dsn: str) -> None:
        lost = asyncio.Event()
        conn = self._conn = await asyncpg.connect(dsn, timeout=3.0)
        conn.add_termination_listener(lambda _conn: self._terminated(lost))
        await conn.add_listener(CHANNEL, self._announced)
        # Anything remembered before this point may predate a change announced while
        # nobody listened.
        self.forget()
        self._listening = True
        GRANT_CACHE_LISTENING.set(1)
        self.connections += 1
        log.info("listening for grant changes")
        while not lost.is_set():
            try:
                await asyncio.wait_for(lost.wait(), self._probe_seconds)
            except TimeoutError:
                await conn.fetchval("SELECT 1", timeout=self._probe_seconds)

    def _terminated(self, lost: asyncio.Event) -> None:
        self._deaf()
        lost.set()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        try:
            await asyncio.wait_for(conn.close(), 2.0)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            conn.terminate()

    @property
    def listens(self) -> bool:
        """Whether ``run`` has anything to do (a ``dsn`` was given)."""
        return self._dsn is not None

    def stats(self) -> dict[str, Any]:
        """Hits, misses and size, for tests and benchmarks."""
        return {
            "hits": self.hits,
            "misses": self.misses,
            "announcements": self.announcements,
            "connections": self.connections,
            "users": len(self._roles),
            "listening": self._listening,
        }


def grant_cache(pool: asyncpg.Pool, dsn: str, ttl_seconds: float) -> GrantCache:
    """The grant cache of a service: listening to ``dsn`` unless ``ttl_seconds`` is 0,
    in which case every role is read from the database."""
    if ttl_seconds <= 0:
        return GrantCache(pool)
    return GrantCache(pool, dsn, ttl_seconds=ttl_seconds)
