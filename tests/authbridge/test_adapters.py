"""The three entry points over one verifier: Ninja (sync and async), DRF and plain Django."""

import asyncio
import json
import threading
import time
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import RequestFactory
from ninja import NinjaAPI
from ninja.testing import TestAsyncClient, TestClient
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from authbridge import Identity
from authbridge.config import get_verifier
from authbridge.drf import BetterAuthAuthentication
from authbridge.middleware import (
    BetterAuthMiddleware,
    aget_identity,
    get_identity,
    identity_required,
)
from authbridge.ninja import AsyncBetterAuthBearer, BetterAuthBearer, register_auth_errors
from authbridge.users import TokenUser
from tests.authbridge.conftest import JwksServer, bearer
from tests.authbridge.test_auth_http import tamper

# A project's NinjaAPI as the quick start writes it: nothing registered but the bearer.
bare_api = NinjaAPI(auth=BetterAuthBearer(), urls_namespace="authbridge-bare")
registered_api = NinjaAPI(auth=BetterAuthBearer(), urls_namespace="authbridge-registered")
async_api = NinjaAPI(auth=AsyncBetterAuthBearer(), urls_namespace="authbridge-async")
register_auth_errors(registered_api)


@bare_api.get("/me")
def bare_me(request: HttpRequest) -> dict[str, str]:
    return {"id": request.auth.user_id}  # type: ignore[attr-defined]


@registered_api.get("/me")
def registered_me(request: HttpRequest) -> dict[str, str]:
    return {"id": request.auth.user_id}  # type: ignore[attr-defined]


@async_api.get("/me")
async def async_me(request: HttpRequest) -> dict[str, str]:
    return {"id": request.auth.user_id}  # type: ignore[attr-defined]


# --- Django Ninja ------------------------------------------------------------------------------


def test_bare_ninja_api_answers_a_good_token(make_token: Any) -> None:
    response = TestClient(bare_api).get("/me", headers=bearer(make_token(sub="ann")))
    assert (response.status_code, response.json()) == (200, {"id": "ann"})


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic eDp5"}])
def test_bare_ninja_api_answers_no_token_with_401(headers: dict[str, str]) -> None:
    response = TestClient(bare_api).get("/me", headers=headers)
    assert response.status_code == 401


def test_bare_ninja_api_answers_a_bad_token_with_401_and_its_reason(make_token: Any) -> None:
    response = TestClient(bare_api).get("/me", headers=bearer(tamper(make_token())))
    assert response.status_code == 401
    assert response.json() == {"detail": "The token signature does not verify."}


def test_bare_ninja_api_answers_unavailable_keys_with_503(
    make_token: Any, use_jwks_server: JwksServer
) -> None:
    use_jwks_server.mode = "fail"
    response = TestClient(bare_api).get("/me", headers=bearer(make_token("EdDSA")))
    assert response.status_code == 503
    assert "try again" in response.json()["detail"]


def test_registered_ninja_api_adds_the_challenge_and_retry_after(
    make_token: Any, use_jwks_server: JwksServer
) -> None:
    client = TestClient(registered_api)
    refused = client.get("/me", headers=bearer(tamper(make_token("HS256"))))
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith('Bearer realm="todo-api", error="invalid_token"')
    missing = client.get("/me")
    assert (missing.status_code, missing["WWW-Authenticate"]) == (401, 'Bearer realm="todo-api"')
    use_jwks_server.mode = "fail"
    unavailable = client.get("/me", headers=bearer(make_token("EdDSA")))
    assert unavailable.status_code == 503
    assert int(unavailable["Retry-After"]) >= 1


def test_the_realm_is_a_setting(settings: Any) -> None:
    settings.BETTER_AUTH_REALM = "billing"
    response = TestClient(registered_api).get("/me")
    assert response["WWW-Authenticate"] == 'Bearer realm="billing"'


def verify_threads(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """The threads Verifier.verify ran on, in order."""
    verifier = get_verifier()
    threads: list[threading.Thread] = []
    original = verifier.verify

    def recording(raw: str) -> Identity:
        threads.append(threading.current_thread())
        return original(raw)

    monkeypatch.setattr(verifier, "verify", recording)
    return threads


def test_async_bearer_fetches_off_the_loop_and_verifies_cached_keys_on_it(
    make_token: Any, use_jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = verify_threads(monkeypatch)
    client = TestAsyncClient(async_api)
    loop_threads: list[threading.Thread] = []

    async def call() -> Any:
        loop_threads.append(threading.current_thread())
        return await client.get("/me", headers=bearer(make_token("EdDSA", sub="kim")))

    first, second = asyncio.run(call()), asyncio.run(call())
    assert (first.status_code, first.json()) == (200, {"id": "kim"})
    assert (second.status_code, second.json()) == (200, {"id": "kim"})
    assert use_jwks_server.requests == 1
    assert threads[0] is not loop_threads[0]  # the fetch ran on a worker thread
    assert threads[1] is loop_threads[1]  # cached keys: verified on the loop


def test_async_bearer_verifies_hmac_tokens_on_the_loop(
    make_token: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = verify_threads(monkeypatch)
    loop_thread: list[threading.Thread] = []

    async def call() -> Any:
        loop_thread.append(threading.current_thread())
        return await TestAsyncClient(async_api).get("/me", headers=bearer(make_token("HS256")))

    assert asyncio.run(call()).status_code == 200
    assert threads == loop_thread


def test_async_bearer_refuses_like_the_sync_one(
    make_token: Any, use_jwks_server: JwksServer
) -> None:
    client = TestAsyncClient(async_api)
    bad = bearer(tamper(make_token("HS256")))  # refused without fetching keys
    assert asyncio.run(client.get("/me", headers=bad)).status_code == 401
    assert asyncio.run(client.get("/me")).status_code == 401
    use_jwks_server.mode = "fail"
    unavailable = asyncio.run(client.get("/me", headers=bearer(make_token("EdDSA"))))
    assert unavailable.status_code == 503


# --- Django REST framework ---------------------------------------------------------------------


class MeView(APIView):
    authentication_classes = (BetterAuthAuthentication,)
    permission_classes = (IsAuthenticated,)

    def get(self, request: Any) -> Response:
        assert isinstance(request.auth, Identity)
        return Response({"id": request.user.id, "user": type(request.user).__name__})


def drf_get(headers: dict[str, str] | None = None) -> Any:
    request = APIRequestFactory().get("/me", headers=headers or {})
    response = MeView.as_view()(request)
    response.render()
    return response


def test_drf_answers_a_good_token_with_a_token_user(make_token: Any) -> None:
    response = drf_get(bearer(make_token(sub="ann")))
    assert (response.status_code, response.data) == (200, {"id": "ann", "user": "TokenUser"})


def test_drf_answers_a_bad_token_with_401_and_the_bearer_challenge(make_token: Any) -> None:
    response = drf_get(bearer(tamper(make_token())))
    assert response.status_code == 401  # not DRF's 403: the class has a challenge
    assert response["WWW-Authenticate"].startswith('Bearer realm="todo-api", error="invalid_token"')
    assert response.data == {"detail": "The token signature does not verify."}


def test_drf_answers_no_token_with_401_and_the_bare_challenge() -> None:
    response = drf_get()
    assert (response.status_code, response["WWW-Authenticate"]) == (401, 'Bearer realm="todo-api"')


def test_drf_answers_unavailable_keys_with_503_and_retry_after(
    make_token: Any, use_jwks_server: JwksServer
) -> None:
    use_jwks_server.mode = "fail"
    response = drf_get(bearer(make_token("EdDSA")))
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    assert "try again" in response.data["detail"]


def load_user(identity: Identity) -> Any:
    return None if identity.user_id == "stranger" else {"loaded": identity.user_id}


def test_drf_uses_the_user_loader(settings: Any, make_token: Any) -> None:
    settings.BETTER_AUTH_USER_LOADER = f"{__name__}.load_user"
    request = APIRequestFactory().get("/me", headers=bearer(make_token(sub="ann")))
    authenticated = BetterAuthAuthentication().authenticate(MeView().initialize_request(request))
    assert authenticated is not None
    user, identity = authenticated
    assert user == {"loaded": "ann"}
    assert identity.user_id == "ann"
    refused = drf_get(bearer(make_token(sub="stranger")))
    assert refused.status_code == 401
    assert refused.data == {"detail": "The token's user is not known here."}


def test_token_user_is_stateless(make_token: Any) -> None:
    # No django_db mark: any database query in here would raise.
    assert drf_get(bearer(make_token(sub="ann"))).status_code == 200
    user = TokenUser(Identity("ann", "a@example.com", "Ann", {}))
    assert (user.is_authenticated, user.is_anonymous, user.pk, str(user)) == (
        True,
        False,
        "ann",
        "ann",
    )
    assert not user.has_perm("tasks.view_task")


# --- plain Django ------------------------------------------------------------------------------


def counting_verifier(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    verifier = get_verifier()
    original = verifier.verify

    def counting(raw: str) -> Identity:
        calls.append(raw)
        return original(raw)

    monkeypatch.setattr(verifier, "verify", counting)
    return calls


def test_middleware_verifies_only_when_the_identity_is_read(
    make_token: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting_verifier(monkeypatch)
    seen: list[Any] = []

    def untouched(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    def reading(request: HttpRequest) -> HttpResponse:
        identity = request.identity  # type: ignore[attr-defined]
        seen.append((bool(identity), identity.user_id if identity else None))
        seen.append(request.identity.user_id)  # type: ignore[attr-defined]
        return HttpResponse("ok")

    request = RequestFactory().get("/", headers=bearer(make_token(sub="ann")))
    assert BetterAuthMiddleware(untouched)(request).status_code == 200
    assert calls == []
    BetterAuthMiddleware(reading)(RequestFactory().get("/", headers=bearer(make_token(sub="ann"))))
    assert seen == [(True, "ann"), "ann"]
    assert len(calls) == 1  # once per request


@pytest.mark.parametrize("kind", ["none", "bad"])
def test_middleware_identity_is_falsy_without_a_good_token(make_token: Any, kind: str) -> None:
    headers = {} if kind == "none" else bearer(tamper(make_token()))
    seen: list[bool] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(bool(request.identity))  # type: ignore[attr-defined]
        return HttpResponse("ok")

    BetterAuthMiddleware(view)(RequestFactory().get("/", headers=headers))
    assert seen == [False]


@identity_required
def sync_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"id": request.identity.user_id})  # type: ignore[attr-defined]


@identity_required
async def async_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"id": request.identity.user_id})  # type: ignore[attr-defined]


def call_view(view: Any, headers: dict[str, str]) -> HttpResponse:
    request = RequestFactory().get("/", headers=headers)
    response = view(request)
    return asyncio.run(response) if asyncio.iscoroutine(response) else response  # type: ignore[no-any-return]


@pytest.mark.parametrize("view", [sync_view, async_view], ids=["sync", "async"])
def test_identity_required_answers_a_good_token(view: Any, make_token: Any) -> None:
    response = call_view(view, bearer(make_token(sub="ann")))
    assert (response.status_code, json.loads(response.content)) == (200, {"id": "ann"})


@pytest.mark.parametrize("view", [sync_view, async_view], ids=["sync", "async"])
def test_identity_required_refuses_with_the_same_answers(
    view: Any, make_token: Any, use_jwks_server: JwksServer
) -> None:
    missing = call_view(view, {})
    assert (missing.status_code, missing["WWW-Authenticate"]) == (401, 'Bearer realm="todo-api"')
    bad = call_view(view, bearer(tamper(make_token("HS256"))))
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad["WWW-Authenticate"]
    assert json.loads(bad.content) == {"detail": "The token signature does not verify."}
    use_jwks_server.mode = "fail"
    unavailable = call_view(view, bearer(make_token("EdDSA")))
    assert unavailable.status_code == 503
    assert int(unavailable["Retry-After"]) >= 1


def test_get_identity_and_aget_identity_agree(make_token: Any) -> None:
    token = make_token(sub="ann")
    sync_identity = get_identity(RequestFactory().get("/", headers=bearer(token)))
    async_identity = asyncio.run(aget_identity(RequestFactory().get("/", headers=bearer(token))))
    assert sync_identity == async_identity
    assert sync_identity is not None
    assert sync_identity.user_id == "ann"
    assert get_identity(RequestFactory().get("/")) is None


# --- typed access to the Identity --------------------------------------------------------------


def test_identity_of_reads_only_an_identity(make_token: Any) -> None:
    from authbridge import identity_of, identity_required_of

    request = RequestFactory().get("/")
    assert identity_of(request) is None
    request.auth = "a string another auth class set"  # type: ignore[attr-defined]
    assert identity_of(request) is None
    with pytest.raises(RuntimeError, match="authenticated"):
        identity_required_of(request)
    iat = int(time.time()) - 60
    identity = get_verifier().verify(make_token("HS256", sub="ann", iat=iat))
    request.auth = identity  # type: ignore[attr-defined]
    assert identity_required_of(request) is identity
    assert identity.issued_at == float(iat)
    assert Identity("x", None, None, {"iat": True}).issued_at is None
