"""Keycloak on loopback for the interop tests: fetch the distribution, prepare it, start it.

The distribution is Maven Central's ``org.keycloak:keycloak-quarkus-dist`` zip, fetched
with Maven into a cache outside the package (``$AGENTFETCH_INTEROP_CACHE``, default
``~/.cache/agentfetch-interop``) and unzipped there once::

    python tests/interop/keycloak/keycloak_server.py fetch     # what .ci/run does
    python tests/interop/keycloak/keycloak_server.py run       # a server to poke at by hand

Each server runs from a home of its own (a temporary directory): ``bin/kc.sh``, ``conf/``
and the build output ``lib/quarkus/`` are copied, the jars and themes are symlinked,
and ``data/import/`` holds the tests' realm. ``start-dev`` re-augments Quarkus (about
50 s on two cores) whenever its build options change, so the build output for each set
of options is kept in the cache and copied in: later starts take 10-20 s.

Nothing here reaches anything but Maven (``fetch`` only) and 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
VERSION = os.environ.get("AGENTFETCH_KEYCLOAK_VERSION", "26.7.3")
ARTIFACT = "org.keycloak:keycloak-quarkus-dist"
ADMIN = ("admin", "admin-password-for-loopback-tests")
#: The realm's users (loopback only, like everything here).
PASSWORDS = {"alice": "alice-loopback-password", "bob": "bob-loopback-password"}
START_TIMEOUT = float(os.environ.get("AGENTFETCH_KEYCLOAK_START_TIMEOUT", "240"))
#: Build-time options (a change re-augments); everything else is passed at run time.
BUILD_OPTIONS = ("--db=dev-mem",)


def cache_dir() -> Path:
    return Path(os.environ.get("AGENTFETCH_INTEROP_CACHE") or Path.home() / ".cache" / "agentfetch-interop")


def zip_path(version: str = VERSION) -> Path:
    return cache_dir() / f"keycloak-quarkus-dist-{version}.zip"


def dist_dir(version: str = VERSION) -> Path:
    return cache_dir() / f"keycloak-{version}"


class Unavailable(Exception):
    """Why Keycloak cannot be run here (a skip reason)."""


def java_problem() -> str | None:
    java = shutil.which("java")
    if java is None:
        return "java is not installed: Keycloak needs OpenJDK 17, 21 or 25"
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    text = result.stderr + result.stdout
    for token in text.replace('"', " ").split():
        head = token.split(".")[0]
        if head.isdigit() and "." in token:
            if int(head) < 17:
                return f"java {token} is too old: Keycloak needs OpenJDK 17, 21 or 25"
            return None
    return None


def fetch(version: str = VERSION) -> Path:
    """Download the zip with Maven (once) and unzip it (once). Returns the distribution."""
    target = zip_path(version)
    if not target.is_file():
        mvn = shutil.which("mvn")
        if mvn is None:
            raise Unavailable("mvn is not installed: it fetches Keycloak's distribution from Maven Central")
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [mvn, "-q", "-B", "-Dstyle.color=never", "dependency:copy", f"-Dartifact={ARTIFACT}:{version}:zip",
             f"-DoutputDirectory={target.parent}"],
            check=True,
        )
    return unpack(version)


def unpack(version: str = VERSION) -> Path:
    dist = dist_dir(version)
    if (dist / "bin" / "kc.sh").is_file():
        return dist
    archive = zip_path(version)
    if not archive.is_file():
        raise Unavailable(
            f"Keycloak {version} is not in {cache_dir()}: run `python tests/interop/keycloak/keycloak_server.py fetch` "
            "(Maven and Maven Central; .ci/run does it)"
        )
    staging = Path(tempfile.mkdtemp(prefix=f".keycloak-{version}-", dir=cache_dir()))
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(staging)
        (inner,) = [p for p in staging.iterdir() if p.is_dir()]
        for script in (inner / "bin").glob("*.sh"):
            script.chmod(0o755)
        try:
            inner.rename(dist)
        except OSError:
            if not (dist / "bin" / "kc.sh").is_file():  # not just another process winning the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dist


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _options_key(options: tuple[str, ...]) -> str:
    return hashlib.sha256("\n".join(options).encode()).hexdigest()[:12]


@dataclass
class KeycloakServer:
    """One Keycloak process, its home, its realm files and an admin session."""

    realms: dict[str, str]  # file name -> realm JSON text
    features: tuple[str, ...] = ()
    version: str = VERSION
    port: int = 0
    home: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="agentfetch-keycloak-")))
    process: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def issuer(self, realm: str = "agents") -> str:
        return f"{self.url}/realms/{realm}"

    @property
    def log_path(self) -> Path:
        return self.home / "keycloak.log"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def build_options(self) -> tuple[str, ...]:
        return BUILD_OPTIONS + ((f"--features={','.join(self.features)}",) if self.features else ())

    # -- start and stop -----------------------------------------------------------------------

    def _lay_out_home(self, dist: Path) -> Path | None:
        """The home, and the cached build output to copy back after a first build (or None)."""
        built = dist / ".agentfetch-build" / _options_key(self.build_options())
        (self.home / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(dist / "bin" / "kc.sh", self.home / "bin" / "kc.sh")
        shutil.copytree(dist / "conf", self.home / "conf", dirs_exist_ok=True)
        (self.home / "lib").mkdir(exist_ok=True)
        shutil.copy2(dist / "lib" / "quarkus-run.jar", self.home / "lib" / "quarkus-run.jar")
        source = built if (built / "ready").is_file() else dist / "lib" / "quarkus"
        shutil.copytree(source, self.home / "lib" / "quarkus", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("ready"))
        for name in ("lib/app", "lib/lib", "themes", "providers"):
            link = self.home / name
            if not link.exists():
                link.symlink_to(dist / name, target_is_directory=True)
        imports = self.home / "data" / "import"
        imports.mkdir(parents=True, exist_ok=True)
        for name, text in self.realms.items():
            (imports / name).write_text(text)
        return None if source == built else built

    def start(self) -> KeycloakServer:
        problem = java_problem()
        if problem:
            raise Unavailable(problem)
        dist = unpack(self.version)
        to_cache = self._lay_out_home(dist)
        self.port = self.port or free_port()
        env = {
            **os.environ,
            "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN[0],
            "KC_BOOTSTRAP_ADMIN_PASSWORD": ADMIN[1],
            # The JVM's own heap defaults (a quarter of the machine) are more than a test needs.
            "JAVA_OPTS_KC_HEAP": "-Xms64m -Xmx768m",
        }
        env.pop("JAVA_OPTS", None)
        command = [
            str(self.home / "bin" / "kc.sh"), "start-dev", *self.build_options(),
            "--http-host=127.0.0.1", f"--http-port={self.port}",
            f"--http-management-port={free_port()}", "--import-realm",
            "--log-level=INFO,org.keycloak.events:DEBUG",
        ]
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=self.home, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self._wait_ready(began)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        if to_cache is not None:
            self._keep_build(to_cache)
        return self

    def _wait_ready(self, began: float) -> None:
        deadline = began + START_TIMEOUT
        wanted = [self.issuer(json.loads(text)["realm"]) + "/.well-known/openid-configuration"
                  for text in self.realms.values()]
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"Keycloak exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            try:
                if all(httpx.get(url, timeout=2).status_code == 200 for url in wanted):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"Keycloak did not answer within {START_TIMEOUT:g} s:\n{self.log()[-4000:]}")

    def _keep_build(self, built: Path) -> None:
        """Keep this build's output in the cache, so the next start needs no augmentation."""
        built.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=built.parent))
        try:
            shutil.copytree(self.home / "lib" / "quarkus", staging / "quarkus")
            (staging / "quarkus" / "ready").write_text(" ".join(self.build_options()))
            try:
                (staging / "quarkus").rename(built)
            except OSError:
                pass  # another session kept the same build first
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # kc.sh forwards it to the JVM
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    # -- the admin REST API (what an administrator's console does) --------------------------------

    def admin_token(self) -> str:
        response = httpx.post(f"{self.url}/realms/master/protocol/openid-connect/token", data={
            "grant_type": "password", "client_id": "admin-cli", "username": ADMIN[0], "password": ADMIN[1],
        }, timeout=10)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.admin_token()}"}
        response = httpx.request(method, f"{self.url}/admin/realms/{path.lstrip('/')}", headers=headers,
                                 timeout=10, **kwargs)
        response.raise_for_status()
        return response

    def user_id(self, realm: str, username: str) -> str:
        (user,) = self.admin("GET", f"{realm}/users", params={"username": username, "exact": "true"}).json()
        return str(user["id"])

    def client(self, realm: str, client_id: str) -> dict[str, Any]:
        (client,) = self.admin("GET", f"{realm}/clients", params={"clientId": client_id}).json()
        return dict(client)

    def events(self, realm: str = "agents") -> list[dict[str, Any]]:
        return list(self.admin("GET", f"{realm}/events", params={"max": 500}).json())


def realm_text(name: str, **values: str) -> str:
    """A realm file of this directory with its ``@NAME@`` placeholders filled in."""
    text = (HERE / name).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    leftover = re.findall(r"@[A-Z_]+@", text)
    assert not leftover, f"unfilled placeholders in {name}: {leftover}"
    json.loads(text)
    return text


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "fetch"
    try:
        if command == "fetch":
            dist = fetch()
            print(f"keycloak {VERSION}: {dist}")
            return 0
        if command == "run":
            origin = argv[1] if len(argv) > 1 else "http://127.0.0.1:8080"
            server = KeycloakServer({"realm-agents.json": realm_text(
                "realm-agents.json", RESOURCE_ORIGIN=origin,
                ALICE_PASSWORD=PASSWORDS["alice"], BOB_PASSWORD=PASSWORDS["bob"])})
            server.start()
            print(f"keycloak {VERSION} on {server.url} (admin {ADMIN[0]} / {ADMIN[1]}), started in "
                  f"{server.started_in:.0f} s; log {server.log_path}; Ctrl-C stops it", flush=True)
            signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on kill/timeout too
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                server.cleanup()
            return 0
    except Unavailable as exc:
        print(f"keycloak: {exc}", file=sys.stderr)
        return 1
    print(f"usage: {sys.argv[0]} fetch|run [resource-origin]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


class PathProxy:
    """A reverse proxy on 127.0.0.1 that forwards only some paths to Keycloak, as Keycloak's
    reverse-proxy guide recommends exposing just ``/realms/`` and ``/resources/``. The Host
    header is passed on, so Keycloak (no fixed hostname in dev mode) names the proxy in its
    issuer and URLs. Everything else, the root ``/.well-known/`` included, is a 404."""

    def __init__(self, upstream: str, prefixes: tuple[str, ...] = ("/realms/", "/resources/")) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        proxy = self
        self.upstream, self.prefixes = upstream, prefixes
        self.paths: list[tuple[str, int]] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                path = self.path.split("?")[0]
                if not path.startswith(proxy.prefixes):
                    proxy.paths.append((path, 404))
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = [(k, v) for k, v in self.headers.items()
                           if k.lower() not in ("connection", "accept-encoding", "content-length")]
                with httpx.Client(timeout=30) as client:
                    answer = client.request(self.command, proxy.upstream + self.path, headers=headers, content=body)
                proxy.paths.append((path, answer.status_code))
                self.send_response(answer.status_code)
                for name, value in answer.headers.multi_items():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length", "content-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
