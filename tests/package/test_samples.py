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
    challenge_without_token: bool  # 401 without a header carries WWW-Authenticate


# Every endpoint needs a token and answers {"user_id": sub, "email": ...} with one.
ENDPOINTS = {
    # A bare NinjaAPI(auth=...): Ninja itself answers a request without a header.
    "ninja_site": [Endpoint("/api/me", False), Endpoint("/api/me-async", False)],
    "drf_site": [Endpoint("/api/me", True)],
    "plain_site": [Endpoint("/api/me", True), Endpoint("/api/me-async", True)],
}


def tampered(token: str) -> str:
    """The same signature over another payload: the token now claims to be someone else."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def assert_refused(reply: Response, status: int) -> None:
    assert reply.status == status, (reply.status, reply.body)
    assert isinstance(reply.body, dict), reply.body
    assert isinstance(reply.body.get("detail"), str), reply.body


def assert_challenge(reply: Response) -> None:
    assert_refused(reply, 401)
    assert reply.headers.get("www-authenticate", "").startswith("Bearer"), reply.headers


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

            assert_challenge(site.get(endpoint.path, tampered(token)))
            assert_challenge(site.get(endpoint.path, "not-a-jwt"))
            anonymous = site.get(endpoint.path)
            assert_refused(anonymous, 401)
            if endpoint.challenge_without_token:
                assert anonymous.headers.get("www-authenticate", "").startswith("Bearer")

        extra_checks(sample, site, ann, token)
    finally:
        site.stop()


def extra_checks(sample: str, site: Site, user: BetterAuthUser, token: str) -> None:
    if sample == "ninja_site":
        # BetterAuthBearer(bind_path_user="user_id"): the path's user must be the token's.
        own = site.get(f"/api/users/{user.id}/notes", token)
        assert (own.status, own.body) == (200, {"owner": user.id})
        assert_refused(site.get("/api/users/someone-else/notes", token), 403)
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
            assert_refused(reply, 503)
            assert re.fullmatch(r"[1-9][0-9]*", reply.headers.get("retry-after", "")), reply.headers
    finally:
        site.stop()
