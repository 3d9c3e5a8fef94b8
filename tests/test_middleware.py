"""Admin-only middleware steps aside under /api/ and still guards the admin."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from edge.middleware import AuthenticationOutsideApi, SessionOutsideApi


def seen_by_view(middleware_class: type, path: str) -> HttpRequest:
    seen: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        return HttpResponse("ok")

    middleware_class(view)(RequestFactory().get(path))
    return seen[0]


def test_session_middleware_runs_outside_api_only(db: None) -> None:
    assert hasattr(seen_by_view(SessionOutsideApi, "/admin/"), "session")
    assert not hasattr(seen_by_view(SessionOutsideApi, "/api/health"), "session")


def test_authentication_middleware_runs_outside_api_only(db: None) -> None:
    admin_request = seen_by_view(SessionOutsideApi, "/admin/")  # it needs a session
    AuthenticationOutsideApi(lambda request: HttpResponse())(admin_request)
    assert hasattr(admin_request, "user")
    assert not hasattr(seen_by_view(AuthenticationOutsideApi, "/api/health"), "user")


def test_api_answers_set_no_cookie_and_vary_only_as_before(client: Client) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert not response.cookies


@pytest.mark.django_db
def test_admin_keeps_csrf_protection() -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/admin/login/")
    assert page.status_code == 200
    assert "csrftoken" in page.cookies
    refused = client.post("/admin/login/", {"username": "a", "password": "b"})
    assert refused.status_code == 403
