"""What the benchmark asks: signed tokens for many users and the scenarios' requests."""

import json
import secrets
import time
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm

from bench.floor import FLOOR_PATH

USER_PREFIX = "bench-user-"
KID = "bench-ed25519"
ISSUER = "http://127.0.0.1:3000"  # iss and aud of every token; no server behind it
NEW_TASK = '{"title": "bench", "priority": "high"}'


@dataclass(frozen=True)
class Keys:
    secret: str = field(default_factory=lambda: secrets.token_hex(32))
    signing_key: ed25519.Ed25519PrivateKey = field(
        default_factory=ed25519.Ed25519PrivateKey.generate
    )

    def jwks(self) -> str:
        jwk = json.loads(OKPAlgorithm.to_jwk(self.signing_key.public_key()))
        return json.dumps({"keys": [{**jwk, "kid": KID, "alg": "EdDSA", "use": "sig"}]})

    def token(self, user_id: str, alg: str) -> str:
        now = int(time.time())
        claims = {
            "sub": user_id, "iat": now, "exp": now + 3 * 3600, "email": f"{user_id}@b.test",
            "iss": ISSUER, "aud": ISSUER,
        }  # fmt: skip
        if alg == "HS256":
            return jwt.encode(claims, self.secret, algorithm="HS256")
        return jwt.encode(claims, self.signing_key, algorithm="EdDSA", headers={"kid": KID})


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str  # {user} and {id} are filled per request
    alg: str | None = None  # None: no token
    body: str | None = None


FLOOR = Scenario("floor", "GET", FLOOR_PATH)
SCENARIOS = {
    s.name: s
    for s in (
        FLOOR,
        Scenario("health", "GET", "/api/health"),
        Scenario("me HS256", "GET", "/api/me", "HS256"),
        Scenario("me EdDSA", "GET", "/api/me", "EdDSA"),
        Scenario("list", "GET", "/api/{user}/tasks?limit=20", "EdDSA"),
        Scenario("get", "GET", "/api/{user}/tasks/{id}", "EdDSA"),
        Scenario("create", "POST", "/api/{user}/tasks", "EdDSA", NEW_TASK),
        Scenario("patch", "PATCH", "/api/{user}/tasks/{id}", "EdDSA", '{"title": "renamed"}'),
        Scenario("toggle", "PATCH", "/api/{user}/tasks/{id}/complete", "EdDSA"),
    )
}  # fmt: skip


def request_lines(
    scenario: Scenario, tokens: dict[str, dict[str, str]], ids: dict[str, list[int]]
) -> list[str]:
    """One tab-separated line per (user, task) pair for bench/rotate.lua."""
    lines = []
    for user, task_ids in ids.items():
        token = tokens[scenario.alg][user] if scenario.alg else "-"
        for task_id in task_ids if "{id}" in scenario.path else task_ids[:1]:
            path = scenario.path.format(user=user, id=task_id)
            lines.append(f"{scenario.method}\t{path}\t{token}\t{scenario.body or '-'}")
    return lines
