"""The package test matrix: which Python, which pinned releases, which sample projects.

Each row installs ``requirements/package/<name>.txt`` (hash-pinned, compiled by ``make lock``
from ``<name>.in``) into a fresh virtualenv made by the runner the row names, then the built
wheel with ``--no-deps``. docs/compatibility.md of the package lists the same rows.
"""

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements" / "package"
SAMPLES = Path(__file__).resolve().parent / "samples"


@dataclass(frozen=True)
class Row:
    name: str  # requirements/package/<name>.txt
    samples: tuple[str, ...]  # folders of tests/package/samples
    # "host": this machine's Python (runners.HostRunner). Any other name is looked up as
    # `runner(name)` in tests/package/container.py: a context manager yielding a runners.Runner
    # (made once per session, closed at its end; see the contract in runners.py).
    runner: str = "host"

    @property
    def requirements(self) -> Path:
        return REQUIREMENTS / f"{self.name}.txt"

    def pins(self) -> dict[str, str]:
        """{normalised name: version} of every `name==version` line of the requirement file."""
        pins = {}
        for line in self.requirements.read_text().splitlines():
            requirement = line.split(";")[0].split("\\")[0].strip()
            if "==" in requirement and not requirement.startswith("#"):
                name, version = requirement.split("==")
                pins[normalise(name.split("[")[0])] = version.strip()
        return pins


def normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


ROWS = [
    Row("py311-ninja-oldest", ("ninja_site", "plain_site")),
    Row("py311-ninja-newest", ("ninja_site", "plain_site")),
    Row("py311-drf-oldest", ("drf_site", "plain_site")),
    Row("py311-drf-newest", ("drf_site", "plain_site")),
    Row("py311-plain", ("plain_site",)),
    # Python 3.13 in a Debian 13 container (tests/package/container.py), Better Auth on the host.
    Row("py313-django52", ("ninja_site", "drf_site", "plain_site"), runner="py313"),
    Row("py313-django61", ("ninja_site", "drf_site", "plain_site"), runner="py313"),
]
