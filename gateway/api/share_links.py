"""Share links: ``/api/v1/channels/<id>/share-links`` (create, list, revoke;
``manage_share_links``, admins and owners) and ``POST /api/v1/share/exchange``, which
trades a link's secret for a short-lived read-only token without any login.

The secret (``shr_...``) is shown once, at creation, inside ``<origin>/s#<token>``, and
is never logged: the exchange body is not, and its rate limit counts the link under the
secret's SHA-256, never the secret itself. The exchange is limited strictly per client
IP (in ``guards``) and per link (here), and refused while Redis is down.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from quart import Blueprint, request
from quart_schema import (
    document_response,
    security_scheme,
    tag_blueprint,
    validate_querystring,
    validate_request,
    validate_response,
)

from analyticbot.runtime.rbac import Permission
from gateway.api import team_mapping
from gateway.api.access import channel_caller, parse_positive_id
from gateway.api.schemas import ErrorBody
from gateway.api.team_schemas import (
    CreatedShareLink,
    NewShareLink,
    Revoked,
    ShareExchange,
    ShareLinkList,
    ShareLinksQuery,
    ShareSession,
)
from gateway.errors import APIError
from gateway.ratelimit import Policy
from gateway.state import gateway_state

blueprint = Blueprint("share_links", __name__, url_prefix="/api/v1")
tag_blueprint(blueprint, ["sharing"])


@blueprint.get("/channels/<channel_id>/share-links")
@security_scheme([{"bearer": []}])
@validate_querystring(ShareLinksQuery)
@validate_response(ShareLinkList, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def list_share_links(channel_id: str, query_args: ShareLinksQuery) -> ShareLinkList:
    """The channel's live links, newest first (with ``include_inactive`` also recent
    revoked and expired ones). No secret is listed: none is stored."""
    caller, cid = await channel_caller(channel_id, Permission.MANAGE_SHARE_LINKS)
    response = await gateway_state().team.list_share_links(
        caller.token, cid, include_inactive=query_args.include_inactive
    )
    now = datetime.now(UTC)
    return ShareLinkList(links=[team_mapping.share_link(link, now) for link in response.links])


@blueprint.post("/channels/<channel_id>/share-links")
@security_scheme([{"bearer": []}])
@validate_request(NewShareLink)
@validate_response(CreatedShareLink, 201)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
async def create_share_link(channel_id: str, data: NewShareLink) -> tuple[CreatedShareLink, int]:
    """A new read-only link to the channel; its token and URL are shown only here.
    409 ``TOO_MANY_SHARE_LINKS`` when the channel has 100 live links."""
    caller, cid = await channel_caller(channel_id, Permission.MANAGE_SHARE_LINKS)
    state = gateway_state()
    ttl = timedelta(seconds=data.ttl_seconds) if data.ttl_seconds is not None else None
    response = await state.team.create_share_link(caller.token, cid, ttl)
    origin = state.settings.public_url or request.host_url
    created = CreatedShareLink(
        link=team_mapping.share_link(response.link, datetime.now(UTC)),
        token=response.token,
        url=team_mapping.share_url(origin, response.token),
    )
    return created, 201


@blueprint.delete("/channels/<channel_id>/share-links/<link_id>")
@security_scheme([{"bearer": []}])
@validate_response(Revoked, 200)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def revoke_share_link(channel_id: str, link_id: str) -> Revoked:
    """End a link at once: tokens exchanged from it fail on their next request.
    ``revoked`` is false when it already was; 404 ``SHARE_LINK_NOT_FOUND`` when the
    channel has no such link (among its live and 100 most recent inactive ones)."""
    caller, cid = await channel_caller(channel_id, Permission.MANAGE_SHARE_LINKS)
    lid = parse_positive_id(link_id, "INVALID_LINK_ID", "link id")
    team = gateway_state().team
    # Auth revokes by id alone, authorizing on the link's own channel: the path's
    # channel must be that channel too.
    known = await team.list_share_links(caller.token, cid, include_inactive=True)
    if all(link.link_id != lid for link in known.links):
        raise APIError(404, "SHARE_LINK_NOT_FOUND", "share link not found")
    return Revoked(revoked=await team.revoke_share_link(caller.token, lid))


@blueprint.post("/share/exchange")
@validate_request(ShareExchange)
@validate_response(ShareSession, 200)
@document_response(ErrorBody, 401)
async def exchange_share_link(data: ShareExchange) -> ShareSession:
    """Trade a share link's token for a read-only access token to its channel (no
    login). 401 ``SHARE_LINK_REVOKED``, ``SHARE_LINK_EXPIRED`` or ``SHARE_LINK_UNKNOWN``
    when the link cannot be used."""
    state = gateway_state()
    limiter = state.limiter
    link_key = hashlib.sha256(data.token.encode()).hexdigest()
    await limiter.check(
        "share-exchange-link", link_key, limiter.limits.share_exchange_per_link, Policy.FAIL_CLOSED
    )
    response = await state.team.exchange_share_link(data.token)
    return team_mapping.share_session(response)
