"""``python -m agentfetch.demo serve``: the demo without the main CLI (tests run it as a subprocess).

An entry point like ``agentfetch/__main__.py``: the command itself lives in :mod:`agentfetch.cli.demo`.
"""

from __future__ import annotations

if __name__ == "__main__":
    from ..cli.demo import serve_app

    serve_app(prog_name="python -m agentfetch.demo")
