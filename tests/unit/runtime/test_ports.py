"""Ports chosen for listeners that bind later (analyticbot.runtime.ports)."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator

import pytest

from analyticbot.runtime import ports


def _ephemeral_start() -> int:
    start = ports._ephemeral_start()
    if start is None:
        pytest.skip("no /proc/sys/net/ipv4/ip_local_port_range on this machine")
    return start


def test_ports_are_distinct_bindable_and_below_the_ephemeral_range() -> None:
    start = _ephemeral_start()
    chosen = ports.listen_ports(20, exclude=[])
    assert len(set(chosen)) == 20
    assert all(10_000 <= port < start for port in chosen)
    for port in chosen:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_held_by_a_listener_or_excluded_is_never_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _ephemeral_start()
    busy, excluded, free = ports.listen_ports(3)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", busy))
        listener.listen()
        offered: Iterator[int] = iter([busy, excluded, busy, free])
        monkeypatch.setattr(random, "randrange", lambda _lo, _hi: next(offered))
        assert ports.listen_ports(1, exclude=[excluded]) == [free]


def test_an_outgoing_connection_holds_its_local_port_against_a_later_listener() -> None:
    """Why the range matters: the local end of a connection is an ephemeral port, and a
    listener that wants that port later cannot have it (even with SO_REUSEADDR)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            local_port = client.getsockname()[1]
            assert local_port >= _ephemeral_start()
            with socket.socket() as late:
                late.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                with pytest.raises(OSError, match="in use"):
                    late.bind(("127.0.0.1", local_port))
