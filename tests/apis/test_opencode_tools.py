"""The OpenCode tool file's ``http_request`` and ``discover_apis`` exports under Node, with a stub ``ctx``,
against the demo app: the permission each asks, the argv it runs, the answer it renders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentfetch.demo.useragent import browser_command
from agentfetch.integrations.install import opencode_tool_source

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO / "plugins" / "opencode"
NODE_MODULES = PLUGIN_DIR / "node_modules"

HARNESS = """\
import { tool } from "@opencode-ai/plugin"
import * as tools from "./dist/agentfetch.js"

const [name, input, denyAsk] = JSON.parse(process.argv[2])
const definition = tools[name]
const asks = []
const ctx = {
  sessionID: "session", messageID: "message", agent: "build",
  directory: process.cwd(), worktree: process.cwd(),
  abort: new AbortController().signal,
  metadata: () => {},
  ask: async (request) => {
    asks.push(request)
    if (denyAsk) throw new Error("The user rejected permission to use this specific tool call.")
  },
}
const args = tool.schema.object(definition.args).parse(input)
try {
  const result = await definition.execute(args, ctx)
  console.log(JSON.stringify({ ok: true, result, asks }))
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: error.message, asks }))
}
"""


@pytest.fixture
def run_tool(tmp_path: Path) -> Any:
    if not shutil.which("node") or not shutil.which("npx"):
        pytest.skip("node and npx are not installed")
    if not (NODE_MODULES / "@opencode-ai" / "plugin").is_dir():
        pytest.skip("plugin dependencies are not installed: npm ci --prefix plugins/opencode")
    project = tmp_path / "opencode-tool"
    project.mkdir()
    (project / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    (project / "package.json").write_text('{"type": "module"}\n')
    (project / "agentfetch.ts").write_text(opencode_tool_source())
    config = json.loads((PLUGIN_DIR / "tsconfig.json").read_text())
    config["compilerOptions"]["noEmit"] = False
    (project / "tsconfig.json").write_text(json.dumps(config))
    done = subprocess.run(["npx", "--no-install", "tsc", "-p", str(project)], cwd=PLUGIN_DIR,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (project / "harness.mjs").write_text(HARNESS)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    agentfetch_bin = bin_dir / "agentfetch"
    agentfetch_bin.write_text(f"#!/bin/sh\nexec {sys.executable} -m agentfetch \"$@\"\n")
    agentfetch_bin.chmod(0o755)
    env = dict(os.environ, AGENTFETCH_HOME=str(tmp_path / "home"), AGENTFETCH_STORE="file",
               AGENTFETCH_CONSENT="allow", AGENTFETCH_BIN=str(agentfetch_bin),
               BROWSER=browser_command(username="alice", background=True))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))

    def run(name: str, arguments: dict[str, Any], *, deny: bool = False) -> dict[str, Any]:
        finished = subprocess.run(["node", "harness.mjs", json.dumps([name, arguments, deny])], cwd=project,
                                  env=env, capture_output=True, text=True, timeout=180, check=False)
        assert finished.returncode == 0, finished.stderr
        return json.loads(finished.stdout)

    return run


def test_http_request_asks_its_own_permission_then_acts_as_the_human(run_tool, demo):
    url = demo.origin + "/api/pages"
    denied = run_tool("http_request", {"method": "post", "url": url, "body": '{"title": "Never"}'}, deny=True)
    assert not denied["ok"] and "rejected permission" in denied["error"]
    assert denied["asks"] == [{
        "permission": "agentfetch_http_request", "patterns": [f"POST {url}"], "always": [f"POST {demo.origin}/*"],
        "metadata": {"method": "POST", "url": url, "headers": {}, "body": '{"title": "Never"}'}}]
    assert demo.requests == []  # a refused permission sends nothing

    created = run_tool("http_request", {"method": "POST", "url": url, "body": '{"title": "From OpenCode"}'})
    assert created["ok"], created
    result = created["result"]
    assert result["output"].startswith("HTTP 201\ncontent-type: application/json\nlocation: ")
    assert result["metadata"]["status"] == 201 and result["metadata"]["method"] == "POST"
    conflict = run_tool("http_request", {"method": "DELETE", "url": demo.origin + "/api/pages/deploy"})
    assert conflict["ok"] and conflict["result"]["output"].startswith("HTTP 409")
    writes = [e for e in demo.audit if e.get("event") == "page.created"]
    assert [(e["user"], e["method"]) for e in writes] == [("alice", "POST")]


def test_discover_apis_asks_webfetch_and_lists(run_tool, demo):
    answer = run_tool("discover_apis", {"url": demo.url, "describe": True})
    assert answer["ok"], answer
    assert answer["asks"][0]["permission"] == "webfetch"
    assert "| POST | `/pages` | Create a page |" in answer["result"]["output"]
    broken = run_tool("discover_apis", {"url": "not a url"})
    assert not broken["ok"] and broken["error"].startswith("agentfetch apis failed: ")
