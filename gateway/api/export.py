"""``GET /api/v1/channels/<id>/export.csv``: the posts of a period as a CSV download.

Streamed straight from analytics ``ExportPostsCsv``: each gRPC chunk is written to the
client as it arrives, so memory stays flat whatever the channel's size. The first chunk
is awaited before the response starts, so a refusal (no access, bad period, analytics
down) is still an ordinary JSON error. A failure after that aborts the connection: the
client sees a broken download, never a truncated file that looks complete.

``csv_response`` is shared with the export links (``api.export_links``), which stream the
same document to Telegram's ``downloadFile``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime

import grpc
from quart import Blueprint, Response
from quart_schema import (
    document_response,
    security_scheme,
    tag_blueprint,
    validate_querystring,
)

from analyticbot.analytics.v1 import analytics_pb2
from analyticbot.runtime.rbac import Permission
from gateway.analytics_peer import CHANNEL_CODES, ExportCall, set_period
from gateway.api.access import channel_caller
from gateway.api.schemas import ErrorBody, PeriodQuery
from gateway.errors import from_grpc
from gateway.export_links import file_name
from gateway.keys import Caller
from gateway.openapi import raw_response
from gateway.state import gateway_state

log = logging.getLogger(__name__)

blueprint = Blueprint("export", __name__, url_prefix="/api/v1/channels")
tag_blueprint(blueprint, ["export"])

CSV_TYPE = "text/csv; charset=utf-8"
CONTENT_DISPOSITION = {
    "Content-Disposition": {
        "description": "attachment; filename=channel-<id>-posts.csv",
        "required": True,
        "schema": {"type": "string", "pattern": "^attachment; "},
    }
}


class ExportAborted(Exception):
    """The export stream failed after the response started; the connection is cut."""


async def _first_chunk(call: ExportCall) -> bytes | None:
    """The first chunk (None for an empty stream); a failure is an ``APIError``."""
    try:
        message = await call.read()
    except grpc.aio.AioRpcError as exc:
        raise from_grpc(exc, codes=CHANNEL_CODES) from None
    if message is grpc.aio.EOF:
        return None
    assert isinstance(message, analytics_pb2.ExportPostsCsvResponse)
    return message.chunk


async def _body(call: ExportCall, first: bytes | None) -> AsyncIterator[bytes]:
    try:
        if first:
            yield first
        while True:
            try:
                message = await call.read()
            except grpc.aio.AioRpcError as exc:
                log.warning("export stream failed: %s", exc.code().name)
                raise ExportAborted("the export stream failed") from None
            if message is grpc.aio.EOF:
                return
            assert isinstance(message, analytics_pb2.ExportPostsCsvResponse)
            if message.chunk:
                yield message.chunk
    finally:
        call.cancel()  # no-op when finished; stops analytics when the client went away


@blueprint.get("/<channel_id>/export.csv")
@security_scheme([{"bearer": []}])
@validate_querystring(PeriodQuery)
@raw_response(
    200,
    "The posts of the period and their metrics as CSV, header first, streamed.",
    content_type="text/csv",
    headers=CONTENT_DISPOSITION,
)
@document_response(ErrorBody, 401)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def export_csv(channel_id: str, query_args: PeriodQuery) -> Response:
    """Posts published in [start, end) (default: the last 30 days) as CSV. Needs
    ``export_data``."""
    caller, cid = await channel_caller(channel_id, Permission.EXPORT_DATA)
    return await csv_response(caller, cid, query_args.start, query_args.end)


async def csv_response(
    caller: Caller, channel_id: int, start: datetime | None, end: datetime | None
) -> Response:
    """The streamed CSV of ``channel_id`` for ``caller`` (access already checked); an
    error before the first chunk is an ``APIError``."""
    message = analytics_pb2.ExportPostsCsvRequest(channel_id=channel_id)
    set_period(message, start, end)
    call = gateway_state().analytics.export_posts_csv(caller.token, message)
    try:
        first = await _first_chunk(call)
    except BaseException:
        call.cancel()
        raise
    response = Response(_body(call, first), status=200, content_type=CSV_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name(channel_id)}"'
    response.timeout = None  # the stream has its own deadline (export_deadline_seconds)
    return response
