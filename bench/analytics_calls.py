"""The analytics server's CPU per cheap call: answers shared per ingest event and Redis
cache hits (an overview of a closed period, a post's detail), where nothing but the
server's own per-call work is left.

Run: ``.venv/bin/python -m bench.analytics_calls [--seconds 10] [--reuse DATABASE]
[--no-grant-cache] [--client python|h2load]``. Without ``--reuse`` it generates the
dataset of ``bench.analytics`` at ``--scale`` (default 0.02: the calls measured here do
not read the database once shared or cached) in a scratch database and drops it
afterwards.

The server runs in a process of its own, as in ``bench.analytics``; ``--concurrency``
(32) clients in this process call it for ``--seconds`` per call kind. Reported per kind:
calls/s, p50/p99, and the CPU seconds the server process and this (client) process
spent per call, read from ``/proc`` and ``time.process_time`` around the run. The
latency at c=32 is bounded by throughput (Little's law: 32 / calls per second), and on
a 2-core machine the client shares the CPU with the server, so the CPU per call is the
figure to compare between versions.

``--client h2load`` (``make bench-deps`` installs it) sends the same calls from nghttp2's
``h2load`` instead, a load generator in C: one HTTP/2 connection with ``--concurrency``
streams in flight, each a gRPC request (the framed message, ``content-type:
application/grpc``, the bearer token), for ``--seconds`` after a one-second warm-up; the
latencies come from its per-request log. It cannot read gRPC's status (it is in the
trailers), so each call kind is first made once through grpcio, and the run is refused
unless h2load received at least that answer's size per request. The client then costs
the machine far less CPU than grpcio's Python client does, so these figures are closer
to what the server alone can do on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import resource
import shutil
import struct
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, cast

import asyncpg
import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from analyticbot.analytics.v1 import analytics_pb2, posts_pb2, series_pb2
from analyticbot.runtime.cache import create_redis
from analyticbot.runtime.db import create_pool
from analyticbot.runtime.migrate import migrate
from analyticbot.runtime.tokens import SigningKey, TokenSigner
from bench.analytics import (
    BENCH_USER,
    DEFAULT_REDIS,
    DEFAULT_URL,
    NOW,
    OVERVIEW_DAYS,
    Figures,
    Shape,
    Target,
    _scratch_url,
    _stub,
    analytics_server,
    generate,
    grpc_calls,
    load,
    pick_targets,
    stamp,
)

# The server's health check: no interceptor, database or Redis, only grpc.aio's own
# handling of a call, the least any call costs.
FLOOR = "health check (grpc.aio alone)"
KINDS = (
    FLOOR,
    "overview",
    "overview (Redis hit)",
    "posts list",
    "best-time",
    "post detail (Redis hit)",
)
SERVICE = "/analyticbot.analytics.v1.AnalyticsService"
_TICKS = os.sysconf("SC_CLK_TCK")


def _client_cpu() -> float:
    """CPU seconds of this process and of its finished children (h2load)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _requests(target: Target) -> dict[str, tuple[str, Message]]:
    """Each call kind's method path and request, as ``grpc_calls`` makes them."""
    cid = target.channel_id
    period = {"period_start": stamp(NOW - OVERVIEW_DAYS), "period_end": stamp(NOW)}
    return {
        FLOOR: ("/grpc.health.v1.Health/Check", health_pb2.HealthCheckRequest()),
        "overview": (
            f"{SERVICE}/GetChannelOverview",
            analytics_pb2.GetChannelOverviewRequest(channel_id=cid),
        ),
        "overview (Redis hit)": (
            f"{SERVICE}/GetChannelOverview",
            analytics_pb2.GetChannelOverviewRequest(channel_id=cid, **period),
        ),
        "posts list": (
            f"{SERVICE}/ListPosts",
            posts_pb2.ListPostsRequest(
                channel_id=cid, sort=posts_pb2.POST_SORT_VIEWS, page_size=50
            ),
        ),
        "best-time": (f"{SERVICE}/GetBestTime", series_pb2.GetBestTimeRequest(channel_id=cid)),
        # A post older than a day (``pick_targets``): cached once computed.
        "post detail (Redis hit)": (
            f"{SERVICE}/GetPost",
            posts_pb2.GetPostRequest(channel_id=cid, message_id=target.message_ids[0]),
        ),
    }


def h2load(
    port: int, token: str, method: str, request: Message, answer_bytes: int,
    concurrency: int, seconds: float,
) -> Figures:  # fmt: skip
    """``request`` sent by h2load for ``seconds``; refused unless every request got an
    HTTP 2xx and, on average, at least ``answer_bytes`` of answer."""
    body = request.SerializeToString()
    with tempfile.TemporaryDirectory() as folder:
        data, log = Path(folder) / "request", Path(folder) / "log"
        data.write_bytes(b"\x00" + struct.pack(">I", len(body)) + body)  # gRPC framing
        command = [
            "h2load", "-c1", f"-m{concurrency}", "-D", f"{int(seconds * 1000)}ms",
            "--warm-up-time=1", "-d", str(data), f"--log-file={log}",
            "-H", "content-type: application/grpc", "-H", "te: trailers",
            "-H", f"authorization: Bearer {token}",
            f"http://127.0.0.1:{port}{method}",
        ]  # fmt: skip
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        micros = [int(line.split()[2]) for line in log.read_text().splitlines() if line]
    done = _count(r"requests: \d+ total, \d+ started, (\d+) done", out)
    ok = _count(r"status codes: (\d+) 2xx", out)
    data_bytes = _count(r"\((\d+)\) data", out)
    assert done > 0, out
    assert ok == done, out
    assert data_bytes >= done * answer_bytes, f"answers smaller than a real one: {out}"
    return Figures([m / 1_000_000 for m in micros], seconds)


def _count(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, f"{pattern!r} not in h2load's report: {text}"
    return int(found[1])


async def measure(
    url: str, seconds: float, concurrency: int, grant_cache: bool, client_kind: str = "python"
) -> list[str]:
    pool = await create_pool(url, min_size=2, max_size=10)
    client = create_redis(os.environ.get("REDIS_URL", DEFAULT_REDIS))
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    signer = TokenSigner([SigningKey.generate()])
    token, _ = signer.issue("access", str(BENCH_USER), 3600)
    metadata = (("authorization", f"Bearer {token}"),)
    lines = []
    try:
        target = (await pick_targets(pool, seed=7))[0]
        async with analytics_server(
            url, pool, client, prefix, signer, same_process=False, grant_cache=grant_cache
        ) as port:
            (server,) = multiprocessing.active_children()
            assert server.pid is not None
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = _stub(channel)
                calls = grpc_calls(stub, metadata, target)
                requests = _requests(target)
                one_post = cast(posts_pb2.GetPostRequest, requests["post detail (Redis hit)"][1])
                calls["post detail (Redis hit)"] = lambda _: stub.GetPost(
                    one_post, metadata=metadata
                )
                health = health_pb2_grpc.HealthStub(channel)
                calls[FLOOR] = lambda _: health.Check(health_pb2.HealthCheckRequest())
                for kind in KINDS:
                    await load(calls[kind], 200, concurrency, seconds)  # warm
                    server_before = _cpu_seconds(server.pid)
                    client_before = _client_cpu()
                    if client_kind == "h2load":
                        method, request = requests[kind]
                        # One call through grpcio: it must succeed, and its size is what
                        # every h2load request must have received at least.
                        raw: Any = channel.unary_unary(
                            method, request_serializer=lambda m: m.SerializeToString()
                        )
                        answer: bytes = await raw(request, metadata=metadata)
                        figures = h2load(
                            port, token, method, request, 5 + len(answer), concurrency, seconds
                        )
                    else:
                        figures = await load(calls[kind], 10**9, concurrency, seconds)
                    server_cpu = _cpu_seconds(server.pid) - server_before
                    client_cpu = _client_cpu() - client_before
                    n = len(figures.latencies)
                    line = (
                        f"| {kind} | {figures.rate:,.0f} | {figures.quantile(0.5):.1f} | "
                        f"{figures.quantile(0.99):.1f} | {server_cpu / n * 1000:.3f} | "
                        f"{client_cpu / n * 1000:.3f} |"
                    )
                    print(line, flush=True)
                    lines.append(line)
    finally:
        await client.aclose()
        await pool.close()
    return lines


async def run(args: argparse.Namespace) -> None:
    admin_url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    name = args.reuse or f"ab_bench_calls_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    try:
        url = _scratch_url(admin_url, name)
        if args.reuse is None:
            await admin.execute(f'CREATE DATABASE "{name}"')
            conn = await asyncpg.connect(url)
            try:
                await migrate(conn)
            finally:
                await conn.close()
            await generate(url, Shape.of(args.scale))
        print(
            f"| call (big channel, c={args.concurrency}) | calls/s | p50 ms | p99 ms "
            "| server CPU ms/call | client CPU ms/call |\n|---|---:|---:|---:|---:|---:|",
            flush=True,
        )
        await measure(url, args.seconds, args.concurrency, not args.no_grant_cache, args.client)
    finally:
        if args.reuse is None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--reuse", metavar="DATABASE", help="a database kept by bench.analytics")
    parser.add_argument("--no-grant-cache", action="store_true")
    parser.add_argument("--client", choices=("python", "h2load"), default="python")
    args = parser.parse_args()
    if args.client == "h2load" and shutil.which("h2load") is None:
        parser.error("h2load is not installed: make bench-deps")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
