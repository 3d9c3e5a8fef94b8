"""fetch_json's deadline covers name resolution and connecting (CONTRACT §2.7), with a bounded
number of resolver threads.

The resolver is injected: ``Loopback`` answers 127.0.0.1 whatever the name, so URLs can carry
made-up host names; ``HungResolver`` never answers until the test ends.
"""

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

import pytest

from authbridge.config import MAX_JWKS_BYTES
from authbridge.errors import KeysUnavailable
from authbridge.fetch import RESOLVER_THREAD_NAME, RESOLVER_THREADS, Address, FetchError, fetch_json
from authbridge.jwks import FetchedJwks
from tests.authbridge.conftest import FakeClock, JwksServer, Loopback, make_verifier

JWKS_HOST = "jwks.test"
HANG_SECONDS = 60  # how long HungResolver would hang if the test did not end it


def named(url: str, host: str = JWKS_HOST) -> str:
    return url.replace("127.0.0.1", host, 1)


def tcp_address(port: int) -> Address:
    return socket.getaddrinfo("127.0.0.1", port, type=socket.SOCK_STREAM)[0]


class HungResolver:
    """A name lookup that answers (with a failure) only once ``release`` is set."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.release = threading.Event()

    def __call__(self, host: str, port: int) -> Sequence[Address]:
        self.hosts.append(host)
        self.release.wait(HANG_SECONDS)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")


def resolver_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == RESOLVER_THREAD_NAME]


@pytest.fixture
def hung_resolver() -> Iterator[HungResolver]:
    resolver = HungResolver()
    yield resolver
    resolver.release.set()
    for thread in resolver_threads():  # their slots are free again for the next test
        thread.join(5)


def fetch(url: str, **options: Any) -> Any:
    return fetch_json(url, max_bytes=MAX_JWKS_BYTES, **{"timeout": 2.0, **options})


# --- name resolution --------------------------------------------------------------------------


def test_the_url_host_is_resolved_through_the_resolver(jwks_server: JwksServer) -> None:
    loopback = Loopback()
    document = fetch(named(jwks_server.url), resolver=loopback)
    assert document["keys"] == jwks_server.document["keys"]
    assert loopback.hosts == [JWKS_HOST]


def test_a_hung_resolver_is_cut_off_by_the_deadline(
    jwks_server: JwksServer, hung_resolver: HungResolver
) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match=f"'{JWKS_HOST}' not resolved"):
        fetch(named(jwks_server.url), timeout=0.5, resolver=hung_resolver)
    assert time.monotonic() - started < 10 * 0.5  # the resolver would have hung HANG_SECONDS
    assert not hung_resolver.release.is_set()  # the lookup still hangs: the deadline ended it
    assert (hung_resolver.hosts, jwks_server.requests) == ([JWKS_HOST], 0)


def test_a_hung_resolver_costs_at_most_resolver_threads_threads(
    jwks_server: JwksServer, hung_resolver: HungResolver
) -> None:
    url = named(jwks_server.url)
    for _ in range(RESOLVER_THREADS):
        with pytest.raises(FetchError, match="not resolved"):
            fetch(url, timeout=0.2, resolver=hung_resolver)
    started = time.monotonic()
    for _ in range(5):
        with pytest.raises(FetchError, match="earlier lookups still hang"):
            fetch(url, timeout=10, resolver=hung_resolver)
    assert time.monotonic() - started < 5  # at once: none of them waited for its 10 s deadline
    assert len(hung_resolver.hosts) == RESOLVER_THREADS  # no lookup started for them
    assert len(resolver_threads()) == RESOLVER_THREADS
    hung_resolver.release.set()  # the resolver answers at last: the threads end, slots free
    for thread in resolver_threads():
        thread.join(5)
    assert fetch(url, resolver=Loopback())["keys"] == jwks_server.document["keys"]


def test_a_failed_lookup_is_a_failed_fetch_and_frees_its_thread(jwks_server: JwksServer) -> None:
    def unknown(host: str, port: int) -> Sequence[Address]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    for _ in range(2 * RESOLVER_THREADS + 1):
        with pytest.raises(socket.gaierror, match="not known"):
            fetch(named(jwks_server.url), resolver=unknown)
    assert fetch(named(jwks_server.url), resolver=Loopback())["keys"]


# --- connecting -------------------------------------------------------------------------------


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A loopback port where a connect hangs: its backlog is full, so Linux drops the SYNs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):  # fills the backlog
            yield port


def test_connecting_gets_only_what_is_left_of_the_deadline(
    clock: FakeClock, unanswered_port: int
) -> None:
    def slow(host: str, port: int) -> Sequence[Address]:
        clock.advance(9.8)  # the lookup took nearly all of the 10 s
        return [tcp_address(unanswered_port)]

    url = f"http://{JWKS_HOST}:{unanswered_port}/jwks"
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"within 10\.0 s"):
        fetch(url, timeout=10.0, clock=clock, resolver=slow)
    assert time.monotonic() - started < 5  # 0.2 s left to connect, not another 10 s


def test_each_address_is_tried_in_turn(jwks_server: JwksServer) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = tcp_address(closed.getsockname()[1])  # nothing listens there any more

    def two(host: str, port: int) -> Sequence[Address]:
        return [refused, tcp_address(port)]

    assert fetch(named(jwks_server.url), resolver=two)["keys"] == jwks_server.document["keys"]
    assert jwks_server.requests == 1


def test_a_cold_verifier_with_a_hung_resolver_is_keys_unavailable_in_time(
    make_token: Any, jwks_server: JwksServer, hung_resolver: HungResolver
) -> None:
    source = FetchedJwks(
        named(jwks_server.url),
        fetch=partial(fetch_json, resolver=hung_resolver),
        ttl=300,
        cooldown=30,
        timeout=0.5,
        max_bytes=MAX_JWKS_BYTES,
    )
    started = time.monotonic()
    with pytest.raises(KeysUnavailable):  # 503 with Retry-After, as for any cold outage
        make_verifier(jwks=source).verify(make_token("EdDSA"))
    assert time.monotonic() - started < 10 * 0.5
    assert hung_resolver.hosts == [JWKS_HOST]
