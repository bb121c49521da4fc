"""Access answers remembered per user until a change is heard, the one mechanism behind
the services' grant cache (``analyticbot.runtime.grant_cache``) and the gateway's
access cache (``gateway.access_cache``).

Values are kept per user and key (a channel, or a channel and a permission), each for at
most ``ttl_seconds``. ``forget(user)`` drops a user's values (``forget()`` everyone's)
and bumps a generation: a value read elsewhere while a change was heard is refused by
``put``, so a read that started before a change cannot outlive its announcement. At
most ``max_users`` users are kept, the first remembered out first.

Also the messages auth relays grant changes with (services/auth/grant_relay.py) and
gateways read them with.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Hashable
from typing import Any, Final, Generic, Literal, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# The relay's messages on its Redis topic.
ALIVE: Final = "alive"  # every second while auth hears PostgreSQL
DEAF: Final = "deaf"  # auth stopped hearing: forget everything, trust nothing
EVERYONE: Final = "*"  # forget everyone (TRUNCATE grants)
USER_PREFIX: Final = "u:"  # "u:<user id>": that user's roles changed


class Missing(enum.Enum):
    """What ``UserMemo.get`` returns for nothing remembered (a value may be None)."""

    MISSING = enum.auto()


MISSING: Final = Missing.MISSING
_NOTHING: dict[Any, Any] = {}


class UserMemo(Generic[K, V]):
    """Values per user and key, for ``ttl_seconds`` or until forgotten."""

    def __init__(
        self,
        *,
        ttl_seconds: float = 60.0,
        max_users: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_users = max_users
        self._clock = clock
        # user id -> key -> (value, monotonic expiry)
        self._values: dict[int, dict[K, tuple[V, float]]] = {}
        self._generation = 0

    @property
    def generation(self) -> int:
        """Take before reading a value elsewhere, give back to ``put``."""
        return self._generation

    def __len__(self) -> int:
        """Users with something remembered."""
        return len(self._values)

    def get(self, user_id: int, key: K) -> V | Literal[Missing.MISSING]:
        entry: tuple[V, float] | None = self._values.get(user_id, _NOTHING).get(key)
        if entry is None or entry[1] <= self._clock():
            return MISSING
        return entry[0]

    def put(self, user_id: int, key: K, value: V, generation: int) -> None:
        """Remember ``value``, read when ``generation`` was current (else nothing)."""
        if generation != self._generation:
            return
        values = self._values.get(user_id)
        if values is None:
            if len(self._values) >= self._max_users:
                # A hit does not reorder: first in, first out, enough to bound memory.
                del self._values[next(iter(self._values))]
            values = self._values[user_id] = {}
        values[key] = (value, self._clock() + self._ttl)

    def forget(self, user_id: int | None = None) -> None:
        """Drop ``user_id``'s values (everyone's when None); values being read now will
        not be remembered."""
        self._generation += 1
        if user_id is None:
            self._values.clear()
        else:
            self._values.pop(user_id, None)
