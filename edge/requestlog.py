"""One log line per request, with a request id that is echoed and on every line of the request.

The line ("request_finished", or "request_failed" with the traceback after an unhandled
exception) holds: request id, method and path (never the query string: it carries search
text), route template, status, duration, the token's user id and the client IP.
``X-Forwarded-For`` is read only behind a trusted proxy (``DJANGO_BEHIND_PROXY``): anyone can
send the header. The request id and IP are structlog context variables, so every other line
logged during the request, ours or a library's, carries them too (edge/logs.py).
"""

import re
import sys
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

import structlog
from django.conf import settings
from django.core.signals import got_request_exception, request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from authbridge import identity_of
from edge.metrics import route_of

# Accept what proxies and tracers send (UUIDs, hex, base64url ids); nothing that could forge logs.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/-]{8,128}")
HEADER = "X-Request-ID"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]

logger = structlog.stdlib.get_logger(__name__)


def request_id_of(request: HttpRequest) -> str:
    """The X-Request-ID the client or proxy sent when well formed, else a new UUID (CONTRACT §3)."""
    sent = request.META.get("HTTP_X_REQUEST_ID", "")
    return sent if REQUEST_ID.fullmatch(sent) else str(uuid.uuid4())


def client_ip(request: HttpRequest) -> str:
    """The proxy's view of the client when behind it, else the socket's peer."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.BEHIND_PROXY and forwarded:
        return str(forwarded.rsplit(",", 1)[-1].strip())  # the hop our own proxy appended
    return str(request.META.get("REMOTE_ADDR", ""))


@receiver(got_request_exception, dispatch_uid="edge.requestlog.remember_failure")
def remember_failure(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Sent while the exception is handled: keep it for the request's line. On the request,
    not in a registry: its traceback refers to the request, and both go together."""
    if request is not None:
        request.unhandled_exc_info = sys.exc_info()  # type: ignore[attr-defined]


def log_request(request: HttpRequest, response: HttpResponse, *, started: float) -> None:
    """Write the request's line; the request id and IP come from the context variables."""
    identity = identity_of(request)
    fields = {
        "code": response.status_code,
        "request": f"{request.method} {request.path}",
        "route": route_of(request),
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "user_id": identity.user_id if identity else None,
    }
    failure: ExcInfo | None = getattr(request, "unhandled_exc_info", None)
    if failure is not None:
        logger.error("request_failed", exc_info=failure, **fields)
    elif response.status_code >= 500:
        logger.error("request_finished", **fields)
    else:  # a 401 or 404 is the client's doing, not ours: INFO like a 200
        logger.info("request_finished", **fields)


class RequestLogMiddleware:
    """Binds the request id and client IP for every line of the request, echoes the id as
    X-Request-ID and writes the request's line (the Prometheus sample is
    edge.metrics.MetricsMiddleware's)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_of(request)
        structlog.contextvars.clear_contextvars()  # nothing of an earlier request on this thread
        structlog.contextvars.bind_contextvars(request_id=request_id, ip=client_ip(request))
        response = self.get_response(request)  # Django turns exceptions into responses
        response[HEADER] = request_id
        log_request(request, response, started=started)
        return response


@receiver(request_finished, dispatch_uid="edge.requestlog.end_request_context")
def end_request_context(sender: Any, **kwargs: Any) -> None:
    """The context ends when Django closes the response, not when the middleware returns:
    Django's own line for a 5xx (django.request) is written after the middleware, and is the
    request's too."""
    structlog.contextvars.clear_contextvars()
