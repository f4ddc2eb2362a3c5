"""The content package stays import-light: heavy modules load on first use only."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("lxml", "charset_normalizer", "pypdf", "markdownify", "bs4")


def loaded_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_content_loads_nothing_heavy():
    loaded = loaded_after("import agentfetch.content")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_text_json_and_pagination_stay_light():
    code = (
        "from agentfetch.content import convert, paginate, estimate_tokens\n"
        "convert(b'{\"a\": 1}', 'application/json', 'http://x/')\n"
        "convert(b'plain', 'text/plain; charset=utf-8', 'http://x/')\n"
        "convert(b'# md', 'text/markdown', 'http://x/')\n"
        "paginate('a\\n\\nb' * 100, 0, 10); estimate_tokens('abc')"
    )
    loaded = loaded_after(code)
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_html_loads_lxml_but_not_markdownify_or_bs4():
    loaded = loaded_after("from agentfetch.content import html_to_markdown\nhtml_to_markdown('<p>hi</p>')")
    assert "lxml" in loaded
    assert not loaded & {"markdownify", "bs4", "charset_normalizer"}
