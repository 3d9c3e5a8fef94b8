"""Probes answer whatever Host they carry (a pod or target IP) without opening ALLOWED_HOSTS."""

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PROBE_HOST = "10.42.0.17:8000"  # what a Kubernetes kubelet sends: the pod IP


@pytest.mark.parametrize("path", ["/api/health", "/api/ready"])
def test_probes_answer_any_host(client: Client, path: str) -> None:
    response = client.get(path, HTTP_HOST=PROBE_HOST)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "X-Request-ID" in response


def test_other_paths_still_refuse_a_foreign_host(client: Client, settings: Any) -> None:
    assert PROBE_HOST.split(":")[0] not in settings.ALLOWED_HOSTS
    assert client.get("/api/me", HTTP_HOST=PROBE_HOST).status_code == 400
    assert client.get("/api/health/x", HTTP_HOST=PROBE_HOST).status_code == 400
    assert client.post("/api/health", HTTP_HOST=PROBE_HOST).status_code == 400


def test_probes_are_not_redirected_to_https(client: Client, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/api/ready", HTTP_HOST=PROBE_HOST).status_code == 200
