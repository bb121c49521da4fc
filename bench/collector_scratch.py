"""A scratch database for the collector benchmarks: created, migrated, dropped."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from analyticbot.runtime.db import create_pool
from analyticbot.runtime.migrate import migrate

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _scratch_url(admin_url: str, name: str) -> str:
    head, sep, query = admin_url.partition("?")
    scheme, rest = head.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}/{name}{sep}{query}"


@asynccontextmanager
async def scratch_pool() -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh migrated database next to ``DATABASE_URL`` (or the local
    server), dropped afterwards."""
    admin_url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    name = f"ab_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = _scratch_url(admin_url, name)
        plain = await asyncpg.connect(url)
        try:
            await migrate(plain)
        finally:
            await plain.close()
        pool = await create_pool(url, min_size=1, max_size=4)
        try:
            yield pool
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
