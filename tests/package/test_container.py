"""The Debian 13 / Python 3.13 container the package tests run in (tests/package/container.py).

Builds the image (once; then cached by its recipe hash), installs a hash-pinned Django 6.1 +
PyJWT[crypto] into a virtualenv in a mounted directory, and serves a Django project from inside
the container that the host reaches over --network=host.
"""

import http.server
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.harness import free_port
from tests.package import container

pytestmark = pytest.mark.package

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements" / "package"
LOCK = REQUIREMENTS / "py313-django61.txt"  # a package test row: Django 6.1 and PyJWT


@pytest.fixture(scope="module")
def image() -> str:
    container.require()
    return container.ensure_image()


@pytest.fixture(scope="module")
def venv_dir(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory mounted at /w holding /w/venv, installed from the py313 self-test lock."""
    work = tmp_path_factory.mktemp("py313")
    shutil.copy(LOCK, work / LOCK.name)
    script = (
        "set -e; python3 -m venv /w/venv; "
        f"/w/venv/bin/pip install --quiet --require-hashes -r /w/{LOCK.name}; "
        "/w/venv/bin/pip check"
    )
    done = container.run(["sh", "-c", script], mounts={str(work): "/w"}, timeout=600, image=image)
    assert done.returncode == 0, done.stdout + done.stderr
    yield work
    # files written in the container belong to its root user: remove them through it too
    container.run(["rm", "-rf", "/w/venv", "/w/site"], mounts={str(work): "/w"}, timeout=120)


def test_the_image_is_cached_under_its_recipe_hash(image: str) -> None:
    assert image == container.image_tag()
    assert image.startswith("localhost/authbridge-py313:")
    assert container.image_exists(image)
    assert container.ensure_image() == image  # no rebuild: the tag exists


def test_python_is_3_13_on_debian_13(image: str) -> None:
    done = container.run(
        ["sh", "-c", "python3 -c 'import sys; print(sys.version)'; cat /etc/debian_version"],
        timeout=60,
        image=image,
    )
    assert done.returncode == 0, done.stderr
    version, debian = done.stdout.split("\n")[:2]
    assert version.startswith("3.13."), version
    assert debian.startswith("13"), debian


def test_the_host_ca_is_mounted_read_only_and_named_by_the_tls_variables(image: str) -> None:
    script = (
        "cmp /etc/ssl/certs/ca-certificates.crt /host-ca && "
        "echo $PIP_CERT $REQUESTS_CA_BUNDLE $SSL_CERT_FILE && "
        "! touch /etc/ssl/certs/ca-certificates.crt 2>/dev/null"
    )
    done = container.run(
        ["sh", "-c", script],
        mounts={str(container.HOST_CA): "/host-ca:ro"},
        timeout=60,
        image=image,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == [container.CONTAINER_CA] * 3


def test_a_hash_pinned_lock_installs_django_6_1_and_pyjwt_crypto(venv_dir: Path) -> None:
    check = (
        "import django, jwt, jwt.algorithms, sys; "
        "print(django.get_version(), jwt.algorithms.has_crypto, sys.version_info[:2])"
    )
    done = container.run(
        ["/w/venv/bin/python", "-c", check], mounts={str(venv_dir): "/w"}, timeout=60
    )
    assert done.returncode == 0, done.stderr
    django_version, has_crypto, *python = done.stdout.split(" ", 2)
    assert django_version.startswith("6.1."), done.stdout
    assert has_crypto == "True"
    assert python == ["(3, 13)\n"]


def test_a_django_dev_server_in_the_container_answers_the_host(venv_dir: Path) -> None:
    port = free_port()
    created = container.run(
        ["sh", "-c", "mkdir -p /w/site && /w/venv/bin/django-admin startproject sample /w/site"],
        mounts={str(venv_dir): "/w"},
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    server = container.start(
        ["/w/venv/bin/python", "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        mounts={str(venv_dir): "/w"},
        workdir="/w/site",
        env={"PYTHONUNBUFFERED": "1"},
    )
    with server:
        server.wait_for_http(f"http://127.0.0.1:{port}/", timeout=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as reply:
            page = reply.read().decode()
        assert reply.status == 200
        assert "The install worked successfully!" in page  # Django's DEBUG welcome page
        assert "Django version 6.1" in server.logs()
    assert not server.running()
    with pytest.raises(OSError, match="refused"):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)


def test_a_server_on_the_host_answers_the_container(image: str) -> None:
    """The direction Better Auth's JWKS takes: it stays on the host, Django in the container."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"keys": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/auth/jwks"
        fetch = f"import urllib.request; print(urllib.request.urlopen({url!r}).read().decode())"
        done = container.run(["python3", "-c", fetch], timeout=60, image=image)
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '{"keys": []}'


def test_a_timed_out_run_leaves_no_container_behind(image: str) -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        container.run(["sleep", "300"], timeout=5, image=image)
    assert [name for name in container.containers() if name.startswith("authbridge-run-")] == []


def test_the_debian_mirror_comes_from_the_hosts_apt_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(container.MIRROR_VARIABLE, raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "# deb http://old.example/debian bookworm main\n"
        "deb [arch=amd64] http://security.example/debian-security bookworm-security main\n"
    )
    (tmp_path / "sources.list.d" / "a.sources").write_text(
        "Types: deb\nURIs: https://other.example/node\nSuites: nodistro\nComponents: main\n\n"
        "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n"
        "Types: deb\n# http://snapshot.example/archive/debian/20250520T000000Z\n"
        "URIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n"
    )
    (tmp_path / "sources.list.d" / "b.list.disabled").write_text(
        "deb http://disabled.example/debian bookworm main\n"
    )
    assert container.debian_mirror(tmp_path) == "http://mirror.example/debian"
    monkeypatch.setenv(container.MIRROR_VARIABLE, "http://override.example/debian")
    assert container.debian_mirror(tmp_path) == "http://override.example/debian"
    monkeypatch.delenv(container.MIRROR_VARIABLE)
    (tmp_path / "sources.list.d" / "a.sources").unlink()
    with pytest.raises(container.ContainerError, match="no Debian mirror"):
        container.debian_mirror(tmp_path)
