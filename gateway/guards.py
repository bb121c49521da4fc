"""Checks every request passes before its handler: shape limits, then rate limits.

Shape: the query string and the header block have a ceiling (414, 431; hypercorn caps
the raw request head as well), a body sent to an endpoint that takes none is 400
``BODY_NOT_ALLOWED`` instead of being silently ignored, and a body that is not UTF-8 is
400 ``VALIDATION_ERROR`` (Quart would fail decoding it inside the handler). Bodies
beyond the size limit are 413 (``MAX_CONTENT_LENGTH``, see ``security``).

Rates: the initData exchange and the dev login count per client IP against the strict
auth limit, the share link exchange against its own strict limit (and per link, in its
handler); these refuse while Redis is down. Every other API call counts per client IP
and passes while Redis is down. Probes (``/healthz``, ``/readyz``, ``/metrics``) and the
Mini App's static files are not counted. The per-user limit is applied where the token
is verified (``state.authenticate``).
"""

from __future__ import annotations

from quart import Quart, current_app, request
from quart_schema.validation import QUART_SCHEMA_REQUEST_ATTRIBUTE

from gateway.errors import APIError
from gateway.ratelimit import Policy, client_address
from gateway.state import gateway_state

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
    else:
        await limiter.check("ip", address, limiter.limits.per_ip, Policy.FAIL_OPEN)


def install_guards(app: Quart, *, max_query_bytes: int, max_header_bytes: int) -> None:
    async def guard() -> None:
        check_shape(max_query_bytes=max_query_bytes, max_header_bytes=max_header_bytes)
        await check_rate()
        await check_body()

    app.before_request(guard)
