"""``python -m agentfetch.demo serve``: the demo without the main CLI (tests run it as a subprocess)."""

from __future__ import annotations

from .cli import app

if __name__ == "__main__":
    app(prog_name="python -m agentfetch.demo")
