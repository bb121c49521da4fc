"""What a drill watches: gRPC health, the supervised processes, the load's records and
the figures each drill prints (``DRILL {...}``, shown with ``-s``)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.resilience.conftest import DrillStack
from tests.support import ROOT

SERVICES = {
    "analytics": "analyticbot.analytics.v1.AnalyticsService",
    "auth": "analyticbot.auth.v1.AuthService",
    "collector": "analyticbot.collector.v1.CollectorService",
}
# A refused read comes back within the gateway's RPC deadline (5 s) and a second: it may
# wait for one store connection attempt, never hang.
ANSWERED_WITHIN_MS = 6000


def health(port: int, service: str) -> str:
    """The service's status name, or the failure's code (UNAVAILABLE when down)."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=1
            )
        except grpc.RpcError as exc:
            return str(exc.code().name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until ``condition()`` holds; fails after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout}s")


def statuses(drill: DrillStack, names: tuple[str, ...]) -> dict[str, str]:
    grpc_ports = drill.ports["grpc"]
    return {name: health(grpc_ports[name], SERVICES[name]) for name in names}


def service_pid(drill: DrillStack, name: str) -> int | None:
    """The pid of the live ``analyticbot serve <name>`` child of the supervisor, or None.

    Looked up in /proc rather than ports.json: the supervisor writes the pids there once,
    at start, and not again when it restarts a child."""
    supervisor = drill.stack.process.pid
    wanted = [b"serve", name.encode()]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if int(parent) == supervisor and state != "Z" and argv[-3:-1] == wanted:
            return int(entry.name)
    return None


_LOADS: list[subprocess.Popen[bytes]] = []


def stop_loads() -> None:
    """Kill and reap load processes a failed drill left running (an unreaped process
    would warn later, in whichever test the garbage collector happens to run)."""
    while _LOADS:
        process = _LOADS.pop()
        if process.poll() is None:
            process.kill()
        process.wait()


class Load:
    """``tests.resilience.load`` in a second process."""

    def __init__(self, drill: DrillStack, seconds: float, rate: float, out: Path) -> None:
        self.out = out
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.resilience.load",
                drill.stack.url,
                drill.token,
                str(seconds),
                str(rate),
                str(out),
                *drill.read_paths(),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        _LOADS.append(self.process)

    def records(self) -> list[dict[str, Any]]:
        assert self.process.wait(timeout=120) == 0
        return list(json.loads(self.out.read_text()))


def summary(name: str, records: list[dict[str, Any]], **figures: float | str) -> dict[str, Any]:
    codes = Counter(int(record["status"]) for record in records)
    latencies = sorted(float(record["ms"]) for record in records)
    result = {
        "drill": name,
        "requests": len(records),
        "statuses": dict(sorted(codes.items())),
        "stale": sum(1 for record in records if record["cache"] == "stale"),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
        **figures,
    }
    print(f"\nDRILL {json.dumps(result)}", flush=True)
    return result


def server_errors(drill: DrillStack, records: list[dict[str, Any]]) -> str:
    """The 5xx/no-answer records and the stack's error log lines, for a failure."""
    bad = [r for r in records if r["status"] >= 500 or r["status"] == 0]
    lines = [
        line
        for line in drill.stack.log_path.read_text(errors="replace").splitlines()
        if '"ERROR"' in line or "Traceback" in line or "Error:" in line
    ]
    return f"{bad[:10]}\n" + "\n".join(lines[-40:])


def refused_cleanly(records: list[dict[str, Any]]) -> bool:
    """Every read that was not answered is a 503 that came back within the deadline."""
    failures = [r for r in records if r["status"] != 200]
    return all(r["status"] == 503 and r["ms"] < ANSWERED_WITHIN_MS for r in failures)


def warm(drill: DrillStack) -> None:
    """Read every path once, so each has a stale copy before the fault."""
    headers = {"Authorization": f"Bearer {drill.token}"}
    with httpx.Client(base_url=drill.stack.url, headers=headers, timeout=10) as client:
        for path in drill.read_paths():
            assert client.get(path).status_code == 200, path
    time.sleep(0.3)
