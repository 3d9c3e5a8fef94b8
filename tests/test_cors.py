"""The frontend origin may call the API from the browser; other origins get no CORS grant."""

from typing import Any

import pytest
from django.test import Client

FRONTEND = "https://app.example.com"


@pytest.fixture(autouse=True)
def frontend_origin(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]


def preflight(client: Client, origin: str, method: str = "PATCH") -> Any:
    return client.options(
        "/api/user-1/tasks/1",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type,if-match,idempotency-key",
    )


def test_preflight_from_the_frontend_allows_the_api_headers(client: Client) -> None:
    response = preflight(client, FRONTEND)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "idempotency-key"} <= allowed
    assert "PATCH" in response["Access-Control-Allow-Methods"]


def test_preflight_from_another_origin_gets_no_grant(client: Client) -> None:
    response = preflight(client, "https://evil.example")
    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.django_db
def test_responses_expose_etag_and_location_to_the_frontend(client: Client) -> None:
    response = client.get("/api/health", HTTP_ORIGIN=FRONTEND)
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "location", "retry-after", "www-authenticate"} <= exposed
