"""Failures of a backing store reach gRPC callers as UNAVAILABLE (retry later), including
the errors a PostgreSQL shutdown or failover ends running statements with."""

from __future__ import annotations

import asyncpg
import grpc
import pytest
import redis.exceptions

from analyticbot.runtime.grpc_server import _status_for


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.CrashShutdownError("terminating connection: crash of another"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.ConnectionFailureError("connection failure"),
        asyncpg.exceptions.InternalClientError("cannot switch to state 15"),
        ConnectionRefusedError(111, "Connection refused"),
        redis.exceptions.ConnectionError("Error 111 connecting"),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_store_going_away_is_unavailable(error: BaseException) -> None:
    assert _status_for(error)[0] == grpc.StatusCode.UNAVAILABLE


def test_a_bug_stays_internal() -> None:
    assert _status_for(asyncpg.exceptions.UndefinedColumnError("no column"))[0] == (
        grpc.StatusCode.INTERNAL
    )
