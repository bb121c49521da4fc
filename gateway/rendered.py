"""JSON bodies kept beside the analytics answers they were rendered from.

A dashboard read maps analytics' answer (a protobuf message) to its response model and
renders that as JSON: pure functions of the answer. Many requests receive the very same
answer (shared calls, Redis-cached periods), so the body rendered for one is kept and
reused for the next answer that is byte for byte the same: no model is built, dumped
or encoded again. The key is the answer's serialized bytes themselves (they hold the
channel id, both periods and ``data_as_of``), so a new answer, whatever changed in it,
is a new key and is rendered afresh; an old body can only be served for an answer equal
to the one it was rendered from. Nothing here decides which answer a request gets.

Bounded: ``size`` bodies per app, least recently used out first (a ~2 KB body and
its ~0.3 KB answer: about 1 MB at the default).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar, cast

from google.protobuf.message import Message
from pydantic import BaseModel
from quart import Response, current_app

JSON = "application/json"

Answer = TypeVar("Answer", bound=Message)


class RenderedBodies:
    """Bodies by (route, answer bytes), least recently used out first."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._bodies: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()

    def get(self, key: tuple[str, bytes]) -> bytes | None:
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
        return body

    def put(self, key: tuple[str, bytes], body: bytes) -> None:
        self._bodies[key] = body
        self._bodies.move_to_end(key)
        while len(self._bodies) > self._size:
            self._bodies.popitem(last=False)

    def __len__(self) -> int:
        return len(self._bodies)


async def json_response(
    bodies: RenderedBodies, route: str, answer: Answer, to_model: Callable[[Answer], BaseModel]
) -> Response:
    """200 with the JSON of ``to_model(answer)``, exactly as returning the model from a
    view would render it, from a body kept in ``bodies`` (the app's, on its
    ``GatewayState``) for an identical earlier answer when there is one. The model is
    built by its constructor, which validates it, so the route documents it with
    ``document_response`` instead of re-validating it."""
    key = (route, answer.SerializeToString(deterministic=True))
    body = bodies.get(key)
    if body is not None:
        return current_app.response_class(body, mimetype=JSON)
    # quart-schema's make_response renders models (the path a returned model takes).
    response = await current_app.make_response(cast(Any, to_model(answer)))
    assert isinstance(response, Response)
    bodies.put(key, await response.get_data(as_text=False))
    return response
