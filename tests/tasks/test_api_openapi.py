"""The OpenAPI document describes every tasks route, its errors and the Bearer scheme."""

import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

BASE = "/api/{user_id}/tasks"
# (path, method): (operationId, its success status, the errors it adds to COMMON_ERRORS)
OPERATIONS = {
    (BASE, "get"): ("list_tasks", 200, set()),
    (BASE, "delete"): ("clear_completed", 200, set()),
    (BASE, "post"): ("create_task", 201, {400, 409, 413}),
    (f"{BASE}/{{task_id}}", "get"): ("get_task", 200, {404}),
    (f"{BASE}/{{task_id}}", "put"): ("replace_task", 200, {400, 404, 412, 413}),
    (f"{BASE}/{{task_id}}", "patch"): ("update_task", 200, {400, 404, 412, 413}),
    (f"{BASE}/{{task_id}}", "delete"): ("delete_task", 204, {404, 412}),
    (f"{BASE}/{{task_id}}/complete", "patch"): ("complete_task", 200, {400, 404, 412, 413}),
}
COMMON_ERRORS = {401, 403, 422, 429, 503}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def test_every_tasks_route_is_described(schema: dict[str, Any]) -> None:
    described = {
        (path, method)
        for path, item in schema["paths"].items()
        if path.startswith(BASE)
        for method in item
    }
    assert described == set(OPERATIONS)


@pytest.mark.parametrize(("path", "method"), list(OPERATIONS))
def test_operation(schema: dict[str, Any], path: str, method: str) -> None:
    operation_id, success, extra_errors = OPERATIONS[path, method]
    operation = schema["paths"][path][method]
    assert operation["operationId"] == operation_id
    errors = COMMON_ERRORS | extra_errors
    assert {int(code) for code in operation["responses"]} == {success, *errors}
    assert operation["security"] == [{"BetterAuthBearer": []}]
    assert "tasks" in operation["tags"]
    params = {(p["in"], p["name"]) for p in operation["parameters"]}
    assert ("path", "user_id") in params
    assert (("path", "task_id") in params) == ("{task_id}" in path)
    for status in errors:
        content = operation["responses"][str(status)]["content"]
        ref = content["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ValidationErrorOut" if status == 422 else "/DetailOut")


def test_every_operation_has_a_readable_id(schema: dict[str, Any]) -> None:
    ids = {
        (path, method): operation["operationId"]
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    assert ids[("/api/health", "get")] == "get_health"
    assert ids[("/api/ready", "get")] == "get_ready"
    assert ids[("/api/me", "get")] == "get_me"
    assert len(set(ids.values())) == len(ids)
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)+", value) for value in ids.values()), ids


def declared_headers(operation: dict[str, Any], code: str) -> set[str]:
    return set(operation["responses"][code].get("headers", {}))


@pytest.mark.parametrize(("path", "method"), list(OPERATIONS))
def test_response_headers_a_client_relies_on_are_declared(
    schema: dict[str, Any], path: str, method: str
) -> None:
    operation = schema["paths"][path][method]
    assert declared_headers(operation, "401") == {"WWW-Authenticate"}
    assert declared_headers(operation, "429") == {"Retry-After"}
    assert declared_headers(operation, "503") == {"Retry-After"}
    _, success, _ = OPERATIONS[path, method]
    # A created task: where it is and its tag; one task read or written: its tag; else none.
    if success == 201:
        expected = {"ETag", "Location"}
    else:
        expected = {"ETag"} if success == 200 and "{task_id}" in path else set()
    assert declared_headers(operation, str(success)) == expected


def test_me_and_ready_declare_their_headers(schema: dict[str, Any]) -> None:
    me = schema["paths"]["/api/me"]["get"]
    assert declared_headers(me, "401") == {"WWW-Authenticate"}
    assert declared_headers(me, "429") == {"Retry-After"}
    assert declared_headers(me, "503") == {"Retry-After"}
    assert declared_headers(schema["paths"]["/api/ready"]["get"], "503") == {"Retry-After"}


def test_bearer_scheme_is_declared(schema: dict[str, Any]) -> None:
    assert schema["components"]["securitySchemes"]["BetterAuthBearer"] == {
        "type": "http",
        "scheme": "bearer",
    }


def test_conditional_headers_and_bodies(schema: dict[str, Any]) -> None:
    def parameters(path: str, method: str) -> set[str]:
        return {p["name"] for p in schema["paths"][path][method]["parameters"]}

    assert "Idempotency-Key" in parameters(BASE, "post")
    for path, method in [(f"{BASE}/{{task_id}}", "put"), (f"{BASE}/{{task_id}}", "delete")]:
        assert "If-Match" in parameters(path, method)
    body = schema["paths"][BASE]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("/TaskIn")
    query = {"status", "priority", "due_before", "due_after", "q", "ordering", "limit", "offset"}
    assert query <= parameters(BASE, "get")


def test_task_schema_matches_the_contract(schema: dict[str, Any]) -> None:
    task = schema["components"]["schemas"]["TaskOut"]
    assert list(task["properties"]) == [
        "id", "title", "description", "completed", "priority", "due_date", "created_at",
        "updated_at",
    ]  # fmt: skip
    assert task["properties"]["created_at"]["format"] == "date-time"
    assert schema["components"]["schemas"]["Priority"]["enum"] == ["low", "medium", "high"]


def test_docs_use_only_assets_served_by_this_app(client: Client) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.content.decode())
    assert assets
    for url in assets:
        assert url.startswith("/static/"), url  # no CDN: the docs work offline
        assert finders.find(url.removeprefix("/static/")), url
