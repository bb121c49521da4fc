"""A relay's announcements on a Redis pub/sub topic, as one gateway process hears them.

Two relays tell the gateways when something they remember has changed, in one protocol
(the message names are in ``analyticbot.runtime.memo``):

- auth's grant relay (services/auth/grant_relay.py): ``u:<user id>``, a user's roles
  changed (``gateway.access_cache``);
- analytics' invalidations (services/analytics/cache.py): ``c:<channel id>``, a
  channel's cached answers were dropped (``gateway.answer_memo``).

Besides the changes, ``alive`` comes every second while the relay hears every change and
``deaf`` at once when it stops. What a gateway remembers from a relay is trusted only
while this process is subscribed and an ``alive`` came within ``stale_seconds``; a lost
subscription, ``deaf``, silence or a message this version does not know forgets
everything, so a change that went unheard is never served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Hashable
from typing import ClassVar, Generic, Literal, TypeVar

import redis.asyncio as redis
from redis.exceptions import RedisError

from analyticbot.runtime.memo import ALIVE, DEAF, MISSING, Memo, Missing

log = logging.getLogger(__name__)


class Announcements:
    """Listens to ``topic``: ``forget(owner)`` for each ``<prefix><owner id>``,
    ``forget(None)`` whenever everything must go."""

    def __init__(
        self,
        client: redis.Redis,
        topic: str,
        *,
        prefix: str,
        forget: Callable[[int | None], None],
        what: str,
        stale_seconds: float = 3.0,
        retry_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._topic = topic
        self._prefix = prefix
        self._forget = forget
        self._what = what  # for the logs: "grant changes", "invalidated answers"
        self._stale = stale_seconds
        self._retry = retry_seconds
        self._clock = clock
        self._subscribed = False
        self._alive_at = float("-inf")

    @property
    def trusted(self) -> bool:
        """Whether what was remembered may be served: subscribed, relay recently alive."""
        return self._subscribed and self._clock() - self._alive_at < self._stale

    def heard(self, message: bytes | str) -> None:
        text = message.decode() if isinstance(message, bytes) else message
        owner = text.removeprefix(self._prefix)
        if text == ALIVE:
            self._alive_at = self._clock()
        elif owner != text and owner.removeprefix("-").isdigit():
            self._forget(int(owner))  # channel ids are negative (-100…)
        else:  # the relay's "forget everyone", DEAF, or anything this version does not know
            if text == DEAF:
                self._alive_at = float("-inf")
            self._forget(None)

    async def close(self) -> None:
        await self._client.aclose()

    async def run(self) -> None:
        """Listen until cancelled, subscribing again after a failure."""
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self._topic)
                self._subscribed = True
                log.info("listening for %s on %s", self._what, self._topic)
                task = asyncio.current_task()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                    # redis-py's get_message(timeout=...) can take a cancellation for its
                    # own timeout and return None: a task being cancelled would go on
                    # listening for ever (seen as a gateway that never shut down).
                    if task is not None and task.cancelling():
                        raise asyncio.CancelledError
                    if message is not None and message.get("type") == "message":
                        self.heard(message["data"])
            except (RedisError, OSError):
                log.warning("%s unheard (Redis unavailable); trusting nothing", self._what)
            finally:
                self._subscribed = False
                self._alive_at = float("-inf")
                self._forget(None)
                with contextlib.suppress(RedisError, OSError, TimeoutError):
                    await asyncio.wait_for(pubsub.aclose(), 1.0)  # type: ignore[no-untyped-call]
            await asyncio.sleep(self._retry)


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class HeardMemo(Generic[K, V]):
    """Values per owner (``analyticbot.runtime.memo``), served only while a relay is
    heard on ``topic`` and dropped on its announcements: the mechanism of the access
    cache (owners are users) and of the answer memo (owners are channels). A subclass
    names its relay's owner ``PREFIX``, what it hears (``WHAT``, for the logs) and how
    many values one owner may have (``MAX_KEYS``)."""

    PREFIX: ClassVar[str]
    WHAT: ClassVar[str]
    MAX_KEYS: ClassVar[int] = 1_000

    def __init__(
        self,
        client: redis.Redis,
        topic: str,
        *,
        stale_seconds: float = 3.0,
        ttl_seconds: float = 60.0,
        max_owners: int = 50_000,
        retry_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._values: Memo[K, V] = Memo(
            ttl_seconds=ttl_seconds, max_owners=max_owners, max_keys=self.MAX_KEYS, clock=clock
        )
        self.relay = Announcements(
            client,
            topic,
            prefix=self.PREFIX,
            forget=self.forget,
            what=self.WHAT,
            stale_seconds=stale_seconds,
            retry_seconds=retry_seconds,
            clock=clock,
        )

    @property
    def trusted(self) -> bool:
        """Whether what is kept may be served: subscribed, relay recently alive."""
        return self.relay.trusted

    @property
    def generation(self) -> int:
        """Take before reading a value elsewhere, give back to ``keep``."""
        return self._values.generation

    def __len__(self) -> int:
        return len(self._values)

    def recall(self, owner: int, key: K) -> V | Literal[Missing.MISSING]:
        """The kept value, or ``MISSING`` (also whenever the relay is not heard)."""
        if not self.trusted:
            if len(self._values):
                self.forget()
            return MISSING
        return self._values.get(owner, key)

    def keep(self, owner: int, key: K, value: V, generation: int) -> None:
        """Keep ``value``, read when ``generation`` was current (nothing if untrusted)."""
        if self.trusted:
            self._values.put(owner, key, value, generation)

    def forget(self, owner: int | None = None) -> None:
        """Drop ``owner``'s values (everyone's when None); values being read now are
        not kept."""
        self._values.forget(owner)

    async def close(self) -> None:
        await self.relay.close()

    async def run(self) -> None:
        """Listen to the relay until cancelled."""
        await self.relay.run()
