"""/api/health (liveness, touches nothing) and /api/ready (pings the database only)."""

from http import HTTPStatus

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status

from todo_project.openapi import response_headers
from todo_project.schemas import DetailOut

router = Router(tags=["health"])

READY_RETRY_AFTER_SECONDS = 5


class StatusOut(Schema):
    status: str


@router.get("/health", auth=None, response=StatusOut, summary="Liveness", operation_id="get_health")
def health(request: HttpRequest) -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    auth=None,
    response={HTTPStatus.OK: StatusOut, HTTPStatus.SERVICE_UNAVAILABLE: DetailOut},
    summary="Readiness: the database answers",
    operation_id="get_ready",
    openapi_extra=response_headers({503: ["Retry-After"]}, authenticated=False),
)
def ready(request: HttpRequest, response: HttpResponse) -> Status[dict[str, str]]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        # Drop the broken connection so the next probe reconnects instead of reusing it.
        connection.close_if_unusable_or_obsolete()
        response["Retry-After"] = str(READY_RETRY_AFTER_SECONDS)
        return Status(HTTPStatus.SERVICE_UNAVAILABLE, {"detail": "The database is unreachable."})
    return Status(HTTPStatus.OK, {"status": "ok"})
