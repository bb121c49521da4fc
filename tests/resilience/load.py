"""Steady read load from a second process, for the drills.

``python -m tests.resilience.load URL TOKEN SECONDS RATE OUT PATH...`` sends ``RATE``
GET requests per second (open loop: each request starts on its own schedule, whatever
the previous ones are doing), cycling through ``PATH``s, for ``SECONDS``, and writes one
record per request to ``OUT`` (JSON): start offset and wall-clock start, path, status
(0 for no answer, with the exception's name: ``ConnectError`` when the connection was
refused), the error body's ``code``, ``Retry-After``, ``X-Cache`` and latency.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def _error_code(response: httpx.Response) -> str:
    if response.status_code < 400:
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


async def _one(
    client: httpx.AsyncClient, path: str, offset: float, records: list[dict[str, Any]]
) -> None:
    at = time.time()
    started = time.perf_counter()
    error = code = cache = retry_after = ""
    try:
        response = await client.get(path)
    except httpx.HTTPError as exc:
        status, error = 0, type(exc).__name__
    else:
        status, code = response.status_code, _error_code(response)
        cache = response.headers.get("X-Cache", "")
        retry_after = response.headers.get("Retry-After", "")
    records.append(
        {
            "t": round(offset, 3),
            "at": round(at, 3),
            "path": path,
            "status": status,
            "error": error,
            "code": code,
            "retry_after": retry_after,
            "cache": cache,
            "ms": round((time.perf_counter() - started) * 1000, 2),
        }
    )


async def run(url: str, token: str, seconds: float, rate: float, paths: list[str]) -> list[Any]:
    records: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=10, limits=limits
    ) as client:
        begin = time.perf_counter()
        tasks = []
        for number in range(int(seconds * rate)):
            due = begin + number / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            path = paths[number % len(paths)]
            tasks.append(asyncio.create_task(_one(client, path, due - begin, records)))
        await asyncio.gather(*tasks)
    return sorted(records, key=lambda record: float(record["t"]))


def main(argv: list[str]) -> None:
    url, token, seconds, rate, out, *paths = argv
    records = asyncio.run(run(url, token, float(seconds), float(rate), paths))
    Path(out).write_text(json.dumps(records))


if __name__ == "__main__":
    main(sys.argv[1:])
