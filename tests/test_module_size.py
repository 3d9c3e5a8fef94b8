"""No module outside tests and migrations over 300 lines, Python or TypeScript (issue 20).

Every Python module of the service and its tools, and every TypeScript file of the example
frontend that a person writes. A file that grows past this has grown a second concern: split it
by concern into modules named for what they do.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 300
PYTHON_DIRS = ("authbridge", "edge", "tasks", "todo_project", "bench", "scripts")
FRONTEND = Path("examples/nextjs")
# Written by tools, not by hand: openapi-typescript from docs/openapi.json (`npm run gen:api`)
# and Next.js itself; both are git-ignored.
GENERATED = {FRONTEND / "lib" / "api-types.ts", FRONTEND / "next-env.d.ts"}
SKIPPED_DIRS = {"migrations", "node_modules", ".next", "__pycache__"}


def sources(root: Path) -> Iterator[Path]:
    """The files the rule covers, relative to ``root``."""
    candidates: list[tuple[str, tuple[str, ...]]] = [(d, ("*.py",)) for d in PYTHON_DIRS]
    candidates.append((str(FRONTEND), ("*.ts", "*.tsx")))
    for directory, patterns in candidates:
        for pattern in patterns:
            for path in sorted((root / directory).rglob(pattern)):
                relative = path.relative_to(root)
                skipped = SKIPPED_DIRS.intersection(relative.parts) or relative in GENERATED
                if path.is_file() and not skipped:
                    yield relative


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def offenders(root: Path) -> dict[str, int]:
    """Each file over MAX_LINES -> its line count."""
    counts = {path.as_posix(): line_count(root / path) for path in sources(root)}
    return {name: count for name, count in counts.items() if count > MAX_LINES}


def report(found: dict[str, int]) -> str:
    lines = [f"  {name}: {count} lines" for name, count in sorted(found.items())]
    return f"{len(found)} file(s) over {MAX_LINES} lines; split each by concern:\n" + "\n".join(
        lines
    )


def test_no_module_is_over_300_lines() -> None:
    found = offenders(ROOT)
    assert not found, report(found)


def test_the_scan_sees_every_package_and_the_frontend() -> None:
    scanned = {path.as_posix() for path in sources(ROOT)}
    assert {
        "tasks/api.py",
        "authbridge/verify.py",
        "todo_project/settings.py",
        "examples/nextjs/app/layout.tsx",
        "examples/nextjs/lib/api.ts",
    } <= scanned
    for directory in PYTHON_DIRS:
        assert any(name.startswith(f"{directory}/") for name in scanned), directory
    assert not [name for name in scanned if "/migrations/" in name]
    assert (ROOT / "tasks" / "migrations" / "0001_initial.py").exists()  # there, but skipped


def write_lines(path: Path, count: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"line {n}\n" for n in range(count)))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A repository in miniature: one file of each kind at the limit, one past it, and the
    files the rule leaves alone (migrations, dependencies, build output, generated types)."""
    write_lines(tmp_path / "tasks" / "short.py", MAX_LINES)
    write_lines(tmp_path / "tasks" / "long.py", MAX_LINES + 1)
    write_lines(tmp_path / "tasks" / "migrations" / "0001_initial.py", 900)
    write_lines(tmp_path / "scripts" / "__pycache__" / "cached.py", 900)
    write_lines(tmp_path / "todo_project" / "notes.txt", 900)
    frontend = tmp_path / FRONTEND
    write_lines(frontend / "app" / "page.tsx", MAX_LINES)
    write_lines(frontend / "app" / "big.tsx", 450)
    write_lines(frontend / "lib" / "client.ts", 302)
    write_lines(frontend / "lib" / "api-types.ts", 2000)
    write_lines(frontend / "next-env.d.ts", 900)
    write_lines(frontend / "node_modules" / "dep" / "index.ts", 900)
    write_lines(frontend / ".next" / "types" / "routes.ts", 900)
    return tmp_path


def test_the_scan_counts_lines_and_skips_what_no_person_writes(tree: Path) -> None:
    assert {path.as_posix() for path in sources(tree)} == {
        "tasks/short.py",
        "tasks/long.py",
        "examples/nextjs/app/page.tsx",
        "examples/nextjs/app/big.tsx",
        "examples/nextjs/lib/client.ts",
    }
    assert offenders(tree) == {
        "tasks/long.py": 301,
        "examples/nextjs/app/big.tsx": 450,
        "examples/nextjs/lib/client.ts": 302,
    }


def test_the_failure_names_each_offender_and_its_length(tree: Path) -> None:
    assert report(offenders(tree)) == (
        "3 file(s) over 300 lines; split each by concern:\n"
        "  examples/nextjs/app/big.tsx: 450 lines\n"
        "  examples/nextjs/lib/client.ts: 302 lines\n"
        "  tasks/long.py: 301 lines"
    )
