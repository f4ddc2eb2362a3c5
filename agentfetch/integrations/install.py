"""Put agentfetch into agent hosts: OpenCode's custom tools, Goose's extensions.

Goose keeps its settings in ``~/.config/goose/config.yaml``, a file the human
also edits. PyYAML is not a dependency of agentfetch, so the merge is a careful
line-based edit of the one ``extensions:`` block that never rewrites the rest
of the file; when PyYAML happens to be installed it double-checks the result
(every other key parses to what it was before) before anything is written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from ..errors import StoreError, UsageError

__all__ = [
    "EXTENSION_NAME",
    "GOOSE_TIMEOUT",
    "GooseMerge",
    "OpenCodeInstall",
    "claude_code_command",
    "codex_entry_toml",
    "goose_command",
    "goose_config_path",
    "goose_deeplink",
    "goose_entry",
    "goose_entry_yaml",
    "host_command",
    "install_opencode",
    "merge_goose_config",
    "opencode_tool_file",
    "opencode_tool_source",
    "opencode_tools_dir",
]

EXTENSION_NAME = "agentfetch"
EXTENSION_DESCRIPTION = "Fetch web pages as clean Markdown, signing in (OAuth) behind identity-aware proxies"
#: Seconds Goose waits for one tool call: above the MCP server's own sign-in
#: timeout, so that a slow sign-in ends with agentfetch's explanation.
GOOSE_TIMEOUT = 300


# --- which command a host runs ---------------------------------------------------


def _installed_script() -> Path | None:
    """The ``agentfetch`` console script of this installation, if it has one."""
    names = ("agentfetch.exe", "agentfetch") if sys.platform == "win32" else ("agentfetch",)
    invoked = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    places = [invoked.parent] if invoked is not None and invoked.name in names else []
    for scheme in (None, f"{os.name}_user"):
        try:
            places.append(Path(sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")))
        except KeyError:
            continue
    for place in places:
        for name in names:
            candidate = place / name
            if candidate.is_file():
                return candidate.absolute()
    return None


def _host_path() -> str:
    """``PATH`` as a host started from the desktop or another shell would see it: without the
    directories that activating a virtual environment (or a conda environment) put in front."""
    private: list[Path] = []
    if sys.prefix != sys.base_prefix:
        private.append(Path(sys.prefix))
    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        conda_base = variable == "CONDA_PREFIX" and os.environ.get("CONDA_DEFAULT_ENV") == "base"
        if os.environ.get(variable) and not conda_base:
            private.append(Path(os.environ[variable]))
    resolved = [place.resolve() for place in private]

    def visible(entry: str) -> bool:
        where = Path(entry).resolve()
        return not any(where == top or top in where.parents for top in resolved)

    return os.pathsep.join(entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry and visible(entry))


def _same_program(found: str, script: Path) -> bool:
    try:
        return os.path.samefile(found, script)
    except OSError:
        return False


def host_command() -> tuple[str, list[str]]:
    """How an agent host should start this agentfetch: ``agentfetch`` when the ``PATH`` a host
    sees finds this very installation (a system or pipx install), else the absolute path of its
    console script (a virtual environment the host knows nothing of), else this interpreter
    with ``-m agentfetch``."""
    script = _installed_script()
    found = shutil.which("agentfetch", path=_host_path())
    if found and script is not None and _same_program(found, script):
        return "agentfetch", []
    if script is not None:
        return str(script), []
    return sys.executable, ["-m", "agentfetch"]


def claude_code_command() -> list[str]:
    """The ``claude mcp add`` command line that adds this agentfetch to Claude Code."""
    cmd, args = host_command()
    return ["claude", "mcp", "add", EXTENSION_NAME, "--", cmd, *args, "mcp"]


def codex_entry_toml() -> str:
    """The ``[mcp_servers.agentfetch]`` table of Codex's ``~/.codex/config.toml``."""
    cmd, args = host_command()
    # JSON strings are valid TOML basic strings: safe for any path.
    return (f"[mcp_servers.{EXTENSION_NAME}]\ncommand = {json.dumps(cmd)}\n"
            f"args = [{', '.join(json.dumps(arg) for arg in [*args, 'mcp'])}]\n")


# --- OpenCode -----------------------------------------------------------------

#: The line of the tool file that names the command it runs.
_OPENCODE_COMMAND = re.compile(r'^(\s*const command = process\.env\.AGENTFETCH_BIN \|\| )(".*")$', re.MULTILINE)


def opencode_tool_source() -> str:
    """The OpenCode tool file shipped inside the package (``plugins/opencode/agentfetch.ts``)."""
    from importlib.resources import files

    return files("agentfetch.integrations").joinpath("assets", "agentfetch.ts").read_text(encoding="utf-8")


def opencode_tools_dir(*, global_: bool, project: Path | None = None) -> Path:
    """``.opencode/tools`` of the project, or OpenCode's global tools directory."""
    if global_:
        config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(config_home) / "opencode" / "tools"
    return (project or Path.cwd()) / ".opencode" / "tools"


def opencode_tool_file() -> str:
    """The tool file as installed: it runs :func:`host_command`'s program (OpenCode, started from
    the desktop, may not see a virtual environment's ``agentfetch`` on its ``PATH``)."""
    cmd, args = host_command()
    source = opencode_tool_source()
    if args:  # no console script (a source checkout): the PATH's agentfetch is all a tool file can name
        return source
    return _OPENCODE_COMMAND.sub(lambda match: match.group(1) + json.dumps(cmd), source, count=1)


def _is_agentfetch_tool(text: str) -> bool:
    """Whether ``text`` is agentfetch's tool file (as shipped, or installed naming another program)."""
    canonical = _OPENCODE_COMMAND.sub(lambda match: match.group(1) + '"agentfetch"', text, count=1)
    return canonical == opencode_tool_source()


@dataclass(frozen=True)
class OpenCodeInstall:
    path: Path
    #: agentfetch's tool file under the other name, removed so that one tool remains.
    removed: Path | None = None


def install_opencode(
    *, global_: bool = False, replace_webfetch: bool = False, project: Path | None = None, force: bool = False
) -> OpenCodeInstall:
    """Write the tool file; OpenCode names the tool after the file (``agentfetch`` or ``webfetch``).

    Switching names replaces: agentfetch's file under the other name goes (a file of the
    human's own under that name stays)."""
    tools = opencode_tools_dir(global_=global_, project=project)
    target, other = tools / "webfetch.ts", tools / "agentfetch.ts"
    if not replace_webfetch:
        target, other = other, target
    text = opencode_tool_file()
    try:
        existing = target.read_text(encoding="utf-8") if target.exists() else None
        previous = other.read_text(encoding="utf-8") if other.exists() else None
    except (OSError, UnicodeDecodeError) as error:
        raise StoreError(f"cannot read {tools}: {error}") from None
    if existing is not None and not force and not _is_agentfetch_tool(existing):
        raise UsageError(f"{target} exists and is not agentfetch's tool", hint="pass --force to overwrite it")
    _write_atomically(target, text)
    removed = None
    if previous is not None and _is_agentfetch_tool(previous):
        try:
            other.unlink()
        except OSError as error:
            raise StoreError(f"cannot remove {other}: {error}") from None
        removed = other
    return OpenCodeInstall(target, removed)


# --- Goose --------------------------------------------------------------------


def goose_command() -> tuple[str, list[str]]:
    """The command Goose should run: :func:`host_command` with ``mcp``."""
    cmd, args = host_command()
    return cmd, [*args, "mcp"]


def goose_entry(*, timeout: int = GOOSE_TIMEOUT) -> dict[str, Any]:
    """The ``extensions.agentfetch`` entry of Goose's config.yaml."""
    cmd, args = goose_command()
    return {
        "name": EXTENSION_NAME,
        "display_name": "agentfetch",
        "description": EXTENSION_DESCRIPTION,
        "type": "stdio",
        "cmd": cmd,
        "args": args,
        "enabled": True,
        "bundled": False,
        "envs": {},
        "env_keys": [],
        "timeout": timeout,
    }


def _yaml_scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # Double-quoted JSON strings are valid YAML: safe for any path or text.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_scalar(item) for item in value) + "]"
    if isinstance(value, dict) and not value:
        return "{}"
    raise TypeError(f"no YAML form for {value!r}")


def goose_entry_yaml(entry: dict[str, Any] | None = None, *, indent: str = "  ") -> str:
    """``extensions:`` with the agentfetch entry, as YAML text for config.yaml."""
    entry = goose_entry() if entry is None else entry
    lines = ["extensions:", f"{indent}{EXTENSION_NAME}:"]
    lines += [f"{indent * 2}{key}: {_yaml_scalar(value)}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


def goose_deeplink(entry: dict[str, Any] | None = None) -> str:
    """The ``goose://extension?...`` link that installs the extension in Goose Desktop."""
    entry = goose_entry() if entry is None else entry
    query = [("cmd", entry["cmd"])] + [("arg", arg) for arg in entry["args"]]
    query += [
        ("id", EXTENSION_NAME),
        ("name", entry["display_name"]),
        ("description", entry["description"]),
        ("timeout", str(entry["timeout"])),
    ]
    return "goose://extension?" + urlencode(query)


def goose_config_path() -> Path:
    """Goose's config.yaml, where Goose documents it."""
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "Block" / "goose" / "config" / "config.yaml"
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "goose" / "config.yaml"


@dataclass(frozen=True)
class GooseMerge:
    path: Path
    #: "added", "replaced" or "unchanged"
    action: str
    backup: Path | None


_TOP_LEVEL_KEY = re.compile(r"^(?P<key>[^\s#-][^:]*?)\s*:(?P<rest>.*)$")


def _is_structural(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


#: The way out when a config.yaml is written in a way the line-based merge does not handle.
_BY_HAND = "add the agentfetch entry by hand (agentfetch install goose --print)"


def _is_top_level_list(line: str) -> bool:
    return _is_structural(line) and _indent_of(line) == 0 and line.startswith("-") and not line.startswith("---")


def _is_entry(line: str, name: str) -> bool:
    return line.strip().split(":", 1)[0].strip("'\"") == name


def _merged_text(original: str, entry: dict[str, Any]) -> tuple[str, str]:
    """(new text, action). Edits only the ``extensions`` block of a block-style YAML mapping."""
    if "\t" in original:
        raise UsageError(f"config.yaml contains tabs; {_BY_HAND}")
    lines = original.splitlines()
    if any(_is_top_level_list(line) for line in lines):
        raise UsageError("config.yaml is not a YAML mapping; add the agentfetch entry by hand")
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if (m := _TOP_LEVEL_KEY.match(line)) and m["key"].strip("'\"") == "extensions"
        ),
        None,
    )
    if start is None:
        prefix = original if not original or original.endswith("\n") else original + "\n"
        return prefix + goose_entry_yaml(entry), "added"
    rest = _TOP_LEVEL_KEY.match(lines[start])["rest"].split("#", 1)[0].strip()  # type: ignore[index]
    end = next(
        (i for i in range(start + 1, len(lines)) if _is_structural(lines[i]) and _indent_of(lines[i]) == 0), len(lines)
    )
    if rest not in ("", "{}"):
        raise UsageError(f"config.yaml writes extensions in flow style; {_BY_HAND}")
    if rest == "{}" and any(_is_structural(line) for line in lines[start + 1 : end]):
        raise UsageError("config.yaml's extensions block is not understood; add the agentfetch entry by hand")
    children = [i for i in range(start + 1, end) if _is_structural(lines[i])]
    indent = " " * (min(_indent_of(lines[i]) for i in children) if children else 2)
    entry_lines = goose_entry_yaml(entry, indent=indent).splitlines()[1:]
    existing = next(
        (i for i in children if _indent_of(lines[i]) == len(indent) and _is_entry(lines[i], EXTENSION_NAME)),
        None,
    )
    if existing is None:
        # After the last entry, before any blank lines that separate the next key.
        at = children[-1] + 1 if children else start + 1
        new_lines = lines[:start] + ["extensions:"] + lines[start + 1 : at] + entry_lines + lines[at:]
        return "\n".join(new_lines) + "\n", "added"
    entry_end = next(
        (i for i in range(existing + 1, end) if _is_structural(lines[i]) and _indent_of(lines[i]) <= len(indent)), end
    )
    # Keep trailing blank lines and comments that belong to whatever follows.
    while entry_end > existing + 1 and not _is_structural(lines[entry_end - 1]):
        entry_end -= 1
    new_lines = lines[:existing] + entry_lines + lines[entry_end:]
    text = "\n".join(new_lines) + "\n"
    return text, "unchanged" if text == (original if original.endswith("\n") else original + "\n") else "replaced"


def _check_with_yaml(original: str, merged: str, entry: dict[str, Any]) -> None:
    try:
        import yaml  # type: ignore[import-untyped]  # optional, and typed stubs are not a dependency
    except ImportError:
        return
    try:
        before = yaml.safe_load(original) or {}
    except yaml.YAMLError as error:
        raise UsageError(
            f"config.yaml is not valid YAML ({error}); fix it or add the agentfetch entry by hand"
        ) from None
    if not isinstance(before, dict):
        raise UsageError("config.yaml is not a YAML mapping; add the agentfetch entry by hand")
    try:
        after = yaml.safe_load(merged)
    except yaml.YAMLError:
        after = None
    expected = dict(before)
    extensions = dict(before.get("extensions") or {})
    extensions[EXTENSION_NAME] = entry
    expected["extensions"] = extensions
    if after != expected:
        raise UsageError(f"could not merge config.yaml safely; {_BY_HAND}")


def merge_goose_config(path: Path | None = None, *, entry: dict[str, Any] | None = None) -> GooseMerge:
    """Add or update ``extensions.agentfetch`` in Goose's config.yaml, keeping every
    other line (comments included) as it was. The old file is kept as ``config.yaml.bak``."""
    path = goose_config_path() if path is None else path
    entry = goose_entry() if entry is None else entry
    try:
        original = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as error:
        raise StoreError(f"cannot read {path}: {error}") from None
    merged, action = _merged_text(original, entry)
    _check_with_yaml(original, merged, entry)
    if action == "unchanged":
        return GooseMerge(path, action, None)
    backup = None
    if original:
        backup = path.with_name(path.name + ".bak")
        _write_atomically(backup, original)
    _write_atomically(path, merged)
    return GooseMerge(path, action, backup)


def _write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        raise StoreError(f"cannot write {path}: {error}") from None
