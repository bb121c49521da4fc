"""Analytics' cached answers, kept in the gateway's memory until analytics drops them.

Analytics keeps the answers that depend on nothing but the stored data (an overview or
a best-time heatmap with an explicit end, a post's detail once no reach waits for the
post to age: ``analyticbot.runtime.kept_answers``) in Redis until the collector's next
ingest event for the channel drops them (services/analytics/cache.py). A dashboard read
served from there still cost the gateway a gRPC call, more CPU than the rest of the
request (docs/benchmarks.md). The gateway now keeps those same answers per channel, and
drops a channel's when analytics announces that it dropped its own: ``c:<channel id>``
on ``answers_topic``, published in the Redis transaction of the invalidation itself.
An answer is thus served from here only while analytics would have served the same one
from its cache, give or take the delivery of one pub/sub message.

What is kept is trusted only while analytics' ingest worker is heard
(``gateway.announcements``: subscribed, an ``alive`` within ``stale_seconds``); each
answer also goes after ``ttl_seconds``, below analytics' own cache lifetime, and an
answer asked while its channel's announcement arrived is not kept (a generation count).

Only answers that analytics caches itself are kept (``memoizable`` and ``keepable``,
both from ``analyticbot.runtime.kept_answers``), and only for callers whose access the
gateway has just checked (``resilience.AnalyticsGuard``): the access decision is never
kept with the answer.
"""

from __future__ import annotations

from google.protobuf.message import Message

from analyticbot.runtime import kept_answers
from analyticbot.runtime.memo import CHANNEL_PREFIX, MISSING
from gateway.announcements import HeardMemo
from gateway.metrics import ANALYTICS_READS

_FROM_MEMO = ANALYTICS_READS.labels("memo")
_ASKED = ANALYTICS_READS.labels("analytics")


def memoizable(method: str, request: Message) -> bool:
    """Whether analytics may cache the answer to ``request`` (a read of a closed period,
    a post in detail): worth looking up here."""
    return kept_answers.may_keep(method, request)


def keepable(method: str, answer: Message) -> bool:
    """Whether analytics caches ``answer`` itself (a post's detail only once no metric
    waits for the post to age), so that it may be kept here."""
    return kept_answers.settled(method, answer)


class AnswerMemo(HeardMemo[tuple[str, bytes], Message]):
    """Analytics' answers per channel and request, while analytics is heard."""

    PREFIX = CHANNEL_PREFIX
    WHAT = "invalidated answers"
    MAX_KEYS = 256  # requests kept per channel

    def get(self, channel_id: int, method: str, request: bytes) -> Message | None:
        """The kept answer (never to be modified), or None: ask analytics."""
        answer = self.recall(channel_id, (method, request))
        if answer is MISSING:
            _ASKED.inc()
            return None
        _FROM_MEMO.inc()
        return answer

    def put(
        self, channel_id: int, method: str, request: bytes, answer: Message, generation: int
    ) -> None:
        """Keep analytics' ``answer``, asked when ``generation`` was current."""
        self.keep(channel_id, (method, request), answer, generation)
