"""Readiness that follows the backing stores: a watcher pings PostgreSQL and Redis and
sets each gRPC service's own health status.

Every ``interval`` seconds each probe must answer within ``timeout``. While one does not,
the server's *service names* (``analyticbot.analytics.v1.AnalyticsService``...) report
NOT_SERVING; once all answer again, SERVING. The overall status ``""`` is left alone: it
follows only the process, so a liveness probe on it never restarts pods during a store
outage, while a readiness probe on the service name takes the pod out of rotation.
The status is re-applied on every round, so it also corrects the SERVING that
``GrpcServer.start`` sets, and after SIGTERM the health servicer ignores it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

import asyncpg
import redis.asyncio as redis
from grpc_health.v1 import health_pb2

from analyticbot.runtime.grpc_server import GrpcServer

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[object]]

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def postgres_probe(pool: asyncpg.Pool) -> Probe:
    """``SELECT 1`` on a pooled connection."""

    async def probe() -> object:
        return await pool.fetchval("SELECT 1")

    return probe


def redis_probe(client: redis.Redis) -> Probe:
    """``PING``."""

    async def probe() -> object:
        return await client.ping()

    return probe


def flag_probe(what: str, ready: Callable[[], bool]) -> Probe:
    """Fails while ``ready()`` is false (a key set not loaded yet: the service would
    answer every call UNAVAILABLE, so it must not look ready)."""

    async def probe() -> object:
        if not ready():
            raise LookupError(f"{what} not ready")
        return True

    return probe


class DependencyWatcher:
    """Pings the stores of one server and reports them in its per-service health."""

    def __init__(
        self,
        server: GrpcServer,
        probes: Mapping[str, Probe],
        *,
        interval: float = 2.0,
        timeout: float = 1.5,
    ) -> None:
        self._server = server
        self._probes = dict(probes)
        self._interval = interval
        self._timeout = timeout
        self.down: frozenset[str] = frozenset()

    async def _answers(self, name: str, probe: Probe) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                await probe()
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            log.debug("%s probe failed: %r", name, exc)
            return False
        return True

    async def check(self) -> frozenset[str]:
        """One round: probe every store, apply the status, return the stores down."""
        names = list(self._probes)
        answers = await asyncio.gather(*(self._answers(n, self._probes[n]) for n in names))
        down = frozenset(name for name, ok in zip(names, answers, strict=True) if not ok)
        if down != self.down:
            if down:
                log.warning("unreachable: %s; reporting NOT_SERVING", ", ".join(sorted(down)))
            else:
                log.info("%s reachable again; reporting SERVING", ", ".join(sorted(self.down)))
        self.down = down
        status = NOT_SERVING if down else SERVING
        for service in self._server.service_names:
            await self._server.health.set(service, status)
        return down

    async def run(self) -> None:
        """Check every ``interval`` seconds until cancelled; the first rounds come faster
        (0.25 s, 0.5 s, 1 s...) so a fresh process reports its real state at once."""
        pause = 0.25
        while True:
            await self.check()
            await asyncio.sleep(min(pause, self._interval))
            pause *= 2


def watch_dependencies(
    server: GrpcServer,
    pool: asyncpg.Pool,
    client: redis.Redis | None = None,
    *,
    keys_loaded: Callable[[], bool] | None = None,
) -> asyncio.Task[None]:
    """Start watching ``pool`` (and ``client``, and that the key set is loaded) for
    ``server``; cancel the task to stop."""
    probes: dict[str, Probe] = {"postgresql": postgres_probe(pool)}
    if client is not None:
        probes["redis"] = redis_probe(client)
    if keys_loaded is not None:
        probes["keys"] = flag_probe("key set", keys_loaded)
    return asyncio.create_task(DependencyWatcher(server, probes).run())
