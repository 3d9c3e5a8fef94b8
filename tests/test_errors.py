"""Every error under /api/ is JSON with a ``detail``; other paths keep Django's pages."""

import json
from http import HTTPStatus
from typing import Any

import pytest
from django.core import signals
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.db import IntegrityError, OperationalError
from django.http import Http404, HttpRequest
from django.test import Client, RequestFactory
from ninja import NinjaAPI

from edge import errors
from tasks import services
from todo_project import urls
from todo_project.api import api


def body(response: Any) -> Any:
    return json.loads(response.content)


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
def test_error_body(exc: Exception, status: int, detail: str) -> None:
    error = errors.error_body(exc)
    assert (error.status, error.detail) == (status, detail)
    response = errors.respond(api, RequestFactory().get("/api/x"), error)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert body(response) == {"detail": detail}


def test_database_outage_asks_to_retry() -> None:
    error = errors.error_body(OperationalError())
    assert error.headers == {"Retry-After": "5"}
    response = errors.respond(api, RequestFactory().get("/api/x"), error)
    assert response["Retry-After"] == "5"


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
    response = urls.handler400(RequestFactory().post("/api/x"), exc)
    assert response.status_code == status
    assert set(body(response)) == {"detail"}


def test_django_handler500_under_api_has_no_traceback() -> None:
    response = urls.handler500(RequestFactory().get("/api/x"))
    assert response.status_code == 500
    assert body(response) == {"detail": errors.SERVER_ERROR}


def test_django_handlers_outside_api_are_djangos() -> None:
    request = RequestFactory().get("/admin/x")
    assert urls.handler500(request)["Content-Type"].startswith("text/html")
    assert urls.handler400(request, BadRequest())["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("raw", [b'"title"', b"[]", b"null", b"17"])
def test_bodies_must_be_json_objects(raw: bytes) -> None:
    request = RequestFactory().post("/api/x", raw, content_type="application/json")
    with pytest.raises(ValueError, match="JSON object"):
        errors.JsonObjectParser().parse_body(request)


def test_json_objects_parse() -> None:
    request = RequestFactory().post("/api/x", b'{"title": "x"}', content_type="application/json")
    assert errors.JsonObjectParser().parse_body(request) == {"title": "x"}


@pytest.fixture
def crashing_tasks_route(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(**kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "delete_task", crash)


@pytest.mark.django_db
@pytest.mark.usefixtures("crashing_tasks_route")
def test_an_unexpected_error_is_reported_as_django_reports_it(
    make_token: Any, settings: Any, mailoutbox: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    """got_request_exception fires, django.request logs the traceback, ADMINS get mail."""
    settings.ADMINS = [("Ops", "ops@example.com")]
    received: list[HttpRequest] = []

    def receiver(sender: object, request: HttpRequest, **kwargs: object) -> None:
        received.append(request)

    signals.got_request_exception.connect(receiver)
    try:
        client = Client(raise_request_exception=False)
        token = make_token("HS256", sub="ann")
        response = client.delete("/api/ann/tasks/1", HTTP_AUTHORIZATION=f"Bearer {token}")
    finally:
        signals.got_request_exception.disconnect(receiver)
    assert (response.status_code, body(response)) == (500, {"detail": errors.SERVER_ERROR})
    assert b"secret" not in response.content
    assert [request.path for request in received] == ["/api/ann/tasks/1"]
    (logged,) = [r for r in caplog.records if r.name == "django.request"]
    assert logged.levelname == "ERROR"
    assert logged.exc_info is not None
    assert isinstance(logged.exc_info[1], RuntimeError)
    (mail,) = mailoutbox
    assert mail.to == ["ops@example.com"]
    assert "secret internals" in mail.body  # the traceback goes to the operator, not the client


@pytest.mark.django_db
@pytest.mark.usefixtures("crashing_tasks_route")
def test_the_test_client_sees_the_reported_exception(make_token: Any) -> None:
    token = make_token("HS256", sub="ann")
    with pytest.raises(RuntimeError, match="secret internals"):
        Client().delete("/api/ann/tasks/1", HTTP_AUTHORIZATION=f"Bearer {token}")


class Refused(Exception):
    pass


class RefusedHarder(Refused):
    pass


@pytest.mark.parametrize(
    ("raised", "status"),
    [
        pytest.param(Refused("no"), 409, id="listed"),
        pytest.param(RefusedHarder("no"), 409, id="subclass-of-listed"),
    ],
)
def test_register_refusals_answers_the_table_status_with_the_message(
    raised: Exception, status: int
) -> None:
    api = NinjaAPI(urls_namespace=f"refusals-{status}-{type(raised).__name__}")
    errors.register_refusals(api, {Refused: HTTPStatus.CONFLICT})
    request = RequestFactory().get("/api/x")
    response = api.on_exception(request, raised)
    assert (response.status_code, body(response)) == (status, {"detail": "no"})
    assert response["Content-Type"] == "application/json; charset=utf-8"


def test_an_exception_outside_the_table_is_not_a_refusal() -> None:
    api = NinjaAPI(urls_namespace="refusals-outside")
    errors.register_refusals(api, {Refused: HTTPStatus.CONFLICT})
    with pytest.raises(KeyError):
        api.on_exception(RequestFactory().get("/api/x"), KeyError("x"))
