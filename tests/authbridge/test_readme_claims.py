"""The README's custom-claims example (issue 10, item 13), run as written."""

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ninja import NinjaAPI, Router
from ninja.testing import TestClient

from authbridge.ninja import register_auth_errors
from tests.authbridge.conftest import bearer

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- tested by tests/authbridge/test_readme_claims.py"


def readme_example() -> str:
    text = README.read_text()
    assert MARKER in text, "the README lost its custom-claims example"
    match = re.search(r"```python\n(.*?)```", text[text.index(MARKER) :], re.DOTALL)
    assert match is not None
    return match.group(1)


@pytest.fixture
def client() -> TestClient:
    module = ModuleType("readme_example")
    exec(compile(readme_example(), str(README), "exec"), module.__dict__)  # noqa: S102 - our README
    router = module.router
    assert isinstance(router, Router)
    api = NinjaAPI(urls_namespace="readme-example")
    register_auth_errors(api)
    api.add_router("/", router)
    return TestClient(api)


@pytest.mark.parametrize("alg", ["EdDSA", "HS256"])
def test_a_route_reads_custom_claims_from_request_auth(
    client: TestClient, make_token: Any, alg: str
) -> None:
    token = make_token(alg, sub="ann", role="admin", organizationId="org-7")
    response = client.get("/org-report", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {"organization": "org-7", "requested_by": "ann"}


@pytest.mark.parametrize(
    "claims",
    [{"role": "member", "organizationId": "org-7"}, {"role": "admin"}, {}],
    ids=["not-admin", "no-organization", "no-custom-claims"],
)
def test_the_example_refuses_tokens_without_the_claims(
    client: TestClient, make_token: Any, claims: dict[str, Any]
) -> None:
    response = client.get("/org-report", headers=bearer(make_token(**claims)))
    assert response.status_code == 403


def test_the_example_keeps_the_bearer_checks(client: TestClient) -> None:
    assert client.get("/org-report").status_code == 401
    assert client.get("/org-report", headers=bearer("not.a.jwt")).status_code == 401
