"""Alerts from stream fields, channel ids, digest timing, links, the chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.bot.chart import line_chart
from services.bot.digests import due_period
from services.bot.domain import (
    InvalidAlert,
    channel_id_from_chat,
    chat_id_from_channel,
    parse_alert,
)
from services.bot.keyboards import MiniAppLinks
from services.bot.repository import Prefs


def test_alert_fields_from_the_stream_or_the_analytics_outbox() -> None:
    alert = parse_alert(
        {
            b"alert_key": b"k1",
            b"user_id": b"5",
            b"channel_id": b"9",
            b"kind": b"post_viral",
            b"message_id": b"12",
            b"data": b'{"index": 3.2}',
        }
    )
    assert (alert.alert_id, alert.rule, alert.data["index"]) == ("k1", "post_viral", 3.2)
    assert alert.deep_link == "channel_9_post_12"
    with pytest.raises(InvalidAlert):
        parse_alert({b"alert_id": b"x", b"user_id": b"nope", b"channel_id": b"1"})


def test_channel_chat_ids_round_trip() -> None:
    assert channel_id_from_chat(-1001234567890) == 1234567890
    assert chat_id_from_channel(1234567890) == -1001234567890
    with pytest.raises(ValueError, match="not a channel"):
        channel_id_from_chat(42)


def _prefs(frequency: str, hour: int, zone: str) -> Prefs:
    return Prefs(1, "en", True, frequency, hour, zone, False)  # type: ignore[arg-type]


def test_digest_is_due_at_the_users_hour_in_their_zone() -> None:
    monday_6_utc = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 11:30 in Tashkent
    assert due_period(_prefs("daily", 11, "Asia/Tashkent"), monday_6_utc) == "2026-11-23"
    assert due_period(_prefs("daily", 6, "Asia/Tashkent"), monday_6_utc) is None
    assert due_period(_prefs("weekly", 11, "Asia/Tashkent"), monday_6_utc) == "2026-W48"
    tuesday = monday_6_utc + timedelta(days=1)
    assert due_period(_prefs("weekly", 11, "Asia/Tashkent"), tuesday) is None


def test_links_use_the_direct_link_when_the_app_has_a_short_name() -> None:
    direct = MiniAppLinks("https://app.test/", "ab_bot", "stats").button("Open", "channel_1")
    assert direct.url == "https://t.me/ab_bot/stats?startapp=channel_1"
    plain = MiniAppLinks("https://app.test/?v=2").button("Open", "channel_1")
    assert plain.web_app is not None
    assert plain.web_app.url == "https://app.test/?v=2&startapp=channel_1"
    unsafe = MiniAppLinks("https://app.test/").button("Open", "a b&c")
    assert unsafe.web_app is not None
    assert unsafe.web_app.url == "https://app.test/"


def test_chart_is_a_png() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    png = line_chart([(start + timedelta(days=d), 1000 + d * 7.5) for d in range(8)])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 1000
