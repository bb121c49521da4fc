"""Restart drills: SIGKILL auth, the collector and the gateway under steady read load
from a second process. The supervisor of ``analyticbot run`` restarts any child that
exits (0.5 s backoff after a minute up), so each drill kills the process, watches the
supervisor start a new one and measures how long the service took to be back.
Each prints what it measured (``-s`` shows it).

This file sorts before ``test_drills.py`` on purpose: a PostgreSQL outage leaves the
runs it broke holding their channel leases for up to two minutes, and with every
simulated channel held the collector drill would wait that long for a run to kill.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.collector.config import CollectorSettings
from services.collector.scheduler import LEASE_SECONDS
from services.collector.simulator import SIM_ID_BASE, is_post, traits
from tests.resilience.conftest import DrillPlan, DrillStack
from tests.resilience.observe import (
    ANSWERED_WITHIN_MS,
    SERVICES,
    Load,
    health,
    server_errors,
    service_pid,
    summary,
    wait_for,
    warm,
)

SEED = int(CollectorSettings.model_fields["simulator_seed"].default)


@dataclass(frozen=True)
class Kill:
    name: str
    pid: int
    at: float  # wall clock, comparable with the load's records
    monotonic: float


@dataclass(frozen=True)
class Restart:
    killed_at: float
    respawn_s: float  # until the supervisor had started a new process
    recovery_s: float  # until the service was ready again


def kill(drill: DrillStack, name: str) -> Kill:
    pid = service_pid(drill, name)
    assert pid is not None, f"no {name} process"
    os.kill(pid, signal.SIGKILL)
    return Kill(name, pid, time.time(), time.monotonic())


def watch_restart(drill: DrillStack, killed: Kill, ready: Callable[[], bool]) -> Restart:
    """Wait for the supervisor's new process and for ``ready()``; times from the kill."""
    wait_for(
        lambda: service_pid(drill, killed.name) not in (None, killed.pid),
        30,
        f"supervisor restarts {killed.name}",
    )
    respawn = time.monotonic() - killed.monotonic
    wait_for(ready, 60, f"{killed.name} ready again")
    recovery = time.monotonic() - killed.monotonic
    return Restart(killed.at, round(respawn, 2), round(recovery, 2))


def serving(drill: DrillStack, name: str) -> Callable[[], bool]:
    port = drill.ports["grpc"][name]
    return lambda: health(port, SERVICES[name]) == "SERVING"


def gateway_ready(drill: DrillStack) -> bool:
    try:
        ready = httpx.get(f"{drill.stack.url}/readyz", timeout=2)
        return ready.status_code == 200 and ready.json()["status"] == "ok"
    except httpx.HTTPError:
        return False


def after(records: list[dict[str, Any]], moment: float) -> list[dict[str, Any]]:
    return [r for r in records if float(r["at"]) >= moment]


def test_auth_killed_under_load_signs_nobody_out_and_refuses_only_while_down(
    drill_stack: DrillStack, plan: DrillPlan, tmp_path: Path
) -> None:
    """Tokens are verified locally with the cached key set, so nobody gets a 401; while
    auth is away a user's read goes on to analytics, which authorizes it against the
    same grants (gateway/api/access.py), so no dashboard read fails. Any refusal would
    have to be a 503 ``UNAVAILABLE`` + ``Retry-After`` within the restart, never a 500,
    a hang or a dropped connection."""
    warm(drill_stack)
    load = Load(drill_stack, plan.restart_load_seconds, plan.rate, tmp_path / "load.json")
    time.sleep(2)
    restart = watch_restart(drill_stack, kill(drill_stack, "auth"), serving(drill_stack, "auth"))
    readyz = wait_for(lambda: gateway_ready(drill_stack), 30, "gateway /readyz back")
    back_at = restart.killed_at + restart.recovery_s
    records = load.records()
    refused = [r for r in records if r["status"] != 200]
    summary(
        "auth-sigkill",
        records,
        respawn_s=restart.respawn_s,
        recovery_s=restart.recovery_s,
        gateway_ready_s=round(restart.recovery_s + readyz, 2),
        refused_window_s=round(refused[-1]["at"] - refused[0]["at"], 2) if refused else 0.0,
        refused_codes=",".join(sorted({r["code"] for r in refused})),
    )
    assert not [r for r in records if r["status"] == 401], "a token stopped working"
    assert all(
        r["status"] == 503
        and r["code"] == "UNAVAILABLE"
        and r["retry_after"]
        and r["ms"] < ANSWERED_WITHIN_MS
        for r in refused
    ), server_errors(drill_stack, records)
    # Refusals only while auth was away: from the kill until it served again, and up to
    # 2 s more while the gateway's channel reconnects (its backoff is at most 1 s).
    assert all(restart.killed_at - 0.5 <= r["at"] <= back_at + 2.0 for r in refused), refused
    tail = after(records, back_at + 2.0)
    assert tail, "the load ended before auth was back"
    assert all(r["status"] == 200 for r in tail), "reads did not recover"
    assert not refused, f"{len(refused)} dashboard reads refused while auth restarted"


async def _collector_rows(url: str) -> dict[str, Any]:
    """Posts by channel, rows that repeat their predecessor, and collection progress."""
    conn = await asyncpg.connect(url)
    try:
        posts: dict[int, set[int]] = {}
        for row in await conn.fetch("SELECT channel_id, message_id FROM posts"):
            posts.setdefault(int(row["channel_id"]), set()).add(int(row["message_id"]))
        # A snapshot is written only when a counter changed: a row equal to the one
        # before it (same post) is a duplicate a replayed batch would leave.
        repeated_posts = await conn.fetchval(
            """SELECT count(*) FROM (
                   SELECT views, forwards, replies, reactions,
                          lag(views) OVER w AS v, lag(forwards) OVER w AS f,
                          lag(replies) OVER w AS r, lag(reactions) OVER w AS x
                   FROM post_snapshots WINDOW w AS (PARTITION BY post_id ORDER BY sampled_at)
               ) s WHERE v IS NOT NULL AND (views, forwards, replies, reactions) = (v, f, r, x)"""
        )
        repeated_channels = await conn.fetchval(
            """SELECT count(*) FROM (
                   SELECT subscribers, lag(subscribers) OVER w AS before
                   FROM channel_snapshots WINDOW w AS (PARTITION BY channel_id ORDER BY sampled_at)
               ) s WHERE subscribers = before"""
        )
        snapshots = await conn.fetchval("SELECT count(*) FROM post_snapshots")
        progress = {
            int(row["channel_id"]): row["at"]
            for row in await conn.fetch(
                """SELECT channel_id, greatest(last_refresh_at, last_subscribers_at) AS at
                   FROM collection_state"""
            )
        }
        return {
            "posts": posts,
            "duplicated": int(repeated_posts) + int(repeated_channels),
            "snapshots": int(snapshots),
            "progress": progress,
        }
    finally:
        await conn.close()


async def _kill_mid_run(url: str, pid: int) -> tuple[Kill, dict[int, datetime]]:
    """SIGKILL the collector ``pid`` while it holds a lease claimed in the last 5 s (a
    run in progress: an older lease is one a failed run left behind); returns
    the kill and every live lease the dead process left (channel → expiry). Its lease
    owner is ``host:pid:suffix``."""
    leases = """SELECT channel_id, lease_until FROM collection_state
                WHERE lease_owner LIKE $1 AND lease_until > now() + make_interval(secs => $2)"""
    owner = f"%:{pid}:%"
    conn = await asyncpg.connect(url)
    try:
        # Leases left by failed runs block their channels until they expire. A run takes
        # milliseconds, so the process is frozen (SIGSTOP) before the lease is read
        # again: a statement it had already sent completes meanwhile, and a lease still
        # held then is held at the kill (a frozen process releases nothing).
        deadline = time.monotonic() + LEASE_SECONDS + 10
        while time.monotonic() < deadline:
            if await conn.fetch(leases, owner, LEASE_SECONDS - 5):
                os.kill(pid, signal.SIGSTOP)
                await asyncio.sleep(0.05)
                if await conn.fetch(leases, owner, LEASE_SECONDS - 5):
                    break
                os.kill(pid, signal.SIGCONT)
            await asyncio.sleep(0.002)
        else:
            raise AssertionError(
                f"the collector started no run: {await conn.fetch(leases, owner, 0.0)}"
            )
        os.kill(pid, signal.SIGKILL)
        killed = Kill("collector", pid, time.time(), time.monotonic())
        rows = await conn.fetch(leases, owner, 0.0)
        return killed, {int(row["channel_id"]): row["lease_until"] for row in rows}
    finally:
        await conn.close()


def _later(now: datetime | None, then: datetime | None) -> bool:
    return now is not None and (then is None or now > then)


def against_simulator(posts: dict[int, set[int]]) -> tuple[int, int]:
    """(missing, foreign): posts the simulator published and never deleted between a
    channel's oldest and newest stored post that are not stored (a clean run has them),
    and stored posts the simulator never published."""
    missing = foreign = 0
    for channel_id, stored in posts.items():
        number = channel_id - SIM_ID_BASE
        published = {i for i in range(min(stored), max(stored) + 1) if is_post(SEED, number, i)}
        kept = {i for i in published if traits(SEED, number, i).deleted_at is None}
        missing += len(kept - stored)
        foreign += len(stored - published)
    return missing, foreign


# The full run waits for the dead process's leases (two minutes) on top of the drill.
@pytest.mark.timeout(LEASE_SECONDS * 2 + 120)
def test_collector_killed_mid_run_restarts_with_no_post_lost_or_duplicated(
    drill_stack: DrillStack, plan: DrillPlan, tmp_path: Path
) -> None:
    """The collector is not on the read path: reads stay 200 throughout. Killed in the
    middle of a run, it loses no post (stored ones, or ones the simulator published in
    the stored range), leaves no repeated snapshot, and the restarted process collects
    every channel again from where it stopped (never back in simulated time): at once
    the channels nobody held, after the dead leases expire the others."""
    url = drill_stack.postgres.url
    warm(drill_stack)
    load = Load(drill_stack, plan.restart_load_seconds, plan.rate, tmp_path / "load.json")
    time.sleep(2)
    pid = service_pid(drill_stack, "collector")
    assert pid is not None, "no collector process"
    killed, held = asyncio.run(_kill_mid_run(url, pid))
    # Leases taken in the last 5 s are the killed runs; older ones were left behind by
    # runs that failed earlier (their release failed too, in a store outage).
    running = [
        c for c, expiry in held.items() if expiry.timestamp() > killed.at + LEASE_SECONDS - 5
    ]
    assert running, "the run ended before the kill"
    # What the dead process left (its open transactions are rolled back).
    at_kill = asyncio.run(_collector_rows(url))
    restart = watch_restart(drill_stack, killed, serving(drill_stack, "collector"))

    def moved(channels: list[int]) -> Callable[[], bool]:
        """Each channel collected again since the kill, later in simulated time."""

        def check() -> bool:
            progress = asyncio.run(_collector_rows(url))["progress"]
            return all(_later(progress[c], at_kill["progress"][c]) for c in channels)

        return check

    figures: dict[str, float | str] = {}
    free = [c for c in at_kill["progress"] if c not in held]
    if free:
        wait_for(moved(free), 30, "the restarted collector resumes")
        figures["free_resumed_s"] = round(time.time() - killed.at, 1)
    # The dead process's channels wait until its leases expire: nobody may run a channel
    # another process still holds. The short run does not wait that long.
    lease_left = max(expiry.timestamp() for expiry in held.values()) - killed.at
    figures["lease_left_s"] = round(lease_left, 1)
    figures["held_resumed_s"] = "not waited (short run)"
    if plan.full:
        wait_for(moved(list(held)), LEASE_SECONDS + 60, "held channels resume")
        held_resumed = time.time() - killed.at
        figures["held_resumed_s"] = round(held_resumed, 1)
        assert held_resumed >= lease_left - 1.0, "a channel ran while the dead lease was live"
    records = load.records()
    end = asyncio.run(_collector_rows(url))
    missing, foreign = against_simulator(end["posts"])
    lost = sum(
        len(at_kill["posts"].get(c, set()) - end["posts"].get(c, set())) for c in at_kill["posts"]
    )
    summary(
        "collector-sigkill",
        records,
        channels=len(at_kill["progress"]),
        running_channels=len(running),
        orphaned_leases=len(held) - len(running),
        respawn_s=restart.respawn_s,
        recovery_s=restart.recovery_s,
        **figures,
        posts=sum(len(s) for s in end["posts"].values()),
        snapshots=end["snapshots"],
        lost=lost + missing,
        duplicated=end["duplicated"],
    )
    assert all(r["status"] == 200 for r in records), server_errors(drill_stack, records)
    assert foreign == 0, "stored posts the simulator never published: wrong seed?"
    assert lost == 0
    assert missing == 0
    assert end["duplicated"] == 0


def test_gateway_killed_under_load_refuses_connections_only_until_it_is_back(
    drill_stack: DrillStack, plan: DrillPlan, tmp_path: Path
) -> None:
    """While the gateway is down a client's connection is refused (and a request in
    flight at the kill is cut); a gateway that answers never answers 5xx, and reads are
    200 again from the first request after it is back."""
    warm(drill_stack)
    load = Load(drill_stack, plan.restart_load_seconds, plan.rate, tmp_path / "load.json")
    time.sleep(2)
    restart = watch_restart(
        drill_stack, kill(drill_stack, "gateway"), lambda: gateway_ready(drill_stack)
    )
    records = load.records()
    answered_after = [r for r in after(records, restart.killed_at) if r["status"] == 200]
    assert answered_after, "no read was answered after the restart"
    first = answered_after[0]
    first_200_s = round(first["at"] + first["ms"] / 1000 - restart.killed_at, 2)
    failed = [r for r in records if r["status"] != 200]
    errors = Counter(str(r["error"]) for r in failed if r["status"] == 0)
    summary(
        "gateway-sigkill",
        records,
        respawn_s=restart.respawn_s,
        recovery_s=restart.recovery_s,
        first_200_s=first_200_s,
        errors=",".join(f"{name}={count}" for name, count in sorted(errors.items())),
        error_window_s=round(failed[-1]["at"] - failed[0]["at"], 2) if failed else 0.0,
    )
    assert not [r for r in records if r["status"] >= 500], server_errors(drill_stack, records)
    # No answer at all: the connection refused while no gateway listens, or cut for a
    # request in flight at the kill (sent before it, or just after on a pooled
    # connection the client had not yet seen closed).
    assert all(
        r["status"] == 0 and (r["error"] == "ConnectError" or r["at"] <= restart.killed_at + 0.5)
        for r in failed
    ), failed[:10]
    assert all(restart.killed_at - 1.0 <= r["at"] <= first["at"] for r in failed), (
        "a request failed outside the restart window"
    )
    assert all(r["status"] == 200 for r in after(records, first["at"]))
