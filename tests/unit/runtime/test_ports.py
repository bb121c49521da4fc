"""Ports chosen for listeners that bind later (analyticbot.runtime.ports)."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from analyticbot.runtime import ports


@pytest.fixture
def ephemeral_from_40000(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """The kernel's ephemeral range, as the module reads it, set to 40000-60999."""
    range_file = tmp_path / "ip_local_port_range"
    range_file.write_text("40000\t60999\n")
    monkeypatch.setattr(ports, "_EPHEMERAL_RANGE", range_file)
    return 40_000


def test_ports_are_distinct_bindable_and_below_the_ephemeral_range(
    ephemeral_from_40000: int,
) -> None:
    chosen = ports.listen_ports(20, exclude=[])
    assert len(set(chosen)) == 20
    assert all(10_000 <= port < ephemeral_from_40000 for port in chosen)
    for port in chosen:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_held_by_a_listener_or_excluded_is_never_chosen(
    ephemeral_from_40000: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy, excluded, free = ports.listen_ports(3)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", busy))
        listener.listen()
        offered: Iterator[int] = iter([busy, excluded, busy, free])
        monkeypatch.setattr(random, "randrange", lambda _lo, _hi: next(offered))
        assert ports.listen_ports(1, exclude=[excluded]) == [free]


def test_without_a_known_range_the_kernel_picks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ports, "_EPHEMERAL_RANGE", tmp_path / "absent")
    chosen = ports.listen_ports(3, exclude=[])
    assert len(set(chosen)) == 3
    for port in chosen:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_an_outgoing_connection_holds_its_local_port_against_a_later_listener() -> None:
    """Why the range matters: the local end of a connection is an ephemeral port, and a
    listener that wants that port later cannot have it (even with SO_REUSEADDR)."""
    start = ports._ephemeral_start()
    assert start is not None, "these machines are Linux: the kernel publishes its range"
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            local_port = client.getsockname()[1]
            assert local_port >= start
            with socket.socket() as late:
                late.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                with pytest.raises(OSError, match="in use"):
                    late.bind(("127.0.0.1", local_port))
