"""Attacks on token verification, one table per rule (CONTRACT §2.4, §2.5, §2.6, §2.9).

Hostile tokens are built by hand (base64url segments, hmac, cryptography) so that no
library guard on the signing side hides what the verifier would accept.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import string
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from jwt.algorithms import OKPAlgorithm

from authbridge.config import get_verifier
from authbridge.errors import InvalidToken
from authbridge.header import MAX_TOKEN_BYTES, NOT_A_JWT_HINT, check_header
from authbridge.keys import PinnedJwks, parse_jwks
from authbridge.verify import Verifier
from tests.authbridge.conftest import JwksServer, make_verifier
from tests.conftest import TEST_SECRET, TestKeys

PEM, DER = serialization.Encoding.PEM, serialization.Encoding.DER
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
RAW = serialization.PublicFormat.Raw


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value).encode())


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{segment(header)}.{segment(claims)}."


def hmac_signed(alg: str, header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signing_input = f"{segment({**header, 'alg': alg})}.{segment(claims)}"
    signature = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def ecdsa_signed(
    alg: str, private: ec.EllipticCurvePrivateKey, header: dict[str, Any], claims: dict[str, Any]
) -> str:
    """JWS ECDSA (r || s) with any curve: PyJWT itself refuses a curve that does not fit alg."""
    digest = {"ES256": hashes.SHA256(), "ES384": hashes.SHA384(), "ES512": hashes.SHA512()}[alg]
    signing_input = f"{segment({**header, 'alg': alg})}.{segment(claims)}"
    r, s = decode_dss_signature(private.sign(signing_input.encode(), ec.ECDSA(digest)))
    size = (private.curve.key_size + 7) // 8
    return f"{signing_input}.{b64url(r.to_bytes(size, 'big') + s.to_bytes(size, 'big'))}"


def refused(verifier: Verifier, token: str) -> InvalidToken:
    with pytest.raises(InvalidToken) as error:
        verifier.verify(token)
    return error.value


@pytest.fixture
def claims(make_token: Any) -> dict[str, Any]:
    """Valid claims (exp, iss, aud, sub) for hand-built tokens."""
    payload = make_token("HS256").split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "==")))


# --- alg: none and unknown algorithms (§2.4) ---------------------------------------------------

ALG_NOT_ACCEPTED = [
    pytest.param({"alg": "none"}, id="none"),
    pytest.param({"alg": "None"}, id="None"),
    pytest.param({"alg": "NONE"}, id="NONE"),
    pytest.param({"alg": "nOnE"}, id="nOnE"),
    pytest.param({"alg": "none", "kid": "test-eddsa"}, id="none-with-a-real-kid"),
    pytest.param({"alg": ""}, id="empty"),
    pytest.param({"alg": "HS1"}, id="HS1"),
    pytest.param({"alg": "RS1"}, id="RS1"),
    pytest.param({"alg": "ES256K"}, id="ES256K"),
    pytest.param({"alg": "Ed448"}, id="Ed448"),
    pytest.param({"alg": "hs256"}, id="lowercase-hs256"),
    pytest.param({"alg": "HS256 "}, id="trailing-space"),
    pytest.param({"alg": "dir"}, id="jwe-dir"),
    pytest.param({"alg": ["EdDSA"]}, id="list"),
    pytest.param({"alg": 256}, id="number"),
    pytest.param({"kid": "test-eddsa"}, id="missing"),
]


@pytest.mark.parametrize("header", ALG_NOT_ACCEPTED)
def test_unaccepted_algorithms_are_refused(
    pinned_verifier: Verifier, claims: dict[str, Any], header: dict[str, Any]
) -> None:
    assert refused(pinned_verifier, unsigned(header, claims)).reason == "alg_not_allowed"


# --- algorithm confusion: HMAC keyed with public key material (§2.4) --------------------------

PUBLIC_MATERIAL: dict[str, Callable[[TestKeys], bytes]] = {
    "rsa-pem": lambda k: k.rsa.public_key().public_bytes(PEM, SPKI),
    "rsa-der": lambda k: k.rsa.public_key().public_bytes(DER, SPKI),
    "rsa-jwk-n": lambda k: k.public_jwk("RS256")["n"].encode(),
    "ed25519-pem": lambda k: k.ed25519.public_key().public_bytes(PEM, SPKI),
    "ed25519-raw": lambda k: k.ed25519.public_key().public_bytes(serialization.Encoding.Raw, RAW),
    "ed25519-jwk-json": lambda k: json.dumps(k.public_jwk("EdDSA")).encode(),
    "p256-pem": lambda k: k.p256.public_key().public_bytes(PEM, SPKI),
}


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize("material", list(PUBLIC_MATERIAL))
def test_hmac_signed_with_a_jwks_public_key_is_refused(
    pinned_verifier: Verifier, keys: TestKeys, claims: dict[str, Any], alg: str, material: str
) -> None:
    kid = {"r": "test-rs256", "e": "test-eddsa", "p": "test-es256"}[material[0]]
    token = hmac_signed(alg, {"kid": kid}, claims, PUBLIC_MATERIAL[material](keys))
    assert refused(pinned_verifier, token).reason == "bad_signature"


def test_hand_signed_hmac_token_with_the_secret_verifies(
    pinned_verifier: Verifier, claims: dict[str, Any]
) -> None:
    """Control for the table above: the hand-built token is otherwise valid."""
    token = hmac_signed("HS384", {"kid": "test-rs256"}, claims, TEST_SECRET.encode())
    assert pinned_verifier.verify(token).user_id == "user-1"


# --- a key whose type, curve, alg or use does not fit the header's alg (§2.4) -------------------


@pytest.fixture
def mismatch_verifier(keys: TestKeys) -> Verifier:
    """All test keys, plus a P-256 key that declares no alg and an RSA key marked "enc"."""
    p256_no_alg = {
        k: v for k, v in keys.public_jwk("ES256", kid="p256-no-alg").items() if k != "alg"
    }
    rsa_enc = {**keys.public_jwk("RS256", kid="rsa-enc"), "use": "enc"}
    document = {"keys": [*keys.jwks()["keys"], p256_no_alg, rsa_enc]}
    return make_verifier(jwks=PinnedJwks(parse_jwks(document)))


KEY_MISMATCH = [
    pytest.param(lambda mk, k, c: mk("ES256", kid="test-rs256"), id="es256-header-rsa-kid"),
    pytest.param(lambda mk, k, c: mk("RS256", kid="test-es256"), id="rs256-header-ec-kid"),
    pytest.param(lambda mk, k, c: mk("EdDSA", kid="test-es256"), id="eddsa-header-ec-kid"),
    pytest.param(lambda mk, k, c: mk("RS256", kid="test-eddsa"), id="rs256-header-okp-kid"),
    pytest.param(lambda mk, k, c: mk("RS256", kid="test-ps256"), id="rs256-jwk-declares-ps256"),
    pytest.param(lambda mk, k, c: mk("PS256", kid="test-rs256"), id="ps256-jwk-declares-rs256"),
    pytest.param(lambda mk, k, c: mk("RS512", kid="test-rs256"), id="rs512-jwk-declares-rs256"),
    pytest.param(lambda mk, k, c: mk("ES512", kid="test-es384"), id="es512-header-p384-kid"),
    pytest.param(
        lambda mk, k, c: ecdsa_signed("ES384", k.p256, {"kid": "p256-no-alg"}, c),
        id="es384-signed-with-a-p256-key",
    ),
    pytest.param(lambda mk, k, c: mk("RS256", kid="rsa-enc"), id="rsa-key-for-encryption"),
]


@pytest.mark.parametrize("build", KEY_MISMATCH)
def test_key_that_does_not_fit_the_alg_is_refused(
    mismatch_verifier: Verifier, make_token: Any, keys: TestKeys, claims: dict[str, Any], build: Any
) -> None:
    assert refused(mismatch_verifier, build(make_token, keys, claims)).reason == "key_mismatch"


def test_es256_with_the_p256_key_that_declares_no_alg_verifies(
    mismatch_verifier: Verifier, keys: TestKeys, claims: dict[str, Any]
) -> None:
    """Control for es384-signed-with-a-p256-key: only the curve is wrong there."""
    token = ecdsa_signed("ES256", keys.p256, {"kid": "p256-no-alg"}, claims)
    assert mismatch_verifier.verify(token).user_id == "user-1"


# --- jku / x5u / jwk / x5c are never followed or trusted (§2.5) --------------------------------


def self_signed_certificate(private: ed25519.Ed25519PrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(private, None)
    )
    return base64.b64encode(certificate.public_bytes(DER)).decode()


@pytest.fixture
def attacker() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture
def attacker_server(
    jwks_server_factory: Callable[..., JwksServer], attacker: ed25519.Ed25519PrivateKey
) -> JwksServer:
    """Serves the attacker's public key under the real key's kid, as a jku target would."""
    jwk = json.loads(OKPAlgorithm.to_jwk(attacker.public_key()))
    return jwks_server_factory({"keys": [{**jwk, "alg": "EdDSA", "kid": "test-eddsa"}]})


EMBEDDED_KEY_HEADERS = ["jwk", "jku", "x5u", "x5c"]


@pytest.mark.parametrize("field", EMBEDDED_KEY_HEADERS)
def test_embedded_key_headers_are_never_trusted(
    make_token: Any,
    use_jwks_server: JwksServer,
    attacker_server: JwksServer,
    attacker: ed25519.Ed25519PrivateKey,
    field: str,
) -> None:
    value = {
        "jwk": {**attacker_server.document["keys"][0]},
        "jku": attacker_server.url,
        "x5u": attacker_server.url,
        "x5c": [self_signed_certificate(attacker)],
    }[field]
    token = make_token("EdDSA", key=attacker, kid="test-eddsa", headers={field: value})
    assert refused(get_verifier(), token).reason == "embedded_key"
    assert attacker_server.requests == 0
    assert use_jwks_server.requests == 0  # refused before any key lookup: no fetch, no 503


@pytest.mark.parametrize("field", EMBEDDED_KEY_HEADERS)
@pytest.mark.parametrize("alg", ["EdDSA", "HS256"])
def test_an_embedded_key_header_is_refused_even_on_a_genuinely_signed_token(
    make_token: Any,
    attacker_server: JwksServer,
    attacker: ed25519.Ed25519PrivateKey,
    field: str,
    alg: str,
) -> None:
    # Better Auth never sets these (RFC 8725 §3.10): whoever did is not Better Auth.
    value = {"jwk": {"kty": "OKP"}, "jku": attacker_server.url, "x5u": attacker_server.url}.get(
        field, [self_signed_certificate(attacker)]
    )
    token = make_token(alg, headers={field: value})
    assert refused(get_verifier(), token).reason == "embedded_key"
    assert attacker_server.requests == 0


# --- crit (§2.5) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        pytest.param({"crit": ["b64"], "b64": False}, "crit", id="b64-understood-by-pyjwt"),
        pytest.param({"crit": ["exp"]}, "malformed", id="exp"),
        pytest.param({"crit": ["anything"]}, "malformed", id="unknown-extension"),
        pytest.param({"crit": []}, "malformed", id="empty-list"),
        pytest.param({"crit": "exp"}, "malformed", id="not-a-list"),
    ],
)
@pytest.mark.parametrize("alg", ["HS256", "EdDSA"])
def test_crit_header_is_refused(
    pinned_verifier: Verifier,
    claims: dict[str, Any],
    keys: TestKeys,
    alg: str,
    headers: Any,
    reason: str,
) -> None:
    header = {**headers, "alg": alg, "kid": "test-eddsa"}
    # b64=false (RFC 7797) means an unencoded, detached payload: the segment stays empty.
    signing_input = f"{segment(header)}.{'' if 'b64' in headers else segment(claims)}"
    if alg == "HS256":
        signature = hmac.new(TEST_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    else:
        signature = keys.ed25519.sign(signing_input.encode())
    token = f"{signing_input}.{b64url(signature)}"
    assert refused(pinned_verifier, token).reason == reason


# --- size (§2.6) ------------------------------------------------------------------------------


def test_token_over_8_kib_is_refused_before_parsing(
    pinned_verifier: Verifier, make_token: Any
) -> None:
    assert pinned_verifier.verify(make_token(padding="x" * 5000)).user_id == "user-1"  # control
    big = make_token(padding="x" * MAX_TOKEN_BYTES)
    assert len(big) > MAX_TOKEN_BYTES
    assert refused(pinned_verifier, big).reason == "too_long"
    # Garbage of the same size: refused for its size, so nothing looked inside.
    assert refused(pinned_verifier, "!" * (MAX_TOKEN_BYTES + 1)).reason == "too_long"


# --- Better Auth's opaque session token instead of a JWT (§2.9) --------------------------------

ALPHANUMERIC = string.ascii_letters + string.digits


def session_token() -> str:
    return "".join(secrets.choice(ALPHANUMERIC) for _ in range(32))


SIGNATURE = base64.b64encode(secrets.token_bytes(32)).decode()

OPAQUE_TOKENS = [
    pytest.param(session_token(), id="bearer-plugin-session-token"),
    pytest.param(f"{session_token()}.{SIGNATURE}", id="signed-session-cookie"),
    pytest.param(f"{session_token()}.{SIGNATURE}".replace("=", "%3D"), id="url-encoded-cookie"),
]


@pytest.mark.parametrize("token", OPAQUE_TOKENS)
def test_better_auth_session_token_gets_a_hint(pinned_verifier: Verifier, token: str) -> None:
    error = refused(pinned_verifier, token)
    assert error.reason == "not_a_jwt"
    assert error.description == NOT_A_JWT_HINT
    assert "/api/auth/token" in error.description
    assert "authClient.token()" in error.description


# --- forged and tampered tokens ------------------------------------------------------------------


def test_tampered_payload_is_refused(
    pinned_verifier: Verifier, make_token: Any, claims: dict[str, Any]
) -> None:
    header, _, signature = make_token("EdDSA").split(".")
    forged = f"{header}.{segment({**claims, 'sub': 'admin'})}.{signature}"
    assert refused(pinned_verifier, forged).reason == "bad_signature"


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256", "HS256"])
def test_stripped_signature_is_refused(
    pinned_verifier: Verifier, make_token: Any, alg: str
) -> None:
    header, payload, _ = make_token(alg).split(".")
    assert refused(pinned_verifier, f"{header}.{payload}.").reason == "bad_signature"


def test_token_signed_by_a_stranger_is_refused(
    pinned_verifier: Verifier, make_token: Any, attacker: ed25519.Ed25519PrivateKey
) -> None:
    with_known_kid = make_token("EdDSA", key=attacker)
    assert refused(pinned_verifier, with_known_kid).reason == "bad_signature"
    with_unknown_kid = make_token("EdDSA", key=attacker, kid="attacker")
    assert refused(pinned_verifier, with_unknown_kid).reason == "unknown_kid"


def test_kid_that_is_not_a_string_is_refused(
    pinned_verifier: Verifier, claims: dict[str, Any]
) -> None:
    token = unsigned({"alg": "EdDSA", "kid": 7}, claims)
    # PyJWT's header reader refuses it first ...
    assert refused(pinned_verifier, token).reason == "malformed"
    # ... and check_header, read_header's own check, is the second line.
    with pytest.raises(InvalidToken) as error:
        check_header({"alg": "EdDSA", "kid": 7})
    assert error.value.reason == "malformed_kid"


@pytest.mark.parametrize("alg", ["HS256", "EdDSA"])
def test_sub_with_nul_is_refused(pinned_verifier: Verifier, make_token: Any, alg: str) -> None:
    assert refused(pinned_verifier, make_token(alg, sub="ann\x00")).reason == "bad_sub"


# A segment that cannot be read is "malformed"; a payload that reads but is no claims object
# is only looked at after the signature, which these tokens (signed "sig") lack.
HS256, NOT_JSON = segment({"alg": "HS256"}), b64url(b"not json")
MALFORMED = [
    pytest.param(lambda c: "a.b.c", "malformed", id="garbage-segments"),
    pytest.param(lambda c: f"{HS256}.@@@.c2ln", "malformed", id="payload-not-base64"),
    pytest.param(lambda c: f"{HS256}..c2ln", "bad_signature", id="empty-payload"),
    pytest.param(lambda c: f"{HS256}.WzFd.c2ln", "bad_signature", id="payload-a-list"),
    pytest.param(lambda c: f"{NOT_JSON}.{segment(c)}.c2ln", "malformed", id="header-not-json"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "reason"), MALFORMED)
def test_malformed_tokens_are_refused(
    pinned_verifier: Verifier, claims: dict[str, Any], build: Any, reason: str
) -> None:
    assert refused(pinned_verifier, build(claims)).reason == reason


def test_a_payload_that_is_no_claims_object_is_malformed_once_signed(
    pinned_verifier: Verifier, claims: dict[str, Any]
) -> None:
    """The same payloads with a good signature: now the payload itself is what is refused."""
    for payload in (b"", b"[1]"):
        signing_input = f"{HS256}.{b64url(payload)}"
        signature = hmac.new(TEST_SECRET.encode(), signing_input.encode(), hashlib.sha256)
        token = f"{signing_input}.{b64url(signature.digest())}"
        assert refused(pinned_verifier, token).reason == "malformed", payload
