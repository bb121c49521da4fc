"""``analyticbot run``: the whole product on one machine, as supervised processes.

Starts embedded PostgreSQL and Redis unless ``DATABASE_URL`` / ``REDIS_URL`` are given,
applies migrations, then runs each service as its own process (``analyticbot serve X``)
and restarts any that dies, with backoff. Ctrl-C or SIGTERM stops the services first
(SIGTERM, so each drains), then the embedded stores. Everything a run creates lives in
the data folder, so the next run finds the same data, keys and development token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from analyticbot.devstack import DEV_USER_ID, seed_dev_grants, simulated_channel_count
from analyticbot.embedded import EmbeddedStores, start_postgres, start_redis
from analyticbot.runtime.errors import ConfigError
from analyticbot.runtime.logging import configure_logging
from analyticbot.runtime.migrate import migrate_url
from analyticbot.runtime.ports import listen_ports

log = logging.getLogger("analyticbot.supervisor")

_MAX_BACKOFF = 10.0
_STOP_TIMEOUT = 20.0


def _persistent_secret(path: Path) -> str:
    """A development secret kept in the data folder so restarts reuse it."""
    if path.exists():
        return path.read_text().strip()
    value = f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(36)}"
    path.write_text(value)
    path.chmod(0o600)
    return value


@dataclass
class Child:
    name: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = field(default=0.0)

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "analyticbot.cli", "serve", self.name], env=self.env
        )
        self.started_at = time.monotonic()
        log.info("started %s (pid %d)", self.name, self.process.pid)

    def poll(self) -> None:
        """Restart a dead process with exponential backoff (reset after a minute up)."""
        now = time.monotonic()
        if self.process is None:
            if now >= self.next_start:
                self.start()
            return
        code = self.process.poll()
        if code is None:
            return
        uptime = now - self.started_at
        self.restarts = 0 if uptime > 60 else self.restarts + 1
        delay = min(_MAX_BACKOFF, 0.5 * 2**self.restarts)
        log.warning(
            "%s exited with %d after %.1fs; restarting in %.1fs", self.name, code, uptime, delay
        )
        self.process = None
        self.next_start = now + delay

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in time; killing it", self.name)
            self.process.kill()
            self.process.wait()


def _write_pids(
    root: Path, listing: dict[str, object], children: list[Child], written: dict[str, int]
) -> dict[str, int]:
    """Keep ``ports.json``'s ``pids`` equal to the running processes (rewritten, atomically,
    only when a child was restarted); returns what it now says."""
    pids = {child.name: child.process.pid for child in children if child.process}
    if pids != written:
        staging = root / "ports.json.tmp"
        staging.write_text(json.dumps({**listing, "pids": pids}, indent=2))
        staging.replace(root / "ports.json")
    return pids


def _environments(
    base: dict[str, str], data_dir: Path, http_port: int
) -> dict[str, dict[str, str]]:
    """The environment of each service process: its port, its peers, and in development
    the simulator and a development bot token that the login signs with."""
    # Seven distinct ports, none the HTTP port, none that an outgoing connection can take
    # before the service binds it (see analyticbot.runtime.ports).
    chosen = iter(listen_ports(7, exclude=[http_port]))
    ports = {name: next(chosen) for name in ("collector", "analytics", "auth")}
    metrics = {name: next(chosen) for name in ("collector", "analytics", "auth", "bot")}
    development = base["ANALYTICBOT_ENV"] == "development"
    common = {
        **base,
        **{f"ANALYTICBOT_{name.upper()}_ADDR": f"127.0.0.1:{port}" for name, port in ports.items()},
        **{f"ANALYTICBOT_{name.upper()}_GRPC_PORT": str(port) for name, port in ports.items()},
    }
    auth = {
        **common,
        "ANALYTICBOT_AUTH_KEYS_FILE": str(data_dir / "auth-keys.json"),
        "ANALYTICBOT_METRICS_PORT": str(metrics["auth"]),
    }
    gateway = {**common, "ANALYTICBOT_HTTP_PORT": str(http_port)}
    if development and not base.get("ANALYTICBOT_BOT_TOKEN"):
        # No real bot: the gateway's development login signs initData with a token that
        # only this machine knows, and auth accepts it (development only).
        dev_token = _persistent_secret(data_dir / "dev-bot-token")
        auth["ANALYTICBOT_DEV_BOT_TOKEN"] = dev_token
        gateway.update(
            ANALYTICBOT_DEV_LOGIN="true",
            ANALYTICBOT_DEV_BOT_TOKEN=dev_token,
            ANALYTICBOT_DEV_USER_ID=str(DEV_USER_ID),
        )
    collector = {**common, "ANALYTICBOT_METRICS_PORT": str(metrics["collector"])}
    if base.get("ANALYTICBOT_TELEGRAM_API_ID"):
        # MTProto credentials given: collect real channels with the accounts signed in
        # by `analyticbot mtproto login`.
        collector.setdefault("ANALYTICBOT_COLLECTOR_SOURCE", "telegram")
    elif development:
        # Replay the simulated weeks before "now" in about a minute, then run in real time.
        collector.setdefault("ANALYTICBOT_COLLECTOR_SIMULATOR_SPEED", "20000")
    analytics = {**common, "ANALYTICBOT_METRICS_PORT": str(metrics["analytics"])}
    services = {"collector": collector, "analytics": analytics, "auth": auth, "gateway": gateway}
    if base.get("ANALYTICBOT_BOT_TOKEN"):
        # A real bot: it calls auth and the collector as itself, with a service token
        # bought with a secret that only it and auth know.
        secret = _persistent_secret(data_dir / "bot-service-secret")
        auth["ANALYTICBOT_SERVICE_SECRETS"] = f"bot={secret}"
        services["bot"] = {
            **common,
            "ANALYTICBOT_BOT_SERVICE_SECRET": secret,
            "ANALYTICBOT_METRICS_PORT": str(metrics["bot"]),
            "ANALYTICBOT_BOT_WEBAPP_URL": base.get(
                "ANALYTICBOT_BOT_WEBAPP_URL", f"http://127.0.0.1:{http_port}/"
            ),
        }
    # Where everything listens, for operators and tests (the gateway serves its own
    # /metrics on the HTTP port).
    listening = {name: port for name, port in metrics.items() if name in services}
    (data_dir / "ports.json").write_text(
        json.dumps({"http": http_port, "grpc": ports, "metrics": listening}, indent=2)
    )
    return services


def run_stack(data_dir: str, http_port: int) -> int:
    """Run until Ctrl-C/SIGTERM; returns the process exit code."""
    os.environ.setdefault("ANALYTICBOT_ENV", "development")
    configure_logging("supervisor", os.environ.get("ANALYTICBOT_LOG_LEVEL", "INFO"))
    root = Path(data_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    stores = EmbeddedStores()
    stop = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        database_url = os.environ.get("DATABASE_URL") or start_postgres(root / "pg", stores)
        redis_url = os.environ.get("REDIS_URL") or start_redis(root / "redis", stores)
        applied = asyncio.run(migrate_url(database_url))
        log.info("migrations applied: %d", len(applied))
        base = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
        children = [Child(name, env) for name, env in _environments(base, root, http_port).items()]
        for child in children:
            child.start()
        listing = json.loads((root / "ports.json").read_text())
        written = _write_pids(root, listing, children, {})
        url = f"http://127.0.0.1:{http_port}/"
        # Channels the simulator registers one by one: the development user is made
        # owner of each as it appears, until all are there.
        collector_env = next(c.env for c in children if c.name == "collector")
        unseeded = base["ANALYTICBOT_ENV"] == "development"
        expected = simulated_channel_count(collector_env) if unseeded else 0
        next_seed = 0.0
        announced = False
        while not stop:
            for child in children:
                child.poll()
            written = _write_pids(root, listing, children, written)
            if unseeded and time.monotonic() >= next_seed:
                unseeded = asyncio.run(seed_dev_grants(database_url)) < expected
                next_seed = time.monotonic() + 1.0
            if not announced and _listening(http_port):
                print(f"\n  AnalyticBot is running. Open the Mini App: {url}\n", flush=True)
                announced = True
            time.sleep(0.5)
        log.info("stopping services")
        deadline = time.monotonic() + _STOP_TIMEOUT
        for child in children:
            child.terminate()
        for child in children:
            child.wait(deadline)
        return 0
    except ConfigError:
        raise
    finally:
        stores.stop()


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False
