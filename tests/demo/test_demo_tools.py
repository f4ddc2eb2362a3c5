"""The audit trail, the scripted user agent as BROWSER, ``demo serve`` and import cost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agentfetch.demo.useragent import browser_command, walk

REPO = Path(__file__).resolve().parents[2]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env | extra


def test_audit_file_has_one_json_line_per_request_and_no_secrets(oauth, demo):
    client = oauth.register(token_endpoint_auth_method="client_secret_post")
    request = oauth.authorization(client["client_id"])
    walk(request.url)
    code = oauth.loopback.last["code"]
    tokens = oauth.exchange(client["client_id"], request, code, client_secret=client["client_secret"]).json()
    oauth.get("/pages/deploy", tokens["access_token"])
    refreshed = oauth.http.post(demo.endpoint("token"), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": client["client_id"], "client_secret": client["client_secret"]}).json()
    lines = demo.audit_path.read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert entries[-len(demo.audit):] == demo.audit
    assert len(demo.audit) == len(demo.requests)
    page = [e for e in entries if e["path"] == "/pages/deploy"][-1]
    assert page["user"] == "alice" and page["client_id"] == client["client_id"] and page["status"] == 200
    text = demo.audit_path.read_text()
    for secret in (code, request.verifier, request.state, client["client_secret"], tokens["access_token"],
                   tokens["refresh_token"], refreshed["access_token"], refreshed["refresh_token"]):
        assert secret not in text
    assert "?" not in "".join(e["path"] for e in entries)


def test_useragent_as_browser_for_webbrowser(oauth, demo, loopback):
    """``BROWSER=python -m agentfetch.demo.useragent`` makes Python's webbrowser walk the pages."""
    request = oauth.authorization(oauth.register()["client_id"])
    browser = browser_command(username="bob")
    assert browser.endswith(" --user bob %s")
    result = subprocess.run(
        [sys.executable, "-c", "import sys, webbrowser; sys.exit(0 if webbrowser.open(sys.argv[1]) else 1)",
         request.url],
        env=subprocess_env(BROWSER=browser), capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert loopback.last["state"] == request.state
    assert "delivered the response to http://127.0.0.1" in result.stderr
    assert loopback.last["code"] not in result.stderr
    token = oauth.exchange(request.params["client_id"], request, loopback.last["code"]).json()["access_token"]
    assert oauth.get("/api/me", token).json()["user"] == "bob"


def test_useragent_cli_deny_and_failure_exit_codes(oauth, loopback):
    request = oauth.authorization(oauth.register()["client_id"])
    command = [sys.executable, "-m", "agentfetch.demo.useragent"]
    denied = subprocess.run([*command, "--deny", request.url], env=subprocess_env(), cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert denied.returncode == 0
    assert loopback.last["error"] == "access_denied"
    failed = subprocess.run([*command, "--password", "wrong", oauth.authorization(request.params["client_id"]).url],
                            env=subprocess_env(), cwd=REPO, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 5
    assert "login as alice failed" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_demo_serve_prints_url_and_users_and_stops_on_ctrl_c():
    process = subprocess.Popen(
        [sys.executable, "-m", "agentfetch.demo", "serve", "--port", "0"],
        env=subprocess_env(COLUMNS="120"), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        response = httpx.get(url)
        assert response.status_code == 401
        assert "resource_metadata" in response.headers["www-authenticate"]
        # The service-token pair it prints opens the API without OAuth.
        printed: dict[str, str] = {}
        seen: list[str] = []
        while len(printed) < 2 and (not seen or seen[-1]):  # "" is the end of stderr
            seen.append(process.stderr.readline())
            name, _, value = seen[-1].strip().partition(": ")
            if name.startswith("CF-Access-Client-"):
                printed[name] = value
        me = httpx.get(url + "api/me", headers=printed)
        assert me.status_code == 200 and me.json()["auth"] == "service"
    finally:
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=15)
    stderr = "".join(seen) + rest
    assert process.returncode == 0, stderr
    assert "alice" in stderr and "wonderland" in stderr and "bob" in stderr
    assert "Traceback" not in stderr


def test_serve_reports_a_busy_port():
    from agentfetch.demo import DemoServer

    with DemoServer() as server:
        result = subprocess.run(
            [sys.executable, "-c", "from agentfetch.cli.demo import serve_app; serve_app()", "serve", "--port", str(server.port)],
            env=subprocess_env(), cwd=REPO, capture_output=True, text=True, timeout=30,
        )
    assert result.returncode == 3
    assert "Cannot listen" in result.stderr and "Traceback" not in result.stderr


def test_importing_the_demo_package_is_light():
    code = (
        "import sys, agentfetch.demo, agentfetch.demo.useragent\n"
        "from agentfetch.demo import DemoConfig, DEMO_USERS\n"
        "DemoConfig(faults={'wrong_aud'})\n"
        "heavy = [m for m in ('joserfc', 'authlib', 'typer', 'rich', 'agentfetch.demo._server') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), cwd=REPO,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_configure_restores_and_reset_wipes(oauth, demo):
    tokens = oauth.tokens()
    with demo.configure(token_lifetime=5, faults={"opaque_tokens"}):
        assert demo.config.token_lifetime == 5
    assert demo.config.token_lifetime == 300 and not demo.config.faults
    demo.reconfigure(token_lifetime=7)
    assert demo.config.token_lifetime == 7
    demo.reset()
    assert demo.config.token_lifetime == 300
    assert demo.requests == [] and demo.audit == []
    assert set(demo.clients()) == {demo.config.preregistered_client_id}
    # A wiped server no longer knows the grant behind the old tokens.
    assert oauth.get("/", tokens["access_token"]).status_code == 401
    assert demo.count("/") == 1


def test_head_is_answered_like_get_without_a_body(oauth, demo):
    token = oauth.tokens()["access_token"]
    response = oauth.http.head(demo.url + "pages/deploy", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0
    assert demo.requests[-1].method == "HEAD"
    assert httpx.head(demo.url).status_code == 401


def test_stop_ends_idle_keep_alive_connections(tmp_path):
    from agentfetch.demo import DemoConfig, DemoServer

    with httpx.Client() as client:
        with DemoServer(DemoConfig(audit_path=tmp_path / "audit.jsonl")) as server:
            assert client.get(server.url + "healthz").status_code == 200
        # The pooled connection was closed by the server; a new one finds nobody listening.
        with pytest.raises(httpx.TransportError):
            client.get(server.url + "healthz")


def test_reprs_carry_no_secrets(oauth, demo):
    from agentfetch.demo._http import Request, Response

    tokens = oauth.tokens()
    state = demo.app.state
    with state.lock:
        reprs = " ".join(repr(x) for x in [*state.grants.values(), *state.access.values(), *state.clients.values()])
    request = Request("POST", "/oauth/token", {"Authorization": "Bearer " + tokens["access_token"]},  # type: ignore[arg-type]
                      body=b"refresh_token=" + tokens["refresh_token"].encode())
    reprs += repr(request) + repr(Response(200, tokens["access_token"].encode()))
    assert tokens["access_token"] not in reprs
    assert tokens["refresh_token"] not in reprs
    assert "DemoServer http://127.0.0.1:" in repr(demo)


def test_serve_refuses_a_non_loopback_host():
    result = subprocess.run([sys.executable, "-m", "agentfetch.demo", "serve", "--host", "0.0.0.0"],
                            env=subprocess_env(), cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "loopback" in result.stderr and "Traceback" not in result.stderr


def test_ipv6_loopback(tmp_path):
    import socket

    from agentfetch.demo import DemoConfig, DemoServer

    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this host")
    try:
        server = DemoServer(DemoConfig(host="::1", audit_path=tmp_path / "a.jsonl")).start()
    except OSError as exc:
        pytest.skip(f"cannot bind ::1: {exc}")
    try:
        assert server.url.startswith("http://[::1]:")
        response = httpx.get(server.url)
        assert response.status_code == 401
        assert f'resource_metadata="{server.origin}/.well-known/oauth-protected-resource"' in \
            response.headers["www-authenticate"]
    finally:
        server.stop()
