"""Helpers the API tests share: the CLI as a process, with an isolated home and the scripted browser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agentfetch.demo.useragent import browser_command


def run_cli(*args: str, home: Path, input: str | None = None, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "AGENTFETCH_HOME": str(home), "AGENTFETCH_STORE": "file",
                "BROWSER": browser_command(username="alice", background=True), **(env or {})}
    for name in ("AGENTFETCH_DEBUG", "AGENTFETCH_CONSENT"):
        full_env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "agentfetch", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL, check=False)


#: A cloudflared-style credential helper (``cloudflared access token -app=URL``) that gets a token the demo accepts.
CLOUDFLARED = Path(__file__).parent / "helpers" / "cloudflared"


def write_config(home: Path, text: str) -> Path:
    """``config.toml`` in ``home``'s config directory."""
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def cloudflared_entry(origin: str, *, ttl: int = 0) -> str:
    """A ``[[credentials]]`` entry: the cloudflared-style helper's token as ``cf-access-token`` for ``origin``."""
    argv = json.dumps([sys.executable, str(CLOUDFLARED), "access", "token", "-app={url}"])  # JSON array = TOML array
    return (f'[[credentials]]\nmatch = "{origin}"\ncommand = {argv}\nheader = "cf-access-token"\n'
            + (f"ttl = {ttl}\n" if ttl else ""))
