"""Serves the built Mini App: ``index.html`` for every non-API path (``/s`` too, the
shared view's entry), hashed assets.

``index.html`` is revalidated on every load (``no-cache``) so a deploy shows at once;
files under ``/assets`` carry a content hash in their names and are cached for a year.
"""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Quart, Response, send_from_directory
from quart_schema import hide
from werkzeug.exceptions import NotFound
from werkzeug.routing import PathConverter

from gateway.errors import APIError
from gateway.security import SHARE_PAGE_PATH
from gateway.state import gateway_state

blueprint = Blueprint("miniapp", __name__)

INDEX_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=31536000, immutable"


class AppPathConverter(PathConverter):
    """Any path but ``/api...`` and ``/assets/...``: a miss there is a JSON 404 (or 405),
    never index.html."""

    regex = r"(?!api(?:/|$)|assets/)[^/].*?"


def _root() -> Path:
    return gateway_state().settings.miniapp_dir


async def _index() -> Response:
    root = _root()
    if not (root / "index.html").is_file():
        raise APIError(404, "MINIAPP_NOT_BUILT", "the Mini App is not built (make miniapp)")
    response = await send_from_directory(root, "index.html")
    response.headers["Cache-Control"] = INDEX_CACHE
    return response


@blueprint.get("/")
@hide
async def index() -> Response:
    return await _index()


@blueprint.get(SHARE_PAGE_PATH)
@hide
async def shared_view() -> Response:
    """The shared view's entry (``/s#shr_...``): the same index.html, with the headers
    ``security`` gives this path (no referrer, no index, no framing)."""
    return await _index()


@blueprint.get("/assets/<path:filename>")
@hide
async def asset(filename: str) -> Response:
    response = await send_from_directory(_root() / "assets", filename)
    response.headers["Cache-Control"] = ASSET_CACHE
    return response


@blueprint.get("/<app_path:path>")
@hide
async def fallback(path: str) -> Response:
    """A top-level file of the build (favicon, manifest) or the app's client-side route."""
    if "/" not in path and path != "index.html":
        try:
            response = await send_from_directory(_root(), path)
        except NotFound:
            pass
        else:
            response.headers["Cache-Control"] = INDEX_CACHE
            return response
    return await _index()


def install(app: Quart) -> None:
    """Register the path converter, then the blueprint that uses it."""
    app.url_map.converters["app_path"] = AppPathConverter
    app.register_blueprint(blueprint)
