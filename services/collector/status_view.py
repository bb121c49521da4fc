"""``analyticbot collector status``: the operator's view of ``GetCollectionStatus``.

One line per channel (a progress bar while its history is backfilled, then freshness
and errors) and one per MTProto account (state, flood wait). ``--watch`` redraws
until every backfill is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

import grpc

from analyticbot.collector.v1 import collector_pb2, collector_pb2_grpc

BAR = 24
_BACKFILL = {
    collector_pb2.BACKFILL_STATE_PENDING: "pending",
    collector_pb2.BACKFILL_STATE_RUNNING: "backfilling",
    collector_pb2.BACKFILL_STATE_DONE: "live",
}
_ACCOUNT = {
    collector_pb2.ACCOUNT_STATE_ACTIVE: "active",
    collector_pb2.ACCOUNT_STATE_FLOOD_WAIT: "flood wait",
    collector_pb2.ACCOUNT_STATE_IDLE: "idle",
    collector_pb2.ACCOUNT_STATE_DISABLED: "disabled",
}


def progress_bar(done: int, total: int, width: int = BAR) -> str:
    """``[#######.........]  45%`` for ``done`` of ``total`` (unknown total: 0 %)."""
    fraction = min(done / total, 1.0) if total > 0 else 0.0
    filled = round(fraction * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:3.0f}%"


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def render(reply: collector_pb2.GetCollectionStatusResponse, now: datetime) -> str:
    """The status as text, as of ``now`` (UTC)."""
    lines = [f"{'channel':>14}  {'state':<11} progress"]
    for c in reply.channels:
        state = "paused" if c.paused else _BACKFILL.get(c.backfill_state, "unknown")
        if c.backfill_state != collector_pb2.BACKFILL_STATE_DONE and not c.paused:
            detail = (
                f"{progress_bar(c.posts_collected, c.history_total)} "
                f"{c.posts_collected}/{c.history_total or '?'} posts"
            )
        else:
            lag = _ago(c.lag.ToTimedelta().total_seconds()) if c.HasField("lag") else "-"
            detail = f"{c.posts_collected} posts, refreshed {lag} ago"
        if c.last_error:
            detail += f"  error: {c.last_error}"
        lines.append(f"{c.channel_id:>14}  {state:<11} {detail}")
    if reply.accounts:
        lines.append(f"{'account':>14}  {'state':<11} detail")
    for a in reply.accounts:
        detail = f"{a.flood_waits} flood waits"
        if a.HasField("flood_wait_until"):
            until = a.flood_wait_until.ToDatetime(tzinfo=now.tzinfo)
            detail = f"rests {_ago((until - now).total_seconds())} more; " + detail
        if a.lease_owner:
            detail += f"; held by {a.lease_owner}"
        if a.last_error:
            detail += f"; last error: {a.last_error}"
        lines.append(f"{a.label:>14}  {_ACCOUNT.get(a.state, 'unknown'):<11} {detail}")
    return "\n".join(lines)


def backfilling(reply: collector_pb2.GetCollectionStatusResponse) -> bool:
    """Whether any unpaused channel is still reading its history."""
    return any(
        c.backfill_state != collector_pb2.BACKFILL_STATE_DONE and not c.paused
        for c in reply.channels
    )


async def show_status(
    addr: str,
    token: str,
    channel_ids: Sequence[int],
    *,
    watch: bool,
    interval: float,
    now: Callable[[], datetime],
    out: Callable[[str], None],
) -> None:
    """Print the status once, or redraw it every ``interval`` s while backfilling."""
    metadata = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(addr) as channel:
        stub = collector_pb2_grpc.CollectorServiceStub(channel)
        while True:
            reply = await stub.GetCollectionStatus(
                collector_pb2.GetCollectionStatusRequest(channel_ids=list(channel_ids)),
                metadata=metadata,
                timeout=10,
            )
            out(("\x1b[2J\x1b[H" if watch else "") + render(reply, now()))
            if not watch or not backfilling(reply):
                return
            await asyncio.sleep(interval)
