"""Migrations apply once, record themselves, and are safe to run concurrently."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from analyticbot.runtime.migrate import discover, migrate


async def test_applied_migrations_are_recorded_and_rerun_is_a_no_op(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        recorded = await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [r["name"] for r in recorded] == [m.name for m in discover()]
        assert await migrate(conn) == []
    finally:
        await conn.close()


async def test_two_runners_at_once_apply_each_file_once(admin_database_url: str) -> None:
    admin = await asyncpg.connect(admin_database_url)
    name = f"ab_test_race_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = admin_database_url.rsplit("/", 1)[0] + f"/{name}"
        a, b = await asyncpg.connect(url), await asyncpg.connect(url)
        try:
            results = await asyncio.gather(migrate(a), migrate(b))
            applied = sorted(results, key=len)
            assert applied[0] == []
            assert applied[1] == [m.name for m in discover()]
            count = await a.fetchval("SELECT count(*) FROM schema_migrations")
            assert count == len(discover())
        finally:
            await a.close()
            await b.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
