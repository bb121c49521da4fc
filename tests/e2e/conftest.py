"""The stack as a user starts it: ``analyticbot run`` in a subprocess.

The run gets its own fresh database (so it sees only its own simulated channels) and a
temporary data folder; PostgreSQL and Redis are the test servers, passed as URLs exactly
as an operator would.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from analyticbot.runtime.ports import listen_port
from tests.support import ROOT, drop_database, fresh_database

STARTUP_TIMEOUT = 90.0
# Debian's chromium, headless, with nothing that reaches for the (closed) network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    """A port for a stack's gateway: one no outgoing connection can take before it binds."""
    return listen_port()


@dataclass
class Stack:
    url: str
    database_url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    # This stack's Redis namespace (ANALYTICBOT_REDIS_NAMESPACE): stacks on one machine
    # share its Redis, and must not read one another's caches, events or rate limits.
    namespace: str

    def redis_name(self, name: str) -> str:
        """A documented Redis name (``ab:events:ingest``) as this stack uses it."""
        return f"{self.namespace}:{name}"

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def login(self) -> str:
        """Sign in as the development user the way the Mini App does; returns a token."""
        with self.api() as client:
            init_data = client.get("/api/v1/dev/init-data").raise_for_status().json()
            reply = client.post("/api/v1/auth/telegram", json=init_data).raise_for_status()
            return str(reply.json()["access_token"])

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")[-20000:]


def start_stack(
    database_url: str,
    redis_url: str,
    data_dir: Path,
    port: int,
    extra_env: dict[str, str] | None = None,
    namespace: str | None = None,
) -> Stack:
    """``analyticbot run`` on ``port``, ready; its Redis names in ``namespace`` (a new
    one unless given: a second run of the same deployment passes the first's)."""
    log_path = data_dir / "run.log"
    namespace = namespace or f"ab-e2e-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ANALYTICBOT_ENV": "development",
        "ANALYTICBOT_LOG_LEVEL": "INFO",
        # Runs on one machine share one Redis: every stack keeps its own names there
        # (caches, streams, topics, and the sign-ins it counts).
        "ANALYTICBOT_REDIS_NAMESPACE": namespace,
        # The browser tests sign in many users from one IP; the limiter itself is tested
        # in tests/integration/gateway.
        "ANALYTICBOT_RATE_LIMIT_AUTH_PER_IP": "1000/minute",
        # Replay the simulated history fast: two weeks in about a minute.
        "ANALYTICBOT_COLLECTOR_SIMULATOR_SPEED": "20000",
        **(extra_env or {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "analyticbot.cli",
                "run",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    stack = Stack(f"http://127.0.0.1:{port}", database_url, data_dir, log_path, process, namespace)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"analyticbot run exited early:\n{stack.logs()}")
        try:
            ready = httpx.get(f"{stack.url}/readyz", timeout=2)
            # 200 once the gateway can answer; "ok" once auth and analytics serve too.
            if ready.status_code == 200 and ready.json()["status"] == "ok":
                return stack
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_stack(stack)
    raise AssertionError(f"stack not ready in {STARTUP_TIMEOUT}s:\n{stack.logs()}")


def stop_stack(stack: Stack) -> int:
    """Ctrl-C, as a user would; returns the exit code."""
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGINT)
        try:
            stack.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()
            raise AssertionError(f"run did not stop on Ctrl-C:\n{stack.logs()}") from None
    return int(stack.process.returncode)


@pytest.fixture(scope="session")
def stack_database_url(admin_database_url: str) -> Iterator[str]:
    url = fresh_database(admin_database_url, prefix="ab_e2e")
    yield url
    drop_database(admin_database_url, url)


@pytest.fixture(scope="session")
def stack(
    stack_database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("stack")
    running = start_stack(stack_database_url, redis_url, data_dir, free_port())
    yield running
    code = stop_stack(running)
    assert code == 0, running.logs()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    assert path, "Debian's chromium is required (make system-deps installs it)"
    return path
