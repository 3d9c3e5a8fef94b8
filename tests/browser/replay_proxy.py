"""A pass-through proxy in front of the API for the Next.js server's own calls.

The browser test points the example's TODO_API_SERVER_URL here. Every request is forwarded to
the API as it is and recorded (method, path, Authorization), so the test can see what the
server sent. `POST /__replay {"status": 503, "headers": {...}, "times": 1, "match": "..."}`
makes the next `times` requests (whose path and query hold `match`, when given) answer that
status with `{"detail": "replayed"}` instead of reaching the API
(the API's real 503 and 401, replayed where chromium's routing cannot reach: server to server);
it also clears the record. `GET /__seen` returns the record as JSON.
"""

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


class ReplayState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[dict[str, str]] = []
        self.replay: dict[str, Any] | None = None
        self.remaining = 0


def make_handler(target: str, state: ReplayState) -> type[BaseHTTPRequestHandler]:
    upstream = urlsplit(target)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the test prints what it needs

        def reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []  # Node's fetch streams a cloned Request's body
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def handle_any(self) -> None:
            body = self.read_body()
            if self.path == "/__replay" and self.command == "POST":
                with state.lock:
                    state.replay = json.loads(body)
                    state.remaining = int(state.replay.get("times", 0)) if state.replay else 0
                    state.seen = []
                return self.reply(204, {}, b"")
            if self.path == "/__seen":
                with state.lock:
                    seen = json.dumps(state.seen).encode()
                return self.reply(200, {"Content-Type": "application/json"}, seen)
            with state.lock:
                state.seen.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "authorization": self.headers.get("Authorization", ""),
                        "idempotency_key": self.headers.get("Idempotency-Key", ""),
                    }
                )
                replay = state.replay if state.remaining > 0 else None
                if replay and replay.get("match", "") not in self.path:
                    replay = None  # only requests whose path holds `match` are replayed
                state.remaining -= 1 if replay else 0
            if replay:
                headers = {"Content-Type": "application/json", **replay.get("headers", {})}
                return self.reply(int(replay["status"]), headers, b'{"detail": "replayed"}')
            forwarded = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            connection = http.client.HTTPConnection(
                upstream.hostname or "127.0.0.1", upstream.port or 80, timeout=30
            )
            try:
                connection.request(self.command, self.path, body=body or None, headers=forwarded)
                answer = connection.getresponse()
                content = answer.read()
                headers = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP}
                self.reply(answer.status, headers, content)
            finally:
                connection.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    return Handler


@contextmanager
def replay_proxy(target: str) -> Iterator[str]:
    """Serve the proxy on a free loopback port; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(target, ReplayState()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
