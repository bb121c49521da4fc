"""The gateway's one error contract: every error is ``{"code": ..., "message": ...}``.

Three families reach the client, each translated in one place:
- ``APIError`` raised by the gateway itself (and gRPC failures turned into one by
  ``from_grpc``);
- HTTP errors from Quart and quart-schema (unknown route, 405, 413, schema validation);
- anything else: 500 ``INTERNAL``, logged without its message or stack (either may hold
  a secret), never shown.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from http import HTTPStatus

import grpc
from pydantic import ValidationError
from quart import Quart, Response, jsonify
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
WWW_AUTHENTICATE = 'Bearer realm="analyticbot"'


class APIError(Exception):
    """An error the client may see: an HTTP status, a stable code and a safe message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def unauthenticated(message: str, *, invalid_token: bool = False) -> APIError:
    """401 with the ``WWW-Authenticate`` challenge RFC 6750 asks for."""
    challenge = WWW_AUTHENTICATE + (', error="invalid_token"' if invalid_token else "")
    return APIError(401, "UNAUTHENTICATED", message, headers={"WWW-Authenticate": challenge})


def channel_not_found() -> APIError:
    return APIError(404, "CHANNEL_NOT_FOUND", "channel not found")


# gRPC status → (HTTP status, default code, whether the peer's message may be shown).
# A peer's message comes from its DomainError, which is written to be safe to show.
_GRPC_TO_HTTP: dict[grpc.StatusCode, tuple[int, str, bool]] = {
    grpc.StatusCode.NOT_FOUND: (404, "NOT_FOUND", True),
    grpc.StatusCode.INVALID_ARGUMENT: (400, "INVALID_ARGUMENT", True),
    grpc.StatusCode.UNAUTHENTICATED: (401, "UNAUTHENTICATED", True),
    grpc.StatusCode.PERMISSION_DENIED: (403, "FORBIDDEN", True),
    grpc.StatusCode.FAILED_PRECONDITION: (409, "CONFLICT", True),
    grpc.StatusCode.ALREADY_EXISTS: (409, "ALREADY_EXISTS", True),
    grpc.StatusCode.UNAVAILABLE: (503, "UNAVAILABLE", False),
    grpc.StatusCode.DEADLINE_EXCEEDED: (503, "UNAVAILABLE", False),
}
# The auth service's stable refusals of a share link (ExchangeShareLink, and CheckAccess
# or analytics for a token whose link died) → the code the Mini App branches on.
SHARE_LINK_CODES = {
    "share link revoked": "SHARE_LINK_REVOKED",
    "share link expired": "SHARE_LINK_EXPIRED",
    "unknown share link": "SHARE_LINK_UNKNOWN",
    "malformed share link": "SHARE_LINK_UNKNOWN",
    "share link not found": "SHARE_LINK_UNKNOWN",
}
_FIXED_MESSAGES = {
    503: "a service is temporarily unavailable, retry later",
    500: "internal error",
}


def from_grpc(
    error: grpc.aio.AioRpcError, *, codes: Mapping[grpc.StatusCode, str] | None = None
) -> APIError:
    """Translate a failed peer call; ``codes`` renames the code per call site (for
    example NOT_FOUND from analytics becomes ``CHANNEL_NOT_FOUND``). A share link's
    refusal keeps its own code wherever it comes from."""
    status_code = error.code()
    status, code, show = _GRPC_TO_HTTP.get(status_code, (500, "INTERNAL", False))
    code = (codes or {}).get(status_code, code)
    details = error.details() if show else None
    if status_code == grpc.StatusCode.UNAUTHENTICATED and details in SHARE_LINK_CODES:
        code = SHARE_LINK_CODES[details]
    message = details or _FIXED_MESSAGES.get(status) or HTTPStatus(status).phrase.lower()
    if status == 401:
        return APIError(
            401,
            code,
            message,
            headers={"WWW-Authenticate": WWW_AUTHENTICATE + ', error="invalid_token"'},
        )
    if status == 503:
        log.warning("peer call failed: %s", status_code.name)
        return APIError(503, code, message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if status == 500:
        log.error("peer call failed: %s", status_code.name)
    return APIError(status, code, message)


_HTTP_CODES = {
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    429: "RATE_LIMITED",
    431: "HEADERS_TOO_LARGE",
}


def http_error_code(status: int) -> str:
    """``405`` → ``METHOD_NOT_ALLOWED``: the code of a plain HTTP error."""
    if status in _HTTP_CODES:
        return _HTTP_CODES[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "HTTP_ERROR"
    return "_".join(phrase.upper().replace("-", " ").replace("'", "").split())


def validation_message(error: RequestSchemaValidationError) -> str:
    """Where and why the request did not match its schema; never the input values."""
    inner = error.validation_error
    if isinstance(inner, ValidationError):
        parts = []
        for item in inner.errors(include_url=False, include_input=False):
            where = ".".join(str(p) for p in item["loc"]) or "body"
            parts.append(f"{where}: {item['msg']}")
        return "; ".join(parts)
    return "the request does not match its schema"


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    response = jsonify({"code": code, "message": message})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401 and "WWW-Authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


async def _handle_api_error(error: APIError) -> Response:
    return error_response(error.status, error.code, error.message, error.headers)


async def _handle_validation_error(error: RequestSchemaValidationError) -> Response:
    return error_response(400, "VALIDATION_ERROR", validation_message(error))


async def _handle_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    headers: dict[str, str] = {}
    if status == 405 and error.get_headers():
        headers = {k: v for k, v in error.get_headers() if k.lower() == "allow"}
    message = {
        404: "no such resource",
        413: "request body too large",
    }.get(status) or HTTPStatus(status).phrase.lower()
    return error_response(status, http_error_code(status), message, headers)


async def _handle_unexpected(error: Exception) -> Response:
    # Type and innermost frame only: messages and tracebacks can carry secrets.
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    log.error("unhandled %s at %s", type(error).__name__, where)
    return error_response(500, "INTERNAL", "internal error")


def register_error_handlers(app: Quart) -> None:
    """Install the one handler per family; every error leaves as JSON."""
    app.register_error_handler(APIError, _handle_api_error)
    app.register_error_handler(RequestSchemaValidationError, _handle_validation_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(Exception, _handle_unexpected)
