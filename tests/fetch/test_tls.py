"""Corporate networks: whom TLS trusts, in the documented order, and what a person is told when a
certificate or a proxy is in the way. Real HTTPS servers on 127.0.0.1 with certificates from CAs
made for the test (``cryptography``), and the real CLI; OAuth's own requests are checked too."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

x509 = pytest.importorskip("cryptography.x509", reason="cryptography makes the test CAs")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

CA_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                   "NO_PROXY", "no_proxy")


@dataclass
class Authority:
    """A certificate authority of the test: its PEM file, and certificates it signs."""

    name: str
    pem: Path
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def issue(self, directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cert_path, key_path = directory / f"{self.name}-server.pem", directory / f"{self.name}-server.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return cert_path, key_path


def make_authority(directory: Path, name: str) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"agentfetch test CA {name}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = directory / f"{name}-ca.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Authority(name, pem, key, cert)


@dataclass
class Site:
    """An HTTPS server on 127.0.0.1: a page, and (optionally) an OAuth-protected page whose
    resource metadata lives on another server (``prm_at``)."""

    url: str
    seen: list[str] = field(default_factory=list)
    prm_at: str | None = None


def serve(authority: Authority, directory: Path, prm_at: str | None = None) -> tuple[Site, ThreadingHTTPServer]:
    cert, key = authority.issue(directory)
    site = Site("", prm_at=prm_at)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            site.seen.append(self.path)
            if self.path == "/page":
                self._send(200, b"<html><head><title>TLS page</title></head><body><main><h1>TLS page</h1>"
                                b"<p>Fetched over a certificate from a private CA.</p></main></body></html>",
                           "text/html; charset=utf-8")
            elif self.path == "/protected" and site.prm_at:
                challenge = f'Bearer resource_metadata="{site.prm_at}/.well-known/oauth-protected-resource"'
                self._send(401, b"{}", "application/json", {"WWW-Authenticate": challenge})
            elif self.path.startswith("/.well-known/oauth-protected-resource"):
                # The resource metadata names an authorization server that has no metadata: the
                # flow stops there, after OAuth's own requests went over TLS.
                doc = {"resource": site.url, "authorization_servers": [site.url + "/as"]}
                self._send(200, json.dumps(doc).encode(), "application/json")
            else:
                self._send(404, b'{"error": "not_found"}', "application/json")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    site.url = f"https://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return site, server


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    directory = tmp_path_factory.mktemp("pki")
    corp, other = make_authority(directory, "corp"), make_authority(directory, "other")
    meta, meta_server = serve(other, directory)  # resource metadata on a server another CA vouches for
    page, page_server = serve(corp, directory)
    corp_meta, corp_meta_server = serve(corp, directory)
    protected, protected_server = serve(corp, directory, prm_at=corp_meta.url)
    wrong_protected, wrong_server = serve(corp, directory, prm_at=meta.url)
    both = directory / "both-ca.pem"
    both.write_bytes(corp.pem.read_bytes() + other.pem.read_bytes())
    yield {"corp": corp, "other": other, "both": both, "page": page, "protected": protected,
           "corp_meta": corp_meta, "wrong_protected": wrong_protected, "meta": meta}
    for server in (meta_server, page_server, corp_meta_server, protected_server, wrong_server):
        server.shutdown()
        server.server_close()


def run_cli(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in CA_VARIABLES + PROXY_VARIABLES}
    environment.pop("AGENTFETCH_DEBUG", None)
    environment |= {"AGENTFETCH_HOME": str(home), "AGENTFETCH_STORE": "file", "AGENTFETCH_CONSENT": "allow",
                    "BROWSER": "false", **env}
    return subprocess.run([sys.executable, "-m", "agentfetch", *args], capture_output=True, text=True, timeout=60,
                          env=environment, stdin=subprocess.DEVNULL, check=False)


def test_an_unknown_ca_is_refused_with_what_to_set(pki, tmp_path):
    done = run_cli(pki["page"].url + "/page", home=tmp_path)
    assert done.returncode == 3 and done.stdout == ""
    error = done.stderr
    assert "the TLS certificate of 127.0.0.1" in error and "is not trusted" in error
    assert "checked against the system's trust store" in error
    for remedy in ("--cacert FILE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        assert remedy in error
    assert "Traceback" not in error


def test_cacert_trusts_a_private_ca(pki, tmp_path):
    done = run_cli(pki["page"].url + "/page", "--cacert", str(pki["corp"].pem), home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# TLS page")
    # The bundle replaces the default trust, and the error says what was used.
    wrong = run_cli(pki["page"].url + "/page", "--cacert", str(pki["other"].pem), home=tmp_path)
    assert wrong.returncode == 3 and f"checked against {pki['other'].pem} from --cacert" in wrong.stderr


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_each_ca_bundle_variable_is_honoured(pki, tmp_path, variable):
    done = run_cli(pki["page"].url + "/page", home=tmp_path, **{variable: str(pki["corp"].pem)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# TLS page")


def test_the_documented_order_decides(pki, tmp_path):
    right, wrong = str(pki["corp"].pem), str(pki["other"].pem)
    page = pki["page"].url + "/page"
    # --cacert first, then SSL_CERT_FILE, then REQUESTS_CA_BUNDLE, then CURL_CA_BUNDLE.
    assert run_cli(page, "--cacert", right, home=tmp_path, SSL_CERT_FILE=wrong).returncode == 0
    refused = run_cli(page, "--cacert", wrong, home=tmp_path, SSL_CERT_FILE=right)
    assert refused.returncode == 3 and "from --cacert" in refused.stderr
    assert run_cli(page, home=tmp_path, SSL_CERT_FILE=right, REQUESTS_CA_BUNDLE=wrong).returncode == 0
    refused = run_cli(page, home=tmp_path, SSL_CERT_FILE=wrong, REQUESTS_CA_BUNDLE=right)
    assert refused.returncode == 3 and "from SSL_CERT_FILE" in refused.stderr
    assert run_cli(page, home=tmp_path, REQUESTS_CA_BUNDLE=right, CURL_CA_BUNDLE=wrong).returncode == 0
    refused = run_cli(page, home=tmp_path, REQUESTS_CA_BUNDLE=wrong, CURL_CA_BUNDLE=right)
    assert refused.returncode == 3 and "from REQUESTS_CA_BUNDLE" in refused.stderr


def test_a_bundle_that_is_not_there_or_not_pem_is_a_usage_error(pki, tmp_path):
    missing = run_cli(pki["page"].url + "/page", home=tmp_path, SSL_CERT_FILE=str(tmp_path / "nope.pem"))
    assert missing.returncode == 2 and "SSL_CERT_FILE names" in missing.stderr and "does not exist" in missing.stderr
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    bad = run_cli(pki["page"].url + "/page", "--cacert", str(junk), home=tmp_path)
    assert bad.returncode == 2 and "--cacert names" in bad.stderr and "PEM" in bad.stderr


def test_oauths_own_requests_use_the_same_trust(pki, tmp_path):
    # The page and its resource metadata both come from servers of the trusted CA: the
    # metadata request (OAuth's own) is made, over TLS, with the same --cacert.
    corp_meta = pki["corp_meta"]
    corp_meta.seen.clear()
    done = run_cli(pki["protected"].url + "/protected", "--cacert", str(pki["corp"].pem), home=tmp_path)
    assert "/.well-known/oauth-protected-resource" in corp_meta.seen, done.stderr
    assert "not trusted" not in done.stderr and done.returncode in (5, 6)

    # Metadata on a server of a CA that is not trusted: the same message as for a page.
    refused = run_cli(pki["wrong_protected"].url + "/protected", "--cacert", str(pki["corp"].pem), home=tmp_path)
    assert refused.returncode == 3, refused.stderr
    # It names the server whose certificate failed (the metadata's), not the page's.
    meta_host = pki["meta"].url.removeprefix("https://")
    assert f"the TLS certificate of {meta_host} (PRM) is not trusted" in refused.stderr
    assert "SSL_CERT_FILE" in refused.stderr

    # With a bundle that has both CAs, from the environment this time, the metadata is read.
    pki["meta"].seen.clear()
    run_cli(pki["wrong_protected"].url + "/protected", home=tmp_path, SSL_CERT_FILE=str(pki["both"]))
    assert "/.well-known/oauth-protected-resource" in pki["meta"].seen


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_a_proxy_error_names_the_proxy(pki, tmp_path, variable):
    port = _closed_port()
    done = run_cli(pki["page"].url + "/page", "--cacert", str(pki["corp"].pem), home=tmp_path,
                   **{variable: f"http://user:secret@127.0.0.1:{port}"})
    assert done.returncode == 3
    assert f"through the proxy http://127.0.0.1:{port} (from {variable})" in done.stderr
    assert "secret" not in done.stderr and "NO_PROXY=127.0.0.1" in done.stderr
    # NO_PROXY is honoured: the same fetch goes direct.
    direct = run_cli(pki["page"].url + "/page", "--cacert", str(pki["corp"].pem), home=tmp_path,
                     **{variable: f"http://127.0.0.1:{port}", "NO_PROXY": "127.0.0.1"})
    assert direct.returncode == 0, direct.stderr


def test_the_sdk_takes_cacert_and_defaults_to_the_os_trust_store(pki, monkeypatch):
    truststore = pytest.importorskip("truststore")
    from agentfetch import Fetcher, fetch
    from agentfetch.errors import NetworkError

    for variable in CA_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    with Fetcher(auth=False) as fetcher:
        assert isinstance(fetcher.client._transport._pool._ssl_context, truststore.SSLContext)
        with pytest.raises(NetworkError, match="is not trusted"):
            fetcher.fetch(pki["page"].url + "/page")
    assert fetch(pki["page"].url + "/page", auth=False, cacert=pki["corp"].pem).title == "TLS page"
