"""``agentfetch apis URL [--describe] [--json]`` from a real process, against the demo app."""

from __future__ import annotations

import json

from apis_support import run_cli


def test_apis_lists_then_describes(demo, tmp_path):
    home = tmp_path / "home"
    listed = run_cli("apis", demo.url, "--consent", "allow", home=home)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith(f"# APIs at {demo.url}\n")
    assert f"| {demo.origin}/api | Acme Internal Wiki API | {demo.origin}/api/openapi.json |" in listed.stdout
    assert f"| {demo.origin}/directory | Acme People Directory |" in listed.stdout
    described = run_cli("apis", demo.url, "--describe", home=home)
    assert described.returncode == 0, described.stderr
    assert "| POST | `/pages` | Create a page |" in described.stdout
    assert "| GET | `/people` | Everyone in the directory | team (query): string |" in described.stdout
    as_json = run_cli("apis", demo.url, "--json", "--max-depth", "0", home=home)
    data = json.loads(as_json.stdout)
    assert [c["skipped"] if "skipped" in c else c["format"] for c in data["catalogs"]] == ["json", "depth limit"]
    assert data["linkset"][0]["anchor"] == demo.origin + "/api"


def test_apis_errors(demo, tmp_path):
    home = tmp_path / "home"
    with demo.configure(faults={"malformed_openapi"}):
        partial = run_cli("apis", demo.url, "--describe", "--consent", "allow", home=home)
    assert partial.returncode == 0, partial.stderr
    assert "Not described: " in partial.stdout and "not valid YAML" in partial.stdout
    protected = run_cli("apis", demo.url, "--no-auth", "--json", home=home)
    assert protected.returncode == 5
    assert json.loads(protected.stdout)["error"]["type"] == "authorization"
    bad = run_cli("apis", "not-a-url", home=home)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
