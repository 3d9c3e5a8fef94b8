"""/api/health (liveness, touches nothing) and /api/ready (one query: database up and writable)."""

from collections.abc import Callable
from http import HTTPStatus

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import resolve
from ninja import Router, Schema, Status

from edge import metrics
from edge.errors import DATABASE_READ_ONLY
from edge.openapi import response_headers
from edge.schemas import DetailOut

router = Router(tags=["health"])

READY_RETRY_AFTER_SECONDS = 5
# One query: reachable, and writable (a standby, or a primary set read-only, cannot take writes).
READ_ONLY_QUERY = {
    "postgresql": "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'"
}


class StatusOut(Schema):
    status: str


def liveness() -> tuple[HTTPStatus, dict[str, str]]:
    return HTTPStatus.OK, {"status": "ok"}


def readiness() -> tuple[HTTPStatus, dict[str, str]]:
    """200, or 503 when the database is unreachable or read-only; one query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(READ_ONLY_QUERY.get(connection.vendor, "SELECT 0"))
            (read_only,) = cursor.fetchone()
    except DatabaseError:
        # Drop the broken connection so the next probe reconnects instead of reusing it.
        connection.close_if_unusable_or_obsolete()
        return HTTPStatus.SERVICE_UNAVAILABLE, {"detail": "The database is unreachable."}
    if read_only:
        connection.close()  # a failover may move the primary: reconnect on the next probe
        return HTTPStatus.SERVICE_UNAVAILABLE, {"detail": DATABASE_READ_ONLY}
    return HTTPStatus.OK, {"status": "ok"}


PROBES = {"/api/health": liveness, "/api/ready": readiness}


def with_retry_after(response: HttpResponse, status: HTTPStatus) -> HttpResponse:
    if status == HTTPStatus.SERVICE_UNAVAILABLE:
        response["Retry-After"] = str(READY_RETRY_AFTER_SECONDS)
    return response


@router.get("/health", auth=None, response=StatusOut, summary="Liveness", operation_id="get_health")
def health(request: HttpRequest) -> dict[str, str]:
    return liveness()[1]


@router.get(
    "/ready",
    auth=None,
    response={HTTPStatus.OK: StatusOut, HTTPStatus.SERVICE_UNAVAILABLE: DetailOut},
    summary="Readiness: the database answers and takes writes",
    operation_id="get_ready",
    openapi_extra=response_headers({503: ["Retry-After"]}, authenticated=False),
)
def ready(request: HttpRequest, response: HttpResponse) -> Status[dict[str, str]]:
    status, body = readiness()
    with_retry_after(response, status)
    return Status(status, body)


class ProbeMiddleware:
    """Answers the probes and /metrics before Django checks the Host header, whatever it is.

    Load balancers and Kubernetes send the target's IP as Host, and so does a scraper (nginx's
    internal metrics listener, docs/DEPLOY.md); listing those in ALLOWED_HOSTS would mean
    allowing every host. None of them builds a URL from the Host, so they can ignore it.
    /metrics still answers only whom ``metrics.may_scrape`` allows.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        if request.path_info == metrics.PATH:
            request.resolver_match = resolve(request.path_info)
            return metrics.metrics_view(request)
        if probe is None:
            return self.get_response(request)
        request.resolver_match = resolve(request.path_info)  # its route, for logs and metrics
        status, body = probe()
        # Built here, not by api.create_response (edge.errors): this answers before URL
        # resolution and Host checks, and a middleware named in settings has no API object.
        return with_retry_after(JsonResponse(body, status=status), status)
