"""PostgreSQL access through an asyncpg pool."""

from __future__ import annotations

import json

import asyncpg


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What a released connection needs beyond asyncpg's own rollback of an unfinished
    transaction: nothing. The default also sends a reset query (unlock advisory locks,
    CLOSE ALL, UNLISTEN *, RESET ALL) — a round trip on every release — for session
    state this code never leaves behind: no SET outside a transaction, no LISTEN, no
    cursor outside one, and the one session advisory lock (the migration runner's) is
    taken on its own connection and released in ``finally``. Measured by
    ``python -m bench.pool_reset`` (docs/benchmarks.md)."""


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    connect_timeout: float = 3.0,
    command_timeout: float = 30.0,
) -> asyncpg.Pool:
    """A pool whose connections speak JSON for json/jsonb columns.

    A connection attempt gives up after ``connect_timeout`` seconds, so while the server
    is unreachable a call fails fast (UNAVAILABLE at the gRPC edge) instead of hanging;
    ``command_timeout`` bounds each statement (callers' deadlines usually cut in first).

    JIT compilation is off for the session: every statement here is an index-driven
    read or a small write, whose planner cost on a big channel passes ``jit_above_cost``
    although it runs in tens of milliseconds, and compiling it cost 15-20 ms more
    (EXPLAIN ANALYZE of the median-curve query: JIT 16 ms of 182; docs/decisions.md).
    """
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        timeout=connect_timeout,
        command_timeout=command_timeout,
        server_settings={"jit": "off"},
    )
    assert pool is not None
    return pool
