"""Which command an agent host is told to run: ``agentfetch`` when the PATH a host sees finds this
installation, its absolute path when it lives in a virtual environment the host does not see.

Each case is a real installation layout: a virtual environment with the console script pip
writes, started as a person would (activated, by full path, or through a pipx-style link)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from integration_support import REPO

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read Goose's YAML in tests (pip install pyyaml)")

CONSOLE_SCRIPT = """#!{python}
import re
import sys
from agentfetch.__main__ import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX virtual environment layout")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment (over this interpreter's packages) with agentfetch's console script."""
    root = tmp_path_factory.mktemp("install") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(root)], check=True)
    script = root / "bin" / "agentfetch"
    script.write_text(CONSOLE_SCRIPT.format(python=root / "bin" / "python"))
    script.chmod(0o755)
    return root


def base_path() -> str:
    """A PATH with no agentfetch of this venv on it."""
    return os.environ.get("PATH", "/usr/bin:/bin")


def run(command: list[str], *, path: str, cwd: Path | None = None, **env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    environment |= {"PATH": path, "PYTHONPATH": str(REPO), "HOME": str(cwd or Path.cwd()), **env}
    done = subprocess.run(command, env=environment, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def goose_cmd(output: str) -> tuple[str, list[str]]:
    entry = yaml.safe_load(output)["extensions"]["agentfetch"]
    return entry["cmd"], entry["args"]


def test_an_activated_virtualenv_is_named_by_its_absolute_path(venv: Path) -> None:
    script = venv / "bin" / "agentfetch"
    output = run(["agentfetch", "install", "goose", "--print"], path=f"{venv / 'bin'}:{base_path()}",
                 VIRTUAL_ENV=str(venv))
    # Goose started from the desktop has no venv on its PATH: only the full path finds it.
    assert goose_cmd(output) == (str(script), ["mcp"])
    assert f"cmd={script}" in output.replace("%2F", "/")  # the deep link names it too


def test_a_virtualenv_script_run_by_its_full_path(venv: Path) -> None:
    script = venv / "bin" / "agentfetch"
    assert goose_cmd(run([str(script), "install", "goose", "--print"], path=base_path())) == (str(script), ["mcp"])


def test_a_link_on_the_host_path_is_named_by_name(venv: Path, tmp_path: Path) -> None:
    # pipx: the program lives in a venv, and ~/.local/bin (on everyone's PATH) links to it.
    bin_dir = tmp_path / "local-bin"
    bin_dir.mkdir()
    (bin_dir / "agentfetch").symlink_to(venv / "bin" / "agentfetch")
    output = run([str(bin_dir / "agentfetch"), "install", "goose", "--print"], path=f"{bin_dir}:{base_path()}")
    assert goose_cmd(output) == ("agentfetch", ["mcp"])


def test_codex_and_claude_code_entries_name_the_same_program(venv: Path) -> None:
    code = (
        "import json\n"
        "from agentfetch.integrations.install import claude_code_command, codex_entry_toml\n"
        "print(json.dumps([claude_code_command(), codex_entry_toml()]))\n"
    )
    claude, codex = json.loads(run([str(venv / "bin" / "python"), "-c", code], path=f"{venv / 'bin'}:{base_path()}",
                                   VIRTUAL_ENV=str(venv)))
    script = str(venv / "bin" / "agentfetch")
    assert claude == ["claude", "mcp", "add", "agentfetch", "--", script, "mcp"]
    assert tomllib.loads(codex) == {"mcp_servers": {"agentfetch": {"command": script, "args": ["mcp"]}}}


def test_the_absolute_command_speaks_mcp_without_the_venv_on_path(venv: Path) -> None:
    output = run(["agentfetch", "install", "goose", "--print"], path=f"{venv / 'bin'}:{base_path()}",
                 VIRTUAL_ENV=str(venv))
    cmd, args = goose_cmd(output)
    # What a host does with the entry, with a PATH that does not know the venv.
    request = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}}
    done = subprocess.run([cmd, *args], input=json.dumps(request) + "\n", capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(venv)}, check=False)
    answer = json.loads(done.stdout.splitlines()[0])
    assert answer["result"]["serverInfo"]["name"] == "agentfetch", done.stderr


def test_opencode_tool_file_runs_the_venv_program_and_switching_names_replaces(venv: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    path = f"{venv / 'bin'}:{base_path()}"
    tools = project / ".opencode" / "tools"
    output = run(["agentfetch", "install", "opencode"], path=path, cwd=project, VIRTUAL_ENV=str(venv))
    assert f"wrote {tools / 'agentfetch.ts'}" in output
    text = (tools / "agentfetch.ts").read_text()
    assert f'const command = process.env.AGENTFETCH_BIN || {json.dumps(str(venv / "bin" / "agentfetch"))}' in text

    output = run(["agentfetch", "install", "opencode", "--replace-webfetch"], path=path, cwd=project,
                 VIRTUAL_ENV=str(venv))
    # One tool, now named webfetch: not a second copy beside the first.
    assert sorted(p.name for p in tools.iterdir()) == ["webfetch.ts"]
    assert f"removed {tools / 'agentfetch.ts'}" in output and "webfetch tool" in output
    assert (tools / "webfetch.ts").read_text() == text

    # And back; a file of the human's own under the other name is never removed.
    (tools / "agentfetch.ts").write_text("// my own agentfetch tool\n")
    failed = subprocess.run(["agentfetch", "install", "opencode"], cwd=project, capture_output=True, text=True,
                            env=dict(os.environ, PATH=path, PYTHONPATH=str(REPO), VIRTUAL_ENV=str(venv)), check=False)
    assert failed.returncode == 2 and "not agentfetch's tool" in failed.stderr
    (tools / "agentfetch.ts").unlink()
    run(["agentfetch", "install", "opencode"], path=path, cwd=project, VIRTUAL_ENV=str(venv))
    assert sorted(p.name for p in tools.iterdir()) == ["agentfetch.ts"]
