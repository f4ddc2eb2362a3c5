"""OpenCode: the tool file type-checks against the real ``@opencode-ai/plugin``
types, runs under Node with a stub ``ctx`` against a loopback page, and
``agentfetch install opencode`` puts it where OpenCode looks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from integration_support import REPO, Site, cli_markdown

from agentfetch.errors import UsageError
from agentfetch.integrations.install import install_opencode, opencode_tool_file, opencode_tool_source

PLUGIN_DIR = REPO / "plugins" / "opencode"
NODE_MODULES = PLUGIN_DIR / "node_modules"

HARNESS = """\
import { tool } from "@opencode-ai/plugin"
import definition from "./dist/agentfetch.js"

const [input, denyAsk] = JSON.parse(process.argv[2])
const asks = []
const titles = []
const ctx = {
  sessionID: "session", messageID: "message", agent: "build",
  directory: process.cwd(), worktree: process.cwd(),
  abort: new AbortController().signal,
  metadata: (update) => titles.push(update.title),
  ask: async (request) => {
    asks.push(request)
    if (denyAsk) throw new Error("The user rejected permission to use this specific tool call.")
  },
}
// OpenCode validates the model's arguments with the tool's zod shape first.
const args = tool.schema.object(definition.args).parse(input)
try {
  const result = await definition.execute(args, ctx)
  console.log(JSON.stringify({ ok: true, result, asks, titles }))
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: error.message, asks, titles }))
}
"""


def node_toolchain() -> None:
    if not shutil.which("node") or not shutil.which("npx"):
        pytest.skip("node and npx are not installed")
    if not (NODE_MODULES / "@opencode-ai" / "plugin").is_dir():
        pytest.skip("plugin dependencies are not installed: npm ci --prefix plugins/opencode")


def tsc(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npx", "--no-install", "tsc", "-p", str(project)],
        cwd=PLUGIN_DIR, capture_output=True, text=True, timeout=180,
    )


def scratch_project(tmp_path: Path, source: str, *, emit: bool) -> Path:
    """A copy of the plugin project around ``source``, sharing its node_modules."""
    project = tmp_path / "opencode-tool"
    project.mkdir()
    (project / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    (project / "package.json").write_text('{"type": "module"}\n')
    (project / "agentfetch.ts").write_text(source)
    config = json.loads((PLUGIN_DIR / "tsconfig.json").read_text())
    config["compilerOptions"]["noEmit"] = not emit
    (project / "tsconfig.json").write_text(json.dumps(config))
    return project


def test_plugin_file_is_the_packaged_file() -> None:
    assert (PLUGIN_DIR / "agentfetch.ts").read_text() == opencode_tool_source()


def test_typechecks_against_the_real_plugin_types() -> None:
    node_toolchain()
    done = tsc(PLUGIN_DIR / "tsconfig.json")
    assert done.returncode == 0, done.stdout + done.stderr


def test_typecheck_catches_a_wrong_ctx_call(tmp_path: Path) -> None:
    node_toolchain()
    broken = opencode_tool_source().replace('permission: "webfetch",', "permission: 42,")
    assert broken != opencode_tool_source()
    done = tsc(scratch_project(tmp_path, broken, emit=False))
    assert done.returncode != 0
    assert "error TS2322: Type 'number' is not assignable to type 'string'" in done.stdout


@pytest.fixture
def run_tool(tmp_path: Path, host_env: dict[str, str]) -> Any:
    node_toolchain()
    project = scratch_project(tmp_path, opencode_tool_source(), emit=True)
    done = tsc(project)
    assert done.returncode == 0, done.stdout + done.stderr
    (project / "harness.mjs").write_text(HARNESS)

    def run(arguments: dict[str, Any], *, deny: bool = False, env: dict[str, str] | None = None) -> dict[str, Any]:
        finished = subprocess.run(
            ["node", "harness.mjs", json.dumps([arguments, deny])],
            cwd=project, env=env or host_env, capture_output=True, text=True, timeout=120,
        )
        assert finished.returncode == 0, finished.stderr
        return json.loads(finished.stdout)

    return run


def test_tool_returns_the_cli_markdown_and_pages(run_tool: Any, site: Site, host_env: dict[str, str]) -> None:
    url = site.url("/article")
    answer = run_tool({"url": url, "max_length": 500})
    assert answer["ok"], answer
    assert answer["asks"] == [
        {"permission": "webfetch", "patterns": [url], "always": ["*"], "metadata": {"url": url, "format": "markdown"}}
    ]
    result = answer["result"]
    assert result["title"] == f"{url} (text/html; charset=utf-8)"
    assert answer["titles"] == ["Loopback article"]
    meta = result["metadata"]
    assert meta["truncated"] is True and meta["status"] == 200
    start = meta["next_start_index"]
    assert result["output"].startswith(cli_markdown(url, host_env, "--max-length", "500").rstrip("\n"))
    assert result["output"].endswith(f"Call this tool again with start_index={start} to read on.]")

    rest = run_tool({"url": url, "start_index": start})
    assert rest["ok"] and rest["result"]["metadata"]["truncated"] is False
    assert "Paragraph number 59" in rest["result"]["output"]
    expected = cli_markdown(url, host_env, "--start-index", str(start), "--max-length", "20000")
    assert rest["result"]["output"] == expected.rstrip("\n")


def test_html_format_returns_the_body_as_sent(run_tool: Any, site: Site) -> None:
    answer = run_tool({"url": site.url("/data.json"), "format": "html"})
    assert answer["ok"], answer
    assert json.loads(answer["result"]["output"]) == {"name": "tide pools", "count": 3}


@pytest.mark.parametrize("url", ["not a url", "--version"])
def test_bad_url_is_a_clear_error(run_tool: Any, url: str) -> None:
    answer = run_tool({"url": url})
    assert not answer["ok"]
    assert answer["error"].startswith("Error (usage)")


def test_http_error_names_the_status(run_tool: Any, site: Site) -> None:
    answer = run_tool({"url": site.url("/gone")})
    assert not answer["ok"] and "404" in answer["error"]


def test_denied_permission_runs_nothing(run_tool: Any, site: Site, host_env: dict[str, str]) -> None:
    # With agentfetch unreachable, any attempt to run it would say so.
    env = dict(host_env, AGENTFETCH_BIN="/nonexistent/agentfetch")
    answer = run_tool({"url": site.url("/article")}, deny=True, env=env)
    assert not answer["ok"] and "rejected permission" in answer["error"]
    missing = run_tool({"url": site.url("/article")}, env=env)
    assert not missing["ok"] and "not installed" in missing["error"]


def test_protected_page_without_consent_says_what_to_run(run_tool: Any, demo_or_skip: Any) -> None:
    answer = run_tool({"url": demo_or_skip.url})
    assert not answer["ok"]
    assert answer["error"].startswith("Error (consent_required)")
    assert f"agentfetch auth login {demo_or_skip.url}" in answer["error"]
    assert "--consent" not in answer["error"]


def test_protected_page_with_pre_approved_consent(run_tool: Any, demo_or_skip: Any, host_env: dict[str, str]) -> None:
    env = dict(host_env, AGENTFETCH_CONSENT="allow")
    env["BROWSER"] = f"{sys.executable} -m agentfetch.demo.useragent --user alice %s &"
    answer = run_tool({"url": demo_or_skip.url}, env=env)
    assert answer["ok"], answer
    assert answer["result"]["metadata"]["status"] == 200
    assert answer["result"]["output"].strip()
    # Signed in once, the next call needs nobody: no browser, no consent.
    again = run_tool({"url": demo_or_skip.url}, env=dict(host_env, BROWSER="false"))
    assert again["ok"], again


def test_install_opencode_project_and_global(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    written = install_opencode(project=project).path
    assert written == project / ".opencode" / "tools" / "agentfetch.ts"
    assert written.read_text() == opencode_tool_file()
    assert install_opencode(project=project).path == written  # same content: fine to run again

    replaced = install_opencode(project=project, replace_webfetch=True)
    assert replaced.path.name == "webfetch.ts" and replaced.removed == written and not written.exists()

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert install_opencode(global_=True).path == tmp_path / "xdg" / "opencode" / "tools" / "agentfetch.ts"

    written.write_text("// my own tool\n")
    with pytest.raises(UsageError):
        install_opencode(project=project)
    assert written.read_text() == "// my own tool\n"
    assert install_opencode(project=project, force=True).removed == replaced.path
    assert written.read_text() == opencode_tool_file()


def test_install_opencode_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from agentfetch.cli.integrations import install_app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    runner = CliRunner()
    done = runner.invoke(install_app, ["opencode", "--replace-webfetch"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / ".opencode" / "tools" / "webfetch.ts").read_text() == opencode_tool_file()
    assert "webfetch tool" in done.output
    done = runner.invoke(install_app, ["opencode", "--global"])
    assert done.exit_code == 0
    assert (tmp_path / "xdg" / "opencode" / "tools" / "agentfetch.ts").is_file()
    assert not os.path.exists(tmp_path / "xdg" / "opencode" / "tools" / "webfetch.ts")
