"""The OpenAPI document declares every response an operation can give.

quart-schema documents what each handler declares; the errors that come from the
gateway's guards and error handlers apply to whole classes of routes, so they are added
here, from the same facts the guards use, instead of on every handler by hand:

- every operation: 400 (schema or ``BODY_NOT_ALLOWED``), 414, 431 and 500;
- operations that take a body: 413;
- rate-limited operations: 429 with ``Retry-After``, and 503 (a peer or, for the login,
  the rate limit store is unavailable);
- operations that need a token: 401 with ``WWW-Authenticate``.

Responses that are not JSON models (``204`` without a body, the CSV download) are
declared on their handler with ``raw_response``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from quart_schema import OpenAPIProvider
from quart_schema.validation import QUART_SCHEMA_REQUEST_ATTRIBUTE
from werkzeug.routing import Rule

from gateway.api.schemas import ErrorBody
from gateway.guards import UNCOUNTED_BLUEPRINTS

DESCRIPTIONS = {
    400: "The request does not match its schema, or carries a body this endpoint lacks.",
    401: "The bearer token is missing or invalid.",
    413: "The request body is too large.",
    414: "The query string is too long.",
    429: "Too many requests; retry after the number of seconds in Retry-After.",
    431: "The request headers are too large.",
    500: "An internal error; nothing about it is shown.",
    503: "A peer service or the rate limit store is temporarily unavailable.",
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"},
    }
}
RAW_RESPONSES_ATTRIBUTE = "_gateway_raw_responses"
F = TypeVar("F", bound=Callable[..., Any])


def raw_response(
    status: int,
    description: str,
    *,
    content_type: str | None = None,
    headers: dict[str, Any] | None = None,
) -> Callable[[F], F]:
    """Document a response that has no JSON model: ``content_type`` None means no body."""
    response: dict[str, Any] = {"description": description}
    if content_type is not None:
        response["content"] = {content_type: {"schema": {"type": "string"}}}
    if headers:
        response["headers"] = headers

    def decorate(view: F) -> F:
        declared = dict(getattr(view, RAW_RESPONSES_ATTRIBUTE, {}))
        declared[status] = response
        setattr(view, RAW_RESPONSES_ATTRIBUTE, declared)
        return view

    return decorate


WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": "The Bearer challenge (RFC 6750).",
        "required": True,
        "schema": {"type": "string", "pattern": "^Bearer "},
    }
}


class GatewayOpenAPI(OpenAPIProvider):
    """quart-schema's provider plus the error responses every route class shares."""

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        view = self._app.view_functions[rule.endpoint]
        blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else None
        statuses = {400, 414, 431, 500}
        if getattr(view, QUART_SCHEMA_REQUEST_ATTRIBUTE, None) is not None:
            statuses.add(413)
        if blueprint not in UNCOUNTED_BLUEPRINTS:
            statuses |= {429, 503}
        raw = getattr(view, RAW_RESPONSES_ATTRIBUTE, {})
        for operations in paths.values():
            for operation in operations.values():
                for status, response in raw.items():
                    operation["responses"][status] = dict(response)
                wanted = set(statuses)
                if operation.get("security"):
                    wanted.add(401)
                components.update(self._add_errors(operation["responses"], wanted))
        return paths, components

    def _add_errors(self, responses: dict[Any, Any], statuses: set[int]) -> dict[str, Any]:
        components: dict[str, Any] = {}
        for status in sorted(statuses):
            if status not in responses:
                response, definitions = self.build_response_object(ErrorBody, None)
                response["description"] = DESCRIPTIONS[status]
                responses[status] = response
                components.update(definitions)
            if status == 429:
                responses[status]["headers"] = RETRY_AFTER
            if status == 401:
                responses[status]["headers"] = WWW_AUTHENTICATE
        return components
