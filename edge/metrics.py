"""Prometheus metrics: requests by route template and status (MetricsMiddleware), database
errors; GET /metrics.

Under gunicorn every worker is a process: with ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn.conf.py
prepares it) each one writes its samples there and /metrics adds them up across workers.
/metrics is not public: with ``METRICS_TOKEN`` it wants that bearer token, without it only a
direct loopback client (no proxy in between) gets an answer; everyone else gets a 404.
"""

import hmac
import os
import time
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time to answer a request, by route template (its _count is the request count).",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DATABASE_ERRORS = Counter(
    "database_errors_total",
    "Requests answered 503 because of the database, by kind.",
    ["kind"],  # unavailable | read_only | timeout | busy
)
LOOPBACK = frozenset({"127.0.0.1", "::1"})
PATH = "/metrics"
# The methods the API and the admin serve. Any other (a client may send any token as a method)
# is counted as "other": every label value is a series kept for the process's lifetime.
SERVED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(*, method: str, route: str, status: int, seconds: float) -> None:
    # An unknown path has no route: one label for all of them, not one per path tried.
    method = method if method in SERVED_METHODS else "other"
    REQUEST_SECONDS.labels(method, route or "unmatched", str(status)).observe(seconds)


def route_of(request: HttpRequest) -> str:
    """``api/<user_id>/tasks/<int:task_id>``: the same label for every task, unlike the path."""
    match = getattr(request, "resolver_match", None)
    return str(match.route) if match is not None else ""


class MetricsMiddleware:
    """One sample per request: method, route template, status and the seconds it took.

    First in MIDDLEWARE, so the time covers every middleware after it, the request log's line
    included, and every answer (a probe's, a redirect, a 404) is counted.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        observe_request(
            method=str(request.method),
            route=route_of(request),
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response


def may_scrape(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(sent.encode(), token.encode())
    forwarded = "HTTP_X_FORWARDED_FOR" in request.META  # came through the proxy: public
    return request.META.get("REMOTE_ADDR") in LOOPBACK and not forwarded


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not may_scrape(request):
        raise Http404  # not even its existence is public
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
