"""Answers remembered per owner until a change to that owner is heard, the one
mechanism behind the services' grant cache (``analyticbot.runtime.grant_cache``), the
gateway's access cache (``gateway.access_cache``, owners are users) and its memo of
analytics' answers (``gateway.answer_memo``, owners are channels).

Values are kept per owner and key (a channel, a channel and a permission, a request),
each for at most ``ttl_seconds``. ``forget(owner)`` drops an owner's values
(``forget()`` everyone's) and bumps a generation: a value read elsewhere while a change
was heard is refused by ``put``, so a read that started before a change cannot outlive
its announcement. At most ``max_owners`` owners are kept, the first remembered out
first, and at most ``max_keys`` values per owner (beyond that the owner starts afresh).

Also the messages of the two relays on Redis pub/sub and of their listeners: auth's
grant changes (services/auth/grant_relay.py) and analytics' invalidated answers
(services/analytics/cache.py).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Hashable
from typing import Any, Final, Generic, Literal, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# The relays' messages on their Redis topics.
ALIVE: Final = "alive"  # every second while the relay hears every change
DEAF: Final = "deaf"  # the relay stopped hearing: forget everything, trust nothing
EVERYONE: Final = "*"  # forget everyone (TRUNCATE grants)
USER_PREFIX: Final = "u:"  # "u:<user id>": that user's roles changed
CHANNEL_PREFIX: Final = "c:"  # "c:<channel id>": that channel's cached answers were dropped


class Missing(enum.Enum):
    """What ``Memo.get`` returns for nothing remembered (a value may be None)."""

    MISSING = enum.auto()


MISSING: Final = Missing.MISSING
_NOTHING: dict[Any, Any] = {}


class Memo(Generic[K, V]):
    """Values per owner id and key, for ``ttl_seconds`` or until forgotten."""

    def __init__(
        self,
        *,
        ttl_seconds: float = 60.0,
        max_owners: int = 50_000,
        max_keys: int = 1_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_owners = max_owners
        self._max_keys = max_keys
        self._clock = clock
        # owner id -> key -> (value, monotonic expiry)
        self._values: dict[int, dict[K, tuple[V, float]]] = {}
        self._generation = 0

    @property
    def generation(self) -> int:
        """Take before reading a value elsewhere, give back to ``put``."""
        return self._generation

    def __len__(self) -> int:
        """Owners with something remembered."""
        return len(self._values)

    def get(self, owner: int, key: K) -> V | Literal[Missing.MISSING]:
        entry: tuple[V, float] | None = self._values.get(owner, _NOTHING).get(key)
        if entry is None or entry[1] <= self._clock():
            return MISSING
        return entry[0]

    def put(self, owner: int, key: K, value: V, generation: int) -> None:
        """Remember ``value``, read when ``generation`` was current (else nothing)."""
        if generation != self._generation:
            return
        values = self._values.get(owner)
        if values is None:
            if len(self._values) >= self._max_owners:
                # A hit does not reorder: first in, first out, enough to bound memory.
                del self._values[next(iter(self._values))]
            values = self._values[owner] = {}
        elif key not in values and len(values) >= self._max_keys:
            values.clear()
        values[key] = (value, self._clock() + self._ttl)

    def forget(self, owner: int | None = None) -> None:
        """Drop ``owner``'s values (everyone's when None); values being read now will
        not be remembered."""
        self._generation += 1
        if owner is None:
            self._values.clear()
        else:
            self._values.pop(owner, None)
