"""docs/openapi.json is the schema the code produces: the typed frontend client is built from it."""

from io import StringIO
from pathlib import Path
from typing import Any

import ninja.main as ninja_main
import pytest
from django.core.management import call_command
from django.test import Client

from todo_project.api import api

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def test_committed_openapi_document_is_up_to_date() -> None:
    out = StringIO()
    call_command("export_openapi_schema", api="todo_project.api.api", indent=2, stdout=out)
    assert out.getvalue().rstrip("\n") == DOCUMENT.read_text().rstrip("\n"), (
        "docs/openapi.json is stale: run `make openapi` and regenerate the example's types "
        "(`npm run gen:api` in examples/nextjs)"
    )


@pytest.mark.django_db
def test_the_served_document_is_built_once_per_process(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[object] = []
    real_get_schema = ninja_main.get_schema  # type: ignore[attr-defined]

    def counting(**kwargs: Any) -> Any:
        builds.append(kwargs)
        return real_get_schema(**kwargs)

    monkeypatch.setattr(ninja_main, "get_schema", counting)
    monkeypatch.setattr(api, "_schemas", {}, raising=False)  # as a fresh process starts
    first, second = client.get("/api/openapi.json"), client.get("/api/openapi.json")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert "/api/{user_id}/tasks" in first.json()["paths"]
    assert len(builds) == 1
