"""fetch_json: GET one JSON document within a deadline; no redirects, no proxy unless configured."""

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

JSON_TYPES = frozenset({"application/json", "application/jwk-set+json"})
CHUNK_BYTES = 16 * 1024


class FetchError(OSError):
    """The document could not be had: wrong status (a redirect too), type, size, or too slow."""


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
) -> Mapping[str, Any]:
    """GET a JSON object; ``timeout`` bounds the whole fetch (connect, headers, body).

    Raises FetchError (an OSError) or ValueError. A 3xx is a failure, never followed.
    """
    deadline = clock() + timeout
    connection, target = connection_for(url, proxy=proxy, timeout=timeout)

    opened: list[socket.socket] = []  # kept: getresponse() may drop connection.sock
    expired = threading.Event()

    def cut_off() -> None:
        # A server that drips bytes defeats per-read timeouts: shut the socket at the deadline.
        expired.set()
        for sock in opened:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def remaining() -> float:
        left = deadline - clock()
        if left <= 0 or expired.is_set():
            raise FetchError(f"no complete answer within {timeout} s")
        return left

    watchdog = threading.Timer(timeout, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        opened.append(connection.sock)
        opened[0].settimeout(remaining())
        connection.request("GET", target, headers={"Accept": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            raise FetchError(f"HTTP {response.status} (redirects are not followed)")
        content_type = response.headers.get_content_type()
        if content_type not in JSON_TYPES:
            raise FetchError(f"content type {content_type!r}, not JSON")
        body = bytearray()
        while len(body) <= max_bytes:
            opened[0].settimeout(remaining())
            chunk = response.read1(min(CHUNK_BYTES, max_bytes + 1 - len(body)))
            if not chunk:
                break
            body += chunk
        remaining()  # a body cut short by the watchdog is a timeout, not a short document
    except TimeoutError as exc:
        raise FetchError(f"no complete answer within {timeout} s") from exc
    finally:
        watchdog.cancel()
        connection.close()
    if len(body) > max_bytes:
        raise ValueError(f"the JWKS is larger than {max_bytes} bytes")
    document = json.loads(body)
    if not isinstance(document, Mapping):
        raise ValueError("the JWKS is not a JSON object")
    return document
