"""What keeps the dashboard up while the analytics service is not: a circuit breaker and
stale-if-error copies of its reads in Redis.

Every unary analytics call goes through ``AnalyticsGuard.call``. After ``threshold``
consecutive UNAVAILABLE or DEADLINE_EXCEEDED answers the breaker opens: for
``open_seconds`` no call is sent (requests pile up nowhere), then one is let through and
its answer closes or re-opens it. A dashboard read (``CACHED_READS``) that succeeds is
copied to Redis, keyed by method and request (channel and query; the access check has
already passed, and the answer does not depend on who asks); when the service fails or
the breaker is open, that copy is served instead of a 503 and the response says so
(``X-Cache: stale`` and ``Warning: 110``). Redis is given a quarter of a second per
command and its failures only cost the fallback, never the fresh answer.

Identical dashboard reads in flight together share one call (``shared_reads``), and the
answers analytics caches itself are kept in memory until analytics drops them
(``answer_memo``), but only in requests whose caller auth has allowed on that channel,
in this request or in an answer no announced grant change has voided since
(``access_checked``, set by ``api.access``; ``gateway.access_cache``): the access
decision is never shared or kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

import grpc
import redis.asyncio as redis
from google.protobuf.message import Message
from quart import Quart, Response, g, has_request_context
from redis.exceptions import RedisError

from gateway.answer_memo import AnswerMemo, keepable, memoizable
from gateway.errors import RETRY_AFTER_SECONDS, APIError
from gateway.shared_reads import SharedReads

log = logging.getLogger(__name__)

Resp = TypeVar("Resp", bound=Message)

# The reads behind the dashboard screens, by method name of AnalyticsService.
CACHED_READS = frozenset(
    {
        "GetChannelOverview",
        "ComparePeriods",
        "ListPosts",
        "GetPost",
        "GetBestTime",
        "GetSubscriberSeries",
        "ListNativeStats",
    }
)
_FAILURES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
_REDIS_ERRORS = (RedisError, OSError, TimeoutError)
STALE_HEADERS = {"X-Cache": "stale", "Warning": '110 - "Response is Stale"'}


class CircuitBreaker:
    """Consecutive-failure breaker: closed, open for ``open_seconds``, then half-open
    (calls go through; the next failure re-opens it, a success closes it)."""

    def __init__(
        self,
        *,
        threshold: int = 5,
        open_seconds: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._open_seconds = open_seconds
        self._clock = clock
        self._failures = 0
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return self._failures >= self._threshold and self._clock() < self._open_until

    def allow(self) -> bool:
        return not self.is_open

    def success(self) -> None:
        self._failures = 0

    def failure(self) -> None:
        self._failures += 1
        if self._failures >= self._threshold:
            if self._failures == self._threshold:
                log.warning("analytics failing; breaker open for %.1fs", self._open_seconds)
            self._open_until = self._clock() + self._open_seconds


def served_stale() -> bool:
    """Whether this request was answered from a stale copy."""
    return bool(has_request_context() and g.get("served_stale", False))


class RecentAccess:
    """When auth last allowed each user on each channel (bounded, oldest out first): what
    lets a read be answered from a stale copy while auth itself is unavailable."""

    def __init__(self, size: int = 65_536) -> None:
        self._size = size
        self._seen: OrderedDict[tuple[str, int], float] = OrderedDict()

    def allowed(self, subject: str, channel_id: int) -> None:
        key = (subject, channel_id)
        self._seen[key] = time.monotonic()
        self._seen.move_to_end(key)
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)

    def within(self, subject: str, channel_id: int, seconds: float) -> bool:
        at = self._seen.get((subject, channel_id))
        return at is not None and time.monotonic() - at <= seconds


def access_checked(channel_id: int) -> None:
    """Record that auth has just allowed this request's caller on ``channel_id`` (any
    permission implies viewing its analytics), so its dashboard reads may share a call.
    WebSockets share none and are not marked."""
    if has_request_context():
        g.access_checked_channel = channel_id


def _access_checked(request: Message) -> bool:
    channel_id = getattr(request, "channel_id", None)
    return (
        channel_id is not None
        and has_request_context()
        and g.get("access_checked_channel") == channel_id
    )


async def _serialized(send: Callable[[], Awaitable[Message]]) -> bytes:
    return (await send()).SerializeToString()


def install_stale_headers(app: Quart) -> None:
    """Mark responses built from a stale copy."""

    @app.after_request
    async def mark(response: Response) -> Response:
        if served_stale():
            response.headers.update(STALE_HEADERS)
        return response


class AnalyticsGuard:
    """The breaker and the stale copies in front of one analytics channel."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "analyticbot:stale:",
        ttl_seconds: int = 600,
        refresh_seconds: float = 5.0,
        breaker: CircuitBreaker | None = None,
        share_reads: bool = False,
        memo: AnswerMemo | None = None,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._refresh = refresh_seconds
        self.breaker = breaker or CircuitBreaker()
        self._written: dict[str, float] = {}
        self._writes: set[asyncio.Task[None]] = set()
        self._shared = SharedReads() if share_reads else None
        self._memo = memo

    def _key(self, method: str, request: bytes) -> str:
        """The Redis key of a stale copy, also the key of a shared call."""
        return f"{self._prefix}{method}:{hashlib.sha256(request).hexdigest()[:32]}"

    async def call(
        self,
        method: str,
        request: Message,
        response: type[Resp],
        send: Callable[[], Awaitable[Resp]],
    ) -> Resp:
        """``send()`` unless the breaker is open; a failed or refused dashboard read is
        answered from its stale copy when there is one. Raises ``AioRpcError`` as
        ``send`` does, or a 503 ``APIError`` while the breaker is open."""
        cached = method in CACHED_READS
        # Stale copies, shared calls and kept answers skip analytics' own authorization:
        # only for a request whose caller auth has just allowed on the channel.
        checked = cached and _access_checked(request)
        # The request serialized once: the memo's key, and the digest of the others.
        asked = request.SerializeToString(deterministic=True) if cached else b""
        memo = self._memo if checked and memoizable(method, request) else None
        if memo is not None:
            channel_id: int = getattr(request, "channel_id")  # noqa: B009 (checked above)
            kept = memo.get(channel_id, method, asked)
            if kept is not None:
                return cast(Resp, kept)
            generation = memo.generation
        key = self._key(method, asked) if cached else ""
        shared = self._shared if checked else None
        if not self.breaker.allow():
            if checked and (stale := await self._stale(key, response)) is not None:
                return stale
            raise APIError(
                503,
                "UNAVAILABLE",
                "analytics is unavailable, retry shortly",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        try:
            if shared is None:
                answer = await send()
            else:
                answer = response.FromString(await shared.read(key, lambda: _serialized(send)))
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in _FAILURES:
                self.breaker.success()
                raise
            self.breaker.failure()
            if checked and (stale := await self._stale(key, response)) is not None:
                return stale
            raise
        self.breaker.success()
        if memo is not None and keepable(method, answer):
            memo.put(channel_id, method, asked, answer, generation)
        if cached:
            self._remember(key, answer)
        return answer

    async def _stale(self, key: str, response: type[Resp]) -> Resp | None:
        try:
            data = await self._redis.get(key)
        except _REDIS_ERRORS as exc:
            log.warning("stale copy unavailable: %s", type(exc).__name__)
            return None
        if not isinstance(data, bytes):
            return None
        if has_request_context():
            g.served_stale = True
        return response.FromString(data)

    def _remember(self, key: str, answer: Message) -> None:
        """Copy ``answer`` to Redis in the background, at most once per ``refresh``
        seconds per key (the copy only has to be recent, not current)."""
        now = time.monotonic()
        if now - self._written.get(key, -self._refresh) < self._refresh:
            return
        if len(self._written) > 10_000:
            self._written.clear()
        self._written[key] = now
        task = asyncio.create_task(self._write(key, answer.SerializeToString()))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, key: str, data: bytes) -> None:
        try:
            await self._redis.set(key, data, ex=self._ttl)
        except _REDIS_ERRORS as exc:
            self._written.pop(key, None)
            log.warning("could not keep a stale copy: %s", type(exc).__name__)

    async def redis_status(self) -> str:
        """SERVING when Redis answers PING, else UNAVAILABLE (for ``/readyz``)."""
        try:
            await self._redis.ping()
        except _REDIS_ERRORS:
            return "UNAVAILABLE"
        return "SERVING"

    async def close(self) -> None:
        for task in list(self._writes):
            task.cancel()
        await asyncio.gather(*self._writes, return_exceptions=True)
        await self._redis.aclose()
