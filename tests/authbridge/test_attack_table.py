"""Attacks on token verification, one table per rule (CONTRACT §2.4, §2.5, §2.9)."""

import base64
import json
import secrets
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm

from authbridge.config import get_verifier
from authbridge.errors import InvalidToken
from tests.authbridge.conftest import JwksServer
from tests.conftest import TestKeys


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64(header)}.{b64(claims)}."


def refused(token: str) -> InvalidToken:
    with pytest.raises(InvalidToken) as error:
        get_verifier().verify(token)
    return error.value


@pytest.fixture
def claims(make_token: Any) -> dict[str, Any]:
    return dict(jwt.decode(make_token("HS256"), options={"verify_signature": False}))


@pytest.mark.parametrize(
    "alg", ["none", "None", "NONE", "nOnE", "", "HS1", "RS1", "ES256K", "Ed25519"]
)
def test_unaccepted_algorithms_are_refused(claims: dict[str, Any], alg: str) -> None:
    assert refused(unsigned({"alg": alg, "typ": "JWT"}, claims)).reason == "alg_not_allowed"


def test_alg_none_with_a_kid_of_a_real_key_is_refused(claims: dict[str, Any]) -> None:
    token = unsigned({"alg": "none", "kid": "test-eddsa"}, claims)
    assert refused(token).reason == "alg_not_allowed"


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize("form", ["pem", "jwk-json", "raw-x"])
def test_hmac_signed_with_the_public_key_is_refused(
    keys: TestKeys, claims: dict[str, Any], alg: str, form: str
) -> None:
    """Algorithm confusion: the JWKS public key used as an HMAC secret."""
    public = keys.ed25519.public_key()
    secret: bytes = {
        "pem": lambda: public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk-json": lambda: json.dumps(keys.public_jwk("EdDSA")).encode(),
        "raw-x": lambda: keys.public_jwk("EdDSA")["x"].encode(),
    }[form]()
    header = {"alg": alg, "kid": "test-eddsa"}
    signing_input = f"{b64(header)}.{b64(claims)}".encode()
    algorithm = jwt.get_algorithm_by_name(alg)
    signature = algorithm.sign(signing_input, secret)  # bypasses PyJWT's PEM-as-HMAC guard
    token = f"{signing_input.decode()}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    assert refused(token).reason == "bad_signature"


@pytest.mark.parametrize(
    ("header_alg", "kid_alg"),
    [
        pytest.param("ES256", "RS256", id="es256-header-rsa-kid"),
        pytest.param("RS256", "ES256", id="rs256-header-ec-kid"),
        pytest.param("ES384", "ES256", id="es384-header-p256-kid"),
        pytest.param("EdDSA", "ES256", id="eddsa-header-ec-kid"),
        pytest.param("PS256", "RS256", id="ps256-header-kid-declares-rs256"),
    ],
)
def test_key_that_does_not_fit_the_alg_is_refused(
    make_token: Any, keys: TestKeys, header_alg: str, kid_alg: str
) -> None:
    token = make_token(header_alg, kid=keys.kid(kid_alg))
    assert refused(token).reason == "key_mismatch"


def test_token_signed_by_an_unknown_key_is_refused(make_token: Any) -> None:
    stranger = ed25519.Ed25519PrivateKey.generate()
    assert refused(make_token("EdDSA", key=stranger)).reason == "bad_signature"
    assert refused(make_token("EdDSA", key=stranger, kid="unknown")).reason == "unknown_kid"


@pytest.mark.parametrize("field", ["jwk", "jku", "x5u", "x5c"])
def test_embedded_key_headers_are_never_trusted(
    make_token: Any, jwks_server: JwksServer, field: str
) -> None:
    attacker = ed25519.Ed25519PrivateKey.generate()
    attacker_jwk = {**json.loads(OKPAlgorithm.to_jwk(attacker.public_key())), "kid": "test-eddsa"}
    value: Any = {
        "jwk": attacker_jwk,
        "jku": jwks_server.url,
        "x5u": jwks_server.url,
        "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
    }[field]
    token = make_token("EdDSA", key=attacker, kid="test-eddsa", headers={field: value})
    assert refused(token).reason == "bad_signature"
    assert jwks_server.requests == 0  # jku/x5u were not followed


def test_embedded_key_headers_do_not_block_a_genuine_token(
    make_token: Any, jwks_server: JwksServer
) -> None:
    token = make_token("EdDSA", headers={"jku": jwks_server.url})
    assert get_verifier().verify(token).user_id == "user-1"
    assert jwks_server.requests == 0


@pytest.mark.parametrize("crit", [["exp"], ["b64"], ["anything"], []])
def test_crit_header_is_refused(make_token: Any, crit: list[str]) -> None:
    # PyJWT's header reader already refuses crit it does not know (reported as malformed).
    assert refused(make_token("EdDSA", headers={"crit": crit})).reason in {"crit", "malformed"}


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(secrets.token_urlsafe(24)[:32], id="bearer-plugin-token"),
        pytest.param(
            f"{secrets.token_urlsafe(24)}.{secrets.token_urlsafe(32)}", id="signed-cookie"
        ),
    ],
)
def test_better_auth_session_token_gets_a_hint(token: str) -> None:
    error = refused(token)
    assert error.reason == "not_a_jwt"
    assert "/api/auth/token" in error.description
    assert "authClient.token()" in error.description


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("a.b.c", id="garbage-segments"),
        pytest.param(f"{b64({'alg': 'HS256'})}.@@@.sig", id="bad-payload"),
        pytest.param("eyJhbGciOiJIUzI1NiJ9..", id="empty-payload"),
        pytest.param(f"{b64({'kid': 'x'})}.{b64({'sub': 'a'})}.", id="no-alg"),
        pytest.param(f"{b64({'alg': 'EdDSA', 'kid': 7})}.{b64({'sub': 'a'})}.", id="kid-not-str"),
    ],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    reasons = {"malformed", "alg_not_allowed", "malformed_kid", "bad_signature"}
    assert refused(token).reason in reasons


def test_tampered_payload_is_refused(make_token: Any, claims: dict[str, Any]) -> None:
    header, _, signature = make_token("EdDSA").split(".")
    forged = f"{header}.{b64({**claims, 'sub': 'admin'})}.{signature}"
    assert refused(forged).reason == "bad_signature"
