"""Every error body of this API, built one way: ``{"detail": ...}`` through ``api.create_response``.

- ``register_error_handlers(api)``: 404, 413, 400, 503 (database) and a JSON 500 for Ninja routes.
- ``register_refusals(api, table)``: an app's own refusals, ``{ErrorType: status}``, each
  answered with its message (tasks' table: ``tasks.errors.REFUSALS``).
- ``ErrorViews(api)``: Django's handler400/404/500, the same bodies for paths Ninja never saw.

Auth refusals (401/403/503) are mapped by ``authbridge.ninja.register_auth_errors``; Ninja's own
defaults give ``{"detail": [...]}`` for 422 and ``{"detail": "..."}`` for ``HttpError``. An
unexpected exception is answered with the JSON 500 *and* reported exactly as Django reports one.
"""

import logging
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TypeVar

from django.core import signals
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError, OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse, UnreadablePostError
from django.utils.log import log_response
from django.views import defaults
from ninja import NinjaAPI
from ninja.parser import Parser
from ninja.types import DictStrAny

from edge import metrics

logger = logging.getLogger(__name__)

NOT_FOUND = "Not Found"
BAD_REQUEST = "The request could not be read."
TOO_LARGE = "The request body is larger than 64 KiB."
SERVER_ERROR = "Internal server error."
DATABASE_UNAVAILABLE = "The database is unreachable."
DATABASE_READ_ONLY = "The database is read-only for a moment (a failover is in progress)."
DATABASE_TOO_SLOW = "The database took too long to answer."
DATABASE_BUSY = "The database is busy with other writes; try again in a moment."
DATABASE_RETRY_AFTER_SECONDS = 5
READ_ONLY_SQLSTATE = "25006"  # PostgreSQL: a write reached a standby or a read-only session
QUERY_CANCELED_SQLSTATE = "57014"  # PostgreSQL: statement_timeout (DATABASE_STATEMENT_TIMEOUT_MS)
# SQLite: "database is locked" once its busy timeout has passed (another writer held the lock).
SQLITE_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
METRIC_KINDS = {
    DATABASE_UNAVAILABLE: "unavailable",
    DATABASE_READ_ONLY: "read_only",
    DATABASE_TOO_SLOW: "timeout",
    DATABASE_BUSY: "busy",
}
E = TypeVar("E", bound=Exception)
# Ninja types a handler's second argument as "an exception or its class"; it passes an instance.
Handler = Callable[[HttpRequest, Exception | type[Exception]], HttpResponse]


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """What an error answers: its status, the ``detail`` text and any headers."""

    status: HTTPStatus
    detail: str
    headers: Mapping[str, str] = field(default_factory=dict)


def respond(api: NinjaAPI, request: HttpRequest, error: ErrorBody) -> HttpResponse:
    """The one builder of error responses: the API's own renderer, as for every success."""
    response = api.create_response(request, {"detail": error.detail}, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def handler(answer: Callable[[HttpRequest, Exception], HttpResponse]) -> Handler:
    """``answer`` as a Ninja exception handler (the one place an exception class is instanced)."""

    def handle(request: HttpRequest, exc: Exception | type[Exception]) -> HttpResponse:
        return answer(request, exc if isinstance(exc, Exception) else exc())

    return handle


def sqlstate(exc: Exception) -> str | None:
    """PostgreSQL's error code, from the psycopg error Django wrapped."""
    code = getattr(exc.__cause__, "sqlstate", None)
    return code if isinstance(code, str) else None


def sqlite_busy(exc: Exception) -> bool:
    """SQLite's SQLITE_BUSY or SQLITE_LOCKED (any extended code), from the error Django wrapped."""
    code = getattr(exc.__cause__, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in SQLITE_BUSY_CODES


def database_unavailable(exc: DatabaseError) -> ErrorBody | None:
    """503 + Retry-After for a database that cannot serve now; ``None`` for any other error."""
    code = sqlstate(exc)
    if code == READ_ONLY_SQLSTATE:
        logger.warning("database is read-only: %s", exc)
        # Reconnect next time: after a failover the address may lead to the new primary.
        if not connection.in_atomic_block:
            connection.close()
        detail = DATABASE_READ_ONLY
    elif code == QUERY_CANCELED_SQLSTATE:
        logger.warning("statement timeout: %s", exc)
        detail = DATABASE_TOO_SLOW
    elif isinstance(exc, OperationalError) and sqlite_busy(exc):
        logger.warning("database busy: %s", exc)
        detail = DATABASE_BUSY
    elif isinstance(exc, OperationalError):
        logger.warning("database unavailable: %s", exc)
        detail = DATABASE_UNAVAILABLE
    else:
        return None
    metrics.DATABASE_ERRORS.labels(METRIC_KINDS[detail]).inc()
    retry = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
    return ErrorBody(HTTPStatus.SERVICE_UNAVAILABLE, detail, retry)


def error_body(exc: Exception) -> ErrorBody:
    """The answer to an exception no more specific handler took; never a traceback."""
    if isinstance(exc, Http404):
        # Always the same body: another user's task must look exactly like a missing one.
        return ErrorBody(HTTPStatus.NOT_FOUND, NOT_FOUND)
    if isinstance(exc, RequestDataTooBig):
        return ErrorBody(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, TOO_LARGE)
    if isinstance(exc, BadRequest | SuspiciousOperation | UnreadablePostError):
        return ErrorBody(HTTPStatus.BAD_REQUEST, BAD_REQUEST)
    if isinstance(exc, DatabaseError) and (body := database_unavailable(exc)):
        return body
    return ErrorBody(HTTPStatus.INTERNAL_SERVER_ERROR, SERVER_ERROR)


def report_unhandled(request: HttpRequest, exc: Exception, response: HttpResponse) -> None:
    """What Django's own handler does for an uncaught exception, minus the HTML page.

    ``got_request_exception`` reaches error trackers (and the test client, which re-raises);
    the ERROR on ``django.request`` carries the traceback to the logs and ``ADMINS`` mail.
    """
    signals.got_request_exception.send(sender=None, request=request)
    log_response(
        "%s: %s", response.reason_phrase, request.path,
        response=response, request=request, exception=exc,
    )  # fmt: skip


class JsonObjectParser(Parser):
    """Bodies must be JSON objects: given ``"x"``, Ninja would read the title as ``"x".title``."""

    def parse_body(self, request: HttpRequest) -> DictStrAny:
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise ValueError("the request body must be a JSON object")  # Ninja answers 400
        return data


def register_error_handlers(api: NinjaAPI) -> None:
    """404, 413, 400 (unreadable body), 503 (database down, read-only, slow, locked), JSON 500."""

    def answer(request: HttpRequest, exc: Exception) -> HttpResponse:
        response = respond(api, request, error_body(exc))
        if response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR:
            report_unhandled(request, exc, response)
        return response

    for exc_class in (
        Http404, RequestDataTooBig, BadRequest, SuspiciousOperation, UnreadablePostError,
        OperationalError, Exception,
    ):  # fmt: skip
        api.add_exception_handler(exc_class, handler(answer))


def register_refusals(api: NinjaAPI, table: Mapping[type[E], HTTPStatus]) -> None:
    """Answer each exception type in ``table`` (and its subclasses) with its status and
    ``{"detail": str(exc)}``: the one place an app's refusals become HTTP."""

    def answer(request: HttpRequest, exc: Exception) -> HttpResponse:
        status = next(status for kind, status in table.items() if isinstance(exc, kind))
        return respond(api, request, ErrorBody(status, str(exc)))

    for exc_class in table:
        api.add_exception_handler(exc_class, handler(answer))


def is_api(request: HttpRequest) -> bool:
    return request.path_info == "/api" or request.path_info.startswith("/api/")


class ErrorViews:
    """Django's handler400/404/500 (todo_project/urls.py): under /api/ the JSON bodies the API's
    own handlers give, built by the same ``respond``; elsewhere Django's HTML pages."""

    def __init__(self, api: NinjaAPI) -> None:
        self.api = api

    def bad_request(self, request: HttpRequest, exception: Exception) -> HttpResponse:
        """RequestDataTooBig arrives here when the body is read outside a Ninja operation."""
        if not is_api(request):
            return defaults.bad_request(request, exception)
        too_big = isinstance(exception, RequestDataTooBig)
        error = error_body(exception if too_big else BadRequest())
        return respond(self.api, request, error)

    def page_not_found(self, request: HttpRequest, exception: Exception) -> HttpResponse:
        """An unknown path under /api/ gets the same body as a missing task."""
        if not is_api(request):
            return defaults.page_not_found(request, exception)
        return respond(self.api, request, error_body(Http404()))

    def server_error(self, request: HttpRequest) -> HttpResponse:
        if not is_api(request):
            return defaults.server_error(request)
        return respond(self.api, request, error_body(Exception()))
