"""Path ids and channel access checks shared by every channel resource.

The gateway asks auth ``CheckAccess`` before it calls analytics and forwards the token,
so analytics authorizes again on its side.
"""

from __future__ import annotations

import re

from analyticbot.auth.v1 import auth_pb2
from analyticbot.runtime.rbac import Permission
from gateway.api import mapping
from gateway.errors import APIError, channel_not_found
from gateway.keys import Caller
from gateway.state import gateway_state

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
    role is too low."""
    answer = await gateway_state().peers.check_access(caller.token, channel_id, permission.value)
    if answer.allowed:
        return
    if answer.role == auth_pb2.ROLE_UNSPECIFIED:
        raise channel_not_found()
    role = mapping.role(answer.role)
    raise APIError(
        403, "FORBIDDEN", f"the {role} role may not {permission.value.replace('_', ' ')}"
    )
