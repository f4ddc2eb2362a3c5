"""The CLI as a user runs it: a real process, stdout and stderr apart, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("AGENTFETCH_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "agentfetch", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        stdin=subprocess.DEVNULL,
    )


def test_markdown_goes_to_stdout_only(pages, isolated_home):
    proc = run_cli(pages.url("/article"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# Loopback article")
    assert proc.stderr == ""


def test_json_output_has_every_documented_field(pages, isolated_home):
    proc = run_cli(pages.url("/redirect/1"), "--json", "--max-length", "100")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for key in ("url", "final_url", "status", "content_type", "title", "markdown", "truncated",
                "next_start_index", "total_length", "tokens"):
        assert key in data
    assert data["final_url"] == pages.url("/article")
    assert data["truncated"] is True and data["next_start_index"] > 0


def test_raw_prints_the_body_as_received(pages, isolated_home):
    proc = run_cli(pages.url("/article"), "--raw")
    assert proc.returncode == 0
    assert proc.stdout.startswith("<!doctype html>")


def test_verbose_traces_requests_on_stderr(pages, isolated_home):
    proc = run_cli(pages.url("/redirect/1"), "-v")
    assert proc.returncode == 0
    assert f"GET {pages.url('/redirect/1')} → 302" in proc.stderr
    assert "# Loopback article" not in proc.stderr


def test_custom_header_is_sent(pages, isolated_home):
    proc = run_cli(pages.url("/echo-headers"), "-H", "X-Test: yes", "--json")
    assert proc.returncode == 0
    assert '"X-Test": "yes"' in json.loads(proc.stdout)["markdown"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("not a url",), 2),
        (("http://127.0.0.1:9/x", "-H", "broken"), 2),
        (("http://127.0.0.1:9/x", "--consent", "maybe"), 2),
        (("--max-length", "0", "http://127.0.0.1:9/x"), 2),
        (("http://127.0.0.1:1/", "--timeout", "2"), 3),
        (("/status/404",), 4),
        (("/status/503",), 4),
        (("/unauthorized",), 5),
    ],
)
def test_exit_codes_and_one_line_errors(pages, isolated_home, args, code):
    args = tuple(pages.url(a) if a.startswith("/") else a for a in args)
    proc = run_cli(*args)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert proc.stdout == ""
    assert proc.stderr.strip()


def test_usage_errors_are_json_objects_too():
    proc = run_cli("--json", "--max-length", "-3", "http://127.0.0.1:9/")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["type"] == "usage"
    assert len(proc.stderr.strip().splitlines()) == 1


def test_json_errors_are_objects_on_stdout(pages, isolated_home):
    proc = run_cli(pages.url("/status/404"), "--json")
    assert proc.returncode == 4
    error = json.loads(proc.stdout)["error"]
    assert error["exit_code"] == 4 and error["status"] == 404 and error["type"] == "http_status"


def test_version_and_help():
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("agentfetch ")
    help_text = run_cli("--help")
    assert help_text.returncode == 0
    for code in range(7):
        assert f"{code}:" in help_text.stdout
    assert "--max-length" in help_text.stdout


def test_no_arguments_prints_usage():
    proc = run_cli()
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "usage: agentfetch" in proc.stderr


@pytest.mark.parametrize("args", [("http://[::1:bad/",), ("auth", "login", "http://[::1:bad/")])
def test_an_unbalanced_ipv6_bracket_is_a_usage_error(args, isolated_home):
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "invalid URL" in proc.stderr and "internal error" not in proc.stderr


@pytest.mark.parametrize("args", [("http://127.0.0.1:9/x",), ("auth", "login", "http://127.0.0.1:9/x")])
def test_a_bad_consent_variable_is_named(args, isolated_home):
    proc = run_cli(*args, env={"AGENTFETCH_CONSENT": "sometimes"})
    assert proc.returncode == 2, proc.stderr
    assert "AGENTFETCH_CONSENT must be allow, deny or ask, not 'sometimes'" in proc.stderr
