"""One log line per request, with a request id that is echoed and on every line (django-structlog).

The line holds: request id, method, path (never the query string: it carries search text),
route template, status, duration, the token's user id and the client IP. ``X-Forwarded-For`` is
read only behind a trusted proxy (``DJANGO_BEHIND_PROXY``): anyone can send the header.
"""

import re
import time
from typing import Any

import structlog
from django.conf import settings
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django_structlog import signals
from django_structlog.middlewares import RequestMiddleware

from authbridge import identity_of
from edge.metrics import route_of

# Accept what proxies and tracers send (UUIDs, hex, base64url ids); nothing that could forge logs.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/-]{8,128}")
HEADER = "X-Request-ID"


def client_ip(request: HttpRequest) -> str:
    """The proxy's view of the client when behind it, else the socket's peer."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.BEHIND_PROXY and forwarded:
        return str(forwarded.rsplit(",", 1)[-1].strip())  # the hop our own proxy appended
    return str(request.META.get("REMOTE_ADDR", ""))


class RequestLogMiddleware(RequestMiddleware):
    """django-structlog's middleware; keeps and echoes a good X-Request-ID (the Prometheus
    sample is edge.metrics.MetricsMiddleware's)."""

    async_capable = False

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not REQUEST_ID.fullmatch(request.META.get("HTTP_X_REQUEST_ID", "")):
            request.META.pop("HTTP_X_REQUEST_ID", None)  # django-structlog then makes one
        request.started = time.perf_counter()  # type: ignore[attr-defined]
        response: HttpResponse = super().__call__(request)  # type: ignore[assignment]
        response[HEADER] = request.request_id  # type: ignore[attr-defined]
        return response

    def prepare(self, request: HttpRequest) -> None:
        structlog.contextvars.bind_contextvars(ip=client_ip(request))
        super().prepare(request)
        request.request_id = structlog.contextvars.get_contextvars()["request_id"]  # type: ignore[attr-defined]

    @staticmethod
    def format_request(request: HttpRequest) -> str:
        return f"{request.method} {request.path}"


@receiver(signals.bind_extra_request_finished_metadata, sender=RequestLogMiddleware)
def add_route_user_and_duration(
    request: HttpRequest, response: HttpResponse, log_kwargs: dict[str, Any], **kwargs: Any
) -> None:
    started = getattr(request, "started", None)
    identity = identity_of(request)
    log_kwargs.update(
        route=route_of(request),
        duration_ms=round((time.perf_counter() - started) * 1000, 1) if started else None,
        user_id=identity.user_id if identity else None,
    )
