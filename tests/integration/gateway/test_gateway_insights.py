"""Compare, posts, post detail, best time, subscribers and native stats over HTTP,
against the fake peers at the gRPC seam."""

from __future__ import annotations

from quart.typing import TestClientProtocol as Client

from tests.integration.gateway.gateway_fakes import (
    CHANNEL_ID,
    OTHER_USER_ID,
    VIEWER_ONLY_CHANNEL_ID,
    VIRAL_POST_ID,
    YOUNG_POST_ID,
    Peers,
)

BASE = f"/api/v1/channels/{CHANNEL_ID}"
NOT_ENOUGH = {"value": None, "unavailable_reason": "POST_TOO_YOUNG"}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_overview_carries_err_er_and_reach(client: Client, peers: Peers) -> None:
    response = await client.get(f"{BASE}/overview", headers=auth(peers.token()))
    body = await response.get_json()
    assert body["current"]["err"] == {"value": 73.86, "unavailable_reason": None}
    assert body["current"]["reach_48h"]["value"] == 760.0
    assert body["previous"]["reach_48h"] == NOT_ENOUGH
    assert body["previous"]["posts_with_samples"] == 0


async def test_compare_gives_both_periods_and_not_enough_data_as_null(
    client: Client, peers: Peers
) -> None:
    query = (
        "first_start=2025-02-01T00:00:00Z&first_end=2025-02-08T00:00:00Z"
        "&second_start=2025-03-01T00:00:00Z&second_end=2025-03-08T00:00:00Z"
    )
    response = await client.get(f"{BASE}/compare?{query}", headers=auth(peers.token()))
    assert response.status_code == 200, await response.get_data()
    body = await response.get_json()
    assert body["channel_id"] == CHANNEL_ID
    assert body["first"]["start"] == "2025-02-01T00:00:00Z"
    assert body["first"]["views_per_post"]["value"] == 812.5
    assert body["second"]["views_per_post"] == {"value": None, "unavailable_reason": "NO_POSTS"}
    missing = await client.get(
        f"{BASE}/compare?first_start=2025-02-01T00:00:00Z", headers=auth(peers.token())
    )
    assert missing.status_code == 400
    assert (await missing.get_json())["code"] == "VALIDATION_ERROR"


async def test_posts_page_sorts_filters_and_pages_with_a_cursor(
    client: Client, peers: Peers
) -> None:
    response = await client.get(
        f"{BASE}/posts?sort=reach_24h&order=asc&limit=1", headers=auth(peers.token())
    )
    assert response.status_code == 200, await response.get_data()
    first = await response.get_json()
    assert first["total"] == 2
    assert [p["message_id"] for p in first["posts"]] == [VIRAL_POST_ID]
    post = first["posts"][0]
    assert post["rating"] == "viral"
    assert post["published_at"] == "2025-03-01T09:00:00Z"
    assert post["er"] == {"value": 10.0, "unavailable_reason": None}
    sent = peers.analytics.requests[-1]
    assert (sent.sort, sent.ascending, sent.page_size) == (9, True, 1)  # POST_SORT_REACH_24H
    cursor = first["next_cursor"]
    assert isinstance(cursor, str)
    second = await (
        await client.get(f"{BASE}/posts?limit=1&cursor={cursor}", headers=auth(peers.token()))
    ).get_json()
    young = second["posts"][0]
    assert young["message_id"] == YOUNG_POST_ID
    assert young["rating"] is None
    assert young["performance_index"] == NOT_ENOUGH
    assert second["next_cursor"] is None


async def test_posts_media_filter_and_bad_cursor_and_bad_sort(client: Client, peers: Peers) -> None:
    token = peers.token()
    videos = await (
        await client.get(f"{BASE}/posts?media_type=video,poll", headers=auth(token))
    ).get_json()
    assert [p["media_type"] for p in videos["posts"]] == ["video"]
    assert list(peers.analytics.requests[-1].media_types) == ["video", "poll"]
    stale = await client.get(f"{BASE}/posts?cursor=forged", headers=auth(token))
    assert stale.status_code == 400
    assert (await stale.get_json())["code"] == "INVALID_ARGUMENT"
    bad = await client.get(f"{BASE}/posts?sort=POST_SORT_VIEWS", headers=auth(token))
    assert (bad.status_code, (await bad.get_json())["code"]) == (400, "VALIDATION_ERROR")


async def test_post_detail_has_curves_and_reactions(client: Client, peers: Peers) -> None:
    response = await client.get(f"{BASE}/posts/{VIRAL_POST_ID}", headers=auth(peers.token()))
    assert response.status_code == 200, await response.get_data()
    body = await response.get_json()
    assert body["view_curve"][0] == {"age_seconds": 0, "views": 0}
    assert body["channel_median_curve"][1] == {
        "age_seconds": 604800,
        "views": {"value": None, "unavailable_reason": "TOO_FEW_POSTS"},
        "posts": 2,
    }
    assert body["reactions"][0] == {"emoji": "👍", "count": 120}


async def test_unknown_post_is_404_post_not_found_and_bad_id_400(
    client: Client, peers: Peers
) -> None:
    missing = await client.get(f"{BASE}/posts/999", headers=auth(peers.token()))
    assert (missing.status_code, (await missing.get_json())["code"]) == (404, "POST_NOT_FOUND")
    bad = await client.get(f"{BASE}/posts/0", headers=auth(peers.token()))
    assert (bad.status_code, (await bad.get_json())["code"]) == (400, "INVALID_MESSAGE_ID")


async def test_best_time_has_168_slots_with_not_enough_data(client: Client, peers: Peers) -> None:
    body = await (await client.get(f"{BASE}/best-time", headers=auth(peers.token()))).get_json()
    assert body["time_zone"] == "Europe/Berlin"
    assert len(body["slots"]) == 168
    assert body["slots"][9] == {
        "weekday": 1,
        "hour": 9,
        "posts": 4,
        "score": {"value": 2.5, "unavailable_reason": None},
    }
    assert body["slots"][0]["score"] == {"value": None, "unavailable_reason": "TOO_FEW_POSTS"}


async def test_subscriber_series_by_hour(client: Client, peers: Peers) -> None:
    response = await client.get(
        f"{BASE}/subscribers?start=2025-03-07T00:00:00Z&end=2025-03-08T00:00:00Z&granularity=hour",
        headers=auth(peers.token()),
    )
    body = await response.get_json()
    assert body["granularity"] == "hour"
    assert len(body["points"]) == 24
    assert body["points"][0] == {
        "at": "2025-03-07T00:00:00Z",
        "subscribers": {"value": None, "unavailable_reason": "NO_SAMPLES"},
    }
    assert body["points"][1]["subscribers"]["value"] == 1001


async def test_native_stats_payload_is_a_json_object(client: Client, peers: Peers) -> None:
    body = await (
        await client.get(f"{BASE}/native-stats?limit=5", headers=auth(peers.token()))
    ).get_json()
    entry = body["entries"][0]
    assert entry["payload"] == {"followers": {"current": 1100, "previous": 1000}}
    assert entry["period"] == "2025-03-01/2025-03-08"
    assert peers.analytics.requests[-1].page_size == 5


async def test_every_resource_checks_access_before_analytics(client: Client, peers: Peers) -> None:
    paths = ("posts", f"posts/{VIRAL_POST_ID}", "best-time", "subscribers", "native-stats")
    for path in paths:
        for channel, user, status in (
            (CHANNEL_ID, OTHER_USER_ID, 404),
            (VIEWER_ONLY_CHANNEL_ID, None, 403),
        ):
            token = peers.token(user) if user else peers.token()
            response = await client.get(f"/api/v1/channels/{channel}/{path}", headers=auth(token))
            assert response.status_code == status, path
        unauthenticated = await client.get(f"{BASE}/{path}")
        assert unauthenticated.status_code == 401
    assert peers.analytics.requests == []


async def test_analytics_refusing_on_its_side_is_403(client: Client, peers: Peers) -> None:
    token = peers.token()
    peers.analytics.denied_subjects.add("1000001")
    response = await client.get(f"{BASE}/posts", headers=auth(token))
    assert response.status_code == 403
    assert (await response.get_json())["code"] == "FORBIDDEN"
    assert peers.log.tokens["ListPosts"] == [token]
