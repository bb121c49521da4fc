"""Choosing ports for processes that will listen on them later.

The usual trick, ``bind(("127.0.0.1", 0))`` then close, hands out a port from the kernel's
*ephemeral* range: the same range the kernel draws from for the local end of outgoing
connections. Between the choice and the listener's own ``bind``, any process on the machine
that connects somewhere (a service opening its PostgreSQL or Redis pool) can be given that
port, and the listener then fails with "Address already in use" on every restart for as long
as the connection lives. So the ports chosen here come from *below* the ephemeral range,
where the kernel never puts an outgoing connection; only another listener can take them, and
a port that one already holds fails the check and is not chosen.
"""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import Iterable
from pathlib import Path

_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Below this, ports are commonly assigned to well-known servers; above it and below the
# ephemeral range, nothing hands them out by itself.
_LOWEST = 10_000
_ATTEMPTS = 500


def _ephemeral_start() -> int | None:
    try:
        low, _high = _EPHEMERAL_RANGE.read_text().split()
        return int(low)
    except (OSError, ValueError):
        return None


def listen_ports(count: int, exclude: Iterable[int] = ()) -> list[int]:
    """``count`` distinct ports that nothing listens on now and that no outgoing connection
    can be given meanwhile, none of them in ``exclude``.

    Each candidate is bound (on all interfaces, so a listener on any address rules it out)
    and held until all are chosen, so the ports differ from one another. Where the
    ephemeral range is unknown or leaves no room below it, the kernel picks (port 0)."""
    taken = set(exclude)
    start = _ephemeral_start()
    if start is None or start - _LOWEST < 10 * count:
        return _kernel_ports(count, taken)
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        for _ in range(_ATTEMPTS):
            if len(ports) == count:
                return ports
            port = random.randrange(_LOWEST, start)
            if port in taken:
                continue
            sock = socket.socket()
            try:
                sock.bind(("", port))
            except OSError:
                sock.close()
                continue
            held.append(sock)
            taken.add(port)
            ports.append(port)
        if len(ports) == count:
            return ports
        raise OSError(f"no {count} free ports found between {_LOWEST} and {start}")
    finally:
        for sock in held:
            sock.close()


def listen_port(exclude: Iterable[int] = ()) -> int:
    """One port, as :func:`listen_ports` chooses them."""
    return listen_ports(1, exclude)[0]


def _kernel_ports(count: int, taken: set[int]) -> list[int]:
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        while len(ports) < count:
            sock = stack.enter_context(socket.socket())
            sock.bind(("", 0))
            port = int(sock.getsockname()[1])
            if port not in taken:
                taken.add(port)
                ports.append(port)
        return ports
