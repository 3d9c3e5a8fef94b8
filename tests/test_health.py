"""/api/health touches nothing; /api/ready answers 503 + Retry-After when the database is down."""

from typing import Any

import pytest
from django.db import DatabaseError
from django.test import Client


@pytest.mark.django_db
def test_health_answers_without_auth_or_database(
    client: Client, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_pings_the_database(client: Client, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        response = client.get("/api/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_answers_503_when_the_database_fails(client: Client) -> None:
    from django.db import connection

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise DatabaseError("connection refused")

    with connection.execute_wrapper(lambda *args: refuse()):
        response = client.get("/api/ready")
    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unreachable."}
    assert response["Retry-After"] == "5"
