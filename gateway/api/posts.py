"""``/api/v1/channels/<id>/posts``: a channel's posts (sorted, filtered, paged) and one
post in detail. Needs ``view_analytics``."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import (
    document_response,
    security_scheme,
    tag_blueprint,
    validate_querystring,
    validate_response,
)

from analyticbot.analytics.v1 import posts_pb2
from analyticbot.runtime.rbac import Permission
from gateway.analytics_peer import set_period
from gateway.api import insight_mapping
from gateway.api.access import channel_caller, parse_positive_id
from gateway.api.insight_schemas import PostDetail, PostPage, PostsQuery
from gateway.api.schemas import ErrorBody
from gateway.state import gateway_state

blueprint = Blueprint("posts", __name__, url_prefix="/api/v1/channels")
tag_blueprint(blueprint, ["posts"])


@blueprint.get("/<channel_id>/posts")
@security_scheme([{"bearer": []}])
@validate_querystring(PostsQuery)
@validate_response(PostPage, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def list_posts(channel_id: str, query_args: PostsQuery) -> PostPage:
    """Posts published in [start, end) (default: the last 30 days) with their metrics.

    Sorted by ``sort`` in ``order``; posts without a value for the sort metric come last.
    Pass ``next_cursor`` back as ``cursor`` for the next page.
    """
    caller, cid = await channel_caller(channel_id, Permission.VIEW_ANALYTICS, share=True)
    message = posts_pb2.ListPostsRequest(
        channel_id=cid,
        sort=insight_mapping.SORTS[query_args.sort],
        ascending=query_args.order == "asc",
        media_types=query_args.media_type.split(",") if query_args.media_type else [],
        page_size=query_args.limit,
        page_token=query_args.cursor or "",
    )
    set_period(message, query_args.start, query_args.end)
    response = await gateway_state().analytics.list_posts(caller.token, message)
    return insight_mapping.post_page(response)


@blueprint.get("/<channel_id>/posts/<message_id>")
@security_scheme([{"bearer": []}])
@validate_response(PostDetail, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def get_post(channel_id: str, message_id: str) -> PostDetail:
    """One post: its metrics, view curve beside the channel's median curve, and its
    reactions by emoji. 404 ``POST_NOT_FOUND`` for an unknown or deleted post."""
    caller, cid = await channel_caller(channel_id, Permission.VIEW_ANALYTICS, share=True)
    mid = parse_positive_id(message_id, "INVALID_MESSAGE_ID", "message id")
    response = await gateway_state().analytics.get_post(caller.token, cid, mid)
    return insight_mapping.post_detail(response)
