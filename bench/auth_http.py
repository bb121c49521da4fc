"""The gateway's sign-in endpoint beside its trivial endpoint, in the same run.

``POST /api/v1/auth/telegram`` does what every Mini App launch does: the gateway parses
the body, rate-limits, calls the auth service over gRPC, which validates the initData
(HMAC), upserts the user in PostgreSQL and signs an EdDSA access token and a refresh token
(stored hashed). ``GET /healthz`` is the floor: the same HTTP stack doing nothing.

Both run closed loop at the same concurrency from this process against the stack as a
user starts it (``analyticbot run``); every sign-in carries freshly signed initData for
its own user. The sign-in rate limit is lifted for the run (it would cap the test, not
the code). ``.venv/bin/python -m bench.auth_http [--requests 2000] [--concurrency 16]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from analyticbot.runtime.initdata import sign_init_data
from tests.e2e.conftest import free_port, start_stack, stop_stack
from tests.support import drop_database, fresh_database

ADMIN_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


async def measure(
    requests: int, concurrency: int, send: Callable[[int], Awaitable[httpx.Response]]
) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, non-2xx) for ``requests`` calls, ``concurrency`` at once."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))

    async def worker() -> None:
        nonlocal errors
        for n in counter:
            started = time.perf_counter()
            reply = await send(n)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not reply.is_success

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return requests / elapsed, cuts[49], cuts[98], errors


async def run(url: str, bot_token: str, requests: int, concurrency: int) -> str:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        def init_data(n: int) -> dict[str, str]:
            fields = {
                "auth_date": str(int(time.time())),
                "query_id": f"bench{n}",
                "user": json.dumps({"id": 3_000_000_000 + n, "first_name": f"B{n}"}),
            }
            return {"init_data": sign_init_data(fields, bot_token)}

        async def sign_in(n: int) -> httpx.Response:
            return await client.post("/api/v1/auth/telegram", json=init_data(n))

        async def healthz(n: int) -> httpx.Response:
            return await client.get("/healthz")

        await measure(100, concurrency, healthz)  # warm both paths up
        await measure(100, concurrency, sign_in)
        trivial = await measure(requests, concurrency, healthz)
        auth = await measure(requests, concurrency, sign_in)
    rows = [
        "| endpoint | requests/s | p50 ms | p99 ms | non-2xx | vs /healthz |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, (rate, p50, p99, errors) in (
        ("GET /healthz", trivial),
        ("POST /api/v1/auth/telegram", auth),
    ):
        rows.append(
            f"| {name} | {rate:,.0f} | {p50:.1f} | {p99:.1f} | {errors} | "
            f"{rate / trivial[0]:.2f}x |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    database_url = fresh_database(ADMIN_URL, prefix="ab_bench_auth")
    try:
        with tempfile.TemporaryDirectory() as folder:
            stack = start_stack(
                database_url,
                REDIS_URL,
                Path(folder),
                free_port(),
                {
                    "ANALYTICBOT_RATE_LIMIT_AUTH_PER_IP": "1000000/minute",
                    "ANALYTICBOT_RATE_LIMIT_PER_IP": "1000000/minute",
                },
            )
            try:
                bot_token = (Path(folder) / "dev-bot-token").read_text().strip()
                table = asyncio.run(run(stack.url, bot_token, args.requests, args.concurrency))
            finally:
                stop_stack(stack)
    finally:
        drop_database(ADMIN_URL, database_url)
    print(f"{args.requests} requests per endpoint, concurrency {args.concurrency}\n")
    print(table)


if __name__ == "__main__":
    main()
