"""API discovery stays import-light: PyYAML only for a YAML description, httpx only with a fetcher."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = {"yaml", "httpx", "authlib", "lxml", "rich", "typer"}


def loaded_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_apis_and_parsing_json_loads_nothing_heavy():
    code = (
        "import agentfetch\n"
        "from agentfetch.apis import parse_linkset, parse_description\n"
        "parse_linkset(b'<a>; rel=item', 'application/linkset', 'https://h/')\n"
        "parse_description(b'{\"openapi\": \"3.1.0\", \"paths\": {}}', 'application/json')\n"
        "agentfetch.discover_apis\n"
    )
    loaded = loaded_after(code)
    assert not loaded & HEAVY, loaded & HEAVY


def test_a_yaml_description_loads_pyyaml():
    loaded = loaded_after("from agentfetch.apis import parse_description\n"
                          "parse_description(b'openapi: 3.0.0\\npaths: {}\\n', 'application/yaml')")
    assert "yaml" in loaded and not loaded & (HEAVY - {"yaml"})
