"""Auth's ``CheckAccess`` answers for users, remembered while auth's relay is heard.

Every channel route asked auth ``CheckAccess`` before anything else: on a cached
dashboard read, a gRPC round trip that cost the gateway and auth more CPU than the read
itself (docs/benchmarks.md). Roles change rarely, and auth now tells the gateways when
they do (services/auth/grant_relay.py: Redis pub/sub, fed by PostgreSQL's announcements
of every committed change to ``grants``, including changes made directly in SQL).

The answers are trusted only while the relay is heard (``gateway.announcements``): this
process is subscribed, and an ``alive`` came within ``stale_seconds``. Otherwise (Redis
or auth down, auth's own listener lost: ``deaf``) nothing is served from here and
everything remembered is dropped, so a change that went unheard is never served. Each
answer is also dropped after ``ttl_seconds``, a last bound should a message ever be
lost. An answer read from auth is remembered only if no change was heard while it was
asked (a generation count), the same rule as ``analyticbot.runtime.grant_cache``.

Only user tokens are remembered. Share tokens are checked against their link on every
request, so that revoking a link takes effect on the next one (decisions.md).
"""

from __future__ import annotations

from analyticbot.auth.v1 import auth_pb2
from analyticbot.runtime.memo import MISSING, USER_PREFIX
from gateway.announcements import HeardMemo

Answer = auth_pb2.CheckAccessResponse


class AccessCache(HeardMemo[tuple[int, str], Answer]):
    """``CheckAccess`` answers per user, channel and permission."""

    PREFIX = USER_PREFIX
    WHAT = "grant changes"

    def get(self, user_id: int, channel_id: int, permission: str) -> Answer | None:
        answer = self.recall(user_id, (channel_id, permission))
        return None if answer is MISSING else answer

    def put(
        self, user_id: int, channel_id: int, permission: str, answer: Answer, generation: int
    ) -> None:
        """Remember auth's ``answer``, asked when ``generation`` was current."""
        self.keep(user_id, (channel_id, permission), answer, generation)
