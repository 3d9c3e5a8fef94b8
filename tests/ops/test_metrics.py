"""Prometheus metrics: requests by route template and status, refusals, database errors; /metrics
answers only a loopback client not behind the proxy, or the METRICS_TOKEN bearer."""

from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client
from prometheus_client import REGISTRY

from tests.conftest import TokenFactory


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db
def test_requests_are_counted_by_route_template_and_status(
    client: Client, make_token: TokenFactory
) -> None:
    labels = {"method": "GET", "route": "api/<user_id>/tasks", "status": "200"}
    before = sample("http_request_duration_seconds_count", **labels)
    for user in ("ann", "bob"):  # two paths, one route
        client.get(f"/api/{user}/tasks", HTTP_AUTHORIZATION=f"Bearer {make_token(sub=user)}")
    assert sample("http_request_duration_seconds_count", **labels) == before + 2
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    before = sample("http_request_duration_seconds_count", **unmatched)
    client.get("/api/no/such/thing/at/all")
    assert sample("http_request_duration_seconds_count", **unmatched) == before + 1


def test_auth_refusals_are_counted_by_reason(client: Client) -> None:
    before = sample("auth_refusals_total", reason="not_a_jwt")
    missing = sample("auth_refusals_total", reason="no_credentials")
    client.get("/api/me", HTTP_AUTHORIZATION="Bearer not-a-jwt")
    client.get("/api/me")
    assert sample("auth_refusals_total", reason="not_a_jwt") == before + 1
    assert sample("auth_refusals_total", reason="no_credentials") == missing + 1


@pytest.mark.django_db
def test_a_failing_readiness_probe_is_not_a_request_error(client: Client) -> None:
    from django.db import connection

    def refuse(*args: Any) -> None:
        raise OperationalError("connection refused")

    before = sample("database_errors_total", kind="unavailable")
    with connection.execute_wrapper(refuse):
        assert client.get("/api/ready").status_code == 503
    assert sample("database_errors_total", kind="unavailable") == before


@pytest.mark.django_db
def test_a_database_error_on_a_request_is_counted(client: Client, make_token: TokenFactory) -> None:
    from django.db import connection

    def refuse(*args: Any) -> None:
        raise OperationalError("connection refused")

    before = sample("database_errors_total", kind="unavailable")
    with connection.execute_wrapper(refuse):
        response = client.get(
            "/api/ann/tasks", HTTP_AUTHORIZATION=f"Bearer {make_token(sub='ann')}"
        )
    assert response.status_code == 503
    assert sample("database_errors_total", kind="unavailable") == before + 1


@pytest.mark.parametrize(
    ("token", "headers", "status"),
    [
        pytest.param("", {}, 200, id="loopback"),
        pytest.param("", {"REMOTE_ADDR": "10.0.0.7"}, 404, id="another-host"),
        pytest.param("", {"HTTP_X_FORWARDED_FOR": "198.51.100.1"}, 404, id="through-the-proxy"),
        pytest.param("scrape-secret", {}, 404, id="token-required"),
        pytest.param("scrape-secret", {"HTTP_AUTHORIZATION": "Bearer wrong"}, 404, id="bad-token"),
        pytest.param(
            "scrape-secret",
            {"HTTP_AUTHORIZATION": "Bearer scrape-secret", "REMOTE_ADDR": "10.0.0.7"},
            200,
            id="token-from-anywhere",
        ),
    ],
)
def test_metrics_are_not_public(
    client: Client, settings: Any, token: str, headers: dict[str, Any], status: int
) -> None:
    settings.METRICS_TOKEN = token
    response = client.get("/metrics", **headers)
    assert response.status_code == status
    if status == 200:
        assert b"http_request_duration_seconds_bucket" in response.content
        assert b"auth_refusals_total" in response.content


def series(name: str) -> set[tuple[tuple[str, str], ...]]:
    return {
        tuple(sorted(s.labels.items()))
        for metric in REGISTRY.collect()
        for s in metric.samples
        if s.name == name
    }


def test_invented_methods_do_not_grow_the_metrics(client: Client) -> None:
    # Anyone may send any token as the method; each label value would be a series for good.
    before = series("http_request_duration_seconds_count")
    for n in range(300):
        client.generic(f"INVENTED{n}", "/api/health")
        client.generic(f"XMETHOD{n}", "/api/no/such/path")
    added = series("http_request_duration_seconds_count") - before
    assert len(added) <= 4, added  # "other" per route and status, never one per method
    assert {dict(labels)["method"] for labels in added} <= {"other"}
    other = {"method": "other", "route": "unmatched", "status": "404"}
    assert sample("http_request_duration_seconds_count", **other) >= 300


def test_metrics_answer_a_scraper_under_production_settings(client: Client, settings: Any) -> None:
    # A scraper (nginx's internal listener) comes over plain HTTP with an internal Host:
    # with DEBUG off that was a 301 to https, or a 400 for a host not in ALLOWED_HOSTS.
    settings.METRICS_TOKEN = "scrape-secret"
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["api.example.com"]
    internal: dict[str, Any] = {"HTTP_HOST": "10.0.0.5:9100", "HTTP_X_FORWARDED_FOR": "10.0.0.9"}
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret", **internal)
    assert response.status_code == 200
    assert b"http_request_duration_seconds_bucket" in response.content
    assert client.get("/metrics", **internal).status_code == 404  # no token: nothing to see
    assert client.post("/metrics", **internal).status_code == 400  # only GET and HEAD
    # Every other path still wants an allowed Host and https.
    assert client.get("/api/me", **internal).status_code == 400
    assert client.get("/api/me", HTTP_HOST="api.example.com").status_code == 301
