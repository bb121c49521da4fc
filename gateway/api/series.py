"""``/api/v1/channels/<id>/{best-time,subscribers,native-stats}``: a channel's time
series and heatmap. Needs ``view_analytics``; share tokens read them too."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import (
    document_response,
    security_scheme,
    tag_blueprint,
    validate_querystring,
    validate_response,
)

from analyticbot.analytics.v1 import analytics_pb2, series_pb2
from analyticbot.runtime.rbac import Permission
from gateway.analytics_peer import set_period
from gateway.api import insight_mapping
from gateway.api.access import channel_caller
from gateway.api.insight_schemas import (
    BestTime,
    NativeStatsList,
    NativeStatsQuery,
    SubscriberSeries,
    SubscribersQuery,
)
from gateway.api.schemas import ErrorBody, PeriodQuery
from gateway.keys import Caller
from gateway.state import gateway_state

blueprint = Blueprint("series", __name__, url_prefix="/api/v1/channels")
tag_blueprint(blueprint, ["series"])


async def _allowed(channel_id: str) -> tuple[Caller, int]:
    return await channel_caller(channel_id, Permission.VIEW_ANALYTICS, share=True)


@blueprint.get("/<channel_id>/best-time")
@security_scheme([{"bearer": []}])
@validate_querystring(PeriodQuery)
@validate_response(BestTime, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def best_time(channel_id: str, query_args: PeriodQuery) -> BestTime:
    """The weekday x hour heatmap (168 slots, Monday 00:00 first, in the channel's time
    zone) learnt from posts of [start, end) (default: the last 90 days)."""
    caller, cid = await _allowed(channel_id)
    message = series_pb2.GetBestTimeRequest(channel_id=cid)
    set_period(message, query_args.start, query_args.end)
    response = await gateway_state().analytics.best_time(caller.token, message)
    return insight_mapping.best_time(response)


@blueprint.get("/<channel_id>/subscribers")
@security_scheme([{"bearer": []}])
@validate_querystring(SubscribersQuery)
@validate_response(SubscriberSeries, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def subscribers(channel_id: str, query_args: SubscribersQuery) -> SubscriberSeries:
    """subscribers(t) at start, start + step, … then end (default: the last 30 days;
    hourly up to 3 days, daily beyond, unless ``granularity`` says otherwise)."""
    caller, cid = await _allowed(channel_id)
    message = series_pb2.GetSubscriberSeriesRequest(
        channel_id=cid, granularity=insight_mapping.GRANULARITIES[query_args.granularity]
    )
    set_period(message, query_args.start, query_args.end)
    response = await gateway_state().analytics.subscriber_series(caller.token, message)
    return insight_mapping.subscriber_series(response)


@blueprint.get("/<channel_id>/native-stats")
@security_scheme([{"bearer": []}])
@validate_querystring(NativeStatsQuery)
@validate_response(NativeStatsList, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def native_stats(channel_id: str, query_args: NativeStatsQuery) -> NativeStatsList:
    """Telegram's native statistics collected in [start, end) (default: the last 30
    days), newest first."""
    caller, cid = await _allowed(channel_id)
    message = analytics_pb2.ListNativeStatsRequest(channel_id=cid, page_size=query_args.limit)
    set_period(message, query_args.start, query_args.end)
    response = await gateway_state().analytics.native_stats(caller.token, message)
    return insight_mapping.native_stats(response)
