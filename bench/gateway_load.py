"""The gateway under load: a cached dashboard read beside the trivial ``/healthz``, in the
same run, on the stack as a user starts it (``analyticbot run``).

Two measurements per endpoint, each from another process than the gateway:
- closed loop with ``wrk`` (Debian's; ``make system-deps``): the most requests per
  second the stack answers, with wrk's latency percentiles;
- open loop at ``--rate`` requests per second (this process, aiohttp): every request
  starts on its own schedule whatever the earlier ones are doing, and its latency counts
  from when it was due, so a stalled server shows up in p99 instead of slowing the load
  down (no coordinated omission).

The dashboard read is the channel overview with an explicit period: analytics caches its
answer in Redis after the first call, and the gateway keeps it in memory until analytics
announces a change (gateway/answer_memo.py). Each request still passes the gateway's
token check, its user's rate limit (a Redis round trip) and the access check (auth's
answer, kept until a grant change is announced: gateway/access_cache.py).

Beside the wrk figures, the CPU each of the stack's processes spent per request (from
``/proc``, pids from the stack's ``ports.json``): on a machine shared with other work
that figure moves far less than the throughput does.

``python -m bench.gateway_load [--rate 1000] [--seconds 10]`` (uses ``DATABASE_URL`` /
``REDIS_URL``, else the local servers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import httpx

from tests.e2e.conftest import free_port, start_stack, stop_stack
from tests.resilience.conftest import wait_for_channels
from tests.support import drop_database, fresh_database

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Figures:
    throughput: float
    p50_ms: float
    p99_ms: float
    errors: int


def _ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s)", text)
    assert match, text
    return float(match[1]) * _UNITS[match[2]]


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds each process has used so far (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for name, pid in pids.items():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        used[name] = (int(fields[11]) + int(fields[12])) / tick
    return used


def wrk(
    url: str, token: str | None, seconds: int, connections: int, paths: list[str] | None = None
) -> Figures:
    """wrk, closed loop: 2 threads, ``connections`` connections; with ``paths``, each
    request takes the next of them in turn (a Lua script) instead of ``url``'s."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if paths:
            listed = ", ".join(json.dumps(path) for path in paths)
            script.write(
                f"local paths = {{{listed}}}\nlocal i = 0\n"
                "request = function()\n  i = i % #paths + 1\n"
                '  return wrk.format("GET", paths[i])\nend\n'
            )
            script.flush()
            command[1:1] = ["-s", script.name]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    percent = dict(re.findall(r"^\s*(50|99)(?:\.0+)?%\s+(\S+)\s*$", out, re.MULTILINE))
    assert set(percent) == {"50", "99"}, out
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)$", out, re.MULTILINE)
    count = int(errors[1]) if errors else 0
    if socket_errors:
        count += sum(int(n) for n in re.findall(r"\d+", socket_errors[1]))
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    assert rate, out
    return Figures(float(rate[1]), _ms(percent["50"]), _ms(percent["99"]), count)


async def open_loop(url: str, token: str | None, rate: float, seconds: float) -> Figures:
    """``rate`` requests per second for ``seconds``; latency from each request's due time."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    errors = 0

    async def one(session: aiohttp.ClientSession, due: float) -> None:
        nonlocal errors
        try:
            async with session.get(url) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
                    return
        except (aiohttp.ClientError, TimeoutError):  # no answer within the timeout
            errors += 1
            return
        latencies.append((time.perf_counter() - due) * 1000)

    connector = aiohttp.TCPConnector(limit=512)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(
        headers=headers, connector=connector, timeout=timeout
    ) as session:
        begin = time.perf_counter()
        tasks = []
        for number in range(int(rate * seconds)):
            due = begin + number / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(session, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    latencies.sort()
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else float("nan")
    return Figures(
        len(latencies) / elapsed,
        statistics.median(latencies) if latencies else float("nan"),
        p99,
        errors,
    )


def wait_until_caught_up(url: str, token: str, channels: list[int]) -> int:
    """Wait for the simulator's replay of past weeks (CPU-heavy) to reach the present,
    so it does not share the machine with the measurement; returns the channel with the
    newest data. While the replay runs, the newest sample moves hours per second; once it
    runs in real time it stands still for minutes (a quiet hour may leave it well behind
    the clock, so closeness to now alone is no test)."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 300
    previous: datetime | None = None
    while time.monotonic() < deadline:
        newest: dict[int, datetime] = {}
        for channel in channels:
            reply = httpx.get(f"{url}/api/v1/channels/{channel}/overview", headers=headers)
            as_of = reply.json().get("data_as_of") if reply.status_code == 200 else None
            if as_of:
                newest[channel] = datetime.fromisoformat(as_of)
        if newest:
            channel, latest = max(newest.items(), key=lambda item: item[1])
            recent = latest > datetime.now(UTC) - timedelta(hours=3)
            if recent and previous is not None and latest - previous < timedelta(minutes=1):
                return channel
            previous = latest
        time.sleep(5)
    raise AssertionError("the simulator did not catch up with the present in 300 s")


def _row(name: str, mode: str, figures: Figures) -> str:
    return (
        f"| {name} | {mode} | {figures.throughput:,.0f} | {figures.p50_ms:.1f} "
        f"| {figures.p99_ms:.1f} | {figures.errors} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    assert shutil.which("wrk"), "wrk is required (make system-deps)"
    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    os.environ["ANALYTICBOT_RATE_LIMIT_PER_USER"] = "10000000/minute"
    os.environ["ANALYTICBOT_RATE_LIMIT_PER_IP"] = "10000000/minute"
    database = fresh_database(admin, prefix="ab_load")
    folder = Path(tempfile.mkdtemp(prefix="gateway-load-"))
    stack = start_stack(database, redis_url, folder, free_port())
    try:
        token = stack.login()
        channels = wait_for_channels(stack, token)
        channel = wait_until_caught_up(stack.url, token, channels)
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(days=7)
        query = f"start={start:%Y-%m-%dT%H:%M:%SZ}&end={end:%Y-%m-%dT%H:%M:%SZ}"
        dashboard = f"{stack.url}/api/v1/channels/{channel}/overview?{query}"
        trivial = f"{stack.url}/healthz"
        # Many dashboards: every channel, each over one of 24 weeks ending an hour apart,
        # so concurrent requests rarely ask the same question.
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        many = [
            f"/api/v1/channels/{each}/overview?start={(week_end - timedelta(days=7)):{stamp}}"
            f"&end={week_end:{stamp}}"
            for each in channels
            for week_end in (end - timedelta(hours=h) for h in range(24))
        ]
        asyncio.run(open_loop(dashboard, token, 20, 1))  # warm the cache
        for path in many:  # and the many dashboards' (analytics caches each in Redis)
            httpx.get(stack.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        print("| endpoint | load | req/s | p50 ms | p99 ms | errors |")
        print("|---|---|---:|---:|---:|---:|", flush=True)
        pids = json.loads((folder / "ports.json").read_text())["pids"]
        closed, cpu = {}, {}
        runs = (
            ("/healthz", trivial, None, None),
            ("overview", dashboard, token, None),
            (f"overview, {len(many)} URLs", dashboard, token, many),
        )
        for name, url, bearer, paths in runs:
            before = cpu_seconds(pids)
            closed[name] = wrk(url, bearer, args.seconds, args.connections, paths)
            after = cpu_seconds(pids)
            requests = closed[name].throughput * args.seconds
            cpu[name] = {p: 1000 * (after[p] - before[p]) / requests for p in pids}
            print(_row(name, f"wrk -c{args.connections}", closed[name]), flush=True)
        for name, url, bearer in (("/healthz", trivial, None), ("overview", dashboard, token)):
            figures = asyncio.run(open_loop(url, bearer, args.rate, args.seconds))
            print(_row(name, f"open {args.rate:,.0f}/s", figures), flush=True)
        print()
        for name in list(closed)[1:]:
            ratio = closed[name].throughput / closed["/healthz"].throughput
            print(f"{name} / /healthz throughput (wrk, closed loop): {ratio:.2f}x")
        print()
        names = sorted(pids)
        print("| CPU ms per request (wrk) | " + " | ".join(names) + " |")
        print("|---|" + "---:|" * len(names))
        for name, spent in cpu.items():
            print(f"| {name} | " + " | ".join(f"{spent[p]:.2f}" for p in names) + " |")
    finally:
        stop_stack(stack)
        drop_database(admin, database)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
