"""Security headers on every response, and a CSP that lets the Mini App run in Telegram.

The Mini App is a same-origin bundle: scripts from us and telegram.org (the WebApp
SDK), no inline code. Telegram's web clients show it in a frame, so ``frame-ancestors``
names them. No CORS headers are sent: the API is same-origin only.

``/s`` is the shared view's entry (``/s#shr_...``), opened in a browser rather than in
Telegram: no framing at all, no Referer sent anywhere, and kept out of search indexes.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from quart import Quart, Response, request

DOCS_PATH = "/docs"
SHARE_PAGE_PATH = "/s"
SWAGGER_CDN = "https://cdnjs.cloudflare.com"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)

PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)


def content_security_policy(public_url: str | None = None, *, framed: bool = True) -> str:
    """The Mini App's policy; ``public_url`` adds its ws/wss origin for older browsers
    whose ``'self'`` does not cover WebSockets. ``framed`` False forbids every frame."""
    connect = ["'self'"]
    if public_url:
        parts = urlsplit(public_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        connect.append(f"{scheme}://{parts.netloc}")
    directives = {
        "default-src": "'self'",
        "script-src": "'self' https://telegram.org",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": " ".join(connect),
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'self' https://web.telegram.org https://*.telegram.org"
        if framed
        else "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def docs_policy(body: bytes) -> str:
    """The OpenAPI UI's policy: its CDN bundle plus the hash of its one inline script."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(body)
    )
    return (
        f"default-src 'self'; script-src 'self' {SWAGGER_CDN} {hashes}; "
        f"style-src 'self' {SWAGGER_CDN}; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    )


def security_headers(public_url: str | None) -> Callable[[Response], Awaitable[Response]]:
    """An ``after_request`` hook adding the headers to every response, errors included."""
    policy = content_security_policy(public_url)
    share_policy = content_security_policy(public_url, framed=False)
    hsts = public_url is not None and public_url.startswith("https://")

    async def add_headers(response: Response) -> Response:
        headers = response.headers
        if request.path == DOCS_PATH and response.mimetype == "text/html":
            headers["Content-Security-Policy"] = docs_policy(await response.get_data(as_text=False))
        else:
            headers["Content-Security-Policy"] = policy
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        if request.path == SHARE_PAGE_PATH:
            headers["Content-Security-Policy"] = share_policy
            headers["Referrer-Policy"] = "no-referrer"
            headers["X-Robots-Tag"] = "noindex"
        headers["Permissions-Policy"] = PERMISSIONS_POLICY
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if hsts:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if request.path.startswith("/api/") and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        return response

    return add_headers


def install_security(app: Quart, *, public_url: str | None, max_body_bytes: int) -> None:
    """Headers on every response and the request body limit (413 beyond it)."""
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.after_request(security_headers(public_url))
