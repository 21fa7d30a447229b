"""Request metrics and structured, redacted logs.

:class:`RequestMetrics` is a pure ASGI middleware: for every HTTP request it counts
``endorse_http_requests{method, route, status}`` and observes ``endorse_http_request_seconds``
under the route's *template* (``/api/v1/status-lists/{list_id}``), never the raw path: paths and
query strings may carry tokens. It also writes one DEBUG line per request to the
``endorse.server.access`` logger with the same template, the status and the time taken; the
uvicorn access log stays off because it prints raw URLs.

:class:`JsonFormatter` writes one JSON object per line (``time``, ``level``, ``logger``,
``message``, then any extras given with ``extra=``); :class:`RedactingFilter` rewrites what looks
like a token (``<type>-v1.`` followed by base64url), an e-mail address or a 6-10 digit code in a
record's message, extras and exception text. That filter is belt and braces: the code must never
log such values in the first place, and the tests check that it does not.

>>> redact("token endorsement-v1.eyJhIjoxfQ.c2ln for bob@example.com, code 123456")
'token [token] for [email], code [code]'

``python -m endorse.server serve`` installs both with :func:`logging_config`.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from endorse.server.metrics import Metrics

UNMATCHED = "<unmatched>"
"""The route label of a request that matched no route: its path is never a label."""
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

access_log = logging.getLogger("endorse.server.access")

UNSAFE_DEV_LOGGER = "endorse.server.unsafe_dev"
"""The one logger whose records are not redacted, and only under ``--dev``: where the outbox
mailer may print confirmation codes for a developer. Never used in production."""

_TOKEN = re.compile(r"\b[a-z][a-z0-9-]{0,40}-v1\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)*")
# A bare base64url JSON object ("{" encodes as "ey"), e.g. a token's payload on its own.
_PAYLOAD = re.compile(r"\beyJ[A-Za-z0-9_-]{16,}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_CODE = re.compile(r"(?<![\w.])\d{6,10}(?![\w])")


def redact(text: str) -> str:
    """``text`` with anything that looks like a token, an e-mail address or a code replaced."""
    text = _TOKEN.sub("[token]", text)
    text = _PAYLOAD.sub("[token]", text)
    text = _EMAIL.sub("[email]", text)
    return _CODE.sub("[code]", text)


# The attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_PLAIN = (str, int, float, bool, type(None))


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS and k[0] != "_"}


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, string extras and exception text through :func:`redact`.

    Attach it to a handler (handler filters see records from every logger). With
    ``unsafe_dev=True`` records of :data:`UNSAFE_DEV_LOGGER` pass unchanged.
    """

    def __init__(self, unsafe_dev: bool = False) -> None:
        super().__init__()
        self.unsafe_dev = unsafe_dev

    def filter(self, record: logging.LogRecord) -> bool:
        if self.unsafe_dev and record.name == UNSAFE_DEV_LOGGER:
            return True
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in _extras(record).items():
            safe = value if isinstance(value, _PLAIN) else str(value)
            setattr(record, key, redact(safe) if isinstance(safe, str) else safe)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ms), level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _extras(record).items():
            if key not in entry:
                entry[key] = value if isinstance(value, _PLAIN) else str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return orjson.dumps(entry, default=str).decode()


def logging_config(level: str = "info", *, unsafe_dev: bool = False) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` dictionary: JSON lines on stderr, redacted.

    Given to uvicorn as ``log_config``, so every worker process configures itself the same way.
    """
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "redact": {"()": f"{__name__}.RedactingFilter", "unsafe_dev": unsafe_dev},
        },
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
                "filters": ["redact"],
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # Prints raw URLs, which may carry tokens: kept off (access_log=False) and mute.
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            "endorse": {"handlers": ["stderr"], "level": level, "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }


def route_template(scope: Scope) -> str | None:
    """The template of the route that handled ``scope``, or None if routing never chose one."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else None


def _templates(app: Any) -> list[tuple[re.Pattern[str], str]]:
    """The app's path templates (from its OpenAPI document), most specific first."""
    try:
        paths = list(app.openapi()["paths"])
    except Exception:  # no OpenAPI document: count such requests as unmatched
        return []
    compiled = [(compile_path(template)[0], template) for template in paths]
    # A literal path beats a template that would also match it ("/a/b" before "/a/{x}").
    return sorted(compiled, key=lambda item: item[1].count("{"))


class RequestMetrics:
    """Counts and times every HTTP request in the app's :class:`Metrics`, by route template.

    The metrics live in the app's context (``app.state.context.metrics``); before the app has
    started (no context) requests pass through uncounted. A request refused before routing (a
    body over the limit, say) is matched against the app's path templates here, so it is
    counted under its route too; a path that matches none is :data:`UNMATCHED`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: list[tuple[re.Pattern[str], str]] | None = None
        # The labelled series last used, per (method, route, status), for _metrics only:
        # looking a series up by its labels costs more than counting in it.
        self._metrics: Metrics | None = None
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _route(self, scope: Scope) -> str:
        routed = route_template(scope)
        if routed is not None:
            return routed
        if self._templates is None:
            self._templates = _templates(scope.get("app"))
        path = scope.get("path", "")
        for pattern, template in self._templates:
            if pattern.match(path):
                return template
        return UNMATCHED

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = self._route(scope)
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        context = getattr(getattr(scope.get("app"), "state", None), "context", None)
        metrics: Metrics | None = getattr(context, "metrics", None)
        if metrics is not None:
            if metrics is not self._metrics:
                self._metrics, self._series = metrics, {}
            series = self._series.get((method, route, status))
            if series is None:
                series = self._series[(method, route, status)] = (
                    metrics.requests.labels(method, route, str(status)),
                    metrics.latency.labels(route),
                )
            series[0].inc()
            series[1].observe(seconds)
        if access_log.isEnabledFor(logging.DEBUG):
            access_log.debug(
                "%s %s %d %.1f ms",
                method,
                route,
                status,
                seconds * 1000,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "ms": round(seconds * 1000, 2),
                },
            )


__all__ = [
    "UNMATCHED",
    "UNSAFE_DEV_LOGGER",
    "JsonFormatter",
    "RedactingFilter",
    "RequestMetrics",
    "logging_config",
    "redact",
    "route_template",
]
