"""``agentfetch config``: the effective configuration (config.toml and the environment), secrets masked."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from ._output import guarded, write_json, write_text

__all__ = ["config_command", "effective_config", "register"]

MASK = "***"
#: Environment variables agentfetch reads, and whether their value is a secret.
ENVIRONMENT = {
    "AGENTFETCH_HOME": False,
    "AGENTFETCH_STORE": False,
    "AGENTFETCH_CONSENT": False,
    "AGENTFETCH_CLIENT_ID": False,
    "AGENTFETCH_CLIENT_SECRET": True,
    "AGENTFETCH_CLIENT_METADATA_URL": False,
}


def effective_config() -> dict[str, Any]:
    """What agentfetch would use now; every secret replaced by ``***``."""
    from .._config import config_file, load_config
    from .._credentials import load_credentials
    from .._options import consent_from_env
    from .._paths import config_dir, data_dir

    config = load_config()
    credentials = load_credentials(config)
    issuers: dict[str, Any] = {}
    for issuer, entry in (config.get("issuers") or {}).items():
        if isinstance(entry, dict):
            issuers[issuer] = {key: MASK if key == "client_secret" else value for key, value in entry.items()}
    environment = {name: (MASK if secret else os.environ[name])
                   for name, secret in ENVIRONMENT.items() if os.environ.get(name)}
    path = config_file()
    return {
        "config_file": str(path),
        "config_file_exists": path.exists(),
        "config_dir": str(config_dir()),
        "data_dir": str(data_dir()),
        "store": os.environ.get("AGENTFETCH_STORE") or "auto (keyring, else a private file)",
        "consent": consent_from_env(),
        "client": dict(config.get("client") or {}),
        "issuers": issuers,
        "credentials": [c.describe() | {"line": c.line} for c in credentials],
        "environment": environment,
    }


def _text(data: dict[str, Any]) -> str:
    found = "" if data["config_file_exists"] else " (not present)"
    lines = [f"config file: {data['config_file']}{found}", f"data: {data['data_dir']}", f"store: {data['store']}",
             f"consent: {data['consent']}"]
    for name, value in data["environment"].items():
        lines.append(f"env {name} = {value}")
    for key, value in data["client"].items():
        lines.append(f"[client] {key} = {value}")
    for issuer, entry in data["issuers"].items():
        lines.append(f'[issuers."{issuer}"] ' + ", ".join(f"{k} = {v}" for k, v in entry.items()))
    for number, entry in enumerate(data["credentials"], 1):
        shown = ", ".join(f"{k} = {v}" for k, v in entry.items() if k not in ("line",))
        lines.append(f"[[credentials]] #{number} (line {entry['line']}): {shown}")
    return "\n".join(lines) + "\n"


def config_command(
    as_json: Annotated[bool, typer.Option("--json", help="The effective configuration as JSON.")] = False,
) -> None:
    """Show the effective configuration: config.toml and the environment, secrets masked."""

    def action() -> None:
        data = effective_config()
        if as_json:
            write_json(data)
        else:
            write_text(_text(data))

    guarded(action, as_json=as_json)


def register(app: typer.Typer) -> None:
    app.command("config")(config_command)
