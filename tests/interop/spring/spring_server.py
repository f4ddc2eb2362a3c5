"""Spring Authorization Server on loopback for the interop tests: build it, start it.

The server is the Spring Boot application in this directory (``pom.xml``, ``src/``), built
with Maven from Maven Central's artifacts (Spring Boot 4.0.7, Spring Security 7.0's
authorization server)::

    python tests/interop/spring/spring_server.py build     # what .ci/run does; target/ is git-ignored
    python tests/interop/spring/spring_server.py run       # a server to poke at by hand

Nothing here reaches anything but Maven (``build`` only) and 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
JAR = HERE / "target" / "spring-authorization-server.jar"
START_TIMEOUT = 120.0
PASSWORDS = {"alice": "alice-spring-password", "bob": "bob-spring-password"}
REGISTRAR = ("registrar", "registrar-loopback-secret")


class Unavailable(Exception):
    """Why the server cannot be run here (a skip reason)."""


def build() -> Path:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Unavailable("mvn is not installed: it builds the Spring Authorization Server from Maven Central")
    subprocess.run([mvn, "-q", "-B", "-Dstyle.color=never", "package", "-DskipTests"], cwd=HERE, check=True)
    return JAR


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SpringServer:
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(
        default_factory=lambda: Path(tempfile.mkstemp(prefix="agentfetch-spring-", suffix=".log")[1]))
    started_in: float = 0.0

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def start(self) -> SpringServer:
        java = shutil.which("java")
        if java is None:
            raise Unavailable("java is not installed: Spring Boot 4 needs Java 17+")
        if not JAR.is_file():
            raise Unavailable(f"{JAR.relative_to(HERE.parent.parent.parent)} is not built: run "
                              "`python tests/interop/spring/spring_server.py build` (Maven; .ci/run does it)")
        self.port = self.port or free_port()
        users = ",".join(f"{name}:{password}" for name, password in PASSWORDS.items())
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [java, "-Xmx256m", "-jar", str(JAR), f"--server.port={self.port}", f"--agentfetch.users={users}",
                 f"--agentfetch.registrar-secret={REGISTRAR[1]}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            while time.monotonic() < began + START_TIMEOUT:
                if self.process.poll() is not None:
                    raise RuntimeError(f"Spring exited with {self.process.returncode}:\n{self.log()[-4000:]}")
                try:
                    if httpx.get(self.issuer + "/.well-known/openid-configuration", timeout=2).status_code == 200:
                        self.started_in = time.monotonic() - began
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
            raise RuntimeError(f"Spring did not answer within {START_TIMEOUT:g} s:\n{self.log()[-4000:]}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def initial_access_token(self) -> str:
        """What an administrator hands out: a client_credentials token with ``client.create``.
        Spring's registration endpoint accepts each one for a single registration."""
        response = httpx.post(self.issuer + "/oauth2/token", auth=REGISTRAR, timeout=10,
                              data={"grant_type": "client_credentials", "scope": "client.create"})
        response.raise_for_status()
        return str(response.json()["access_token"])


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "build"
    try:
        if command == "build":
            print(f"spring authorization server: {build()}")
            return 0
        if command == "run":
            server = SpringServer(port=int(argv[1]) if len(argv) > 1 else 0).start()
            print(f"spring authorization server on {server.issuer}, started in {server.started_in:.0f} s; "
                  f"log {server.log_path}; Ctrl-C stops it", flush=True)
            signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on kill/timeout too
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                server.stop()
            return 0
    except Unavailable as exc:
        print(f"spring: {exc}", file=sys.stderr)
        return 1
    print(f"usage: {sys.argv[0]} build|run [port]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    os.chdir(HERE)
    sys.exit(main(sys.argv[1:]))
