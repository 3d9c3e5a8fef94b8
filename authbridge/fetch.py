"""fetch_json: GET one JSON document within a deadline; no redirects, no proxy unless configured.

The deadline covers name resolution and connecting too. getaddrinfo() has no timeout and cannot
be interrupted, so the lookup runs in a daemon thread (one that never holds up the process's
exit) and the fetch waits for it only until the deadline. A lookup that hangs keeps its thread
until the resolver answers, so there are at most RESOLVER_THREADS of them per process: while all
are taken, a fetch fails at once instead of starting another. A resolver that never answers
thus costs a few threads, not one per fetch (a failed fetch keeps the stale keys and backs off).
"""

import contextlib
import http.client
import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

JSON_TYPES = frozenset({"application/json", "application/jwk-set+json"})
CHUNK_BYTES = 16 * 1024
RESOLVER_THREADS = 2
RESOLVER_THREAD_NAME = "jwks-resolver"

Address = tuple[Any, ...]  # one getaddrinfo() entry: (family, type, proto, canonname, sockaddr)
Resolver = Callable[[str, int], Sequence[Address]]

_resolver_slots = threading.BoundedSemaphore(RESOLVER_THREADS)


class FetchError(OSError):
    """The document could not be had: wrong status (a redirect too), type, size, or too slow."""


def resolve_tcp(host: str, port: int) -> Sequence[Address]:
    """The host's addresses for a TCP connection (the lookup socket.create_connection makes)."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def resolve_within(host: str, port: int, resolver: Resolver, seconds: float) -> Sequence[Address]:
    """``resolver(host, port)`` in a resolver thread, waited for at most ``seconds``."""
    if not _resolver_slots.acquire(blocking=False):
        raise FetchError(f"not resolving {host!r}: {RESOLVER_THREADS} earlier lookups still hang")
    answers: queue.SimpleQueue[Sequence[Address] | Exception] = queue.SimpleQueue()

    def look_up() -> None:
        try:
            answer: Sequence[Address] | Exception = resolver(host, port)
        except Exception as exc:  # handed to the fetch, unless it gave up waiting
            answer = exc
        finally:
            _resolver_slots.release()  # before answering: the next fetch finds the slot free
        answers.put(answer)

    try:
        threading.Thread(target=look_up, name=RESOLVER_THREAD_NAME, daemon=True).start()
    except BaseException:
        _resolver_slots.release()  # no thread, so nothing else gives the slot back
        raise
    try:
        answer = answers.get(timeout=seconds)
    except queue.Empty:
        raise FetchError(f"{host!r} not resolved in the {seconds:.2g} s left") from None
    if isinstance(answer, Exception):
        raise answer
    return answer


def connect_within(
    address: tuple[str, int], resolver: Resolver, remaining: Callable[[], float]
) -> socket.socket:
    """A TCP connection to the first of the host's addresses that takes one, within the deadline.

    Each attempt may take what is left of the deadline (socket.create_connection, which
    http.client would use, resolves without a timeout and gives each attempt the full one).
    """
    host, port = address
    error: OSError = FetchError(f"no address for {host!r}")
    for family, kind, proto, _, sockaddr in resolve_within(host, port, resolver, remaining()):
        left = remaining()
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(left)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
        else:
            return sock
    raise error


def connection_for(url: str, *, proxy: str, timeout: float) -> tuple[Any, str]:
    """An unopened connection and the request target; through ``proxy`` only when given."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url!r}")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    if not proxy:
        return kind(parts.hostname, parts.port, timeout=timeout), target
    via = urlsplit(proxy)
    if via.scheme != "http" or not via.hostname:
        raise FetchError("the JWKS proxy must be an http:// URL")
    if parts.scheme == "https":  # a CONNECT tunnel: the proxy never sees the document
        connection = kind(via.hostname, via.port or 80, timeout=timeout)
        connection.set_tunnel(parts.hostname, parts.port)
        return connection, target
    return http.client.HTTPConnection(via.hostname, via.port or 80, timeout=timeout), url


def fetch_json(
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    proxy: str = "",
    clock: Callable[[], float] = time.monotonic,
    resolver: Resolver = resolve_tcp,
) -> Mapping[str, Any]:
    """GET a JSON object; ``timeout`` bounds the whole fetch (resolve, connect, headers, body).

    Raises FetchError (an OSError) or ValueError. A 3xx is a failure, never followed.
    """
    deadline = clock() + timeout
    connection, target = connection_for(url, proxy=proxy, timeout=timeout)

    # Duplicates of the TCP socket, for the watchdog: a TLS wrap or getresponse() may replace
    # or drop connection.sock, and shutdown() through a duplicate ends the connection itself.
    watched: list[socket.socket] = []
    expired = threading.Event()

    def cut_off() -> None:
        # A server that drips bytes (the TLS handshake, a proxy's CONNECT answer, the headers,
        # the body) defeats per-read timeouts: shut the connection at the deadline.
        expired.set()
        for sock in watched:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def remaining() -> float:
        left = deadline - clock()
        if left <= 0 or expired.is_set():
            raise FetchError(f"no complete answer within {timeout} s")
        return left

    def open_socket(address: tuple[str, int], *_: Any) -> socket.socket:
        sock = connect_within(address, resolver, remaining)
        watched.append(sock.dup())
        remaining()  # the watchdog may have fired before it could see this socket
        return sock

    # http.client's connect() opens its socket through this hook; the rest stays its own (the
    # CONNECT tunnel, TLS with its certificate and host name checks), as it is without a hook.
    connection._create_connection = open_socket
    watchdog = threading.Timer(timeout, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        sock = connection.sock  # kept: getresponse() may drop connection.sock
        sock.settimeout(remaining())
        connection.request("GET", target, headers={"Accept": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            raise FetchError(f"HTTP {response.status} (redirects are not followed)")
        content_type = response.headers.get_content_type()
        if content_type not in JSON_TYPES:
            raise FetchError(f"content type {content_type!r}, not JSON")
        body = bytearray()
        while len(body) <= max_bytes:
            sock.settimeout(remaining())
            chunk = response.read1(min(CHUNK_BYTES, max_bytes + 1 - len(body)))
            if not chunk:
                break
            body += chunk
        remaining()  # a body cut short by the watchdog is a timeout, not a short document
    except FetchError:
        raise
    except OSError as exc:  # a socket timeout, or the watchdog's shutdown seen as a reset
        if isinstance(exc, TimeoutError) or expired.is_set():
            raise FetchError(f"no complete answer within {timeout} s") from exc
        raise
    finally:
        watchdog.cancel()
        connection.close()
        for duplicate in watched:
            duplicate.close()
    if len(body) > max_bytes:
        raise ValueError(f"the JWKS is larger than {max_bytes} bytes")
    document = json.loads(body)
    if not isinstance(document, Mapping):
        raise ValueError("the JWKS is not a JSON object")
    return document
