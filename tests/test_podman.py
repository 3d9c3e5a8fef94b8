"""scripts/podman/ without podman: mirrors from apt's sources, the base image's recipe."""

from pathlib import Path

import pytest

from scripts import podman

SOURCES = (
    "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
    "Components: main\n\n"
    "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
    "Components: main\n"
)


@pytest.fixture
def apt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (*podman.MIRROR_VARIABLES, "DEBIAN_SECURITY_MIRROR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(SOURCES)
    monkeypatch.setattr(podman, "APT_SOURCES", tmp_path)
    return tmp_path


def test_mirrors_come_from_the_hosts_apt_sources(apt: Path) -> None:
    assert podman.debian_mirror(apt) == "http://mirror.example/debian"
    assert podman.debian_security_mirror(apt) == "http://mirror.example/debian-security"


def test_the_base_lists_updates_and_security_like_docker_hubs_debian(
    apt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(podman.debian_mirror, "__defaults__", (apt,))
    monkeypatch.setattr(podman.debian_security_mirror, "__defaults__", (apt,))
    assert podman.DEBIAN_BOOKWORM_SLIM.sources() == [
        "deb http://mirror.example/debian bookworm main",
        "deb http://mirror.example/debian bookworm-updates main",
        "deb http://mirror.example/debian-security bookworm-security main",
    ]
    plain = podman.RootfsImage(tag="t", suite="trixie", dpkg_options=())
    assert plain.sources() == ["deb http://mirror.example/debian trixie main"]


def test_the_recipe_decides_the_cache(apt: Path) -> None:
    base = podman.DEBIAN_BOOKWORM_SLIM
    same = podman.RootfsImage(tag="other:tag", suite="bookworm", updates=True)
    assert same.recipe_hash == base.recipe_hash  # the tag is not content
    for changed in (
        podman.RootfsImage(tag=base.tag, suite="bookworm"),
        podman.RootfsImage(tag=base.tag, suite="bookworm", updates=True, packages=("curl",)),
        podman.RootfsImage(tag=base.tag, suite="trixie", updates=True),
    ):
        assert changed.recipe_hash != base.recipe_hash


def test_builds_get_the_ca_as_a_secret_never_a_volume() -> None:
    options = podman.build_args()
    assert ["--secret", f"id=build-ca,src={podman.HOST_CA}"] == options[-2:]
    assert "-v" not in options
    assert "--volume" not in options
    assert options[:2] == ["--format", "docker"]  # HEALTHCHECK kept
