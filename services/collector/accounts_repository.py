"""SQL of MTProto accounts: storage, leases across replicas, flood rests, peers.

Leases use the database's ``now()``: each account is held by one replica at a time, and
a replica that dies hands its accounts over when their leases expire.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.collector.mtproto import PeerStore
from services.collector.repository import Conn


@dataclass(frozen=True, repr=False)
class AccountRow:
    """A stored account; the boxes are still sealed."""

    account_id: int
    label: str
    session_box: bytes
    proxy_box: bytes | None
    rest_until: datetime | None

    def __repr__(self) -> str:
        return f"AccountRow(account_id={self.account_id}, label={self.label!r})"


@dataclass(frozen=True)
class AccountStatus:
    """What the operator view shows about an account (never its secrets)."""

    account_id: int
    label: str
    enabled: bool
    lease_owner: str | None
    lease_until: datetime | None
    rest_until: datetime | None
    flood_waits: int
    last_error: str | None
    last_error_at: datetime | None


async def save_account(
    conn: Conn,
    label: str,
    session_box: bytes,
    proxy_box: bytes | None,
    telegram_user_id: int | None,
) -> int:
    """Store (or replace, by label) a signed-in account; returns its id."""
    value = await conn.fetchval(
        """INSERT INTO mtproto_accounts (label, session_box, proxy_box, telegram_user_id)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (label) DO UPDATE SET session_box = EXCLUDED.session_box,
               proxy_box = EXCLUDED.proxy_box, telegram_user_id = EXCLUDED.telegram_user_id,
               enabled = true, rest_until = NULL, last_error = NULL, updated_at = now()
           RETURNING id""",
        label,
        session_box,
        proxy_box,
        telegram_user_id,
    )
    return int(value)


async def claim_accounts(
    conn: Conn, owner: str, limit: int, lease_seconds: float
) -> list[AccountRow]:
    """Lease up to ``limit`` enabled accounts nobody else holds (ours are renewed)."""
    rows = await conn.fetch(
        """WITH free AS (
               SELECT id FROM mtproto_accounts
               WHERE enabled AND (lease_until IS NULL OR lease_until < now() OR lease_owner = $1)
               ORDER BY (lease_owner = $1) DESC NULLS LAST, id
               LIMIT $2
               FOR UPDATE SKIP LOCKED)
           UPDATE mtproto_accounts a
           SET lease_owner = $1, lease_until = now() + make_interval(secs => $3)
           FROM free WHERE a.id = free.id
           RETURNING a.id AS account_id, a.label, a.session_box, a.proxy_box, a.rest_until""",
        owner,
        limit,
        lease_seconds,
    )
    return sorted((AccountRow(**dict(r)) for r in rows), key=lambda a: a.account_id)


async def release_accounts(conn: Conn, owner: str) -> None:
    """Give up every account ``owner`` holds (graceful shutdown)."""
    await conn.execute(
        """UPDATE mtproto_accounts SET lease_owner = NULL, lease_until = NULL
           WHERE lease_owner = $1""",
        owner,
    )


async def record_rest(conn: Conn, account_id: int, until: datetime, error: str) -> None:
    """An account must rest until ``until`` (a FloodWait); counted per account."""
    await conn.execute(
        """UPDATE mtproto_accounts SET rest_until = greatest(rest_until, $2),
               flood_waits = flood_waits + 1, last_error = $3, last_error_at = now(),
               updated_at = now()
           WHERE id = $1""",
        account_id,
        until,
        error[:500],
    )


async def disable_account(conn: Conn, account_id: int, error: str) -> None:
    """Stop using an account whose session no longer works (logged out, banned)."""
    await conn.execute(
        """UPDATE mtproto_accounts SET enabled = false, lease_owner = NULL, lease_until = NULL,
               last_error = $2, last_error_at = now(), updated_at = now()
           WHERE id = $1""",
        account_id,
        error[:500],
    )


async def account_statuses(conn: Conn) -> list[AccountStatus]:
    """Every account's state, ordered by id."""
    rows = await conn.fetch(
        """SELECT id AS account_id, label, enabled, lease_owner, lease_until, rest_until,
                  flood_waits, last_error, last_error_at
           FROM mtproto_accounts ORDER BY id"""
    )
    return [AccountStatus(**dict(r)) for r in rows]


class DbPeerStore(PeerStore):
    """Access hashes in ``mtproto_peers``, usernames from ``channels``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def access_hash(self, account_id: int, channel_id: int) -> int | None:
        async with self._pool.acquire() as conn:
            value = await conn.fetchval(
                "SELECT access_hash FROM mtproto_peers WHERE account_id = $1 AND channel_id = $2",
                account_id,
                channel_id,
            )
        return int(value) if value is not None else None

    async def remember(self, account_id: int, channel_id: int, access_hash: int) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                """INSERT INTO mtproto_peers (account_id, channel_id, access_hash)
                   VALUES ($1, $2, $3) ON CONFLICT (account_id, channel_id) DO UPDATE
                   SET access_hash = EXCLUDED.access_hash, resolved_at = now()""",
                account_id,
                channel_id,
                access_hash,
            )

    async def username(self, channel_id: int) -> str | None:
        async with self._pool.acquire() as conn:
            value: str | None = await conn.fetchval(
                "SELECT username FROM channels WHERE id = $1", channel_id
            )
        return value
