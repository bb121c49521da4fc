"""``/api/v1/channels``: the caller's channels and each channel's overview.

The gateway verifies the token locally, asks auth ``CheckAccess`` before it calls
analytics, and forwards the token so analytics authorizes again on its side.
"""

from __future__ import annotations

import re

from quart import Blueprint, request
from quart_schema import (
    document_response,
    security_scheme,
    tag_blueprint,
    validate_querystring,
    validate_response,
)

from analyticbot.auth.v1 import auth_pb2
from analyticbot.runtime.rbac import Permission
from gateway.api import mapping
from gateway.api.schemas import ChannelList, ErrorBody, Overview, OverviewQuery
from gateway.errors import APIError, channel_not_found
from gateway.keys import Caller
from gateway.state import authenticate, gateway_state

blueprint = Blueprint("channels", __name__, url_prefix="/api/v1/channels")
tag_blueprint(blueprint, ["channels"])

_CHANNEL_ID = re.compile(r"-?[0-9]{1,19}")
_INT64 = range(-(2**63), 2**63)


def parse_channel_id(text: str) -> int:
    """A Telegram channel id (may be negative, ``-100…``); 400 otherwise."""
    if _CHANNEL_ID.fullmatch(text) and int(text) in _INT64:
        return int(text)
    raise APIError(400, "INVALID_CHANNEL_ID", "the channel id must be an integer")


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


@blueprint.get("")
@security_scheme([{"bearer": []}])
@validate_response(ChannelList, 200)
@document_response(ErrorBody, 401)
@document_response(ErrorBody, 503)
async def list_channels() -> ChannelList:
    """The channels the caller may see, with the caller's role on each."""
    caller = await authenticate(request.headers.get("Authorization"))
    response = await gateway_state().peers.list_my_channels(caller.token)
    return mapping.channels(response)


@blueprint.get("/<channel_id>/overview")
@security_scheme([{"bearer": []}])
@validate_querystring(OverviewQuery)
@validate_response(Overview, 200)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 401)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 503)
async def channel_overview(channel_id: str, query_args: OverviewQuery) -> Overview:
    """Headline numbers of the period [start, end) beside the previous equal period."""
    caller = await authenticate(request.headers.get("Authorization"))
    cid = parse_channel_id(channel_id)
    await require_access(caller, cid, Permission.VIEW_ANALYTICS)
    response = await gateway_state().peers.channel_overview(
        caller.token, cid, query_args.start, query_args.end
    )
    return mapping.overview(response)
