"""`agentfetch auth ...` and `agentfetch demo` as a user runs them, against the demo app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentfetch.demo.useragent import browser_command


def run_cli(
    *args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "AGENTFETCH_HOME": str(home), "AGENTFETCH_STORE": "file", **(env or {})}
    full_env.pop("AGENTFETCH_DEBUG", None)
    full_env.pop("AGENTFETCH_CONSENT", None)
    return subprocess.run([sys.executable, "-m", "agentfetch", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, stdin=subprocess.DEVNULL)


@pytest.fixture
def browser_env() -> dict[str, str]:
    return {"BROWSER": browser_command(username="alice", background=True)}


def test_login_status_token_logout_round_trip(demo, tmp_path, browser_env):
    home = tmp_path / "home"
    login = run_cli("auth", "login", demo.url, "--consent", "allow", "--json", home=home, env=browser_env)
    assert login.returncode == 0, login.stderr
    summary = json.loads(login.stdout)
    assert summary["user"] == "alice" and "read" in summary["scopes"]

    status = run_cli("auth", "status", "--json", home=home)
    assert status.returncode == 0
    rows = json.loads(status.stdout)["credentials"]
    assert len(rows) == 1 and rows[0]["issuer"] == demo.issuer and rows[0]["storage"].startswith("file")

    token = run_cli("auth", "token", demo.url, home=home).stdout.strip()
    assert token.count(".") == 2  # the demo issues JWTs
    # No command but `auth token` prints the secret.
    for output in (login.stdout + login.stderr, status.stdout + status.stderr,
                   run_cli("auth", "list", home=home).stderr):
        assert token not in output

    # The token works: a fetch with the stored credential needs no browser.
    fetched = run_cli(demo.url, "--consent", "deny", home=home, env={"BROWSER": "false"})
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.startswith("# ")

    demo.clear_requests()
    logout = run_cli("auth", "logout", demo.url, home=home)
    assert logout.returncode == 0, logout.stderr
    assert demo.count("/oauth/revoke") == 2  # RFC 7009: one request per token, refresh and access
    assert json.loads(run_cli("auth", "status", "--json", home=home).stdout)["credentials"] == []
    # Revoked at the server too: the old token is refused.
    import httpx

    headers = {"Authorization": f"Bearer {token}", "Accept": "text/markdown"}
    assert httpx.get(demo.url, headers=headers).status_code == 401


def test_status_of_unknown_url_and_token_without_login(demo, tmp_path):
    home = tmp_path / "home"
    status = run_cli("auth", "status", demo.url, home=home)
    assert status.returncode == 5 and "agentfetch auth login" in status.stderr
    token = run_cli("auth", "token", demo.url, home=home)
    assert token.returncode == 5 and token.stdout == ""
    assert "Traceback" not in token.stderr


def test_logout_needs_a_url_or_all(tmp_path):
    proc = run_cli("auth", "logout", home=tmp_path / "home")
    assert proc.returncode == 2 and "--all" in proc.stderr


def test_fetch_without_tty_and_ask_consent_fails_fast_with_the_way_out(demo, tmp_path):
    proc = run_cli(demo.url, home=tmp_path / "home", env={"BROWSER": "false"}, timeout=30)
    assert proc.returncode == 5
    assert "agentfetch auth login" in proc.stderr and "--consent allow" in proc.stderr
    assert proc.stdout == ""


def test_demo_command_runs_the_whole_flow_without_a_browser(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    env["AGENTFETCH_HOME"] = str(tmp_path / "home")
    proc = subprocess.run([sys.executable, "-m", "agentfetch", "demo"], capture_output=True, text=True,
                          timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# ")
    for step in ("challenge", "registration", "callback", "token", "signed in as alice"):
        assert step in proc.stderr
    # The demo keeps its grant in a throwaway store, not the user's.
    assert not (tmp_path / "home" / "data" / "store.json").exists()


def test_metadata_that_names_another_resource_is_refused_with_exit_6(demo, tmp_path):
    home = tmp_path / "home"
    with demo.configure(faults={"prm_resource_mismatch"}):
        proc = run_cli(demo.url, "--consent", "allow", "--json", home=home, env={"BROWSER": "false"})
    assert proc.returncode == 6, proc.stderr
    assert json.loads(proc.stdout)["error"]["type"] == "metadata_mismatch"
    assert demo.count("/oauth/authorize") == 0  # refused before any browser opened
    assert json.loads(run_cli("auth", "list", "--json", home=home).stdout)["credentials"] == []


def test_unusable_credential_store_is_exit_1_without_traceback(demo, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store's directory should be")
    proc = run_cli(demo.url, "--consent", "allow", home=blocker / "home", env={"BROWSER": "false"})
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1


def test_public_page_needs_no_usable_store(pages, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store's directory should be")
    proc = run_cli(pages.url("/article"), home=blocker / "home")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# Loopback article")


def test_tables_go_to_stdout_whole_and_every_auth_subcommand_speaks_json(demo, tmp_path, browser_env):
    # A deep home makes the "Stored in" column long: piped, nothing may be cut at 80 columns.
    home = tmp_path / ("a-rather-long-directory-name-" * 3) / "home"
    login = run_cli("auth", "login", demo.url, "--consent", "allow", "--json", home=home, env=browser_env)
    assert login.returncode == 0, login.stderr
    row = json.loads(login.stdout)

    for command in (["auth", "status"], ["auth", "list"], ["auth", "status", demo.url]):
        table = run_cli(*command, home=home, env={"COLUMNS": "80"})
        assert table.returncode == 0, table.stderr
        assert "…" not in table.stdout and table.stderr == ""
        for value in (row["resource"], row["issuer"], "alice", row["storage"]):
            assert value in table.stdout, (value, table.stdout)
        assert max(len(line) for line in table.stdout.splitlines()) > 80
        assert "\x1b[" not in table.stdout  # no colour codes in a pipe

    token = json.loads(run_cli("auth", "token", demo.url, "--json", home=home).stdout)
    assert token["token_type"] == "Bearer" and token["access_token"].count(".") == 2
    assert token["resource"] == row["resource"] and token["issuer"] == demo.issuer and "read" in token["scopes"]
    missing = run_cli("auth", "token", demo.url + "nowhere/..", "--json", home=tmp_path / "empty")
    assert missing.returncode == 5 and json.loads(missing.stdout)["error"]["exit_code"] == 5

    logout = run_cli("auth", "logout", "--all", "--json", home=home)
    assert logout.returncode == 0 and json.loads(logout.stdout) == {"removed": [row["resource"]]}
    empty = run_cli("auth", "list", home=home)
    assert empty.stdout == "" and "No stored credentials" in empty.stderr
    assert json.loads(run_cli("auth", "list", "--json", home=home).stdout) == {"credentials": [], "service_credentials": []}
