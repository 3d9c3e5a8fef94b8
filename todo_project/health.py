"""/api/health (liveness, touches nothing) and /api/ready (one query: database up and writable)."""

from http import HTTPStatus

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status

from todo_project.errors import DATABASE_READ_ONLY
from todo_project.schemas import DetailOut

router = Router(tags=["health"])

READY_RETRY_AFTER_SECONDS = 5
# One query: reachable, and writable (a standby, or a primary set read-only, cannot take writes).
READ_ONLY_QUERY = {
    "postgresql": "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'"
}


class StatusOut(Schema):
    status: str


@router.get("/health", auth=None, response=StatusOut, summary="Liveness")
def health(request: HttpRequest) -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    auth=None,
    response={HTTPStatus.OK: StatusOut, HTTPStatus.SERVICE_UNAVAILABLE: DetailOut},
    summary="Readiness: the database answers and takes writes",
)
def ready(request: HttpRequest, response: HttpResponse) -> Status[dict[str, str]]:
    try:
        with connection.cursor() as cursor:
            cursor.execute(READ_ONLY_QUERY.get(connection.vendor, "SELECT 0"))
            (read_only,) = cursor.fetchone()
    except DatabaseError:
        # Drop the broken connection so the next probe reconnects instead of reusing it.
        connection.close_if_unusable_or_obsolete()
        return not_ready(response, "The database is unreachable.")
    if read_only:
        connection.close()  # a failover may move the primary: reconnect on the next probe
        return not_ready(response, DATABASE_READ_ONLY)
    return Status(HTTPStatus.OK, {"status": "ok"})


def not_ready(response: HttpResponse, detail: str) -> Status[dict[str, str]]:
    response["Retry-After"] = str(READY_RETRY_AFTER_SECONDS)
    return Status(HTTPStatus.SERVICE_UNAVAILABLE, {"detail": detail})
