"""Which analytics answers depend on nothing but the stored data, so that they may be
kept until the collector's next ingest event for their channel: in Redis by analytics
(services/analytics/cache.py) and in memory by the gateways (gateway/answer_memo.py).
Both ask here, so the two keep the same answers.

- An overview or a best-time heatmap with an explicit period end. "Until now" moves
  with the clock.
- A post in detail once none of its metrics waits for the post to grow older: a reach
  at an age the post has not reached yet says POST_TOO_YOUNG at one moment and has a
  value or NO_SAMPLES later, with no new data. Every other part of the answer (the
  latest counters, the view curve, the channel's median curve over the 30 days before
  the post, the performance index) is a function of the stored rows alone.
"""

from __future__ import annotations

import functools
from typing import Final

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from analyticbot.analytics.v1 import metric_pb2, posts_pb2

# Kept when the request has a period end.
CLOSED_PERIOD_READS: Final = frozenset({"GetChannelOverview", "GetBestTime"})
# Kept when the answer itself says nothing waits for time (``settled``).
SETTLED_READS: Final = frozenset({"GetPost"})
KEPT_READS: Final = CLOSED_PERIOD_READS | SETTLED_READS

_TOO_YOUNG: Final = metric_pb2.UNAVAILABLE_REASON_POST_TOO_YOUNG
_METRIC: Final = metric_pb2.Metric.DESCRIPTOR


def may_keep(method: str, request: Message) -> bool:
    """Whether an answer to ``request`` may have been kept: worth looking up."""
    if method in CLOSED_PERIOD_READS:
        return request.HasField("period_end")
    return method in SETTLED_READS


def settled(method: str, answer: Message) -> bool:
    """Whether ``answer`` (to a request ``may_keep`` allowed) stays right until the
    stored data changes."""
    if method == "GetPost":
        assert isinstance(answer, posts_pb2.GetPostResponse)
        return post_settled(answer)
    return True


def post_settled(answer: posts_pb2.GetPostResponse) -> bool:
    """No metric anywhere in the post detail waits for the post to be older."""
    return not _waits(answer)


def _waits(message: Message) -> bool:
    """Whether a Metric in ``message``, at any depth, is POST_TOO_YOUNG."""
    if message.DESCRIPTOR is _METRIC:
        return message.unavailable_reason == _TOO_YOUNG  # type: ignore[attr-defined, no-any-return]
    for field in _metric_fields(message.DESCRIPTOR):
        value = getattr(message, field.name)
        if field.is_repeated:
            if any(_waits(item) for item in value):
                return True
        elif _waits(value):
            return True
    return False


@functools.cache
def _metric_fields(descriptor: Descriptor) -> tuple[FieldDescriptor, ...]:
    """The fields of a message type that are or hold a Metric: the only ones ``_waits``
    visits (a post's view curve, hundreds of samples, holds none)."""
    return tuple(
        field
        for field in descriptor.fields
        if field.message_type is not None and _holds_metric(field.message_type, set())
    )


def _holds_metric(descriptor: Descriptor, seen: set[Descriptor]) -> bool:
    if descriptor is _METRIC:
        return True
    seen.add(descriptor)
    return any(
        field.message_type is not None
        and field.message_type not in seen
        and _holds_metric(field.message_type, seen)
        for field in descriptor.fields
    )
