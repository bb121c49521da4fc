"""Memo, the mechanism under the grant cache, the gateway's access cache and its memo of
analytics' answers."""

from __future__ import annotations

from analyticbot.runtime.memo import MISSING, Memo


def test_none_is_a_value_and_missing_is_not() -> None:
    memo: Memo[int, str | None] = Memo()
    assert memo.get(1, 10) is MISSING
    memo.put(1, 10, None, memo.generation)
    assert memo.get(1, 10) is None


def test_a_value_read_across_a_change_is_refused() -> None:
    memo: Memo[int, str] = Memo()
    generation = memo.generation
    memo.forget(2)  # a change heard while the value was being read
    memo.put(1, 10, "viewer", generation)
    assert memo.get(1, 10) is MISSING


def test_forget_one_user_or_everyone() -> None:
    memo: Memo[int, str] = Memo()
    for user in (1, 2, 3):
        memo.put(user, 10, "viewer", memo.generation)
    memo.forget(2)
    assert [memo.get(u, 10) for u in (1, 2, 3)] == ["viewer", MISSING, "viewer"]
    memo.forget()
    assert len(memo) == 0


def test_at_most_max_owners_first_in_first_out() -> None:
    memo: Memo[int, str] = Memo(max_owners=2)
    for user in (1, 2):
        memo.put(user, 10, "viewer", memo.generation)
    memo.put(1, 11, "admin", memo.generation)  # another key of a kept user: no eviction
    memo.put(3, 10, "owner", memo.generation)
    assert len(memo) == 2
    assert memo.get(1, 10) is MISSING
    assert memo.get(2, 10) == "viewer"
    assert memo.get(3, 10) == "owner"


def test_a_value_expires_after_its_ttl() -> None:
    now = [0.0]
    memo: Memo[int, str] = Memo(ttl_seconds=10, clock=lambda: now[0])
    memo.put(1, 10, "viewer", memo.generation)
    now[0] = 9.9
    assert memo.get(1, 10) == "viewer"
    now[0] = 10.0
    assert memo.get(1, 10) is MISSING


def test_an_owner_past_max_keys_starts_afresh() -> None:
    memo: Memo[int, str] = Memo(max_keys=2)
    memo.put(1, 10, "a", memo.generation)
    memo.put(1, 11, "b", memo.generation)
    memo.put(1, 11, "b2", memo.generation)  # a key already held replaces its value
    assert (memo.get(1, 10), memo.get(1, 11)) == ("a", "b2")
    memo.put(1, 12, "c", memo.generation)
    assert (memo.get(1, 10), memo.get(1, 11), memo.get(1, 12)) == (MISSING, MISSING, "c")
    memo.put(2, 10, "other", memo.generation)
    assert memo.get(2, 10) == "other"
