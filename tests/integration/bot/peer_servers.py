"""The bot's gRPC peers on port 0: the real auth and analytics services over the test
database, and the fake collector of ``test_bot_updates`` at the gRPC seam.

The analytics service verifies the bot's service token with the key set it fetches
from auth (``GetJwks``), as in production; the bot's ``Peers`` client gets that token
from auth with the bot's pre-shared secret.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

import asyncpg
import grpc

from analyticbot.collector.v1 import collector_pb2, collector_pb2_grpc
from analyticbot.runtime.grpc_server import build_server
from analyticbot.runtime.initdata import InitDataValidator
from analyticbot.runtime.tokens import SigningKey, TokenSigner
from services.analytics.auth import Authorizer, KeyRing, grpc_jwks_fetcher
from services.analytics.main import build as build_analytics
from services.auth.main import build as build_auth
from services.auth.service import AuthPolicy, AuthService
from services.bot.peers import Peers
from tests.integration.bot.conftest import BOT_TOKEN
from tests.integration.bot.test_bot_updates import BOT_SECRET, FakeCollector

BOT_SERVICE = "bot"


@dataclass(frozen=True)
class PeerServers:
    """The bot's client of the running peers, and what the fake collector recorded."""

    peers: Peers
    collector: FakeCollector


@asynccontextmanager
async def peer_servers(pool: asyncpg.Pool) -> AsyncIterator[PeerServers]:
    policy = AuthPolicy(service_secrets={BOT_SERVICE: hashlib.sha256(BOT_SECRET.encode()).digest()})
    signer = TokenSigner([SigningKey.generate()])
    auth = build_auth(
        AuthService(pool, InitDataValidator(bot_token=BOT_TOKEN), signer, policy), port=0
    )
    collector = FakeCollector(pool)
    name = collector_pb2.DESCRIPTOR.services_by_name["CollectorService"].full_name
    collector_server = build_server(
        [(partial(collector_pb2_grpc.add_CollectorServiceServicer_to_server, collector), name)]
    )
    await auth.start()
    await collector_server.start()
    keys_channel = grpc.aio.insecure_channel(f"127.0.0.1:{auth.port}")
    keys = KeyRing(grpc_jwks_fetcher(keys_channel))
    await keys.refresh()
    analytics = build_analytics(
        pool, Authorizer(keys, trusted_services=frozenset({BOT_SERVICE})), port=0
    )
    await analytics.start()
    peers = Peers(
        auth_addr=f"127.0.0.1:{auth.port}",
        collector_addr=f"127.0.0.1:{collector_server.port}",
        analytics_addr=f"127.0.0.1:{analytics.port}",
        service_name=BOT_SERVICE,
        service_secret=BOT_SECRET,
        deadline_seconds=5.0,
    )
    try:
        yield PeerServers(peers=peers, collector=collector)
    finally:
        await peers.close()
        await analytics.stop(0)
        await keys_channel.close()
        await collector_server.stop(0)
        await auth.stop(0)
