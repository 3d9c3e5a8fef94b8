"""The Next.js example stays easy to find one's way in: its README's table names every file of
it and no file that is gone (tests/test_module_size.py keeps its files within 300 lines)."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "nextjs"
# Named in the table, written by `npm run gen:api` (ignored by git, absent from a fresh clone).
GENERATED = {"lib/api-types.ts"}


def example_files() -> set[str]:
    """Tracked files and new ones not ignored: not node_modules, .next or generated files."""
    command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "."]
    listed = subprocess.run(command, cwd=EXAMPLE, capture_output=True, check=True).stdout
    names = filter(None, listed.decode().split("\0"))
    return {name for name in names if (EXAMPLE / name).is_file()}


def files_in_readme_table() -> set[str]:
    """The file names in the first column of "How it fits together"."""
    readme = (EXAMPLE / "README.md").read_text()
    section = readme.split("\n## How it fits together\n", 1)[1].split("\n## ", 1)[0]
    rows = (line for line in section.splitlines() if line.startswith("| `"))
    return {name for row in rows for name in re.findall(r"`([^`]+)`", row.split(" | ")[0])}


def test_the_readme_names_every_file_of_the_example() -> None:
    files = example_files()
    assert "app/tasks.tsx" in files  # the listing sees the example's sources
    named = files_in_readme_table()
    assert files - {"README.md"} - named == set(), "files the README's table does not describe"
    assert named - files - GENERATED == set(), "files the README's table names that are gone"
