"""Holding MTProto accounts across replicas: claim, connect, renew, hand over.

Every ``renew_every`` seconds the replica claims free accounts (up to ``max_accounts``)
and renews the leases of those it holds; a lease it failed to renew means another
replica may take the account, so the client is dropped at once. Sessions are opened
from their sealed boxes only in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from services.collector import accounts_repository as accounts
from services.collector.account_pool import AccountPool
from services.collector.mtproto import MtprotoClient
from services.collector.sessions import SessionBox, SessionKeyError

log = logging.getLogger(__name__)

# Builds and connects a client from (account id, label, session string, proxy URL).
ClientFactory = Callable[[int, str, str, str | None], Awaitable[MtprotoClient]]
Disconnect = Callable[[MtprotoClient], Awaitable[None]]


class AccountLeases:
    """Keeps ``pool`` filled with the accounts this replica holds."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        accounts_pool: AccountPool,
        box: SessionBox,
        connect: ClientFactory,
        disconnect: Disconnect,
        *,
        owner: str,
        max_accounts: int = 4,
        lease_seconds: float = 60.0,
    ) -> None:
        self._db = pool
        self._pool = accounts_pool
        self._box = box
        self._connect = connect
        self._disconnect = disconnect
        self.owner = owner
        self._max = max_accounts
        self._lease = lease_seconds

    async def refresh(self) -> list[int]:
        """Claim and renew leases, connect new accounts, drop lost ones; returns the
        accounts held afterwards."""
        async with self._db.acquire() as conn:
            rows = await accounts.claim_accounts(conn, self.owner, self._max, self._lease)
        kept = {row.account_id for row in rows}
        for account_id in set(self._pool.account_ids) - kept:
            client = self._pool.remove(account_id)
            if client is not None:
                log.warning("lease on account %s lost; dropping it", client.label)
                await self._disconnect(client)
        for row in rows:
            if row.account_id in self._pool.account_ids:
                continue
            try:
                session = self._box.open(row.session_box, row.label)
                proxy = self._box.open(row.proxy_box, row.label) if row.proxy_box else None
                client = await self._connect(row.account_id, row.label, session, proxy)
            except (SessionKeyError, OSError, ConnectionError) as exc:
                log.error("account %s unusable: %s", row.label, type(exc).__name__)
                async with self._db.acquire() as conn:
                    await accounts.disable_account(conn, row.account_id, str(exc))
                continue
            self._pool.add(client, row.rest_until)
            log.info("holding account %s", row.label)
        return self._pool.account_ids

    async def release(self) -> None:
        """Disconnect every account and hand the leases over at once."""
        for account_id in self._pool.account_ids:
            client = self._pool.remove(account_id)
            if client is not None:
                await self._disconnect(client)
        async with self._db.acquire() as conn:
            await accounts.release_accounts(conn, self.owner)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Refresh every third of the lease until ``stop``, then release."""
        try:
            while not stop.is_set():
                try:
                    await self.refresh()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("account lease refresh failed: %s", type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._lease / 3)
        finally:
            await self.release()
