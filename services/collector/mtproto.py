"""The seams between the Telethon adapter and Telegram: one signed-in account, the pool
that picks an account for each call, and the per-account store of channel access hashes.

``MtprotoClient`` is the narrowest slice of ``telethon.TelegramClient`` the collector
needs: send one request to the account's home DC, or to another DC (native statistics
live on ``stats_dc``). Tests subclass it and answer with real TL objects and errors.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telethon import TelegramClient  # type: ignore[import-untyped]
from telethon.tl.tlobject import TLRequest  # type: ignore[import-untyped]

T = TypeVar("T")


class MtprotoClient(ABC):
    """One signed-in MTProto account."""

    def __init__(self, account_id: int, label: str) -> None:
        self.account_id = account_id
        self.label = label

    @abstractmethod
    async def call(self, request: TLRequest) -> Any:
        """Send ``request`` to the account's home DC and return the answer."""

    @abstractmethod
    async def call_in_dc(self, request: TLRequest, dc_id: int) -> Any:
        """Send ``request`` to data center ``dc_id`` (the home DC included)."""


class TelethonClient(MtprotoClient):
    """``MtprotoClient`` over a connected ``TelegramClient``.

    The client must be built with ``flood_sleep_threshold=0`` so Telethon never sleeps
    on a FloodWait by itself: the account pool decides who waits and for how long.
    """

    def __init__(self, account_id: int, label: str, client: TelegramClient) -> None:
        super().__init__(account_id, label)
        self.client = client

    async def call(self, request: TLRequest) -> Any:
        return await self.client(request)

    async def call_in_dc(self, request: TLRequest, dc_id: int) -> Any:
        if dc_id == self.client.session.dc_id:
            return await self.client(request)
        # Telethon's own get_stats() borrows an exported sender the same way.
        sender = await self.client._borrow_exported_sender(dc_id)
        try:
            return await sender.send(request)
        finally:
            await self.client._return_exported_sender(sender)


class AccountRunner(ABC):
    """Runs one Telegram operation on some available account.

    Implementations choose the account, apply request rates, and on a FloodWait rest
    that account and retry on another; they never wait past the caller's deadline.
    """

    @abstractmethod
    async def run(self, operation: Callable[[MtprotoClient], Awaitable[T]]) -> T:
        """Run ``operation`` with an account; its result or its (translated) error."""


class PeerStore(ABC):
    """Channel access hashes per account (an access hash is valid for one account only),
    and the channel usernames to resolve again with another account."""

    @abstractmethod
    async def access_hash(self, account_id: int, channel_id: int) -> int | None:
        """The hash ``account_id`` resolved for ``channel_id``, if any."""

    @abstractmethod
    async def remember(self, account_id: int, channel_id: int, access_hash: int) -> None:
        """Store a hash an account resolved."""

    @abstractmethod
    async def username(self, channel_id: int) -> str | None:
        """The channel's public username, if it has one."""


async def connect_telethon(
    account_id: int,
    label: str,
    session: str,
    *,
    api_id: int,
    api_hash: str,
    proxy: dict[str, object] | None = None,
) -> TelethonClient:
    """Connect a signed-in account from its StringSession.

    Telethon never sleeps on a FloodWait itself (``flood_sleep_threshold=0``) and
    receives no updates (the collector polls); a session that is no longer signed in
    raises ConnectionError.
    """
    from telethon.sessions import StringSession  # type: ignore[import-untyped]

    client = TelegramClient(
        StringSession(session),
        api_id,
        api_hash,
        proxy=proxy,
        flood_sleep_threshold=0,
        receive_updates=False,
        catch_up=False,
        request_retries=2,
    )
    await client.connect()
    if not await client.is_user_authorized():
        await client.disconnect()
        raise ConnectionError(f"account {label} is not signed in; run analyticbot mtproto login")
    return TelethonClient(account_id, label, client)


async def disconnect_telethon(client: MtprotoClient) -> None:
    """Disconnect a client ``connect_telethon`` made."""
    if isinstance(client, TelethonClient):
        await client.client.disconnect()
