"""Each gRPC deployable as Kubernetes runs it: ``analyticbot serve <service>``.

Health answers SERVING, reflection lists the service, SIGTERM drains and exits 0, and
production settings refuse the development-only features at boot.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from analyticbot.runtime.ports import listen_ports
from tests.support import ROOT

SERVICES = {
    "auth": "analyticbot.auth.v1.AuthService",
    "collector": "analyticbot.collector.v1.CollectorService",
    "analytics": "analyticbot.analytics.v1.AnalyticsService",
}


def _serve(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "analyticbot.cli", "serve", name],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


LOGS: dict[int, Path] = {}


def _log(process: subprocess.Popen[bytes]) -> str:
    return LOGS[process.pid].read_text(errors="replace")


def _wait_serving(port: int, service: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            assert process.poll() is None, _log(process)
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise AssertionError(f"{service} not SERVING within 30 s")


@pytest.fixture(scope="module")
def processes(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[int, subprocess.Popen[bytes]]]]:
    folder = tmp_path_factory.mktemp("serve")
    keys = folder / "keys.json"
    ports = dict(zip(SERVICES, listen_ports(len(SERVICES)), strict=True))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ANALYTICBOT_ENV": "development",
        # A process that does not exit after SIGTERM is sent SIGABRT: its log then shows
        # where every thread was.
        "PYTHONFAULTHANDLER": "1",
        "ANALYTICBOT_DEV_BOT_TOKEN": "123456:development-token-for-tests",
        "ANALYTICBOT_AUTH_KEYS_FILE": str(keys),
        "ANALYTICBOT_COLLECTOR_SIMULATOR_CHANNELS": "0",
        **{f"ANALYTICBOT_{n.upper()}_GRPC_PORT": str(p) for n, p in ports.items()},
        **{f"ANALYTICBOT_{n.upper()}_ADDR": f"127.0.0.1:{p}" for n, p in ports.items()},
    }
    started: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
    try:
        for name, service in SERVICES.items():  # auth first: the others fetch its keys
            process = _serve(name, env, folder / f"{name}.log")
            LOGS[process.pid] = folder / f"{name}.log"
            started[name] = (ports[name], process)
            _wait_serving(ports[name], service, started[name][1])
        yield started
    finally:
        for _, process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.parametrize("name", list(SERVICES))
def test_reflection_lists_the_service_and_health(
    processes: dict[str, tuple[int, subprocess.Popen[bytes]]], name: str
) -> None:
    port, _ = processes[name]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        reply = next(iter(stub.ServerReflectionInfo(iter([request]), timeout=5)))
    names = {s.name for s in reply.list_services_response.service}
    assert {SERVICES[name], "grpc.health.v1.Health"} <= names


def test_sigterm_drains_and_exits_zero(
    processes: dict[str, tuple[int, subprocess.Popen[bytes]]],
) -> None:
    for name in reversed(list(SERVICES)):
        _, process = processes[name]
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            process.wait(timeout=10)
            raise AssertionError(
                f"{name} still running 30 s after SIGTERM:\n{_log(process)[-6000:]}"
            ) from None
        log = _log(process)
        assert code == 0, f"{name} exited {code}:\n{log[-3000:]}"
        assert '"message": "stopped"' in log


@pytest.mark.parametrize(
    ("name", "extra", "variable"),
    [
        ("collector", {"ANALYTICBOT_COLLECTOR_SOURCE": "simulator"}, "SOURCE"),
        (
            "gateway",
            {"ANALYTICBOT_DEV_LOGIN": "true", "ANALYTICBOT_DEV_BOT_TOKEN": "1:x"},
            "DEV_LOGIN",
        ),
        ("auth", {"ANALYTICBOT_DEV_BOT_TOKEN": "1:abcdef"}, "DEV_BOT_TOKEN"),
    ],
)
def test_production_refuses_development_features(
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    name: str,
    extra: dict[str, str],
    variable: str,
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ANALYTICBOT_ENV": "production",
        "ANALYTICBOT_ANALYTICS_ADDR": "127.0.0.1:1",
        "ANALYTICBOT_AUTH_ADDR": "127.0.0.1:1",
        "ANALYTICBOT_BOT_TOKEN": "123:real-token",
        "ANALYTICBOT_AUTH_SIGNING_KEYS": "",
        **extra,
    }
    result = subprocess.run(
        [sys.executable, "-m", "analyticbot.cli", "serve", name],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert variable in result.stderr
