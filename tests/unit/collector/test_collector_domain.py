"""Reference parsing and the refresh cadence."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from services.collector.domain import (
    ChannelRef,
    InvalidReference,
    next_refresh_at,
    next_sample_age,
    parse_reference,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@durov", ChannelRef(username="durov")),
        ("durov", ChannelRef(username="durov")),
        ("https://t.me/durov", ChannelRef(username="durov")),
        ("t.me/s/durov/", ChannelRef(username="durov")),
        ("1006503122", ChannelRef(channel_id=1006503122)),
        ("-1001006503122", ChannelRef(channel_id=1006503122)),
    ],
)
def test_references_parse(text: str, expected: ChannelRef) -> None:
    assert parse_reference(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "@a", "no spaces please", "-42", "0", "https://t.me/"])
def test_bad_references_are_rejected_with_a_message(text: str) -> None:
    with pytest.raises(InvalidReference, match=r"\S"):
        parse_reference(text)


def sample_ages(until: timedelta) -> list[timedelta]:
    ages: list[timedelta] = []
    age = timedelta(0)
    while True:
        age = next_sample_age(age)
        if age > until:
            return ages
        ages.append(age)


def test_a_post_gets_well_under_50_samples_in_30_days() -> None:
    ages = sample_ages(timedelta(days=30))
    assert len(ages) <= 40
    assert ages == sorted(set(ages))


def test_sampling_is_dense_while_young_and_sparse_when_old() -> None:
    ages = sample_ages(timedelta(days=90))
    gaps = [b - a for a, b in itertools.pairwise(ages)]
    assert ages[0] == timedelta(minutes=10)
    assert gaps == sorted(gaps)
    assert sum(1 for a in ages if a <= timedelta(hours=1)) == 6
    assert max(gaps) == timedelta(days=7)
    for reach in (12, 24, 48):  # Reach@ metrics are sampled exactly
        assert timedelta(hours=reach) in ages


def test_next_refresh_is_anchored_on_publication() -> None:
    published = datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert next_refresh_at(published, published) == published + timedelta(minutes=10)
    late = published + timedelta(hours=23, minutes=5)
    assert next_refresh_at(published, late) == published + timedelta(hours=24)
    old = published + timedelta(days=100)
    due = next_refresh_at(published, old)
    assert timedelta(0) < due - old <= timedelta(days=7)
