"""Gateway CPU per request: the cached dashboard read beside ``/healthz``, in process.

Run: ``.venv/bin/python -m bench.gateway_route_cpu [--requests 3000] [--concurrency 16]
[--rounds 2] [--compare-with DIR]``. Uses ``REDIS_URL`` (else the local server) for the
rate limits and the stale copies.

The gateway app (``create_app``, tracing configured as ``gateway.main`` does, no OTLP
endpoint) runs in this process and is called through its ASGI interface, as hypercorn
calls it, but without a server or sockets in front: the figures are the app's own work
(middleware, guards, rate limits, token check, gRPC client calls, mapping, JSON), not
hypercorn's, which costs both endpoints alike. The peers (the test fakes of auth and
analytics, ``tests.integration.gateway.gateway_fakes``) run in a process of their own so
that their CPU is not counted. ``--concurrency`` requests are kept in flight, as under
wrk, so identical overview reads share analytics calls.

CPU per request is ``time.process_time`` (every thread of this process, gRPC's included)
over ``--requests`` requests, the two endpoints alternating ``--rounds`` times.
``--compare-with DIR`` also measures another copy of the ``gateway`` package (e.g.
``git archive HEAD gateway | tar -x -C DIR``) in a child process, alternating with this
tree, so before and after share one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from multiprocessing.connection import Connection
from typing import Any, cast

import redis.asyncio as redis
from pydantic import SecretStr
from quart import Quart

Call = Callable[[], Awaitable[int]]

LOCAL_REDIS = "redis://127.0.0.1:6379/0"
OVERVIEW_QUERY = b"start=2025-03-01T00:00:00Z&end=2025-03-08T00:00:00Z"


def _serve_peers(conn: Connection) -> None:
    """The fake peers until the parent says stop (runs in a spawned process)."""
    from tests.integration.gateway.gateway_fakes import start_peers

    async def serve() -> None:
        peers = await start_peers()
        token = peers.token(ttl_seconds=3600)
        conn.send((peers.auth_server.port, peers.analytics_server.port, token))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await peers.stop()

    asyncio.run(serve())


def asgi_get(app: Quart, path: str, query: bytes, token: str | None) -> Call:
    """One GET through the app's ASGI callable; returns the status."""
    headers = [(b"host", b"localhost")]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
        "extensions": {},
    }

    async def call() -> int:
        status = 0
        received = False

        async def receive() -> dict[str, Any]:
            # The (empty) body once, then nothing until the app stops listening.
            nonlocal received
            if received:
                await asyncio.Event().wait()
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(cast(Any, dict(scope)), cast(Any, receive), cast(Any, send))
        return status

    return call


async def cpu_ms_per_request(call: Call, requests: int, concurrency: int) -> float:
    """CPU milliseconds per request with ``concurrency`` requests in flight; every answer
    must be 200."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            status = await call()
            assert status == 200, status

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.process_time() - started) / requests * 1000


@contextlib.asynccontextmanager
async def relays_alive(redis_url: SecretStr, topics: list[str]) -> AsyncIterator[None]:
    """Publish ``alive`` on ``topics`` every half second, as auth's grant relay and
    analytics' ingest worker do while they hear every change."""
    client = redis.Redis.from_url(redis_url.get_secret_value())

    async def beat() -> None:
        while True:
            for topic in topics:
                await client.publish(topic, "alive")
            await asyncio.sleep(0.5)

    task = asyncio.create_task(beat())
    await asyncio.sleep(0.6)  # the app's listeners subscribe in the background
    try:
        yield
    finally:
        task.cancel()
        await asyncio.wait([task])
        await client.aclose()


async def measure(requests: int, concurrency: int, rounds: int) -> list[tuple[float, float]]:
    """(healthz, overview) CPU ms per request for each round, with this process's
    ``gateway`` package."""
    from analyticbot.runtime.telemetry import configure_tracing
    from gateway.app import create_app
    from gateway.config import GatewaySettings
    from tests.integration.gateway.fake_data import CHANNEL_ID

    configure_tracing("gateway", None)
    parent, child = multiprocessing.get_context("spawn").Pipe()
    peers = multiprocessing.get_context("spawn").Process(target=_serve_peers, args=(child,))
    peers.start()
    try:
        auth_port, analytics_port, token = parent.recv()
        prefix = f"bench:gateway:{uuid.uuid4().hex}"
        # As deployed, auth relays grant changes and analytics announces dropped answers;
        # here nothing changes, and ``relays_alive`` says they are listening. (By
        # environment, so that an older tree without these settings ignores them.)
        topics = {"ANALYTICBOT_GRANTS_TOPIC": f"{prefix}:grants"}
        topics["ANALYTICBOT_ANSWERS_TOPIC"] = f"{prefix}:answers"
        os.environ.update(topics)
        settings = GatewaySettings(
            env="development",
            redis_url=SecretStr(os.environ.get("REDIS_URL", LOCAL_REDIS)),
            auth_addr=f"127.0.0.1:{auth_port}",
            analytics_addr=f"127.0.0.1:{analytics_port}",
            rate_limit_key_prefix=prefix,
            stale_key_prefix=f"{prefix}:stale",
            rate_limit_per_ip="10000000/minute",
            rate_limit_per_user="10000000/minute",
        )
        app = create_app(settings)
        rows = []
        async with app.test_app(), relays_alive(settings.redis_url, list(topics.values())):
            healthz = asgi_get(app, "/healthz", b"", None)
            overview = asgi_get(
                app, f"/api/v1/channels/{CHANNEL_ID}/overview", OVERVIEW_QUERY, token
            )
            for call in (healthz, overview):  # warm up: keys, connections, caches
                await cpu_ms_per_request(call, 300, concurrency)
            for _ in range(rounds):
                rows.append(
                    (
                        await cpu_ms_per_request(healthz, requests, concurrency),
                        await cpu_ms_per_request(overview, requests, concurrency),
                    )
                )
        return rows
    finally:
        parent.send("stop")
        peers.join(10)


def _child_rows(tree: str, args: argparse.Namespace) -> list[tuple[float, float]]:
    """``measure`` with the ``gateway`` package of ``tree``, in a child process."""
    env = {**os.environ, "PYTHONPATH": tree}
    command = [
        sys.executable,
        "-m",
        "bench.gateway_route_cpu",
        f"--requests={args.requests}",
        f"--concurrency={args.concurrency}",
        "--rounds=1",
        "--json",
    ]
    # Not from the repository root: its ``gateway`` would shadow the tree's.
    out = subprocess.run(command, env=env, cwd=tree, check=True, capture_output=True, text=True)
    return [tuple(row) for row in json.loads(out.stdout.splitlines()[-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--compare-with", metavar="DIR")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:
        rows = asyncio.run(measure(args.requests, args.concurrency, args.rounds))
        print(json.dumps(rows))
        return
    trees = {"this tree": os.getcwd()}
    if args.compare_with:
        trees = {"compared": os.path.abspath(args.compare_with), **trees}
    print("| round | code | /healthz CPU ms | overview CPU ms | overview throughput / healthz |")
    print("|---:|---|---:|---:|---:|")
    for number in range(1, args.rounds + 1):
        for name, tree in trees.items():
            for healthz, overview in _child_rows(tree, args):
                print(
                    f"| {number} | {name} | {healthz:.3f} | {overview:.3f} "
                    f"| {healthz / overview:.2f}x |"
                )


if __name__ == "__main__":
    main()
