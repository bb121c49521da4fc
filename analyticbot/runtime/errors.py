"""Domain error base classes shared by every service.

Each service subclasses these in its own ``domain.py``; the gRPC edge translates them
to status codes in one interceptor (``grpc_server.RpcInterceptor``) and the gateway
translates gRPC statuses to HTTP codes in one handler.
"""

from __future__ import annotations

import grpc


class DomainError(Exception):
    """A failure the caller can understand; its message is safe to show."""

    status: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION


class InvalidArgument(DomainError):
    status = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(DomainError):
    status = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DomainError):
    status = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(DomainError):
    status = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(DomainError):
    status = grpc.StatusCode.UNAUTHENTICATED


class Unavailable(DomainError):
    status = grpc.StatusCode.UNAVAILABLE


class ConfigError(Exception):
    """Settings are missing or invalid; the process must not start."""
