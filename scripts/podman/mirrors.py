"""The Debian mirrors the host's apt uses, read at run time from /etc/apt (never written into
a file): the archive and the security archive, for the locally built base images."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from scripts.podman.tools import ContainerError

MIRROR_VARIABLES = ("DEBIAN_MIRROR", "AUTHBRIDGE_DEBIAN_MIRROR")  # override the apt sources
APT_SOURCES = Path("/etc/apt")


def _source_entries(text: str, *, deb822: bool) -> Iterator[str]:
    """The URI of every enabled `deb` entry in one apt sources file."""
    if not deb822:
        for line in text.splitlines():
            words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                yield words[1]
        return
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in fields.get("types", "").split():
            continue
        yield from fields.get("uris", "").split()


def debian_mirror(sources: Path = APT_SOURCES) -> str:
    """The Debian archive the host's apt uses (read at run time, never written into a file).

    The first enabled `deb` URI whose path ends in /debian (so not /debian-security) in
    sources.list, then sources.list.d/*.list and *.sources; $DEBIAN_MIRROR overrides.
    """
    for variable in MIRROR_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable].rstrip("/")
    for uri in _source_uris(sources):
        if uri.endswith("/debian"):
            return uri
    raise ContainerError(
        f"no Debian mirror in {sources}/sources.list(.d); set {MIRROR_VARIABLES[0]} to one"
    )


def debian_security_mirror(sources: Path = APT_SOURCES) -> str | None:
    """The host's Debian security archive (a `deb` URI ending in /debian-security), or None;
    $DEBIAN_SECURITY_MIRROR overrides."""
    if os.environ.get("DEBIAN_SECURITY_MIRROR"):
        return os.environ["DEBIAN_SECURITY_MIRROR"].rstrip("/")
    return next((uri for uri in _source_uris(sources) if uri.endswith("/debian-security")), None)


def _source_uris(sources: Path) -> Iterator[str]:
    """The http(s) URIs of the enabled `deb` entries, without a trailing "/", in apt's order:
    sources.list, then sources.list.d/*.list and *.sources."""
    files = [sources / "sources.list"]
    parts = sources / "sources.list.d"
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        if not path.is_file():
            continue
        for uri in _source_entries(path.read_text(), deb822=path.suffix == ".sources"):
            if re.match(r"https?://", uri):
                yield uri.rstrip("/")
