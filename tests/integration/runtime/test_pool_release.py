"""The services' pools skip asyncpg's reset query, so what a release must still undo is
checked here: an unfinished transaction never reaches the next borrower."""

from __future__ import annotations

import asyncpg

from analyticbot.runtime.db import create_pool


async def test_a_connection_released_inside_a_transaction_comes_back_clean(
    database_url: str,
) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        conn = await pool.acquire()
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("CREATE TEMP TABLE left_behind (x int) ON COMMIT DROP")
        await pool.release(conn)  # never committed or rolled back by its borrower
        async with pool.acquire() as again:  # the pool's only connection
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT to_regclass('pg_temp.left_behind')") is None
    finally:
        await pool.close()


async def test_pool_connections_still_decode_json(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT '{\"a\": 1}'::jsonb") == {"a": 1}
