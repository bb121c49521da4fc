"""The overview's JSON is kept beside the answer it was rendered from: an identical answer
gets the same bytes without rendering them again, and any change in analytics' answer
is rendered afresh, never masked by a body kept for an earlier one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from quart import Quart, Response
from werkzeug.datastructures import Headers

from gateway.api import mapping
from gateway.rendered import RenderedBodies
from gateway.state import EXTENSION, GatewayState
from tests.integration.gateway.fake_analytics import overview
from tests.integration.gateway.gateway_fakes import CHANNEL_ID, Peers

START, END = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 8, tzinfo=UTC)
PERIOD = "start=2025-03-01T00:00:00Z&end=2025-03-08T00:00:00Z"
OVERVIEW = f"/api/v1/channels/{CHANNEL_ID}/overview?{PERIOD}"


async def read(app: Quart, peers: Peers, path: str = OVERVIEW) -> tuple[bytes, Headers]:
    response = await app.test_client().get(
        path, headers={"Authorization": f"Bearer {peers.token()}"}
    )
    assert response.status_code == 200, await response.get_data()
    return await response.get_data(as_text=False), response.headers


def bodies(app: Quart) -> RenderedBodies:
    state = app.extensions[EXTENSION]
    assert isinstance(state, GatewayState)
    return state.rendered


async def test_an_identical_answer_gets_the_same_bytes_as_a_model_would(
    app: Quart, peers: Peers
) -> None:
    first, first_headers = await read(app, peers)
    again, again_headers = await read(app, peers)
    async with app.app_context():
        model = mapping.overview(overview(CHANNEL_ID, START, END))
        rendered = await app.make_response(cast(Any, model))
        assert isinstance(rendered, Response)
        expected = await rendered.get_data(as_text=False)
    assert first == again == expected
    assert again_headers["Content-Type"] == first_headers["Content-Type"] == "application/json"
    assert again_headers["Content-Length"] == str(len(expected))
    assert len(bodies(app)) == 1


async def test_a_changed_answer_is_never_served_an_earlier_body(app: Quart, peers: Peers) -> None:
    before, _ = await read(app, peers)
    assert b'"title":"Test channel"' in before
    peers.analytics.overview_title = "Renamed"
    renamed, _ = await read(app, peers)
    assert b'"title":"Renamed"' in renamed
    assert renamed == before.replace(b"Test channel", b"Renamed")
    peers.analytics.overview_title = None
    assert (await read(app, peers))[0] == before
    assert len(bodies(app)) == 2


async def test_each_period_has_its_own_body(app: Quart, peers: Peers) -> None:
    week, _ = await read(app, peers)
    month, _ = await read(app, peers, f"{OVERVIEW.split('?')[0]}?start=2025-02-01T00:00:00Z")
    assert b'"start":"2025-03-01T00:00:00Z"' in week
    assert b'"start":"2025-02-01T00:00:00Z"' in month
    assert (await read(app, peers))[0] == week
