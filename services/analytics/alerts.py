"""Alert rules: evaluation after each ingest event, deduplication, and the durable
``ab:alerts`` Redis Stream the bot consumes.

Alerts are first stored in PostgreSQL under an idempotency key (the rule and its
subject: a post, a milestone, a day, a stall), so one rule raises one alert per subject
however often it is evaluated; the table is also an outbox: rows not yet in the stream
are published (``XADD``) and then marked. Publication is at least once (a crash between
the XADD and the mark repeats the entry); the bot deduplicates by ``alert_id``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import asyncpg
import redis.asyncio as redis

from services.analytics import alerts_repository as repo
from services.analytics import posts_repository, repository
from services.analytics.alerts_repository import NewAlert, Rule, StoredAlert
from services.analytics.performance import BASELINE_WINDOW, Views24, performance_indexes
from services.analytics.reach import views_at_age

log = logging.getLogger(__name__)

DAY = timedelta(hours=24)
# Posts are judged once views(p, 24h) is known, while they are at most this old.
POST_ALERT_WINDOW = timedelta(days=7)
PUBLISH_BATCH = 100
DEFAULT_THRESHOLDS = {
    "post_viral": 2.0,
    "post_underperforming": 0.5,
    "subscriber_drop": 5.0,
    "subscriber_milestone": 1000.0,
    "collection_stalled": 6.0,
}
POST_KINDS = ("post_viral", "post_underperforming")


def post_link(channel_id: int, message_id: int) -> str:
    """The Mini App deep link target of a post."""
    return f"channel_{channel_id}_post_{message_id}"


def channel_link(channel_id: int) -> str:
    """The Mini App deep link target of a channel."""
    return f"channel_{channel_id}"


def post_alerts(rule: Rule, indexed: Sequence[tuple[int, Fraction, Fraction]]) -> list[NewAlert]:
    """Alerts of a post rule over (message id, performance index, views(p, 24h)):
    viral when the index is above the threshold, underperforming when below."""
    raised: list[NewAlert] = []
    for message_id, index, views in indexed:
        viral = rule.kind == "post_viral" and index > Fraction(rule.threshold)
        weak = rule.kind == "post_underperforming" and index < Fraction(rule.threshold)
        if not (viral or weak):
            continue
        label = "is going viral" if viral else "is underperforming"
        raised.append(
            NewAlert(
                key=f"{rule.id}:post:{message_id}",
                rule=rule,
                message_id=message_id,
                text=(
                    f"Post {message_id} {label}: performance index {float(index):.2f} "
                    f"({float(views):.0f} views at 24 h)"
                ),
                data={"performance_index": float(index), "views_24h": float(views)},
                deep_link=post_link(rule.channel_id, message_id),
            )
        )
    return raised


def subscriber_alerts(
    rule: Rule, before: int | None, now: int | None, at: datetime
) -> list[NewAlert]:
    """Alerts of a subscriber rule from ``subscribers(at - 24 h)`` and ``subscribers(at)``.

    - drop: the count fell by at least ``threshold`` percent; one alert per rule and day.
    - milestone: the count reached a multiple of ``threshold`` it was below 24 h earlier;
      one alert per rule and milestone.
    """
    if before is None or now is None:
        return []
    link = channel_link(rule.channel_id)
    if rule.kind == "subscriber_drop":
        if before == 0 or (before - now) * 100 < rule.threshold * before:
            return []
        percent = (before - now) * 100 / before
        return [
            NewAlert(
                key=f"{rule.id}:drop:{at.date().isoformat()}",
                rule=rule,
                message_id=None,
                text=f"Subscribers fell by {percent:.1f}% in 24 h ({before} → {now})",
                data={"before": before, "now": now, "percent": percent},
                deep_link=link,
            )
        ]
    if rule.kind == "subscriber_milestone":
        step = rule.threshold
        reached = math.floor(now / step)
        if reached < 1 or reached <= math.floor(before / step):
            return []
        milestone = round(reached * step)
        return [
            NewAlert(
                key=f"{rule.id}:milestone:{milestone}",
                rule=rule,
                message_id=None,
                text=f"The channel reached {milestone} subscribers",
                data={"milestone": milestone, "subscribers": now},
                deep_link=link,
            )
        ]
    return []


def stalled_alert(rule: Rule, last_refresh_at: datetime, now: datetime) -> NewAlert:
    """The alert of a stalled collection; one per rule and stall (last refresh time)."""
    hours = (now - last_refresh_at) / timedelta(hours=1)
    return NewAlert(
        key=f"{rule.id}:stalled:{last_refresh_at.isoformat()}",
        rule=rule,
        message_id=None,
        text=f"No fresh data for {hours:.1f} h (last refresh {last_refresh_at.isoformat()})",
        data={"last_refresh_at": last_refresh_at.isoformat(), "hours": hours},
        deep_link=channel_link(rule.channel_id),
    )


class AlertEngine:
    """Evaluates rules against the database and publishes new alerts to the stream."""

    def __init__(self, pool: asyncpg.Pool, client: redis.Redis, *, stream: str) -> None:
        self._pool = pool
        self._redis = client
        self._stream = stream

    async def evaluate_channel(self, channel_id: int, at: datetime) -> int:
        """Evaluate the channel's post and subscriber rules at ``at`` (the ingest time);
        returns how many new alerts were raised (all of them are then published)."""
        async with self._pool.acquire() as conn:
            rules = await repo.channel_rules(conn, channel_id)
            if not rules:
                return 0
            raised: list[NewAlert] = []
            if any(rule.kind in POST_KINDS for rule in rules):
                indexed = await self._recent_indexes(conn, channel_id, at)
                for rule in rules:
                    if rule.kind in POST_KINDS:
                        raised += post_alerts(rule, indexed)
            before, now = await repository.subscribers_at(conn, channel_id, (at - DAY, at))
            for rule in rules:
                raised += subscriber_alerts(rule, before, now, at)
            async with conn.transaction():
                new = await repo.insert_alerts(conn, raised)
        await self.publish_pending()
        return new

    async def evaluate_stalled(self, now: datetime) -> int:
        """Raise "collection stalled" alerts due at ``now``; returns how many were new."""
        async with self._pool.acquire() as conn:
            due = await repo.stalled_rules(conn, now)
            async with conn.transaction():
                new = await repo.insert_alerts(
                    conn, [stalled_alert(rule, last, now) for rule, last in due]
                )
        await self.publish_pending()
        return new

    async def _recent_indexes(
        self, conn: repository.Connection, channel_id: int, at: datetime
    ) -> list[tuple[int, Fraction, Fraction]]:
        """(message id, performance index, views(p, 24h)) of the posts at least 24 h and
        at most 7 days old at ``at`` whose index is known."""
        records = await posts_repository.posts_in_range(
            conn,
            channel_id,
            at - POST_ALERT_WINDOW - BASELINE_WINDOW,
            at - DAY,
            latest_at=at,
            ages=(DAY,),
        )
        history = [Views24(r.published_at, views_at_age(r.views, DAY)) for r in records]
        targets = [
            (r, v)
            for r, v in zip(records, history, strict=True)
            if r.published_at >= at - POST_ALERT_WINDOW
        ]
        indexes = performance_indexes([v for _, v in targets], history)
        return [
            (r.message_id, exact, v.views_24h)
            for (r, v), (_, exact) in zip(targets, indexes, strict=True)
            if exact is not None and v.views_24h is not None
        ]

    async def publish_pending(self) -> int:
        """XADD every stored alert not yet in the stream, then mark it; returns how many."""
        published = 0
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                batch = await repo.claim_unpublished(conn, PUBLISH_BATCH)
                if not batch:
                    return published
                async with self._redis.pipeline(transaction=False) as pipe:
                    for alert in batch:
                        pipe.xadd(self._stream, stream_fields(alert))
                    await pipe.execute()
                await repo.mark_published(conn, [alert.id for alert in batch], datetime.now(UTC))
                published += len(batch)


def stream_fields(alert: StoredAlert) -> dict[Any, Any]:
    """The ``ab:alerts`` entry of an alert."""
    return {
        "alert_id": alert.key,
        "user_id": str(alert.user_id),
        "channel_id": str(alert.channel_id),
        "rule": alert.kind,
        "rule_id": str(alert.rule_id),
        "message_id": "" if alert.message_id is None else str(alert.message_id),
        "text": alert.text,
        "data": json.dumps(alert.data),
        "deep_link": alert.deep_link,
    }
