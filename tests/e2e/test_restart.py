"""Ctrl-C stops everything cleanly, and a second run finds the first run's data."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from analyticbot.devstack import simulated_channel_count
from tests.e2e.conftest import free_port, start_stack, stop_stack
from tests.support import drop_database, fresh_database


def _channels(url: str, token: str) -> list[dict[str, object]]:
    reply = httpx.get(
        f"{url}/api/v1/channels", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    channels: list[dict[str, object]] = reply.raise_for_status().json()["channels"]
    return sorted(channels, key=lambda c: str(c["channel_id"]))


def test_second_run_reuses_data_keys_and_token(
    admin_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    database_url = fresh_database(admin_database_url, prefix="ab_e2e_restart")
    try:
        _run_twice(database_url, redis_url, tmp_path)
    finally:
        drop_database(admin_database_url, database_url)


def _run_twice(database_url: str, redis_url: str, tmp_path: Path) -> None:
    first = start_stack(database_url, redis_url, tmp_path, free_port())
    try:
        token = first.login()
        # The development user is made owner of each simulated channel as the collector
        # registers it, a moment after the stack is ready: all of them in this run.
        expected = simulated_channel_count({})
        deadline = time.monotonic() + 60
        while len(before := _channels(first.url, token)) < expected and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        assert stop_stack(first) == 0, first.logs()
    assert len(before) == expected, before

    # The same deployment again: the same database, data folder and Redis names.
    second = start_stack(database_url, redis_url, tmp_path, free_port(), namespace=first.namespace)
    try:
        # The signing keys and the development bot token live in the data folder, so a
        # token from the first run is still valid and the same channels are there.
        assert _channels(second.url, token) == before
    finally:
        assert stop_stack(second) == 0, second.logs()
