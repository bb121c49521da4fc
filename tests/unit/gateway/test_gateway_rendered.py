"""RenderedBodies on its own: a bounded store, least recently used out first."""

from __future__ import annotations

from gateway.rendered import RenderedBodies


def test_bodies_beyond_the_size_push_out_the_least_recently_used() -> None:
    bodies = RenderedBodies(size=2)
    bodies.put(("overview", b"a"), b"A")
    bodies.put(("overview", b"b"), b"B")
    assert bodies.get(("overview", b"a")) == b"A"
    bodies.put(("overview", b"c"), b"C")
    assert len(bodies) == 2
    assert bodies.get(("overview", b"b")) is None
    assert bodies.get(("overview", b"a")) == b"A"
    assert bodies.get(("overview", b"c")) == b"C"


def test_the_same_answer_on_another_route_is_another_body() -> None:
    bodies = RenderedBodies()
    bodies.put(("overview", b"answer"), b"one")
    assert bodies.get(("compare", b"answer")) is None
