"""The analytics server's CPU per cheap call: answers shared per ingest event and Redis
cache hits, where nothing but the server's own per-call work is left.

Run: ``.venv/bin/python -m bench.analytics_calls [--seconds 10] [--reuse DATABASE]
[--no-grant-cache]``. Without ``--reuse`` it generates the dataset of ``bench.analytics``
at ``--scale`` (default 0.02: the calls measured here do not read the database once
shared or cached) in a scratch database and drops it afterwards.

The server runs in a process of its own, as in ``bench.analytics``; ``--concurrency``
(32) clients in this process call it for ``--seconds`` per call kind. Reported per kind:
calls/s, p50/p99, and the CPU seconds the server process and this (client) process
spent per call, read from ``/proc`` and ``time.process_time`` around the run. The
latency at c=32 is bounded by throughput (Little's law: 32 / calls per second), and on
a 2-core machine the client shares the CPU with the server, so the CPU per call is the
figure to compare between versions.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
import uuid

import asyncpg
import grpc

from analyticbot.runtime.cache import create_redis
from analyticbot.runtime.db import create_pool
from analyticbot.runtime.migrate import migrate
from analyticbot.runtime.tokens import SigningKey, TokenSigner
from bench.analytics import (
    BENCH_USER,
    DEFAULT_REDIS,
    DEFAULT_URL,
    Shape,
    _scratch_url,
    _stub,
    analytics_server,
    generate,
    grpc_calls,
    load,
    pick_targets,
)

KINDS = ("overview", "overview (Redis hit)", "posts list", "best-time")
_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


async def measure(url: str, seconds: float, concurrency: int, grant_cache: bool) -> list[str]:
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
                calls = grpc_calls(_stub(channel), metadata, target)
                for kind in KINDS:
                    await load(calls[kind], 200, concurrency, seconds)  # warm
                    server_before = _cpu_seconds(server.pid)
                    client_before = time.process_time()
                    figures = await load(calls[kind], 10**9, concurrency, seconds)
                    server_cpu = _cpu_seconds(server.pid) - server_before
                    client_cpu = time.process_time() - client_before
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
        await measure(url, args.seconds, args.concurrency, not args.no_grant_cache)
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
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
