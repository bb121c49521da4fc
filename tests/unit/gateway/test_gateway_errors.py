"""The gateway's error contract: gRPC statuses and HTTP errors → ``{code, message}``."""

from __future__ import annotations

import grpc
import pytest
from pydantic import BaseModel, ValidationError
from quart_schema import RequestSchemaValidationError

from gateway.api.access import parse_channel_id
from gateway.errors import APIError, from_grpc, http_error_code, validation_message


def rpc_error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)


@pytest.mark.parametrize(
    ("code", "status", "api_code"),
    [
        (grpc.StatusCode.NOT_FOUND, 404, "NOT_FOUND"),
        (grpc.StatusCode.INVALID_ARGUMENT, 400, "INVALID_ARGUMENT"),
        (grpc.StatusCode.UNAUTHENTICATED, 401, "UNAUTHENTICATED"),
        (grpc.StatusCode.PERMISSION_DENIED, 403, "FORBIDDEN"),
        (grpc.StatusCode.FAILED_PRECONDITION, 409, "CONFLICT"),
        (grpc.StatusCode.ALREADY_EXISTS, 409, "ALREADY_EXISTS"),
        (grpc.StatusCode.UNAVAILABLE, 503, "UNAVAILABLE"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 503, "UNAVAILABLE"),
        (grpc.StatusCode.INTERNAL, 500, "INTERNAL"),
        (grpc.StatusCode.UNKNOWN, 500, "INTERNAL"),
        (grpc.StatusCode.DATA_LOSS, 500, "INTERNAL"),
    ],
)
def test_grpc_status_maps_to_http(code: grpc.StatusCode, status: int, api_code: str) -> None:
    error = from_grpc(rpc_error(code, "period too long"))
    assert (error.status, error.code) == (status, api_code)


def test_client_errors_keep_the_services_message() -> None:
    error = from_grpc(rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "start must be before end"))
    assert error.message == "start must be before end"


def test_server_errors_hide_the_peers_details() -> None:
    for code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE):
        error = from_grpc(rpc_error(code, "connect to postgres://u:hunter2@db failed"))
        assert "hunter2" not in error.message
        assert "postgres" not in error.message


def test_unavailable_asks_to_retry_and_401_challenges() -> None:
    assert from_grpc(rpc_error(grpc.StatusCode.UNAVAILABLE, "")).headers["Retry-After"] == "5"
    challenge = from_grpc(rpc_error(grpc.StatusCode.UNAUTHENTICATED, "expired"))
    assert challenge.headers["WWW-Authenticate"].startswith("Bearer")


def test_call_sites_rename_codes() -> None:
    error = from_grpc(
        rpc_error(grpc.StatusCode.NOT_FOUND, "channel 5 not found"),
        codes={grpc.StatusCode.NOT_FOUND: "CHANNEL_NOT_FOUND"},
    )
    assert (error.status, error.code) == (404, "CHANNEL_NOT_FOUND")


def test_failed_precondition_is_409_with_the_call_sites_code_and_message() -> None:
    error = from_grpc(
        rpc_error(grpc.StatusCode.FAILED_PRECONDITION, "a channel has at most 100 live links"),
        codes={grpc.StatusCode.FAILED_PRECONDITION: "TOO_MANY_SHARE_LINKS"},
    )
    assert (error.status, error.code) == (409, "TOO_MANY_SHARE_LINKS")
    assert error.message == "a channel has at most 100 live links"


@pytest.mark.parametrize(
    ("details", "code"),
    [
        ("share link revoked", "SHARE_LINK_REVOKED"),
        ("share link expired", "SHARE_LINK_EXPIRED"),
        ("unknown share link", "SHARE_LINK_UNKNOWN"),
        ("malformed share link", "SHARE_LINK_UNKNOWN"),
        ("share link not found", "SHARE_LINK_UNKNOWN"),
        ("token expired", "UNAUTHENTICATED"),
    ],
)
def test_share_link_refusals_keep_their_code_at_every_call_site(details: str, code: str) -> None:
    error = from_grpc(
        rpc_error(grpc.StatusCode.UNAUTHENTICATED, details),
        codes={grpc.StatusCode.NOT_FOUND: "CHANNEL_NOT_FOUND"},
    )
    assert (error.status, error.code) == (401, code)
    assert 'error="invalid_token"' in error.headers["WWW-Authenticate"]


def test_http_error_codes() -> None:
    assert http_error_code(413) == "PAYLOAD_TOO_LARGE"
    assert http_error_code(405) == "METHOD_NOT_ALLOWED"
    assert http_error_code(415) == "UNSUPPORTED_MEDIA_TYPE"
    assert http_error_code(404) == "NOT_FOUND"


class Body(BaseModel):
    init_data: str


def test_validation_messages_name_fields_not_values() -> None:
    with pytest.raises(ValidationError) as caught:
        Body.model_validate({"init_data": 123456789})
    message = validation_message(RequestSchemaValidationError(caught.value))
    assert message.startswith("init_data:")
    assert "123456789" not in message


@pytest.mark.parametrize("text", ["-1001234567890", "0", "9223372036854775807"])
def test_channel_ids_parse(text: str) -> None:
    assert parse_channel_id(text) == int(text)


@pytest.mark.parametrize("text", ["abc", "1e5", "", "9223372036854775808", "١٢", " 5"])
def test_bad_channel_ids_are_400(text: str) -> None:
    with pytest.raises(APIError) as caught:
        parse_channel_id(text)
    assert (caught.value.status, caught.value.code) == (400, "INVALID_CHANNEL_ID")
