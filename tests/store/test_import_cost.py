"""The cached-fetch path (open the store, find a credential) loads no heavy module."""

from __future__ import annotations

import json
from pathlib import Path

from store_builders import spawn

HOT_PATH = """
import json, sys
from agentfetch.store import open_store
credential = open_store().find("https://app.example/docs/page")
# platformdirs too: AGENTFETCH_HOME is set, as in every test
heavy = ("keyring", "filelock", "platformdirs", "asyncio", "authlib", "httpx", "rich", "typer", "lxml")
print(json.dumps({"found": credential is not None, "loaded": [m for m in heavy if m in sys.modules]}))
"""

SEED = """
from agentfetch.store import open_store, Credential, CredentialKey, TokenSet
open_store().put(Credential(CredentialKey("https://as.example", "https://app.example/docs", "c"),
                            TokenSet("at-1"), token_endpoint="https://as.example/token"))
"""


def _run(code: str, home: Path, backend: str | None) -> str:
    proc = spawn(code, home=home, backend=backend)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out


def test_finding_a_stored_credential_imports_nothing_heavy(home: Path) -> None:
    _run(SEED, home, "file")
    for backend in ("file", None):  # forced, and auto-detected (keyring is not even probed)
        result = json.loads(_run(HOT_PATH, home, backend))
        assert result == {"found": True, "loaded": []}
