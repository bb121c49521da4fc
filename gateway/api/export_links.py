"""Export links for Telegram's ``downloadFile``, which fetches a plain HTTPS URL itself,
without our ``Authorization`` header.

``POST /api/v1/channels/<id>/export-links`` (``export_data``, the period as for
``export.csv``) answers an absolute URL ``<origin>/api/v1/exports/exl_...``, valid for a
few minutes (``ANALYTICBOT_EXPORT_LINK_TTL_SECONDS``, never beyond the access token it
was made with). ``GET`` on that URL streams the same CSV as ``export.csv``: the token in
the path is the only credential, access is checked again at download time (a member
removed meanwhile is refused), and the download counts against its creator's rate
limit. The token is masked in logs and traces (``runtime.logging.mask_url_secrets``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from quart import Blueprint, Response, request
from quart_schema import (
    document_response,
    security_scheme,
    tag_blueprint,
    validate_querystring,
    validate_response,
)

from analyticbot.runtime.rbac import Permission
from gateway.api.access import channel_caller, require_access
from gateway.api.export import CONTENT_DISPOSITION, csv_response
from gateway.api.live import token_expiry
from gateway.api.schemas import ErrorBody, PeriodQuery
from gateway.errors import unauthenticated
from gateway.openapi import raw_response
from gateway.ratelimit import Policy
from gateway.state import gateway_state

blueprint = Blueprint("export_links", __name__, url_prefix="/api/v1")
tag_blueprint(blueprint, ["export"])

DOWNLOAD_PATH = "/api/v1/exports/"
# A link shorter-lived than this is of no use: the caller signs in again (401) first.
MIN_LINK_SECONDS = 10


class CreatedExportLink(BaseModel):
    """A download URL for ``Telegram.WebApp.downloadFile({url, file_name})``."""

    url: str = Field(
        description="Absolute URL of the CSV; needs no Authorization header. A secret: "
        "hand it to Telegram only."
    )
    expires_at: datetime = Field(description="The URL is refused from then on.")
    file_name: str = Field(description="channel-<id>-posts.csv")


@blueprint.post("/channels/<channel_id>/export-links")
@security_scheme([{"bearer": []}])
@validate_querystring(PeriodQuery)
@validate_response(CreatedExportLink, 201)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def create_export_link(
    channel_id: str, query_args: PeriodQuery
) -> tuple[CreatedExportLink, int]:
    """A short-lived URL that downloads the posts CSV of [start, end) (default: the last
    30 days) without a bearer token. Needs ``export_data``."""
    caller, cid = await channel_caller(channel_id, Permission.EXPORT_DATA)
    token_expires_at = token_expiry(caller.token)
    left = (token_expires_at - datetime.now(UTC)).total_seconds()
    if left < MIN_LINK_SECONDS:
        raise unauthenticated(
            "the access token expires too soon; sign in again", invalid_token=True
        )
    state = gateway_state()
    token, link = await state.export_links.create(
        caller, cid, query_args.start, query_args.end, token_expires_at
    )
    origin = state.settings.public_url or request.host_url
    created = CreatedExportLink(
        url=f"{origin.rstrip('/')}{DOWNLOAD_PATH}{token}",
        expires_at=link.expires_at,
        file_name=link.file_name,
    )
    return created, 201


@blueprint.get("/exports/<token>")
@raw_response(
    200,
    "The posts CSV the link was made for, streamed as by export.csv.",
    content_type="text/csv",
    headers=CONTENT_DISPOSITION,
)
@document_response(ErrorBody, 401)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def download_export(token: str) -> Response:
    """The CSV of an export link; the token in the path is the credential. 401
    ``EXPORT_LINK_INVALID`` or ``EXPORT_LINK_EXPIRED``; 404/403 when the link's creator
    has lost access to the channel since."""
    state = gateway_state()
    link = await state.export_links.resolve(token)
    limiter = state.limiter
    await limiter.check("user", str(link.user_id), limiter.limits.per_user, Policy.FAIL_OPEN)
    caller = link.caller()
    await require_access(caller, link.channel_id, Permission.EXPORT_DATA)
    return await csv_response(caller, link.channel_id, link.start, link.end)
