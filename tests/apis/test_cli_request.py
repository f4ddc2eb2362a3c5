"""``agentfetch URL -X/-d/--json-body/-i``: a request as the human, from a real process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apis_support import run_cli


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_post_json_read_back_and_verbose_never_shows_secrets(demo, home):
    api = demo.origin + "/api/pages"
    created = run_cli(api, "--json-body", '{"title": "From the CLI", "markdown": "secret-free body"}',
                      "--consent", "allow", "-v", home=home)
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("```json\n{\n") and '"slug": "from-the-cli"' in created.stdout
    assert f"POST {api} → 401" in created.stderr and f"POST {api} → 201" in created.stderr
    assert "secret-free body" not in created.stderr  # -v shows request lines, never bodies
    back = run_cli(api + "/from-the-cli", "-X", "GET", "--json", home=home)
    assert back.returncode == 0, back.stderr
    data = json.loads(back.stdout)
    assert (data["status"], data["method"]) == (200, "GET")
    assert data["headers"]["content-type"] == "application/json" and "api-catalog" in data["headers"]["link"]
    raw = run_cli(api + "/from-the-cli", "-X", "GET", "--raw", home=home)
    assert json.loads(raw.stdout)["markdown"] == "secret-free body"
    token = run_cli("auth", "token", api, home=home).stdout.strip()
    assert token.count(".") == 2
    for output in (created.stdout, created.stderr, back.stdout, back.stderr):
        assert token not in output
    audit = [e for e in demo.audit if e.get("event") == "page.created"]
    assert [(e["user"], e["method"]) for e in audit] == [("alice", "POST")]


def test_data_from_a_file_and_from_stdin_and_include(demo, home, tmp_path):
    api = demo.origin + "/api/pages"
    body = tmp_path / "page.json"
    body.write_text(json.dumps({"title": "From a file"}))
    from_file = run_cli(api, "-d", f"@{body}", "-H", "Content-Type: application/json", "--consent", "allow", "-i",
                        home=home)
    assert from_file.returncode == 0, from_file.stderr
    head, _, rest = from_file.stdout.partition("\n\n")
    assert head.startswith("HTTP 201 Created\n") and f"location: {api}/from-a-file" in head.lower()
    assert rest.startswith("```json")
    from_stdin = run_cli(api + "/from-a-file", "-X", "PUT", "-d", "@-", "-H", "Content-Type: application/json",
                         home=home, input=json.dumps({"title": "Renamed"}))
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert '"title": "Renamed"' in from_stdin.stdout
    deleted = run_cli(api + "/from-a-file", "-X", "DELETE", "-i", home=home)
    assert deleted.returncode == 0
    assert deleted.stdout.startswith("HTTP 204 No Content\n") and deleted.stdout.endswith("\n\n")  # no body
    # -d without a Content-Type is a form, as with curl: the API refuses it with 415, exit 4.
    form = run_cli(api, "-d", "title=x", home=home)
    assert form.returncode == 4 and '"unsupported_media_type"' in form.stdout
    assert "answered 415" in form.stderr and form.stderr.count("\n") == 1


def test_error_statuses_print_the_answer_and_exit_non_zero(demo, home):
    conflict = run_cli(demo.origin + "/api/pages/deploy", "-X", "PUT", "--json-body", '{"title": "x"}',
                       "--consent", "allow", "--json", home=home)
    assert conflict.returncode == 4
    data = json.loads(conflict.stdout)  # one JSON object: the answer, with its status
    assert data["status"] == 409 and '"read_only"' in data["markdown"]
    assert "answered 409" in conflict.stderr and "Traceback" not in conflict.stderr
    denied = run_cli(demo.origin + "/api/pages", "-X", "POST", "--json-body", "{}", "--no-auth", home=home)
    assert denied.returncode == 5 and "answered 401" in denied.stderr


def test_a_cross_origin_307_exits_6_and_nothing_is_created(demo, home):
    proc = run_cli(demo.origin + "/api/moved/pages", "--json-body", '{"title": "Elsewhere"}', "--consent", "allow",
                   home=home)
    assert proc.returncode == 6, proc.stderr
    assert "refused to repeat POST with its body at another origin" in proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert not [r for r in demo.requests if r.path == "/api/pages"]


@pytest.mark.parametrize(("args", "message"), [
    (("-d", "a", "--json-body", "{}"), "not both"),
    (("--json-body", "{nope"), "not valid JSON"),
    (("-d", "@/nonexistent/body.json"), "cannot read the request body"),
    (("-X", "GE T"), "not an HTTP method"),
])
def test_usage_errors(demo, home, args, message):
    proc = run_cli(demo.origin + "/api/pages", *args, home=home)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert demo.requests == []
