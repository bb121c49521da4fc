"""The accounts this replica holds, request rates, and flood control.

- **Rates**: every request first takes a slot from its account's limiter and then from
  the replica-wide one (``aiolimiter`` leaky buckets), so one busy account cannot use
  the whole budget and the replica as a whole stays under its ceiling.
- **Flood control**: a ``FloodWaitError`` rests that account until the wait ends (in
  memory and, through ``on_rest``, in the database for the operator view), counts the
  wait in Prometheus, and the operation is retried at once on another account.
- **Deadlines**: nothing waits past the caller's deadline (``deadline_scope``; the
  default applies to scheduled work): if every account rests beyond it, the call fails
  with ``AccountsResting`` carrying when an account is free again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from aiolimiter import AsyncLimiter
from telethon import errors  # type: ignore[import-untyped]
from telethon.tl.tlobject import TLRequest  # type: ignore[import-untyped]

from services.collector.clock import utc_now
from services.collector.domain import AccountsResting
from services.collector.metrics import FLOOD_WAIT_SECONDS, FLOOD_WAITS, MTPROTO_REQUESTS
from services.collector.mtproto import AccountRunner, MtprotoClient

log = logging.getLogger(__name__)
T = TypeVar("T")

_deadline: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "collector_deadline", default=None
)


@contextlib.contextmanager
def deadline_scope(seconds: float | None, now: Callable[[], datetime] = utc_now) -> Iterator[None]:
    """Telegram calls made inside must finish within ``seconds`` (None: no caller
    deadline, the pool's default applies)."""
    token = _deadline.set(now() + timedelta(seconds=seconds) if seconds is not None else None)
    try:
        yield
    finally:
        _deadline.reset(token)


@dataclass
class _Held:
    client: MtprotoClient
    limiter: AsyncLimiter
    rest_until: datetime | None = None
    busy: int = field(default=0)


class _LimitedClient(MtprotoClient):
    """One account's client seen through its limiter and the global one."""

    def __init__(self, held: _Held, pool: AccountPool, deadline: datetime) -> None:
        super().__init__(held.client.account_id, held.client.label)
        self._held = held
        self._pool = pool
        self._deadline = deadline

    async def _slot(self, request: TLRequest) -> None:
        remaining = (self._deadline - self._pool.now()).total_seconds()
        try:
            async with asyncio.timeout(max(remaining, 0.0)):
                await self._held.limiter.acquire()
                await self._pool.global_limiter.acquire()
        except TimeoutError:
            raise AccountsResting(
                "request rate budget exhausted before the deadline", self._deadline
            ) from None
        MTPROTO_REQUESTS.labels(self.label, type(request).__name__).inc()

    async def call(self, request: TLRequest) -> Any:
        await self._slot(request)
        return await self._held.client.call(request)

    async def call_in_dc(self, request: TLRequest, dc_id: int) -> Any:
        await self._slot(request)
        return await self._held.client.call_in_dc(request, dc_id)


RestHook = Callable[[int, datetime, str], Awaitable[None]]
BrokenHook = Callable[[int, str], Awaitable[None]]


class AccountPool(AccountRunner):
    """Routes operations to held accounts; see the module docstring."""

    def __init__(
        self,
        *,
        per_account_rate: float = 5.0,
        global_rate: float = 20.0,
        default_deadline: float = 30.0,
        on_rest: RestHook | None = None,
        on_broken: BrokenHook | None = None,
        now: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._per_account_rate = per_account_rate
        self.global_limiter = AsyncLimiter(global_rate, 1.0)
        self._default_deadline = timedelta(seconds=default_deadline)
        self._on_rest = on_rest
        self._on_broken = on_broken
        self.now = now
        self._sleep = sleep
        self._held: dict[int, _Held] = {}

    def add(self, client: MtprotoClient, rest_until: datetime | None = None) -> None:
        """Start using an account (its stored rest, if any, still applies)."""
        self._held[client.account_id] = _Held(
            client, AsyncLimiter(self._per_account_rate, 1.0), rest_until
        )

    def remove(self, account_id: int) -> MtprotoClient | None:
        """Stop using an account; returns its client for disconnecting."""
        held = self._held.pop(account_id, None)
        return held.client if held is not None else None

    @property
    def account_ids(self) -> list[int]:
        """Accounts held now."""
        return sorted(self._held)

    def rest_until(self, account_id: int) -> datetime | None:
        """When an account's flood wait ends (None when it is not resting)."""
        held = self._held.get(account_id)
        if held is None or held.rest_until is None or held.rest_until <= self.now():
            return None
        return held.rest_until

    def _pick(self, now: datetime) -> _Held | None:
        ready = [h for h in self._held.values() if h.rest_until is None or h.rest_until <= now]
        return min(ready, key=lambda h: (h.busy, h.client.account_id), default=None)

    async def run(self, operation: Callable[[MtprotoClient], Awaitable[T]]) -> T:
        deadline = _deadline.get() or self.now() + self._default_deadline
        while True:
            now = self.now()
            held = self._pick(now)
            if held is None:
                await self._wait_for_account(now, deadline)
                continue
            held.busy += 1
            try:
                return await operation(_LimitedClient(held, self, deadline))
            except errors.FloodWaitError as exc:
                await self._rest(held, exc.seconds)
            except errors.UnauthorizedError as exc:
                await self._broken(held, exc)
            finally:
                held.busy -= 1

    async def _wait_for_account(self, now: datetime, deadline: datetime) -> None:
        if not self._held:
            raise AccountsResting("no MTProto account is held by this replica")
        wake = min(h.rest_until for h in self._held.values() if h.rest_until is not None)
        if wake > deadline:
            raise AccountsResting(
                f"every account rests until {wake.isoformat()}, past the deadline", wake
            )
        await self._sleep(max((wake - now).total_seconds(), 0.0))

    async def _rest(self, held: _Held, seconds: int) -> None:
        until = self.now() + timedelta(seconds=seconds)
        if held.rest_until is None or until > held.rest_until:
            held.rest_until = until
        label = held.client.label
        FLOOD_WAITS.labels(label).inc()
        FLOOD_WAIT_SECONDS.labels(label).inc(seconds)
        log.warning("account %s rests %ds (FloodWait); work moves on", label, seconds)
        if self._on_rest is not None:
            await self._on_rest(held.client.account_id, until, f"FloodWait {seconds}s")

    async def _broken(self, held: _Held, exc: errors.UnauthorizedError) -> None:
        """A session Telegram no longer accepts (logged out, banned): drop the account
        from the pool and let the hook disable it; the work moves on."""
        self._held.pop(held.client.account_id, None)
        reason = f"session rejected: {type(exc).__name__}"
        log.error("account %s dropped: %s", held.client.label, reason)
        if self._on_broken is not None:
            await self._on_broken(held.client.account_id, reason)
