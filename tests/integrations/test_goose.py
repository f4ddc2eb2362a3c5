"""Goose: the shipped entry names a command that really speaks MCP, and
``agentfetch install goose`` merges it without harming the rest of config.yaml."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from integration_support import REPO, Site

from agentfetch.errors import UsageError
from agentfetch.integrations import install
from agentfetch.integrations.install import goose_deeplink, goose_entry, goose_entry_yaml, merge_goose_config

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read Goose's YAML in tests (pip install pyyaml)")
mcp = pytest.importorskip("mcp", reason="the MCP SDK is not installed (pip install 'agentfetch[mcp]')")

GOOSE_DIR = REPO / "plugins" / "goose"


def shipped_entry() -> dict[str, object]:
    return yaml.safe_load((GOOSE_DIR / "config.yaml").read_text())["extensions"]["agentfetch"]


def test_shipped_entry_is_a_stdio_extension() -> None:
    entry = shipped_entry()
    assert entry["type"] == "stdio"
    assert entry["cmd"] == "agentfetch"
    assert entry["args"] == ["mcp"]
    assert isinstance(entry["timeout"], int) and entry["timeout"] >= 60
    assert entry["enabled"] is True


def test_recipe_uses_the_same_extension() -> None:
    recipe = yaml.safe_load((GOOSE_DIR / "recipe.yaml").read_text())
    assert recipe["version"] and recipe["title"] and recipe["instructions"]
    (extension,) = recipe["extensions"]
    entry = shipped_entry()
    assert {key: extension[key] for key in ("type", "cmd", "args", "timeout")} == {
        key: entry[key] for key in ("type", "cmd", "args", "timeout")
    }
    assert [p["key"] for p in recipe["parameters"]] == ["url"]
    assert "{{ url }}" in recipe["prompt"]


async def test_the_command_the_entry_names_speaks_mcp(site: Site, host_env: dict[str, str]) -> None:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    entry = shipped_entry()
    # Exactly what Goose runs: cmd resolved on PATH, with args.
    params = StdioServerParameters(command=str(entry["cmd"]), args=list(entry["args"]), env=host_env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = {tool.name for tool in (await session.list_tools()).tools}
            result = await session.call_tool("fetch", {"url": site.url("/article"), "max_length": 2000})
    assert init.server_info.name == "agentfetch"
    assert tools == {"fetch", "http_request", "discover_apis", "auth_status"}
    assert not result.is_error
    assert "# Loopback article" in result.content[0].text


def test_deeplink_carries_the_command_and_its_arguments() -> None:
    entry = goose_entry()
    link = urlsplit(goose_deeplink(entry))
    assert (link.scheme, link.netloc) == ("goose", "extension")
    query = parse_qs(link.query)
    assert query["cmd"] == [entry["cmd"]]
    assert query["arg"] == entry["args"]
    assert query["id"] == ["agentfetch"]
    assert query["timeout"] == [str(entry["timeout"])]
    assert query["description"] == [entry["description"]]


def test_shipped_readme_deeplink_matches_the_shipped_entry() -> None:
    readme = (GOOSE_DIR / "README.md").read_text()
    link = next(word for word in readme.split() if word.startswith("`goose://")).strip("`")
    query = parse_qs(urlsplit(link).query)
    entry = shipped_entry()
    assert query["cmd"] == [entry["cmd"]] and query["arg"] == entry["args"]
    assert query["timeout"] == [str(entry["timeout"])]


def test_printed_entry_is_yaml_for_the_entry() -> None:
    assert yaml.safe_load(goose_entry_yaml()) == {"extensions": {"agentfetch": goose_entry()}}


def test_entry_runs_the_command_a_host_is_told_to_run() -> None:
    # Which command that is, for each installation layout: tests/integrations/test_install.py.
    cmd, args = install.host_command()
    assert (goose_entry()["cmd"], goose_entry()["args"]) == (cmd, [*args, "mcp"])


EXISTING = """\
# goose settings, hand-edited
GOOSE_PROVIDER: anthropic   # keep this comment
GOOSE_MODEL: claude-sonnet-4
extensions:
  developer:
    bundled: true
    enabled: true
    name: developer
    timeout: 300
    type: builtin

  # memory stays off
  memory:
    enabled: false
    name: memory
    type: builtin
GOOSE_MODE: smart_approve
slash_commands:
  - command: standup
    recipe_path: /home/me/standup.yaml
"""


def merged(tmp_path: Path, text: str | None) -> tuple[Path, install.GooseMerge]:
    path = tmp_path / "goose" / "config.yaml"
    if text is not None:
        path.parent.mkdir(parents=True)
        path.write_text(text)
    return path, merge_goose_config(path)


def test_merge_keeps_every_other_line(tmp_path: Path) -> None:
    path, outcome = merged(tmp_path, EXISTING)
    assert outcome.action == "added"
    after = path.read_text()
    # Every original line is still there, in order (comments included).
    remaining = iter(after.splitlines())
    assert all(line in remaining for line in EXISTING.splitlines())
    data = yaml.safe_load(after)
    before = yaml.safe_load(EXISTING)
    assert data["extensions"]["agentfetch"] == goose_entry()
    assert {k: v for k, v in data["extensions"].items() if k != "agentfetch"} == before["extensions"]
    others_before = {k: v for k, v in before.items() if k != "extensions"}
    assert {k: v for k, v in data.items() if k != "extensions"} == others_before
    assert outcome.backup is not None and outcome.backup.read_text() == EXISTING


def test_merge_is_idempotent_and_updates_an_old_entry(tmp_path: Path) -> None:
    path, _ = merged(tmp_path, EXISTING)
    once = path.read_text()
    assert merge_goose_config(path).action == "unchanged"
    assert path.read_text() == once

    entry_tail = f"    env_keys: []\n    timeout: {install.GOOSE_TIMEOUT}\n"
    assert once.count(entry_tail) == 1
    stale = once.replace(entry_tail, "    env_keys: []\n    timeout: 5\n    extra: old\n")
    assert stale != once
    path.write_text(stale)
    outcome = merge_goose_config(path)
    assert outcome.action == "replaced"
    assert yaml.safe_load(path.read_text()) == yaml.safe_load(once)


@pytest.mark.parametrize("text", [None, "", "GOOSE_PROVIDER: openai\n", "GOOSE_PROVIDER: openai", "extensions: {}\n"])
def test_merge_into_a_new_or_small_file(tmp_path: Path, text: str | None) -> None:
    path, outcome = merged(tmp_path, text)
    assert outcome.action == "added"
    data = yaml.safe_load(path.read_text())
    assert data["extensions"] == {"agentfetch": goose_entry()}
    if text and "PROVIDER" in text:
        assert data["GOOSE_PROVIDER"] == "openai"


@pytest.mark.parametrize(
    "text",
    [
        "extensions: {developer: {enabled: true}}\n",
        "extensions:\n\tdeveloper:\n\t\tenabled: true\n",
        "- just\n- a list\n",
    ],
)
def test_merge_refuses_what_it_cannot_edit_safely(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as raised:
        merge_goose_config(path)
    assert "by hand" in str(raised.value)
    assert path.read_text() == text


def test_install_goose_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from agentfetch.cli.integrations import install_app

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    runner = CliRunner()
    printed = runner.invoke(install_app, ["goose", "--print"])
    assert printed.exit_code == 0
    assert yaml.safe_load(printed.output)["extensions"]["agentfetch"] == goose_entry()
    assert "goose://extension?" in printed.output
    assert not (tmp_path / "goose").exists()

    done = runner.invoke(install_app, ["goose", "--merge"])
    assert done.exit_code == 0, done.output
    config = tmp_path / "goose" / "config.yaml"
    assert yaml.safe_load(config.read_text())["extensions"]["agentfetch"] == goose_entry()
    again = runner.invoke(install_app, ["goose", "--merge"])
    assert "already has" in again.output

    both = runner.invoke(install_app, ["goose", "--print", "--merge"])
    assert both.exit_code == 2


def test_goose_config_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    if os.name != "nt":
        assert install.goose_config_path() == tmp_path / "goose" / "config.yaml"
