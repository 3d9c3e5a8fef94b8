"""Token verification throughput per algorithm, in process, with pinned keys (no network)."""

import json
import os
import time
import timeit
from functools import partial
from typing import Any

import django
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

ROUNDS = 2000


def main() -> None:
    signing: dict[str, Any] = {
        "EdDSA": ed25519.Ed25519PrivateKey.generate(),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }
    jwks = [
        {**json.loads(OKPAlgorithm.to_jwk(signing["EdDSA"].public_key())), "alg": "EdDSA"},
        {**json.loads(ECAlgorithm.to_jwk(signing["ES256"].public_key())), "alg": "ES256"},
        {**json.loads(RSAAlgorithm.to_jwk(signing["RS256"].public_key())), "alg": "RS256"},
    ]
    for jwk in jwks:
        jwk["kid"] = jwk["alg"]
    os.environ["BETTER_AUTH_JWKS"] = json.dumps({"keys": jwks})
    # JWKS tokens need an expected issuer and audience (CONTRACT §2.3).
    os.environ["BETTER_AUTH_ISSUER"] = os.environ["BETTER_AUTH_AUDIENCE"] = "https://bench.test"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    django.setup()
    from django.conf import settings

    from authbridge.config import get_config, get_verifier
    from authbridge.tokencache import VerifiedTokens

    now = int(time.time())
    claims = {"sub": "bench-user", "iat": now, "exp": now + 3600, "email": "b@example.com"}
    claims |= {"iss": "https://bench.test", "aud": "https://bench.test"}
    tokens = {"HS256": jwt.encode(claims, settings.BETTER_AUTH_SECRET, algorithm="HS256")}
    for alg, key in signing.items():
        tokens[alg] = jwt.encode(claims, key, algorithm=alg, headers={"kid": alg})
    verifiers = {
        # max_entries=0: every call verifies in full
        "first time": get_config().verifier(VerifiedTokens(max_entries=0)),
        "again (cached)": get_verifier(),
    }
    for label, verifier in verifiers.items():
        for alg, token in tokens.items():
            verifier.verify(token)  # warm up
            seconds = min(timeit.repeat(partial(verifier.verify, token), number=ROUNDS, repeat=3))
            rate, each_us = ROUNDS / seconds, seconds / ROUNDS * 1e6
            print(f"verify {alg:<6} {label:<15} {rate:9.0f} tokens/s   {each_us:7.1f} µs each")


if __name__ == "__main__":
    main()
