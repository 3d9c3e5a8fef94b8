"""Shared fixtures: test keys (generated once per session), a token factory and auth settings."""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

TEST_ISSUER = "http://127.0.0.1:3999"
TEST_SECRET = "test-secret-long-enough-for-hs512-" + "0123456789abcdef" * 2  # 66 chars

ASYMMETRIC_ALGS = (
    "EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
)  # fmt: skip
HMAC_ALGS = ("HS256", "HS384", "HS512")
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


class TestKeys:
    """One private key per key type; ``public_jwk(alg)`` is what a JWKS would publish."""

    __test__ = False  # a helper, not a test class

    def __init__(self) -> None:
        self.ed25519 = ed25519.Ed25519PrivateKey.generate()
        self.p256 = ec.generate_private_key(ec.SECP256R1())
        self.p384 = ec.generate_private_key(ec.SECP384R1())
        self.p521 = ec.generate_private_key(ec.SECP521R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def private_key(self, alg: str) -> Any:
        if alg == "EdDSA":
            return self.ed25519
        if alg.startswith("ES"):
            return {"ES256": self.p256, "ES384": self.p384, "ES512": self.p521}[alg]
        return self.rsa

    @staticmethod
    def kid(alg: str) -> str:
        return f"test-{alg.lower()}"

    def public_jwk(self, alg: str, *, kid: str | None = None) -> dict[str, Any]:
        public = self.private_key(alg).public_key()
        algorithm: Any = {"Ed": OKPAlgorithm, "ES": ECAlgorithm}.get(alg[:2], RSAAlgorithm)
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(public))
        jwk.update(alg=alg, kid=kid or self.kid(alg), use="sig")
        return jwk

    def jwks(self, algs: tuple[str, ...] = ASYMMETRIC_ALGS) -> dict[str, Any]:
        return {"keys": [self.public_jwk(alg) for alg in algs]}


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return TestKeys()


TokenFactory = Callable[..., str]


@pytest.fixture
def make_token(keys: TestKeys) -> TokenFactory:
    """Sign a token like Better Auth would; keyword arguments override or drop (None) claims."""

    def factory(
        alg: str = "EdDSA",
        *,
        sub: str | None = "user-1",
        headers: dict[str, Any] | None = None,
        key: Any = None,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "sub": sub,
            "iat": now,
            "exp": now + 900,
            "iss": TEST_ISSUER,
            "aud": TEST_ISSUER,
            "email": f"{sub}@example.com" if sub else None,
            "name": "Test User",
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        if key is None:
            key = TEST_SECRET if alg.startswith("HS") else keys.private_key(alg)
        header = dict(headers or {})
        if not alg.startswith("HS"):
            header.setdefault("kid", kid or keys.kid(alg))
        return jwt.encode(payload, key, algorithm=alg, headers=header)

    return factory


@pytest.fixture(autouse=True)
def auth_settings(settings: Any, keys: TestKeys) -> Any:
    """A known auth configuration for every test, whatever the developer's .env says."""
    settings.BETTER_AUTH_URL = ""
    settings.BETTER_AUTH_JWKS_URL = ""
    settings.BETTER_AUTH_JWKS = json.dumps(keys.jwks())
    settings.BETTER_AUTH_SECRET = TEST_SECRET
    settings.BETTER_AUTH_SECRETS = ""
    settings.BETTER_AUTH_ISSUER = TEST_ISSUER
    settings.BETTER_AUTH_AUDIENCE = [TEST_ISSUER]
    settings.BETTER_AUTH_LEEWAY_SECONDS = 10
    settings.BETTER_AUTH_MAX_LIFETIME_SECONDS = 86_400
    # The last good JWKS is kept in a cache alias: a private, empty one for every test.
    location = f"authbridge-jwks-{uuid.uuid4().hex}"
    settings.CACHES = {
        **settings.CACHES,
        "authbridge-test": {"BACKEND": LOCMEM, "LOCATION": location},
    }
    settings.BETTER_AUTH_JWKS_CACHE_ALIAS = "authbridge-test"
    settings.BETTER_AUTH_JWKS_PROXY_URL = ""
    return settings


@pytest.fixture(params=["hs256", "eddsa"])
def token_kind(request: pytest.FixtureRequest) -> str:
    """Runs a test once with a shared-secret token and once with a JWKS (EdDSA) token."""
    return str(request.param)


@pytest.fixture
def auth_headers(make_token: TokenFactory, token_kind: str) -> Callable[..., dict[str, str]]:
    """``auth_headers("user-1")`` -> {"HTTP_AUTHORIZATION": "Bearer ..."} for the Django client."""

    def factory(user_id: str = "user-1", **claims: Any) -> dict[str, str]:
        alg = "HS256" if token_kind == "hs256" else "EdDSA"
        return {"HTTP_AUTHORIZATION": f"Bearer {make_token(alg, sub=user_id, **claims)}"}

    return factory


@pytest.fixture
def user_id() -> str:
    """A fresh user id, so hypothesis examples and parallel tests never share data."""
    return f"user-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def generous_rate_limits(settings: Any) -> Iterator[None]:
    """Suites that make many calls as one user are not about rate limits (tests/ops are)."""
    from django.core.cache import cache

    settings.RATE_LIMIT_READS = "100000/min"
    settings.RATE_LIMIT_WRITES = "100000/min"
    cache.clear()
    yield
    cache.clear()
