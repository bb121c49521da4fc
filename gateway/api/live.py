"""``/api/v1/channels/<id>/live``: the channel's overview pushed over a WebSocket.

Protocol (docs/api.md): the client sends ``{"type": "auth", "token": ...}`` first —
browsers cannot set ``Authorization`` on a WebSocket, and a token in the URL or in
``Sec-WebSocket-Protocol`` lands in proxy and access logs. The gateway verifies the token
and asks auth ``CheckAccess``, answers ``ready``, then joins the channel's feed: one
analytics ``WatchChannel`` stream per channel per gateway process, its JSON built once
and fanned out to every socket on the channel (``gateway.live_fanout``). Each socket has
its own heartbeat, rechecks its own access periodically, closes with 4401 when its
token expires (unless the client sent a fresh one) or its share link died, 4403/4404
when access is lost. A share token watches its own channel like a viewer; a renewal
must come from the same user or the same link (the same ``sub``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime

import jwt
from quart import Blueprint, current_app, websocket

from analyticbot.runtime.rbac import Permission
from gateway.api.access import parse_channel_id, require_access
from gateway.api.live_protocol import (
    Close,
    close_for_api_error,
    heartbeat,
    parse_client_message,
    ready,
)
from gateway.errors import APIError
from gateway.keys import USER_OR_SHARE, Caller
from gateway.live_fanout import LiveFeeds, Subscriber
from gateway.metrics import WEBSOCKET_CLIENTS
from gateway.ratelimit import Policy, client_address
from gateway.state import authenticate, gateway_state

log = logging.getLogger(__name__)

blueprint = Blueprint("live", __name__, url_prefix="/api/v1/channels")

FEEDS = "analyticbot_live_feeds"


def live_feeds() -> LiveFeeds:
    """The app's channel feeds (``app.extensions``, so several apps never share one)."""
    feeds = current_app.extensions.get(FEEDS)
    if feeds is None:
        feeds = current_app.extensions[FEEDS] = LiveFeeds()
    assert isinstance(feeds, LiveFeeds)
    return feeds


def token_expiry(token: str) -> datetime:
    """The ``exp`` of a token the key ring has already verified."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return datetime.fromtimestamp(int(claims["exp"]), UTC)


class LiveSession:
    """One authenticated socket on one channel."""

    def __init__(self, caller: Caller, channel_id: int) -> None:
        self.caller = caller
        self.channel_id = channel_id
        self.expires_at = token_expiry(caller.token)
        settings = gateway_state().settings
        self.heartbeat_seconds = settings.websocket_heartbeat_seconds
        self.recheck_seconds = settings.websocket_access_recheck_seconds

    async def send_ready(self) -> None:
        await websocket.send(ready(self.channel_id, self.expires_at, self.heartbeat_seconds))

    async def pump(self, subscriber: Subscriber) -> Close:
        """Send the feed's overviews, the newest one whenever this socket is free, until
        the feed closes it."""
        while True:
            item = await subscriber.next()
            if isinstance(item, Close):
                return item
            await websocket.send(item)

    async def read(self) -> Close:
        """Answer pings and accept fresh tokens of the same user."""
        while True:
            parsed = parse_client_message(await websocket.receive())
            if isinstance(parsed, Close):
                return parsed
            if parsed.type == "ping":
                await websocket.send('{"type":"pong"}')
                continue
            try:
                caller = await authenticate(f"Bearer {parsed.token}", USER_OR_SHARE)
            except APIError as exc:
                return close_for_api_error(exc)
            if caller.principal.subject != self.caller.principal.subject:
                return Close(4401, "the token is for another user")
            self.caller, self.expires_at = caller, token_expiry(caller.token)
            await self.send_ready()

    async def tick(self) -> Close:
        """Heartbeats, token expiry and periodic access checks."""
        loop = asyncio.get_running_loop()
        next_recheck = loop.time() + self.recheck_seconds
        while True:
            left = (self.expires_at - datetime.now(UTC)).total_seconds()
            if left <= 0:
                return Close(4401, "token expired")
            await asyncio.sleep(min(self.heartbeat_seconds, left))
            if self.expires_at <= datetime.now(UTC):
                continue
            await websocket.send(heartbeat(datetime.now(UTC)))
            if loop.time() >= next_recheck:
                next_recheck = loop.time() + self.recheck_seconds
                try:
                    await require_access(self.caller, self.channel_id, Permission.VIEW_ANALYTICS)
                except APIError as exc:
                    return close_for_api_error(exc)

    async def run(self) -> Close:
        subscriber = live_feeds().join(
            self.channel_id, lambda: self.caller.token, gateway_state().analytics.watch_channel
        )
        jobs = (self.pump(subscriber), self.read(), self.tick())
        tasks = [asyncio.create_task(job) for job in jobs]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return next(iter(done)).result()
        finally:
            subscriber.leave()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


async def _with_timeout(awaitable: Awaitable[str | bytes], seconds: float) -> str | bytes | None:
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError:
        return None


async def _open(channel_id: str) -> LiveSession | Close:
    """Rate limit, the ``auth`` message, the token and the access check."""
    state = gateway_state()
    settings, limiter = state.settings, state.limiter
    address = client_address(
        websocket.remote_addr,
        websocket.headers.getlist("X-Forwarded-For"),
        settings.trusted_proxy_count,
    )
    try:
        await limiter.check("ip", address, limiter.limits.per_ip, Policy.FAIL_OPEN)
    except APIError as exc:
        return close_for_api_error(exc)
    first = await _with_timeout(websocket.receive(), settings.websocket_auth_timeout_seconds)
    if first is None:
        return Close(4401, "no auth message in time")
    parsed = parse_client_message(first)
    if isinstance(parsed, Close):
        return parsed
    if parsed.type != "auth":
        return Close(4400, "the first message must be auth")
    try:
        cid = parse_channel_id(channel_id)
    except APIError:
        return Close(4404, "channel not found")
    try:
        caller = await authenticate(f"Bearer {parsed.token}", USER_OR_SHARE)
        if caller.shared and caller.principal.channel_id != cid:
            return Close(4404, "channel not found")
        await require_access(caller, cid, Permission.VIEW_ANALYTICS)
    except APIError as exc:
        return close_for_api_error(exc)
    return LiveSession(caller, cid)


@blueprint.websocket("/<channel_id>/live")
async def live(channel_id: str) -> None:
    """Live overview updates of a channel (see the module docstring)."""
    WEBSOCKET_CLIENTS.inc()
    try:
        await websocket.accept()
        opened = await _open(channel_id)
        if isinstance(opened, LiveSession):
            await opened.send_ready()
            closing = await opened.run()
        else:
            closing = opened
        log.info("live socket closed: %d %s", closing.code, closing.reason)
        await websocket.close(closing.code, closing.reason)
    finally:
        WEBSOCKET_CLIENTS.dec()
