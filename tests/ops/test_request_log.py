"""X-Request-ID is kept (when well formed) or made, echoed, and on every log line of the request."""

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client

from edge import errors
from edge.logs import formatter
from tasks import services
from tests.conftest import TokenFactory
from tests.ops.test_metrics import sample


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Everything logged during the test, formatted as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(json=True))
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        pytest.param("4bf92f3577b34da6a3ce929d0e0e4736", True, id="hex"),
        pytest.param("0b6c1f2e-6a3d-4c56-9e0f-1d2c3b4a5e6f", True, id="uuid"),
        pytest.param("short", False, id="too-short"),
        pytest.param("x" * 129, False, id="too-long"),
        pytest.param('id" injected="1', False, id="quotes-and-spaces"),
        pytest.param(None, False, id="absent"),
    ],
)
def test_request_id_is_kept_when_well_formed_and_made_otherwise(
    client: Client, sent: str | None, kept: bool
) -> None:
    headers: dict[str, Any] = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    echoed = client.get("/api/health", **headers)["X-Request-ID"]
    if kept:
        assert echoed == sent
    else:
        assert echoed != sent
        uuid.UUID(echoed)  # a fresh one


@pytest.mark.django_db
def test_one_json_line_per_request_without_token_or_search_text(
    client: Client, make_token: TokenFactory, json_logs: io.StringIO
) -> None:
    token = make_token(sub="ann")
    response = client.get(
        "/api/ann/tasks?q=my-secret-plan",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_REQUEST_ID="req-0123456789",
    )
    assert response.status_code == 200
    finished = [line for line in lines(json_logs) if line["event"] == "request_finished"]
    assert len(finished) == 1
    line = finished[0]
    assert line["request_id"] == "req-0123456789"
    assert line["request"] == "GET /api/ann/tasks"
    assert line["route"] == "api/<user_id>/tasks"
    assert line["code"] == 200
    assert line["user_id"] == "ann"
    assert line["ip"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "info"
    everything = json_logs.getvalue()
    assert token not in everything
    assert token.split(".")[1] not in everything
    assert "my-secret-plan" not in everything


# The names operators' dashboards and queries read (docs/DEPLOY.md §7).
LINE_FIELDS = {
    "event", "request_id", "request", "route", "code", "duration_ms", "user_id", "ip",
    "level", "logger", "timestamp",
}  # fmt: skip


def test_the_line_has_exactly_the_documented_fields(client: Client, json_logs: io.StringIO) -> None:
    response = client.get("/api/health", HTTP_X_REQUEST_ID="req-fields-0001")
    (line,) = finished_lines(json_logs)
    assert set(line) == LINE_FIELDS
    assert (line["request_id"], line["route"]) == ("req-fields-0001", "api/health")
    assert line["code"] == 200
    assert line["user_id"] is None  # no token on a probe
    assert line["logger"] == "edge.requestlog"
    assert response["X-Request-ID"] == "req-fields-0001"


def test_a_made_request_id_is_the_echoed_one(client: Client, json_logs: io.StringIO) -> None:
    response = client.get("/api/health")
    (line,) = finished_lines(json_logs)
    assert line["request_id"] == response["X-Request-ID"]
    uuid.UUID(line["request_id"])


def test_every_line_of_the_request_carries_its_id(client: Client, json_logs: io.StringIO) -> None:
    response = client.get(
        "/api/me", HTTP_AUTHORIZATION="Bearer not-a-jwt", HTTP_X_REQUEST_ID="req-abcdefgh"
    )
    assert response.status_code == 401
    logged = lines(json_logs)
    refused = [line for line in logged if line["logger"] == "authbridge.auth"]
    assert refused, logged
    assert {line["request_id"] for line in logged} == {"req-abcdefgh"}
    assert "not-a-jwt" not in json_logs.getvalue()


@pytest.mark.parametrize(
    ("behind_proxy", "ip"),
    [
        pytest.param(False, "127.0.0.1", id="direct-header-ignored"),
        pytest.param(True, "203.0.113.9", id="proxy-appended-hop"),
    ],
)
def test_client_ip_comes_from_x_forwarded_for_only_behind_a_proxy(
    client: Client, json_logs: io.StringIO, settings: Any, behind_proxy: bool, ip: str
) -> None:
    settings.BEHIND_PROXY = behind_proxy
    # The first entry is whatever the client claimed; the last is what our proxy saw.
    client.get("/api/health", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    (line,) = [line for line in lines(json_logs) if line["event"] == "request_finished"]
    assert line["ip"] == ip


def finished_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in lines(stream) if line.get("event") == "request_finished"]


HEALTH = {"method": "GET", "route": "api/health", "status": "200"}


@pytest.mark.parametrize(
    ("removed", "logged", "counted"),
    [
        pytest.param(None, 1, 1, id="both"),
        pytest.param("edge.requestlog.RequestLogMiddleware", 0, 1, id="metrics-alone"),
        pytest.param("edge.metrics.MetricsMiddleware", 1, 0, id="request-log-alone"),
    ],
)
def test_the_request_log_and_the_metrics_are_two_middlewares(
    client: Client,
    settings: Any,
    json_logs: io.StringIO,
    removed: str | None,
    logged: int,
    counted: int,
) -> None:
    """Either one works without the other (bench/ledger.py takes each out on its own)."""
    assert settings.MIDDLEWARE[:2] == [
        "edge.metrics.MetricsMiddleware",  # first: its time covers the log line too
        "edge.requestlog.RequestLogMiddleware",
    ]
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != removed]
    before = sample("http_request_duration_seconds_count", **HEALTH)
    response = client.get("/api/health")
    assert response.status_code == 200
    assert ("X-Request-ID" in response) == bool(logged)
    assert len(finished_lines(json_logs)) == logged
    assert sample("http_request_duration_seconds_count", **HEALTH) == before + counted


@pytest.mark.django_db
def test_a_line_the_app_logs_mid_request_carries_the_id_and_later_lines_do_not(
    client: Client, make_token: TokenFactory, json_logs: io.StringIO
) -> None:
    """edge.errors logs a WARNING for a database outage, Django an ERROR for the 503 after the
    middleware returned; the context ends with the request."""

    def refuse(*args: Any) -> None:
        raise OperationalError("connection refused")

    with connection.execute_wrapper(refuse):
        response = client.get(
            "/api/ann/tasks",
            HTTP_AUTHORIZATION=f"Bearer {make_token(sub='ann')}",
            HTTP_X_REQUEST_ID="req-outage-0001",
        )
    assert response.status_code == 503
    logging.getLogger("tests").warning("after the request")
    warning, finished, django_line, after = lines(json_logs)
    assert (warning["logger"], warning["level"]) == ("edge.errors", "warning")
    assert (django_line["logger"], django_line["level"]) == ("django.request", "error")
    for line in (warning, finished, django_line):
        assert (line["request_id"], line["ip"]) == ("req-outage-0001", "127.0.0.1")
    # A 5xx without an exception is still the one "request_finished" line, at ERROR.
    assert (finished["event"], finished["code"], finished["level"]) == (
        "request_finished", 503, "error",
    )  # fmt: skip
    assert "request_id" not in after
    assert "ip" not in after


@pytest.fixture
def crashing_delete(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(**kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "delete_task", crash)


@pytest.mark.django_db
@pytest.mark.usefixtures("crashing_delete")
def test_an_unhandled_exception_is_one_request_failed_line_with_the_traceback(
    make_token: TokenFactory, json_logs: io.StringIO
) -> None:
    client = Client(raise_request_exception=False)
    response = client.delete(
        "/api/ann/tasks/1",
        HTTP_AUTHORIZATION=f"Bearer {make_token(sub='ann')}",
        HTTP_X_REQUEST_ID="req-crash-0001",
    )
    assert response.status_code == 500
    assert json.loads(response.content) == {"detail": errors.SERVER_ERROR}
    assert b"Traceback" not in response.content
    assert b"secret internals" not in response.content
    assert response["X-Request-ID"] == "req-crash-0001"
    logged = lines(json_logs)
    assert not finished_lines(json_logs)
    (failed,) = [line for line in logged if line["event"] == "request_failed"]
    assert set(failed) == LINE_FIELDS | {"exception"}
    assert (failed["code"], failed["level"], failed["user_id"]) == (500, "error", "ann")
    assert failed["route"] == "api/<user_id>/tasks/<task_id>"
    assert "RuntimeError: secret internals" in failed["exception"]
    # Django's own report (django.request, ERROR) is the request's too.
    assert {line["request_id"] for line in logged} == {"req-crash-0001"}


@pytest.mark.django_db
@pytest.mark.usefixtures("crashing_delete")
def test_the_next_request_after_a_failure_is_a_plain_finished_line(
    make_token: TokenFactory, json_logs: io.StringIO
) -> None:
    client = Client(raise_request_exception=False)
    token = make_token(sub="ann")
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.delete("/api/ann/tasks/1", **auth).status_code == 500
    assert client.get("/api/ann/tasks", **auth).status_code == 200
    events = [line["event"] for line in lines(json_logs) if line["logger"] == "edge.requestlog"]
    assert events == ["request_failed", "request_finished"]


def test_records_skip_what_no_line_shows(client: Client) -> None:
    """edge.logs.configure_structlog (run by settings) turns off what ``logging`` would collect
    for every record and no line of ours shows: thread and process names, the calling frame."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign,assignment]
    logger = logging.getLogger("edge.requestlog")
    logger.addHandler(handler)
    try:
        assert client.get("/api/health").status_code == 200
    finally:
        logger.removeHandler(handler)
    (record,) = [r for r in records if r.msg and "request_finished" in str(r.msg)]
    assert (record.threadName, record.processName) == (None, None)
    assert (record.pathname, record.lineno, record.funcName) == (
        "(unknown file)",
        0,
        "(unknown function)",
    )
    assert record.process is not None  # kept: gunicorn's own lines show it
