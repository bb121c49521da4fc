"""One analytics ``WatchChannel`` per channel per gateway process, fanned out to every
live socket on that channel.

Analytics computes one overview per channel and event for all its streams; the gateway
used to receive it once per socket and build the same JSON once per socket. A
``ChannelFeed`` receives it once, keeps the newest message as a ``Frame`` whose JSON is
built at most once per form, and hands it to each ``Subscriber`` (one per socket). A
subscriber holds only the newest frame it has not sent: a slow socket skips to the
newest overview and never holds up the feed or the other sockets. A socket that joins
gets the newest frame at once, as its ``initial`` overview; before the first one it
waits for the upstream's initial.

The upstream carries the token of one connected socket, the *sponsor* (the oldest one),
so analytics still authorizes a real, present caller. When the sponsor leaves, the feed
opens a call with the next socket's token and drops the old call once the new one has
answered, so no event falls between them. A call refused for its sponsor's token
(UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND) closes that socket alone, as its own
call would have, and the next socket's token is tried. Any other failure, or the end
of the stream, closes every socket of the channel with the code a socket got from its
own call (``close_for_grpc``; 4408 for an end); clients reconnect with backoff. The
call is cancelled as soon as the last socket leaves. Each socket's access (CheckAccess
at open and every recheck) and token expiry stay with its own ``LiveSession``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from analyticbot.analytics.v1 import analytics_pb2
from gateway.analytics_peer import WatchCall
from gateway.api.live_protocol import Close, close_for_grpc, overview_message

log = logging.getLogger(__name__)

Watch = Callable[[str, int], WatchCall]
# Codes that refuse the caller of a call (its token), not the call: another socket's
# token may still be accepted.
REFUSALS = frozenset(
    {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND}
)


class Frame:
    """One upstream message; its JSON is built at most once per form."""

    __slots__ = ("_initial", "_update", "message")

    def __init__(self, message: analytics_pb2.WatchChannelResponse) -> None:
        self.message = message
        self._update: str | None = None
        self._initial: str | None = None
        if message.kind == analytics_pb2.INGEST_KIND_INITIAL and not message.HasField("event_at"):
            self._initial = self._update = overview_message(message)

    def text(self, *, initial: bool) -> str:
        """As a socket's first overview (``initial``) or as an update."""
        if initial:
            if self._initial is None:
                self._initial = overview_message(self.message, initial=True)
            return self._initial
        if self._update is None:
            self._update = overview_message(self.message)
        return self._update


class Subscriber:
    """One socket's place in a feed: the newest frame it has not sent (older ones are
    dropped), or the close the feed decided for it."""

    def __init__(self, feed: ChannelFeed, token: Callable[[], str]) -> None:
        self.token = token
        self._feed = feed
        self._frame: Frame | None = None
        self._close: Close | None = None
        self._greeted = False
        self._wake = asyncio.Event()

    def offer(self, frame: Frame) -> None:
        self._frame = frame
        self._wake.set()

    def end(self, close: Close) -> None:
        if self._close is None:
            self._close = close
        self._wake.set()

    async def next(self) -> str | Close:
        """The next text to send (the first as ``initial``), or the close."""
        while self._close is None and self._frame is None:
            self._wake.clear()
            await self._wake.wait()
        if self._close is not None:
            return self._close
        frame, self._frame = self._frame, None
        assert frame is not None
        text = frame.text(initial=not self._greeted)
        self._greeted = True
        return text

    def leave(self) -> None:
        self._feed.leave(self)


class _Upstream:
    """One WatchChannel call, opened with its sponsor's token, read into the inbox."""

    def __init__(self, sponsor: Subscriber, call: WatchCall, inbox: asyncio.Queue[_Event]) -> None:
        self.sponsor = sponsor
        self._call = call
        self._reader = asyncio.create_task(self._read(inbox))

    async def _read(self, inbox: asyncio.Queue[_Event]) -> None:
        code: grpc.StatusCode | None = None
        try:
            async for message in self._call:
                inbox.put_nowait(_Received(self, message))
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
        except Exception:
            log.exception("reading WatchChannel failed")
            code = grpc.StatusCode.INTERNAL
        inbox.put_nowait(_Ended(self, code))

    async def cancel(self) -> None:
        self._call.cancel()
        self._reader.cancel()
        await asyncio.wait({self._reader})


@dataclass(frozen=True, slots=True)
class _Received:
    upstream: _Upstream
    message: analytics_pb2.WatchChannelResponse


@dataclass(frozen=True, slots=True)
class _Ended:
    upstream: _Upstream
    code: grpc.StatusCode | None  # None: the stream ended without an error


@dataclass(frozen=True, slots=True)
class _Left:
    subscriber: Subscriber


_Event = _Received | _Ended | _Left


class ChannelFeed:
    """The sockets of one channel and the one upstream call they share."""

    def __init__(
        self, channel_id: int, watch: Watch, forget: Callable[[ChannelFeed], None]
    ) -> None:
        self.channel_id = channel_id
        self._watch = watch
        self._forget = forget
        self._subscribers: dict[Subscriber, None] = {}  # oldest first
        self._latest: Frame | None = None
        self._inbox: asyncio.Queue[_Event] = asyncio.Queue()
        self._live: _Upstream | None = None  # the call whose messages are sent
        self._pending: _Upstream | None = None  # a call opened for a new sponsor
        self._task: asyncio.Task[None] | None = None

    def join(self, token: Callable[[], str]) -> Subscriber:
        subscriber = Subscriber(self, token)
        self._subscribers[subscriber] = None
        if self._latest is not None:
            subscriber.offer(self._latest)
        if self._task is None:
            # A context of its own: the feed outlives the socket that started it, and its
            # calls must not carry that socket's trace.
            self._task = asyncio.create_task(self._run(), context=contextvars.Context())
        return subscriber

    def leave(self, subscriber: Subscriber) -> None:
        if subscriber not in self._subscribers:
            return  # refused, or the feed has ended
        del self._subscribers[subscriber]
        if self._subscribers:
            self._inbox.put_nowait(_Left(subscriber))
            return
        self._forget(self)
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        try:
            close = await self._follow()
        except Exception:
            log.exception("the live feed of channel %d failed", self.channel_id)
            close = Close(1011, "internal error")
        finally:
            self._forget(self)  # a socket opening from now on starts a new feed
            for upstream in (self._live, self._pending):
                if upstream is not None:
                    await upstream.cancel()
        log.info("live feed of channel %d ended: %d %s", self.channel_id, close.code, close.reason)
        for subscriber in self._subscribers:
            subscriber.end(close)
        self._subscribers.clear()

    def _open(self) -> _Upstream:
        """A call with the token of the oldest socket (there is one: the feed stops when
        its last socket leaves)."""
        sponsor = next(iter(self._subscribers))
        return _Upstream(sponsor, self._watch(sponsor.token(), self.channel_id), self._inbox)

    async def _follow(self) -> Close:
        """Read the inbox until the feed must close its sockets."""
        self._pending = self._open()
        while True:
            event = await self._inbox.get()
            if isinstance(event, _Left):
                current = self._pending or self._live
                if current is not None and current.sponsor is event.subscriber:
                    if self._pending is not None:
                        await self._pending.cancel()
                    self._pending = self._open()
            elif event.upstream is self._pending:
                if isinstance(event, _Received):
                    await self._promote(event.message)
                elif event.code in REFUSALS:
                    self._refuse(event.upstream.sponsor, close_for_grpc(event.code))
                    if not self._subscribers:
                        return close_for_grpc(event.code)
                    self._pending = self._open()
                else:
                    return self._ended(event.code)
            elif event.upstream is self._live:
                if isinstance(event, _Received):
                    self._publish(Frame(event.message))
                else:
                    return self._ended(event.code)

    async def _promote(self, message: analytics_pb2.WatchChannelResponse) -> None:
        """The pending call answered: it replaces the live one."""
        previous, self._live, self._pending = self._live, self._pending, None
        if previous is not None:
            await previous.cancel()
        latest = self._latest
        if latest is None:
            self._publish(Frame(message))
        elif message.overview.data_as_of != latest.message.overview.data_as_of:
            # Data committed while the calls changed hands, which the old call may not
            # have delivered: the sockets get the new call's overview as an update.
            self._publish(Frame(analytics_pb2.WatchChannelResponse(overview=message.overview)))

    def _publish(self, frame: Frame) -> None:
        self._latest = frame
        for subscriber in self._subscribers:
            subscriber.offer(frame)

    def _refuse(self, subscriber: Subscriber, close: Close) -> None:
        """Close one socket whose token analytics refused."""
        self._subscribers.pop(subscriber, None)
        subscriber.end(close)

    def _ended(self, code: grpc.StatusCode | None) -> Close:
        return close_for_grpc(code) if code is not None else Close(4408, "live feed ended")


class LiveFeeds:
    """The feed of every watched channel of one app."""

    def __init__(self) -> None:
        self._feeds: dict[int, ChannelFeed] = {}

    def join(self, channel_id: int, token: Callable[[], str], watch: Watch) -> Subscriber:
        """A place for one socket in the channel's feed, started with ``watch`` when the
        channel has none; ``token`` gives the socket's current token."""
        feed = self._feeds.get(channel_id)
        if feed is None:
            feed = self._feeds[channel_id] = ChannelFeed(channel_id, watch, self._forget)
        return feed.join(token)

    def _forget(self, feed: ChannelFeed) -> None:
        if self._feeds.get(feed.channel_id) is feed:
            del self._feeds[feed.channel_id]

    def __len__(self) -> int:
        return len(self._feeds)
