"""The wheel in a fresh virtualenv per matrix row, and the quick start's three sample projects
(Django Ninja, DRF, plain Django) served by that virtualenv's Python, verifying tokens of a real
Better Auth server over HTTP. Nothing here mints a token: each one comes from Better Auth.
"""

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import BetterAuthServer, BetterAuthUser, Response
from tests.package.conftest import Artifacts, DownBetterAuth
from tests.package.matrix import ROWS, SAMPLES, Row, normalise
from tests.package.runners import Site, Venv

CASES = [
    pytest.param(row, sample, id=f"{row.name}-{sample}") for row in ROWS for sample in row.samples
]
# Distributions a virtualenv has besides the row's pins and the wheel.
VENV_TOOLS = {"pip", "setuptools", "wheel"}


@dataclass(frozen=True)
class Endpoint:
    path: str
    # 401 carries WWW-Authenticate: Bearer, 503 Retry-After. Not on a bare NinjaAPI, whose own
    # handlers answer (same status and body); register_auth_errors(api) adds them.
    headers: bool = True


# Every endpoint needs a token and answers {"user_id": sub, "email": ...} with one. The async
# ones come first: a fresh site's first request fetches the keys, so that fetch (and, with Better
# Auth down, its failure) happens on the async path; the sync one then runs on what it left.
ENDPOINTS = {
    "ninja_site": [
        Endpoint("/api/me-async", headers=False),
        Endpoint("/api/me", headers=False),
        Endpoint("/quick-start/me-async"),
        Endpoint("/quick-start/me"),
    ],
    "drf_site": [Endpoint("/api/me")],
    "plain_site": [Endpoint("/api/me-async"), Endpoint("/api/me")],
}


def tampered(token: str, **changes: object) -> str:
    """The same signature over another payload: by default the token claims to be someone else."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes or {"sub": "someone-else"})
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def assert_refused(reply: Response, status: int, what: str) -> None:
    """``status`` with a JSON {"detail": "..."} body; ``what`` names the request in a failure."""
    seen = f"{what}: {reply.status} {reply.headers} {reply.body!r}"
    assert reply.status == status, seen
    assert isinstance(reply.body, dict), seen
    assert isinstance(reply.body.get("detail"), str), seen


def assert_challenge(reply: Response, what: str, endpoint: Endpoint) -> None:
    assert_refused(reply, 401, what)
    challenge = reply.headers.get("www-authenticate", "")
    if endpoint.headers:
        assert challenge.startswith("Bearer"), f"{what}: no Bearer challenge in {reply.headers}"


@pytest.mark.parametrize("row", [pytest.param(row, id=row.name) for row in ROWS])
def test_the_wheel_installs_alone_on_the_rows_pins(
    row: Row, venvs: Callable[[Row], Venv], artifacts: Artifacts, tmp_path: Path
) -> None:
    venv = venvs(row)
    assert "No broken requirements found." in venv.check_call(
        [str(venv.python), "-m", "pip", "check"]
    )

    # Imported from the virtualenv (never from this checkout), without configured settings.
    probe = venv.python_run(
        "-c",
        "import json, importlib.metadata as m, authbridge; print(json.dumps({"
        "'file': authbridge.__file__, 'version': authbridge.__version__, "
        "'dist': m.version('django-better-auth-bridge'), "
        "'installed': {d.metadata['Name']: d.version for d in m.distributions()}}))",
        cwd=tmp_path,
    )
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    assert Path(found["file"]).resolve().is_relative_to(venv.path.resolve()), found["file"]
    version = artifacts.wheel.name.split("-")[1]
    assert found["version"] == found["dist"] == version

    # Exactly the row's pins and the wheel: nothing came along undeclared.
    installed = {normalise(name): v for name, v in found["installed"].items()}
    assert installed.pop("django-better-auth-bridge") == version
    for tool in VENV_TOOLS:
        installed.pop(tool, None)
    assert installed == row.pins()


# Imports every module of the installed package under minimal settings; prints
# {module: null | the top-level name of a missing module}.
IMPORT_EVERY_MODULE = """
import importlib, json, pkgutil
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "authbridge"],
    BETTER_AUTH_URL="http://127.0.0.1:9",
)
django.setup()
import authbridge
result = {}
for module in pkgutil.walk_packages(authbridge.__path__, "authbridge."):
    try:
        importlib.import_module(module.name)
        result[module.name] = None
    except ModuleNotFoundError as exc:
        result[module.name] = (exc.name or "").split(".")[0]
print(json.dumps(result))
"""
# The adapters that need an extra, and the module each one needs.
FRAMEWORK_OF = {"authbridge.ninja": "ninja", "authbridge.drf": "rest_framework"}
DISTRIBUTION_OF = {"ninja": "django-ninja", "rest_framework": "djangorestframework"}


@pytest.mark.parametrize("row", [pytest.param(row, id=row.name) for row in ROWS])
def test_every_module_imports_without_the_extras_it_does_not_need(
    row: Row, venvs: Callable[[Row], Venv], tmp_path: Path
) -> None:
    """Nothing of the Todo API, and no framework but the adapter's own (prometheus optional)."""
    venv = venvs(row)
    done = venv.python_run("-c", IMPORT_EVERY_MODULE, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    missing = json.loads(done.stdout)
    assert len(missing) > 10, missing
    pins = row.pins()
    expected = {
        module: None if DISTRIBUTION_OF[framework] in pins else framework
        for module, framework in FRAMEWORK_OF.items()
    }
    assert {m: why for m, why in missing.items() if why} == {
        m: why for m, why in expected.items() if why
    }


@pytest.mark.parametrize(("row", "sample"), CASES)
def test_the_sample_verifies_real_better_auth_tokens(
    row: Row,
    sample: str,
    venvs: Callable[[Row], Venv],
    better_auth: BetterAuthServer,
    tmp_path: Path,
) -> None:
    site = Site.copy(venvs(row), SAMPLES / sample, tmp_path, better_auth.url)
    checked = site.manage("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues (0 silenced)." in checked.stdout, checked.stdout

    ann = better_auth.sign_up("Ann")
    token = ann.jwt()
    site.start()
    try:
        for endpoint in ENDPOINTS[sample]:
            answered = site.get(endpoint.path, token)
            assert answered.status == 200, (endpoint, answered.status, answered.body, site.output)
            assert answered.body["user_id"] == ann.id
            assert answered.body["email"] == ann.email

            path = endpoint.path
            assert_challenge(site.get(path, tampered(token)), f"{path}, tampered token", endpoint)
            assert_challenge(site.get(path, "not-a-jwt"), f"{path}, malformed token", endpoint)
            # Read unverified before any key lookup: PyJWT 2.10 (the oldest rows) raised a bare
            # TypeError for a list where a time belongs, which must stay a 401, never a 500.
            for claim in ("exp", "iat", "nbf"):
                listed = tampered(token, **{claim: [1]})
                assert_challenge(site.get(path, listed), f"{path}, {claim} a list", endpoint)
            assert_challenge(site.get(path), f"{path} without a token", endpoint)

        extra_checks(sample, site, ann, token)
    finally:
        site.stop()


def extra_checks(sample: str, site: Site, user: BetterAuthUser, token: str) -> None:
    if sample == "ninja_site":
        # BetterAuthBearer(bind_path_user="user_id"): the path's user must be the token's.
        for api in ("/api", "/quick-start"):
            own = site.get(f"{api}/users/{user.id}/notes", token)
            assert (own.status, own.body) == (200, {"owner": user.id})
            other = site.get(f"{api}/users/someone-else/notes", token)
            assert_refused(other, 403, f"{api}: bind_path_user with another user's path")
    elif sample == "drf_site":
        me = site.get("/api/me", token).body
        assert (me["pk"], me["is_authenticated"]) == (user.id, True)  # the stateless TokenUser
    elif sample == "plain_site":
        # A view without the decorator: the middleware's identity, or None.
        assert site.get("/api/hello", token).body == {"user_id": user.id}
        assert site.get("/api/hello").body == {"user_id": None}
        assert site.get("/api/hello", tampered(token)).body == {"user_id": None}


@pytest.mark.parametrize(("row", "sample"), CASES)
def test_the_sample_answers_503_while_better_auth_is_unreachable(
    row: Row,
    sample: str,
    venvs: Callable[[Row], Venv],
    down_better_auth: DownBetterAuth,
    tmp_path: Path,
) -> None:
    """A fresh process (cold key cache) while Better Auth is down: "ask again", never 401."""
    site = Site.copy(venvs(row), SAMPLES / sample, tmp_path, down_better_auth.url).start()
    try:
        for endpoint in ENDPOINTS[sample]:
            reply = site.get(endpoint.path, down_better_auth.token)
            assert_refused(reply, 503, f"{endpoint.path} with Better Auth down")
            if endpoint.headers:
                retry_after = reply.headers.get("retry-after", "")
                assert re.fullmatch(r"[1-9][0-9]*", retry_after), f"{endpoint}: {reply.headers}"
    finally:
        site.stop()
