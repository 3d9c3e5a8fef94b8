"""HTTPS for the JWKS (CONTRACT §2.7): the certificate and host name are checked as http.client
checks them, directly and through a CONNECT tunnel, over the socket fetch_json opens itself.

The default client context trusts the test certificate only because SSL_CERT_FILE names it;
``Loopback`` resolves the made-up names the certificate is (or is not) for.
"""

import contextlib
import datetime
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from authbridge.config import MAX_JWKS_BYTES
from authbridge.fetch import FetchError, fetch_json
from tests.authbridge.conftest import JwksServer, Loopback

JWKS_HOST = "jwks.test"


def named(url: str, host: str = JWKS_HOST) -> str:
    return url.replace("127.0.0.1", host, 1)


def fetch(url: str, **options: Any) -> Any:
    return fetch_json(url, timeout=2.0, max_bytes=MAX_JWKS_BYTES, **options)


def port_of(server: JwksServer) -> int:
    port = urlsplit(server.url).port
    assert port is not None
    return port


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for JWKS_HOST and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, JWKS_HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(JWKS_HOST)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_server(
    jwks_server_factory: Callable[..., JwksServer], certificate: tuple[Path, Path]
) -> JwksServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return jwks_server_factory(tls=context)


@pytest.fixture
def trusted(monkeypatch: pytest.MonkeyPatch, certificate: tuple[Path, Path]) -> None:
    """The default client context trusts the certificate: OpenSSL reads SSL_CERT_FILE
    whenever a context loads its default CAs."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))


def pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)


class TunnelHandler(socketserver.StreamRequestHandler):
    rbufsize = 0  # read no further than the CONNECT head: the rest belongs to the tunnel

    def handle(self) -> None:
        assert isinstance(self.server, TunnelProxy)
        head = self.rfile.readline().decode().strip()
        while self.rfile.readline() not in (b"\r\n", b""):
            pass
        self.server.heads.append(head)
        port = int(head.split()[1].rpartition(":")[2])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as upstream:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            back = threading.Thread(target=pump, args=(upstream, self.connection), daemon=True)
            back.start()
            pump(self.connection, upstream)
            back.join(5)


class TunnelProxy(socketserver.ThreadingTCPServer):
    """A proxy that only tunnels (CONNECT), to 127.0.0.1 whatever the host; records the heads."""

    daemon_threads = True

    def __init__(self) -> None:
        self.heads: list[str] = []
        super().__init__(("127.0.0.1", 0), TunnelHandler)
        self.url = f"http://proxy.test:{self.server_address[1]}"


@pytest.fixture
def tunnel_proxy() -> Iterator[TunnelProxy]:
    proxy = TunnelProxy()
    threading.Thread(target=proxy.serve_forever, args=(0.05,), daemon=True).start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


@pytest.mark.usefixtures("trusted")
@pytest.mark.parametrize("via_proxy", [False, True], ids=["direct", "tunnel"])
def test_https_takes_a_certificate_for_the_urls_host_only(
    tls_server: JwksServer, tunnel_proxy: TunnelProxy, via_proxy: bool
) -> None:
    loopback, proxy = Loopback(), tunnel_proxy.url if via_proxy else ""
    document = fetch(named(tls_server.url), proxy=proxy, resolver=loopback)
    assert document["keys"] == tls_server.document["keys"]
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        fetch(named(tls_server.url, "other.test"), proxy=proxy, resolver=loopback)
    assert tls_server.paths == ["/jwks"]  # asked of the server itself, through the tunnel too
    if via_proxy:  # the proxy's name is looked up here, the JWKS host's by the proxy
        assert loopback.hosts == ["proxy.test", "proxy.test"]
        tunnels = [
            f"CONNECT {host}:{port_of(tls_server)} HTTP/1.0" for host in (JWKS_HOST, "other.test")
        ]
        assert tunnel_proxy.heads == tunnels
    else:
        assert loopback.hosts == [JWKS_HOST, "other.test"]


def test_https_refuses_a_certificate_no_trusted_authority_signed(tls_server: JwksServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        fetch(named(tls_server.url), resolver=Loopback())
    assert tls_server.requests == 0


@pytest.fixture
def dripping_proxy() -> Iterator[int]:
    """A proxy that answers CONNECT with one header byte every 0.1 s: an answer that never ends,
    yet never leaves a read waiting long enough for a socket timeout."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def drip() -> None:
        with contextlib.suppress(OSError):
            peer, _ = listener.accept()
            with peer:
                peer.recv(4096)  # the CONNECT request
                peer.sendall(b"HTTP/1.1 200 Connection established\r\nX-Slow: ")
                while not stop.wait(0.1):
                    peer.sendall(b"x")

    threading.Thread(target=drip, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


def test_a_proxy_that_drips_its_connect_answer_is_cut_off_by_the_deadline(
    dripping_proxy: int,
) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"no complete answer within 1\.0 s"):
        fetch_json(
            f"https://{JWKS_HOST}/jwks",
            timeout=1.0,
            max_bytes=MAX_JWKS_BYTES,
            proxy=f"http://127.0.0.1:{dripping_proxy}",
            resolver=Loopback(),
        )
    assert time.monotonic() - started < 5  # not the hours a 64 KiB header line would take
