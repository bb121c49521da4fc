"""asyncpg pool release with and without the default reset query, side by side.

Run: ``.venv/bin/python -m bench.pool_reset [--calls 3000] [--rounds 2]``. Uses
``DATABASE_URL`` (else ``postgresql://postgres@127.0.0.1:5432/postgres``). Each call is
what a gRPC handler does for its access check: acquire a connection, run one trivial
query, release it. "default" is asyncpg's release (rollback if needed, then the reset
query); "services" is ``analyticbot.runtime.db.create_pool``'s (rollback if needed, no
reset query). The two pools alternate, ``--rounds`` times, in one process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import asyncpg

from analyticbot.runtime.db import create_pool

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HEAD = (
    "| round | default µs wall | default µs CPU | services µs wall | services µs CPU | wall ratio |"
)


async def per_call(pool: asyncpg.Pool, calls: int) -> tuple[float, float]:
    """Wall and CPU microseconds per acquire + query + release."""

    async def one() -> None:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")

    for _ in range(200):
        await one()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        await one()
    return (
        (time.perf_counter() - wall) / calls * 1e6,
        (time.process_time() - cpu) / calls * 1e6,
    )


async def run(url: str, calls: int, rounds: int) -> list[str]:
    rows = []
    for number in range(1, rounds + 1):
        default = await asyncpg.create_pool(url, min_size=4, max_size=4)
        ours = await create_pool(url, min_size=4, max_size=4)
        try:
            a = await per_call(default, calls)
            b = await per_call(ours, calls)
        finally:
            await default.close()
            await ours.close()
        rows.append(
            f"| {number} | {a[0]:.0f} | {a[1]:.0f} | {b[0]:.0f} | {b[1]:.0f} | {b[0] / a[0]:.2f}x |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    rows = asyncio.run(run(url, args.calls, args.rounds))
    print(HEAD)
    print("|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
