"""Checks every request passes before its handler: shape limits, then rate limits.

Shape: the query string and the header block have a ceiling (414, 431; hypercorn caps
the raw request head as well), a body sent to an endpoint that takes none is 400
``BODY_NOT_ALLOWED`` instead of being silently ignored, and a body that is not UTF-8 is
400 ``VALIDATION_ERROR`` (Quart would fail decoding it inside the handler). Bodies
beyond the size limit are 413 (``MAX_CONTENT_LENGTH``, see ``security``).

Rates: the initData exchange and the dev login count per client IP against the strict
auth limit, the share link exchange against its own strict limit (and per link, in its
handler); these refuse while Redis is down. Every other API call counts once, and
passes while Redis is down: against its user's (or share link's) limit where its token
is verified (``state.authenticate``), or else against its client IP's. A request whose
bearer token this gateway has already verified (a lookup, no signature check) is left
to ``authenticate``; should its route never verify the token, or refuse it, the IP is
counted after all once the response is ready, and a refusal replaces the response.
Every other request, a forged or new token's included, is counted per IP before
anything else is done for it. Probes (``/healthz``, ``/readyz``, ``/metrics``) and the
Mini App's static files are not counted. Why not both limits on every request:
docs/decisions.md.
"""

from __future__ import annotations

from quart import Quart, Response, current_app, g, request
from quart_schema.validation import QUART_SCHEMA_REQUEST_ATTRIBUTE

from gateway.errors import APIError, error_response
from gateway.keys import parse_bearer
from gateway.ratelimit import Policy, client_address
from gateway.state import IP_COUNT_DEFERRED, gateway_state

AUTH_ENDPOINTS = frozenset({"auth.exchange_init_data", "dev.get_dev_init_data"})
SHARE_EXCHANGE_ENDPOINT = "share_links.exchange_share_link"
UNCOUNTED_BLUEPRINTS = frozenset({"ops", "miniapp"})


def _takes_body() -> bool:
    rule = request.url_rule
    if rule is None:
        return False
    view = current_app.view_functions.get(rule.endpoint)
    return getattr(view, QUART_SCHEMA_REQUEST_ATTRIBUTE, None) is not None


def check_shape(*, max_query_bytes: int, max_header_bytes: int) -> None:
    """Raise 414 / 431 / 400 for a request no endpoint of ours would accept."""
    if len(request.query_string) > max_query_bytes:
        raise APIError(414, "URI_TOO_LONG", f"the query string exceeds {max_query_bytes} bytes")
    header_bytes = sum(len(name) + len(value) + 4 for name, value in request.headers.items())
    if header_bytes > max_header_bytes:
        raise APIError(
            431, "HEADERS_TOO_LARGE", f"the request headers exceed {max_header_bytes} bytes"
        )


async def check_body() -> None:
    """400 for a body sent to an endpoint that takes none, or one that is not UTF-8.

    The body is read (up to the size limit) rather than judged by Content-Length, which
    HTTP/2 does not require."""
    if request.url_rule is None:
        return
    body = await request.get_data(as_text=False)
    assert isinstance(body, bytes)
    if not _takes_body():
        if body:
            raise APIError(400, "BODY_NOT_ALLOWED", "this endpoint takes no request body")
        return
    try:
        body.decode()
    except UnicodeDecodeError:
        raise APIError(400, "VALIDATION_ERROR", "body: the request body is not UTF-8") from None


async def check_rate() -> None:
    """Count the request against its client IP's limit (see the module docstring)."""
    rule = request.url_rule
    endpoint = rule.endpoint if rule is not None else ""
    if request.blueprint in UNCOUNTED_BLUEPRINTS or endpoint == "static":
        return
    state = gateway_state()
    settings, limiter = state.settings, state.limiter
    address = client_address(
        request.remote_addr,
        request.headers.getlist("X-Forwarded-For"),
        settings.trusted_proxy_count,
    )
    if endpoint in AUTH_ENDPOINTS:
        await limiter.check("auth", address, limiter.limits.auth_per_ip, Policy.FAIL_CLOSED)
    elif endpoint == SHARE_EXCHANGE_ENDPOINT:
        limits = limiter.limits.share_exchange_per_ip
        await limiter.check("share-exchange", address, limits, Policy.FAIL_CLOSED)
    elif _verified_before(request.headers.get("Authorization")):
        setattr(g, IP_COUNT_DEFERRED, address)
    else:
        await limiter.check("ip", address, limiter.limits.per_ip, Policy.FAIL_OPEN)


def _verified_before(authorization: str | None) -> bool:
    """Whether the request carries a bearer token this gateway has verified already."""
    token = parse_bearer(authorization)
    return token is not None and gateway_state().keys.remembered(token) is not None


async def count_deferred_ip(response: Response) -> Response:
    """Count the client IP of a request whose token was not verified after all."""
    address = g.pop(IP_COUNT_DEFERRED, None)
    if address is None:
        return response
    limiter = gateway_state().limiter
    try:
        await limiter.check("ip", address, limiter.limits.per_ip, Policy.FAIL_OPEN)
    except APIError as refused:
        return error_response(refused.status, refused.code, refused.message, refused.headers)
    return response


def install_guards(app: Quart, *, max_query_bytes: int, max_header_bytes: int) -> None:
    async def guard() -> None:
        check_shape(max_query_bytes=max_query_bytes, max_header_bytes=max_header_bytes)
        await check_rate()
        await check_body()

    app.before_request(guard)
    app.after_request(count_deferred_ip)
