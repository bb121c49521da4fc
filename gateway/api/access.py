"""Path ids and channel access checks shared by every channel resource.

The gateway asks auth ``CheckAccess`` before it calls a peer and forwards the token, so
the peer authorizes again on its side.

Share tokens (read-only, one channel) are taken only by the routes that say so
(``share=True``: the channel's analytics reads). Elsewhere a share token is answered as
a stranger (another channel: 404) or a viewer (its own channel: 403) would be, without
asking any peer; never 401, which would send the shared page back to exchange its link
in a loop.
"""

from __future__ import annotations

import logging
import re

from quart import request

from analyticbot.auth.v1 import auth_pb2
from analyticbot.runtime.rbac import Permission
from gateway.api import mapping
from gateway.errors import APIError, channel_not_found
from gateway.keys import USER_OR_SHARE, Caller
from gateway.metrics import ACCESS_DECISIONS
from gateway.resilience import access_checked
from gateway.state import authenticate, gateway_state

log = logging.getLogger(__name__)

_REMEMBERED = ACCESS_DECISIONS.labels("remembered")
_ASKED = ACCESS_DECISIONS.labels("auth")

_CHANNEL_ID = re.compile(r"-?[0-9]{1,19}")
_POSITIVE_ID = re.compile(r"[1-9][0-9]{0,18}")
_INT64 = range(-(2**63), 2**63)


def parse_channel_id(text: str) -> int:
    """A Telegram channel id (may be negative, ``-100…``); 400 otherwise."""
    if _CHANNEL_ID.fullmatch(text) and int(text) in _INT64:
        return int(text)
    raise APIError(400, "INVALID_CHANNEL_ID", "the channel id must be an integer")


def parse_positive_id(text: str, code: str, what: str) -> int:
    """A positive 64-bit id from the path (a message or rule id); 400 ``code`` otherwise."""
    if _POSITIVE_ID.fullmatch(text) and int(text) in _INT64:
        return int(text)
    raise APIError(400, code, f"the {what} must be a positive integer")


async def require_access(caller: Caller, channel_id: int, permission: Permission) -> None:
    """404 when the caller has no role on the channel (ids reveal nothing), 403 when the
    role is too low. Auth answers, or for a user the answer it gave before, while the
    gateway still hears of every grant change (gateway/access_cache.py).

    When auth is unavailable, a user's read (``VIEW_ANALYTICS``) goes on unchecked here:
    the peer it is forwarded to authorizes the same token against the same grants (404
    without a role, as here), so the dashboard keeps working while auth restarts. Such a
    request is marked ``access_checked`` (which lets it be answered from a stale copy or
    a read shared with other callers) only if auth allowed this user on this channel
    within ``stale_access_seconds``. Share tokens and every other permission still get
    the 503."""
    state = gateway_state()
    subject = caller.principal.subject
    cache = state.access_cache
    user_id = None if caller.shared else caller.principal.user_id
    if cache is not None and user_id is not None:
        answer = cache.get(user_id, channel_id, permission.value)
        if answer is not None:
            _REMEMBERED.inc()
            _decide(caller, channel_id, permission, answer)
            return
    generation = cache.generation if cache is not None else 0
    try:
        answer = await state.peers.check_access(caller.token, channel_id, permission.value)
    except APIError as exc:
        if exc.status != 503 or caller.shared or permission is not Permission.VIEW_ANALYTICS:
            raise
        log.warning("auth unavailable; channel %d read left to the peer's check", channel_id)
        if state.recent_access.within(subject, channel_id, state.settings.stale_access_seconds):
            access_checked(channel_id)
        return
    if cache is not None and user_id is not None:
        cache.put(user_id, channel_id, permission.value, answer, generation)
    if user_id is not None:
        _ASKED.inc()
    _decide(caller, channel_id, permission, answer)


def _decide(
    caller: Caller, channel_id: int, permission: Permission, answer: auth_pb2.CheckAccessResponse
) -> None:
    """Let the request on, or raise 404/403, by auth's answer (fresh or remembered)."""
    if answer.allowed:
        if not caller.shared:
            gateway_state().recent_access.allowed(caller.principal.subject, channel_id)
        access_checked(channel_id)
        return
    if answer.role == auth_pb2.ROLE_UNSPECIFIED:
        raise channel_not_found()
    role = mapping.role(answer.role)
    raise APIError(
        403, "FORBIDDEN", f"the {role} role may not {permission.value.replace('_', ' ')}"
    )


def grants_changed(user_id: int) -> None:
    """A route of this process changed ``user_id``'s roles through auth: forget the
    answers remembered for them now, not when the relay's message comes a moment later
    (other gateway processes wait for it)."""
    cache = gateway_state().access_cache
    if cache is not None:
        cache.forget(user_id)


def read_only() -> APIError:
    return APIError(403, "FORBIDDEN", "a share link may only view the channel's analytics")


async def channel_caller(
    channel_id: str, permission: Permission, *, share: bool = False
) -> tuple[Caller, int]:
    """The verified caller of a channel route and the channel id, once access is checked:
    401 without a valid token, 400 for a bad id, 404/403 as ``require_access``. A share
    token passes only where ``share`` is set, and only on its own channel."""
    caller = await authenticate(request.headers.get("Authorization"), USER_OR_SHARE)
    cid = parse_channel_id(channel_id)
    if caller.shared:
        if caller.principal.channel_id != cid:
            raise channel_not_found()
        if not share:
            raise read_only()
    await require_access(caller, cid, permission)
    return caller, cid


async def user_caller() -> Caller:
    """The verified user of a route that no share token may use (403 for one)."""
    caller = await authenticate(request.headers.get("Authorization"), USER_OR_SHARE)
    if caller.shared:
        raise read_only()
    return caller
