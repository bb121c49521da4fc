"""``POST /api/v1/auth/telegram``: a Mini App launch (initData) → an access token."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import document_response, tag_blueprint, validate_request, validate_response

from gateway.api import mapping
from gateway.api.schemas import ErrorBody, ExchangeRequest, ExchangeResponse
from gateway.state import gateway_state

blueprint = Blueprint("auth", __name__, url_prefix="/api/v1/auth")
tag_blueprint(blueprint, ["auth"])


@blueprint.post("/telegram")
@validate_request(ExchangeRequest)
@validate_response(ExchangeResponse, 200)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 401)
@document_response(ErrorBody, 503)
async def exchange_init_data(data: ExchangeRequest) -> ExchangeResponse:
    """Validate Telegram initData (in the auth service) and issue an access token.

    A bad signature or a stale launch is 401 ``INVALID_INIT_DATA``.
    """
    response = await gateway_state().peers.exchange_init_data(data.init_data)
    return mapping.exchange(response)
