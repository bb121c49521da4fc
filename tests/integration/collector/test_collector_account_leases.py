"""MTProto accounts across replicas: one holder at a time, hand-over after a crash."""

from __future__ import annotations

import asyncio

import asyncpg

from services.collector import accounts_repository as accounts
from services.collector.account_leases import AccountLeases
from services.collector.account_pool import AccountPool
from services.collector.mtproto import MtprotoClient
from services.collector.sessions import SessionBox, generate_key
from tests.unit.collector.fakes import FakeClient


class Replica:
    """One collector replica's account side, with fake connections."""

    def __init__(self, db: asyncpg.Pool, box: SessionBox, owner: str) -> None:
        self.pool = AccountPool()
        self.opened: dict[str, tuple[str, str | None]] = {}
        self.closed: list[int] = []
        self.leases = AccountLeases(
            db,
            self.pool,
            box,
            self._connect,
            self._disconnect,
            owner=owner,
            max_accounts=100,
            lease_seconds=1.0,
        )

    async def _connect(
        self, account_id: int, label: str, session: str, proxy: str | None
    ) -> MtprotoClient:
        self.opened[label] = (session, proxy)
        return FakeClient(account_id, lambda request, dc: None)

    async def _disconnect(self, client: MtprotoClient) -> None:
        self.closed.append(client.account_id)


async def test_each_account_has_one_holder_and_a_dead_ones_pass_on_after_expiry(
    pool: asyncpg.Pool, unique_id: int
) -> None:
    box = SessionBox.from_text(generate_key())
    labels = [f"lease-{unique_id}-{n}" for n in range(3)]
    ids = []
    async with pool.acquire() as conn:
        for n, label in enumerate(labels):
            proxy = box.seal("socks5://10.0.0.1:1080", label) if n == 0 else None
            ids.append(
                await accounts.save_account(
                    conn, label, box.seal(f"session-{n}", label), proxy, None
                )
            )
    first = Replica(pool, box, f"first-{unique_id}")
    second = Replica(pool, box, f"second-{unique_id}")

    assert set(ids) <= set(await first.leases.refresh())
    assert not set(ids) & set(await second.leases.refresh())
    assert first.opened[labels[0]] == ("session-0", "socks5://10.0.0.1:1080")
    assert first.opened[labels[1]] == ("session-1", None)

    # The first replica dies without releasing: its leases expire, then move.
    await asyncio.sleep(1.2)
    assert set(ids) <= set(await second.leases.refresh())
    assert not set(ids) & set(await first.leases.refresh())
    assert set(ids) <= set(first.closed)  # the loser drops the clients at once

    # A graceful stop hands the accounts over immediately.
    await second.leases.release()
    assert set(ids) <= set(await first.leases.refresh())
    await first.leases.release()


async def test_a_session_sealed_under_another_key_disables_the_account(
    pool: asyncpg.Pool, unique_id: int
) -> None:
    label = f"foreign-{unique_id}"
    foreign = SessionBox.from_text(generate_key())
    async with pool.acquire() as conn:
        account_id = await accounts.save_account(
            conn, label, foreign.seal("session", label), None, None
        )
    replica = Replica(pool, SessionBox.from_text(generate_key()), f"r-{unique_id}")
    assert account_id not in await replica.leases.refresh()
    async with pool.acquire() as conn:
        (status,) = [s for s in await accounts.account_statuses(conn) if s.label == label]
    assert not status.enabled
    assert "wrong session key" in (status.last_error or "")
    await replica.leases.release()
