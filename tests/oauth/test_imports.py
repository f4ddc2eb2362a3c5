"""Import cost: OAuth is on the fetch path; its heavy helpers load only when a challenge is handled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_importing_oauth_loads_nothing_heavy() -> None:
    script = (
        "import sys\n"
        "import agentfetch.oauth\n"
        "from agentfetch.oauth import OAuth, ConsentRequest, default_consent\n"
        "OAuth(store=object())\n"
        "heavy = ('authlib', 'joserfc', 'keyring', 'filelock', 'platformdirs', 'lxml', 'markdownify', 'typer',"
        " 'asyncio', 'webbrowser', 'tomllib', 'http.server')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
