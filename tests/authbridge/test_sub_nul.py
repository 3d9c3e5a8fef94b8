"""A signed token whose sub holds NUL is refused: PostgreSQL could not store it (a 500)."""

import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize("alg", ["HS256", "EdDSA"])
def test_sub_with_nul_is_a_401_not_a_500(client: Client, make_token, alg: str) -> None:
    token = make_token(alg, sub="ann\x00")
    response = client.get("/api/ann%00/tasks", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert "sub" in response.json()["detail"]
