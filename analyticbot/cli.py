"""The ``analyticbot`` command: one entry point for operators and developers.

- ``analyticbot run``: the whole product on one machine (supervised processes, embedded
  PostgreSQL and Redis when no URLs are given, simulated channels without Telegram
  credentials).
- ``analyticbot serve <service>``: one deployable, as Kubernetes runs it.
- ``analyticbot migrate``: apply database migrations (safe to run from many replicas).
- ``analyticbot mtproto login|keygen``: sign an MTProto account in for the collector
  (stored sealed), or print a new ``ANALYTICBOT_SESSION_KEY``.
- ``analyticbot collector status``: backfill progress, freshness and accounts.
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


def _mtproto(args: argparse.Namespace) -> int:
    from services.collector.sessions import generate_key

    if args.action == "keygen":
        print(generate_key())
        return 0
    from services.collector.login import LoginFailed, login

    try:
        account_id = asyncio.run(login(args.label, args.proxy))
    except LoginFailed as exc:
        print(f"analyticbot: login failed: {exc}", file=sys.stderr)
        return 1
    print(f"account {args.label!r} stored (id {account_id}); collectors pick it up shortly")
    return 0


def _collector(args: argparse.Namespace) -> int:
    from services.collector.clock import utc_now
    from services.collector.status_view import show_status

    token = args.token or os.environ.get("ANALYTICBOT_TOKEN", "")
    if not token:
        raise ConfigError("invalid configuration:\n  ANALYTICBOT_TOKEN: Field required")
    asyncio.run(
        show_status(
            args.addr,
            token,
            args.channel,
            watch=args.watch,
            interval=args.interval,
            now=utc_now,
            out=print,
        )
    )
    return 0


def _add_operator_commands(commands: Any) -> None:
    mtproto = commands.add_parser("mtproto", help="MTProto accounts of the collector")
    actions = mtproto.add_subparsers(dest="action", required=True)
    login = actions.add_parser("login", help="sign an account in (phone, code, 2FA)")
    login.add_argument("--label", required=True, help="a name for the account")
    login.add_argument("--proxy", help="socks5://[user:password@]host:port for this account")
    actions.add_parser("keygen", help="print a new ANALYTICBOT_SESSION_KEY")
    collector = commands.add_parser("collector", help="collector operator commands")
    views = collector.add_subparsers(dest="action", required=True)
    status = views.add_parser("status", help="backfill progress, freshness, accounts")
    status.add_argument(
        "--addr", default=os.environ.get("ANALYTICBOT_COLLECTOR_ADDR", "127.0.0.1:50051")
    )
    status.add_argument("--token", help="bearer token (default: ANALYTICBOT_TOKEN)")
    status.add_argument("--channel", type=int, action="append", default=[])
    status.add_argument("--watch", action="store_true", help="redraw until backfill ends")
    status.add_argument("--interval", type=float, default=2.0)


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
    _add_operator_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args.service)
        if args.command == "migrate":
            return _migrate()
        if args.command == "mtproto":
            return _mtproto(args)
        if args.command == "collector":
            return _collector(args)
        return _run(args)
    except ConfigError as exc:
        print(f"analyticbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
