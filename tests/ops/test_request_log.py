"""X-Request-ID is kept (when well formed) or made, echoed, and on every log line of the request."""

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from edge.logs import formatter
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
