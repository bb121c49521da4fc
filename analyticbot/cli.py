"""The ``analyticbot`` command: one entry point for operators and developers.

- ``analyticbot run``: the whole product on one machine (supervised processes, embedded
  PostgreSQL and Redis when no URLs are given, simulated channels without Telegram
  credentials).
- ``analyticbot serve <service>``: one deployable, as Kubernetes runs it.
- ``analyticbot migrate``: apply database migrations (safe to run from many replicas).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, cast

from analyticbot.runtime.errors import ConfigError

# Each deployable's composition root exposes ``async def main() -> None``.
SERVICES: dict[str, str] = {
    "collector": "services.collector.main",
    "analytics": "services.analytics.main",
    "auth": "services.auth.main",
    "gateway": "gateway.main",
    "bot": "services.bot.main",
}


def _serve(name: str) -> int:
    module = importlib.import_module(SERVICES[name])
    entry = cast(Callable[[], Coroutine[Any, Any, None]], module.main)
    asyncio.run(entry())
    return 0


def _migrate() -> int:
    from analyticbot.runtime.logging import configure_logging
    from analyticbot.runtime.migrate import migrate_url

    url = os.environ.get("DATABASE_URL") or os.environ.get("ANALYTICBOT_DATABASE_URL")
    if not url:
        raise ConfigError("invalid configuration:\n  DATABASE_URL: Field required")
    configure_logging("migrate", secrets=[url])
    applied = asyncio.run(migrate_url(url))
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    return 0


def _run(args: argparse.Namespace) -> int:
    from analyticbot.supervisor import run_stack

    return run_stack(data_dir=args.data_dir, http_port=args.port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="analyticbot", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run everything on this machine")
    run.add_argument("--data-dir", default=os.environ.get("ANALYTICBOT_DATA_DIR", ".data"))
    run.add_argument(
        "--port", type=int, default=int(os.environ.get("ANALYTICBOT_HTTP_PORT", "8080"))
    )
    serve = commands.add_parser("serve", help="run one service")
    serve.add_argument("service", choices=sorted(SERVICES))
    commands.add_parser("migrate", help="apply database migrations")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args.service)
        if args.command == "migrate":
            return _migrate()
        return _run(args)
    except ConfigError as exc:
        print(f"analyticbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
