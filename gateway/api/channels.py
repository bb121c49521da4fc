"""``/api/v1/channels``: the caller's channels, each channel's overview and the
comparison of two periods.

The gateway verifies the token locally, asks auth ``CheckAccess`` before it calls
analytics, and forwards the token so analytics authorizes again on its side. A share
token sees its one channel, as a viewer, marked ``shared``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from quart import Blueprint, Response, request
from quart_schema import (
    document_response,
    security_scheme,
    tag_blueprint,
    validate_querystring,
    validate_response,
)

from analyticbot.analytics.v1 import analytics_pb2
from analyticbot.runtime.rbac import Permission
from gateway.api import insight_mapping, mapping
from gateway.api.access import channel_caller
from gateway.api.insight_schemas import CompareQuery, Comparison
from gateway.api.schemas import ChannelList, ErrorBody, Overview, OverviewQuery
from gateway.errors import APIError
from gateway.keys import USER_OR_SHARE, Caller
from gateway.rendered import json_response
from gateway.state import authenticate, gateway_state

blueprint = Blueprint("channels", __name__, url_prefix="/api/v1/channels")
tag_blueprint(blueprint, ["channels"])


@blueprint.get("")
@security_scheme([{"bearer": []}])
@validate_response(ChannelList, 200)
async def list_channels() -> ChannelList:
    """The channels the caller may see, with the caller's role on each. For a share
    token: its one channel, role ``viewer``, ``shared`` true."""
    caller = await authenticate(request.headers.get("Authorization"), USER_OR_SHARE)
    if caller.shared:
        return await _shared_channel(caller)
    response = await gateway_state().peers.list_my_channels(caller.token)
    return mapping.channels(response)


async def _shared_channel(caller: Caller) -> ChannelList:
    """The share token's channel, titled by analytics, which also checks that the link
    is still live (401 ``SHARE_LINK_REVOKED`` / ``_EXPIRED`` otherwise). The last hour
    is the cheapest overview that names the channel. A channel no longer tracked is an
    empty list."""
    channel_id = caller.principal.channel_id
    assert channel_id is not None, "share tokens carry their channel"
    end = datetime.now(UTC)
    try:
        response = await gateway_state().peers.channel_overview(
            caller.token, channel_id, end - timedelta(hours=1), end
        )
    except APIError as exc:
        if exc.code == "CHANNEL_NOT_FOUND":
            return ChannelList(channels=[])
        raise
    return mapping.shared_channel(channel_id, response.title)


@blueprint.get("/<channel_id>/overview")
@security_scheme([{"bearer": []}])
@validate_querystring(OverviewQuery)
@document_response(Overview, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def channel_overview(channel_id: str, query_args: OverviewQuery) -> Response:
    """Headline numbers of the period [start, end) beside the previous equal period."""
    caller, cid = await channel_caller(channel_id, Permission.VIEW_ANALYTICS, share=True)
    response = await gateway_state().peers.channel_overview(
        caller.token, cid, query_args.start, query_args.end
    )
    return await json_response(gateway_state().rendered, "overview", response, mapping.overview)


@blueprint.get("/<channel_id>/compare")
@security_scheme([{"bearer": []}])
@validate_querystring(CompareQuery)
@validate_response(Comparison, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def compare_periods(channel_id: str, query_args: CompareQuery) -> Comparison:
    """Headline numbers of two periods side by side, each computed at its own end."""
    caller, cid = await channel_caller(channel_id, Permission.VIEW_ANALYTICS, share=True)
    message = analytics_pb2.ComparePeriodsRequest(channel_id=cid)
    message.first_start.FromDatetime(query_args.first_start)
    message.first_end.FromDatetime(query_args.first_end)
    message.second_start.FromDatetime(query_args.second_start)
    message.second_end.FromDatetime(query_args.second_end)
    response = await gateway_state().analytics.compare_periods(caller.token, message)
    return insight_mapping.comparison(cid, response)
