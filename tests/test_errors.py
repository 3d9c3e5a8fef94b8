"""Every error under /api/ is JSON with a ``detail``; other paths keep Django's pages."""

import json

import pytest
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.db import IntegrityError, OperationalError
from django.http import Http404
from django.test import Client, RequestFactory

from todo_project import errors


def body(response: object) -> object:
    return json.loads(response.content)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("exc", "status", "detail"),
    [
        pytest.param(Http404("No Task matches"), 404, "Not Found", id="404-hides-message"),
        pytest.param(RequestDataTooBig("big"), 413, errors.TOO_LARGE, id="413"),
        pytest.param(SuspiciousOperation("x"), 400, errors.BAD_REQUEST, id="suspicious"),
        pytest.param(BadRequest("x"), 400, errors.BAD_REQUEST, id="bad-request"),
        pytest.param(OperationalError("down"), 503, errors.DATABASE_UNAVAILABLE, id="db-down"),
        pytest.param(IntegrityError("secret detail"), 500, errors.SERVER_ERROR, id="db-bug"),
        pytest.param(KeyError("secret"), 500, errors.SERVER_ERROR, id="bug"),
    ],
)
def test_error_response(exc: Exception, status: int, detail: str) -> None:
    response = errors.error_response(exc)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert body(response) == {"detail": detail}


def test_database_outage_asks_to_retry() -> None:
    assert errors.error_response(OperationalError())["Retry-After"] == "5"


@pytest.mark.parametrize("path", ["/api/nope", "/api/user-1/tasks/1/extra", "/api/"])
def test_unknown_api_paths_answer_json_404(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_unknown_paths_outside_the_api_keep_html(client: Client) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("exc", "status"), [(RequestDataTooBig(), 413), (BadRequest(), 400), (Exception(), 400)]
)
def test_django_handler400_under_api(exc: Exception, status: int) -> None:
    response = errors.bad_request(RequestFactory().post("/api/x"), exc)
    assert response.status_code == status
    assert set(body(response)) == {"detail"}


def test_django_handler500_under_api_has_no_traceback() -> None:
    response = errors.server_error(RequestFactory().get("/api/x"))
    assert response.status_code == 500
    assert body(response) == {"detail": errors.SERVER_ERROR}


def test_django_handlers_outside_api_are_djangos() -> None:
    request = RequestFactory().get("/admin/x")
    assert errors.server_error(request)["Content-Type"].startswith("text/html")
    assert errors.bad_request(request, BadRequest())["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("raw", [b'"title"', b"[]", b"null", b"17"])
def test_bodies_must_be_json_objects(raw: bytes) -> None:
    request = RequestFactory().post("/api/x", raw, content_type="application/json")
    with pytest.raises(ValueError, match="JSON object"):
        errors.JsonObjectParser().parse_body(request)


def test_json_objects_parse() -> None:
    request = RequestFactory().post("/api/x", b'{"title": "x"}', content_type="application/json")
    assert errors.JsonObjectParser().parse_body(request) == {"title": "x"}
