"""Schemathesis fuzzes every documented operation: nothing a client sends gets a 500."""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.tasks.scope_guard import require_user_scope

FUZZ_USER = "fuzz-user"


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """As Django's test client does: a request must not close the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def user_scope_guard() -> Iterator[None]:
    """Every fuzzed request is also an isolation check (tests/tasks/scope_guard.py)."""
    with connection.execute_wrapper(require_user_scope):
        yield


schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.mark.django_db
@pytest.mark.usefixtures("keep_test_connection", "user_scope_guard")
@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_never_fails_on_client_input(case: Any, make_token: Any) -> None:
    if "user_id" in (case.path_parameters or {}):
        case.path_parameters["user_id"] = FUZZ_USER
    headers = {"Authorization": f"Bearer {make_token('HS256', sub=FUZZ_USER)}"}
    case.call_and_validate(
        headers=headers,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
