"""Helpers shared by test fixtures: scratch databases on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg

from analyticbot.runtime.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]


def fresh_database(admin_url: str, prefix: str = "ab_test") -> str:
    """Create and migrate a new database; returns its URL (see ``drop_database``)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"

    async def setup() -> str:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        url = _with_database(admin_url, name)
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        return url

    return asyncio.run(setup())


def drop_database(admin_url: str, url: str) -> None:
    name = url.split("?", 1)[0].rsplit("/", 1)[1]

    async def teardown() -> None:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(teardown())


def _with_database(url: str, name: str) -> str:
    """Replace the database of a libpq URL (keeps query parameters such as host=)."""
    head, sep, query = url.partition("?")
    scheme, rest = head.split("://", 1)
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{name}{sep}{query}"
