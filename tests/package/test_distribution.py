"""What `make dist` builds: django-better-auth-bridge's wheel and sdist, as an index sees them."""

import email.parser
import re
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from pathlib import Path

from tests.package.conftest import PACKAGE_DIR, Artifacts

DIST_INFO = re.compile(r"^django_better_auth_bridge-[^/]+\.dist-info/")


def source_version() -> str:
    found = re.search(r'^__version__ = "([^"]+)"', (PACKAGE_DIR / "__init__.py").read_text(), re.M)
    assert found, "authbridge/__init__.py has no __version__"
    return found.group(1)


def package_modules() -> set[str]:
    """Every module of the package folder, as the wheel must name it."""
    return {
        "authbridge/" + path.relative_to(PACKAGE_DIR).as_posix()
        for path in PACKAGE_DIR.rglob("*.py")
        if "__pycache__" not in path.parts
    }


def wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if DIST_INFO.match(n) and n.endswith("/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_the_wheel_holds_the_package_and_nothing_else(artifacts: Artifacts) -> None:
    assert artifacts.wheel.name == f"django_better_auth_bridge-{source_version()}-py3-none-any.whl"
    with zipfile.ZipFile(artifacts.wheel) as archive:
        names = set(archive.namelist())
    package = {name for name in names if not DIST_INFO.match(name)}
    # Only authbridge/: its modules (at any depth) and its typing marker.
    assert package == package_modules() | {"authbridge/py.typed"}
    assert not [n for n in names if re.search(r"(^|/)(tests|todo_project|tasks)/|__pycache__", n)]
    licence = [n for n in names if DIST_INFO.match(n) and n.endswith("/licenses/LICENSE")]
    assert len(licence) == 1
    with zipfile.ZipFile(artifacts.wheel) as archive:
        text = archive.read(licence[0]).decode()
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 the authbridge authors" in text


def test_the_wheel_metadata_says_what_it_needs(artifacts: Artifacts) -> None:
    metadata = wheel_metadata(artifacts.wheel)
    assert metadata["Name"] == "django-better-auth-bridge"
    assert metadata["Version"] == source_version()
    assert metadata["Requires-Python"] == ">=3.11"  # no upper cap
    assert sorted(metadata.get_all("Requires-Dist") or []) == [
        "django-ninja>=1.5; extra == 'ninja'",
        "django>=5.2",
        "djangorestframework>=3.16; extra == 'drf'",
        "prometheus-client>=0.20; extra == 'prometheus'",
        "pyjwt[crypto]>=2.10",
    ]
    assert sorted(metadata.get_all("Provides-Extra") or []) == ["drf", "ninja", "prometheus"]
    classifiers = set(metadata.get_all("Classifier") or [])
    assert {
        "Framework :: Django",
        "Framework :: Django :: 5.2",
        "Framework :: Django :: 6.1",
        "License :: OSI Approved :: MIT License",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.13",
        "Typing :: Typed",
    } <= classifiers
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload() == (PACKAGE_DIR / "README.md").read_text()


def test_the_sdist_holds_the_sources_docs_and_licence(artifacts: Artifacts) -> None:
    assert artifacts.sdist.name == f"django_better_auth_bridge-{source_version()}.tar.gz"
    with tarfile.open(artifacts.sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    expected_docs = {
        path.relative_to(PACKAGE_DIR).as_posix() for path in (PACKAGE_DIR / "docs").rglob("*.md")
    }
    assert expected_docs, "authbridge/docs has no page"
    required = {"pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "SECURITY.md", "py.typed"}
    assert required | expected_docs <= names
    assert {p.removeprefix("authbridge/") for p in package_modules()} <= names
    assert not [n for n in names if re.search(r"(^|/)(tests|todo_project|tasks)/|__pycache__", n)]


def test_twine_check_passes(artifacts: Artifacts) -> None:
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "twine",
            "check",
            "--strict",
            str(artifacts.wheel),
            str(artifacts.sdist),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2


def test_pip_builds_the_same_wheel_straight_from_a_checkout(
    artifacts: Artifacts, tmp_path: Path
) -> None:
    """`pip install ./authbridge` (or a git URL with #subdirectory=authbridge) builds in place."""
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    built = subprocess.run(
        [*pip_wheel, "--wheel-dir", str(tmp_path), str(PACKAGE_DIR)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = tmp_path.glob("*.whl")
    assert wheel.name == artifacts.wheel.name
    with zipfile.ZipFile(wheel) as ours, zipfile.ZipFile(artifacts.wheel) as theirs:
        assert sorted(ours.namelist()) == sorted(theirs.namelist())
