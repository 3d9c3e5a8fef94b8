"""authbridge/docs/compatibility.md names exactly the rows and pins the package tests install."""

import json
import re

import pytest

from tests.package.matrix import ROOT, ROWS, Row

DOC = ROOT / "authbridge" / "docs" / "compatibility.md"
# Column of the table -> the distribution whose pin it shows.
COLUMNS = {
    "Django": "django",
    "Django Ninja": "django-ninja",
    "DRF": "djangorestframework",
    "PyJWT": "pyjwt",
    "prometheus-client": "prometheus-client",
}


def table() -> dict[str, dict[str, str]]:
    """{row name: {column: cell}} from the doc's matrix table."""
    lines = [line for line in DOC.read_text().splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = dict(
            zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True)
        )
        rows[cells["Row"].strip("`")] = cells
    return rows


def test_the_doc_lists_every_row_and_nothing_else() -> None:
    assert sorted(table()) == sorted(row.name for row in ROWS)


@pytest.mark.parametrize("row", [pytest.param(row, id=row.name) for row in ROWS])
def test_the_doc_shows_the_rows_pins(row: Row) -> None:
    cells, pins = table()[row.name], row.pins()
    for column, distribution in COLUMNS.items():
        assert cells[column] == pins.get(distribution, "—"), (column, json.dumps(pins))
    python = re.fullmatch(r"py3(\d+)-.*", row.name)
    assert python, row.name
    assert cells["Python"] == f"3.{python.group(1)}"
    assert cells["Samples"] == ", ".join(row.samples)


def test_the_doc_names_the_pinned_better_auth() -> None:
    package = json.loads((ROOT / "tests" / "e2e" / "better_auth" / "package.json").read_text())
    assert f"Better Auth: **{package['dependencies']['better-auth']}**" in DOC.read_text()
