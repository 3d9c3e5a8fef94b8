"""docs/openapi.json is the schema the code produces: the typed frontend client is built from it."""

from io import StringIO
from pathlib import Path

from django.core.management import call_command

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def test_committed_openapi_document_is_up_to_date() -> None:
    out = StringIO()
    call_command("export_openapi_schema", api="todo_project.api.api", indent=2, stdout=out)
    assert out.getvalue().rstrip("\n") == DOCUMENT.read_text().rstrip("\n"), (
        "docs/openapi.json is stale: run `make openapi` and regenerate the example's types "
        "(`npm run gen:api` in examples/nextjs)"
    )
