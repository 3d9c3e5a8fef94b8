"""The last good JWKS in the cache is signed (CONTRACT §2.7): a cache writer cannot plant keys.

Whoever can write to the cache (Redis in production) could otherwise store a JWKS holding
their own public key, and every worker that starts during a Better Auth outage would take it.
"""

import json
import logging
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.core import signing
from django.core.cache import caches
from django.test import Client
from jwt.algorithms import OKPAlgorithm

from authbridge.jwksstore import CachedJwksStore
from tests.authbridge.conftest import JwksServer, bearer
from tests.conftest import TEST_ISSUER, TestKeys

pytestmark = pytest.mark.django_db

URL = "https://auth.example.com/api/auth/jwks"
ATTACKER_KEY = ed25519.Ed25519PrivateKey.generate()
ATTACKER_JWKS = {
    "keys": [
        {
            **json.loads(OKPAlgorithm.to_jwk(ATTACKER_KEY.public_key())),
            "kid": "evil",
            "alg": "EdDSA",
        }
    ]
}


def forged_token(sub: str) -> str:
    claims = {"sub": sub, "iss": TEST_ISSUER, "aud": TEST_ISSUER, "exp": time.time() + 60}
    return jwt.encode(claims, ATTACKER_KEY, algorithm="EdDSA", headers={"kid": "evil"})


def re_dated(entry: str, fetched_at: float) -> str:
    """``entry`` with another fetch time and its original signature (the payload is readable)."""
    body, signature = entry.rsplit(":", 1)
    payload = json.loads(signing.b64_decode(body.encode()))
    payload["fetched_at"] = fetched_at
    return f"{signing.b64_encode(json.dumps(payload).encode()).decode()}:{signature}"


def forge(form: str, store: CachedJwksStore, keys: TestKeys) -> object:
    """What a cache writer could put under the store's key."""
    if form == "unsigned":  # the entry as it was stored before it was signed
        return {"document": ATTACKER_JWKS, "fetched_at": time.time()}
    if form == "signed-with-another-key":
        payload = {"url": store.url, "fetched_at": time.time(), "document": ATTACKER_JWKS}
        return signing.Signer(key="a guess at SECRET_KEY", salt=store.salt).sign_object(payload)
    if form == "not-a-signed-string":
        return "keys, honest"
    cache = caches[store.alias]
    if form == "copied-from-another-url":  # e.g. a staging deployment with the same SECRET_KEY
        staging = CachedJwksStore(store.alias, "https://staging.example.com/api/auth/jwks")
        staging.save(ATTACKER_JWKS)
        return cache.get(staging.key)
    assert form == "re-dated"  # an old genuine entry made to look fresh
    store.save(keys.jwks(("EdDSA",)))
    return re_dated(cache.get(store.key), time.time() + 3600)


FORMS = {
    "unsigned": "it is not a signed entry",
    "signed-with-another-key": "its signature does not verify",
    "not-a-signed-string": "its signature does not verify",
    "copied-from-another-url": "it is signed for another URL",
    "re-dated": "its signature does not verify",
}


@pytest.mark.parametrize(("mode", "status"), [("fail", 503), ("ok", 401)])
def test_a_jwks_planted_in_the_cache_signs_nobody_in(
    client: Client,
    keys: TestKeys,
    settings: Any,
    use_jwks_server: JwksServer,
    mode: str,
    status: int,
) -> None:
    """The reproduced attack: a cache writer's JWKS answered 200 on another user's tasks."""
    store = CachedJwksStore(settings.BETTER_AUTH_JWKS_CACHE_ALIAS, use_jwks_server.url)
    caches[store.alias].set(store.key, forge("unsigned", store, keys), timeout=None)
    use_jwks_server.mode = mode  # Better Auth down (no keys at all) or up (the real keys)
    response = client.get("/api/user-1/tasks", headers=bearer(forged_token("user-1")))
    assert response.status_code == status
    assert use_jwks_server.requests == 1  # the planted entry did not stand in for a fetch


@pytest.mark.parametrize("form", FORMS)
def test_an_entry_that_does_not_verify_is_no_entry_logged_once(
    keys: TestKeys, settings: Any, caplog: pytest.LogCaptureFixture, form: str
) -> None:
    store = CachedJwksStore(settings.BETTER_AUTH_JWKS_CACHE_ALIAS, URL)
    forged = forge(form, store, keys)
    caches[store.alias].set(store.key, forged, timeout=None)
    with caplog.at_level(logging.WARNING, logger="authbridge.jwks"):
        assert [store.load() for _ in range(3)] == [None] * 3  # a cold worker polls
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("authbridge.jwks", f"JWKS cached for {URL} ignored: {FORMS[form]}")
    ]


def test_the_store_keeps_its_import_path_and_its_salt() -> None:
    """It moved from authbridge.jwks to authbridge.jwksstore: the old import still works, and
    entries stored before the move still verify (the salt names the old module)."""
    from authbridge import jwks

    assert jwks.CachedJwksStore is CachedJwksStore
    assert CachedJwksStore.salt == "authbridge.jwks.CachedJwksStore"


def test_an_entry_signed_before_a_secret_key_rotation_still_loads(
    keys: TestKeys, settings: Any
) -> None:
    settings.SECRET_KEY = "old-" + "k" * 50
    store = CachedJwksStore(settings.BETTER_AUTH_JWKS_CACHE_ALIAS, URL)
    store.save(keys.jwks(("EdDSA",)))
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "new-" + "k" * 50, ["old-" + "k" * 50]
    loaded = store.load()
    assert loaded is not None
    assert loaded[0] == keys.jwks(("EdDSA",))
    settings.SECRET_KEY_FALLBACKS = []  # the rotation is over: the old key vouches for nothing
    assert store.load() is None
