"""The protected app's pages: an internal wiki, as HTML and as Markdown (its API is in ``_api``).

Each page is written once as blocks and rendered both as a full HTML page (nav,
header, footer: the chrome a converter must strip) and as the Markdown variant
served on ``Accept: text/markdown``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._http import Response, accept_weights, escape

SITE_NAME = "Acme Internal Wiki"

Block = tuple  # ("h2", text) | ("p", text) | ("ul", [items]) | ("code", lang, text) | ("table", header, rows)


@dataclass(frozen=True)
class Page:
    slug: str
    path: str
    title: str
    summary: str
    blocks: tuple[Block, ...]


PAGES: tuple[Page, ...] = (
    Page(
        "home",
        "/",
        "Welcome to the Acme wiki",
        "Start here: what lives in this wiki and where to find it.",
        (
            ("p", "This wiki is the team's shared memory. It sits behind the company access proxy, so every "
                  "visit is tied to a person."),
            ("h2", "Popular pages"),
            ("ul", [
                "[Getting started](pages/getting-started) for your first day",
                "[Deploying a service](pages/deploy) with the release tool",
                "[On-call rotation](pages/oncall) for this quarter",
                "[Wiki API](pages/api) for scripts and agents",
            ]),
            ("h2", "House rules"),
            ("p", "Write for the next person. Link, do not copy. Anything **secret** goes in the vault, "
                  "never in a page."),
        ),
    ),
    Page(
        "getting-started",
        "/pages/getting-started",
        "Getting started",
        "Your first day: accounts, laptop set-up and the tools we use.",
        (
            ("p", "Welcome aboard. Work through these steps in order; each takes a few minutes."),
            ("h2", "Set up your laptop"),
            ("code", "bash", "git clone https://git.acme.example/platform/dotfiles.git\n"
                             "cd dotfiles && ./install.sh --profile engineer"),
            ("h2", "Next steps"),
            ("ul", [
                "Read [Deploying a service](deploy) before your first release",
                "Find your on-call shadow week in the [rotation](oncall)",
            ]),
        ),
    ),
    Page(
        "deploy",
        "/pages/deploy",
        "Deploying a service",
        "How releases reach production, with the commands and the environments.",
        (
            ("p", "Every service ships through the release tool. A release is a tagged build promoted through "
                  "three environments."),
            ("h2", "Environments"),
            ("table", ("Environment", "URL", "Approval"), (
                ("staging", "https://staging.acme.example", "none"),
                ("canary", "https://canary.acme.example", "team lead"),
                ("production", "https://acme.example", "change board"),
            )),
            ("h2", "Cut a release"),
            ("code", "bash", "release tag --service billing --version 2.4.0\n"
                             "release promote billing@2.4.0 --to staging"),
            ("h2", "Check health from Python"),
            ("code", "python", "import httpx\n\n"
                               "def healthy(base: str) -> bool:\n"
                               "    response = httpx.get(f\"{base}/healthz\", timeout=5)\n"
                               "    return response.status_code == 200"),
            ("p", "Stuck? Ask the person on the [on-call rotation](oncall)."),
        ),
    ),
    Page(
        "oncall",
        "/pages/oncall",
        "On-call rotation",
        "Who carries the pager this quarter and how to reach them.",
        (
            ("p", "Hand-over happens on Mondays at 10:00 UTC."),
            ("table", ("Week", "Primary", "Secondary"), (
                ("1", "alice", "bob"),
                ("2", "bob", "carol"),
                ("3", "carol", "alice"),
            )),
            ("p", "Escalation policy: see [Getting started](getting-started)."),
        ),
    ),
    Page(
        "api",
        "/pages/api",
        "Wiki API",
        "The JSON API for scripts and agents, and where its description lives.",
        (
            ("p", "Every page is also available as JSON, and scripts may add pages of their own (scope "
                  "**write**). The API is described by an [OpenAPI document](../api/openapi.json) and listed "
                  "in the [API catalog](../.well-known/api-catalog) (RFC 9727), with the people directory."),
            ("code", "bash", ("curl -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:8000/api/pages\n"
                              "curl -X POST -H 'Authorization: Bearer $TOKEN' --json '{\"title\": \"Notes\"}' "
                              "http://127.0.0.1:8000/api/pages")),
        ),
    ),
)

PAGES_BY_PATH = {page.path: page for page in PAGES}
PAGES_BY_SLUG = {page.slug: page for page in PAGES}

_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def _inline_html(text: str) -> str:
    text = escape(text)
    text = _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', text)
    return _BOLD.sub(r"<strong>\1</strong>", text)


def _blocks_html(blocks: tuple[Block, ...]) -> str:
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h2", "p"):
            out.append(f"<{kind}>{_inline_html(block[1])}</{kind}>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline_html(item)}</li>" for item in block[1]) + "</ul>")
        elif kind == "code":
            out.append(f'<pre><code class="language-{block[1]}">{escape(block[2])}</code></pre>')
        elif kind == "table":
            head = "".join(f"<th>{escape(cell)}</th>" for cell in block[1])
            rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in block[2])
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    return "\n".join(out)


def blocks_markdown(title: str, blocks: tuple[Block, ...]) -> str:
    out = [f"# {title}"]
    for block in blocks:
        kind = block[0]
        if kind == "h2":
            out.append(f"## {block[1]}")
        elif kind == "p":
            out.append(block[1])
        elif kind == "ul":
            out.append("\n".join(f"- {item}" for item in block[1]))
        elif kind == "code":
            out.append(f"```{block[1]}\n{block[2]}\n```")
        elif kind == "table":
            lines = ["| " + " | ".join(block[1]) + " |", "|" + "---|" * len(block[1])]
            lines += ["| " + " | ".join(row) + " |" for row in block[2]]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


#: Side navigation beside the text on a desktop; above it, as a row of links, on a phone. Wide
#: tables and code scroll inside themselves so that the page never scrolls sideways.
_STYLE = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2333}
header,footer{background:#234;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.25rem 1rem;
  align-items:baseline}
header a,footer a{color:#fff}
.site{font-weight:600;text-decoration:none}
.page{display:flex;align-items:flex-start;max-width:72rem}
nav{flex:0 0 14rem;padding:1rem}
nav ul{list-style:none;margin:0;padding:0}
nav li{margin:.3rem 0}
nav a[aria-current=page]{font-weight:600}
main{flex:1 1 auto;min-width:0;padding:1rem 2rem;max-width:50rem}
h1{line-height:1.25}
table{border-collapse:collapse;display:block;max-width:100%;overflow-x:auto}
td,th{border:1px solid #999;padding:.25rem .6rem;text-align:left}
pre{background:#f4f4f4;padding:.6rem;overflow-x:auto;max-width:100%}
@media (max-width:40rem){
  .page{display:block}
  nav{padding:.5rem 1rem;border-bottom:1px solid #d6dbe6}
  nav ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem}
  nav li{margin:0}
  main{padding:.75rem 1rem}
  h1{font-size:1.5rem}
}
"""


def layout(title: str, body: str, *, user: str | None = None, current: str = "") -> str:
    """The site chrome around every page: what a good converter drops."""
    marker = ' aria-current="page"'
    nav = "".join(
        f'<li><a href="{page.path}"{marker if page.path == current else ""}>{escape(page.title)}</a></li>'
        for page in PAGES
    )
    who = f"Signed in as {escape(user)}" if user else "Not signed in"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · {SITE_NAME}</title>
<link rel="api-catalog" href="/.well-known/api-catalog">
<style>{_STYLE}</style>
</head>
<body>
<header><a class="site" href="/">{SITE_NAME}</a> <span class="who">{who}</span></header>
<div class="page">
<nav aria-label="Wiki pages"><ul>{nav}</ul></nav>
<main>
<h1>{escape(title)}</h1>
{body}
</main>
</div>
<footer>© Acme Corp · Internal use only · <a href="/admin">Admin</a></footer>
</body>
</html>
"""


def estimate_tokens(text: str) -> int:
    """A rough LLM token count (about four characters a token), as ``x-markdown-tokens`` reports."""
    return max(1, (len(text) + 3) // 4)


def _markdown_response(markdown: str) -> Response:
    return Response(
        200,
        markdown.encode(),
        [
            ("Content-Type", "text/markdown; charset=utf-8"),
            ("Vary", "Accept"),
            ("x-markdown-tokens", str(estimate_tokens(markdown))),
        ],
    )


def wants_markdown(accept: str) -> bool:
    """``text/markdown`` preferred over ``text/html`` by q-value (ties go to Markdown: it was asked for)."""
    weights = accept_weights(accept)
    markdown = weights.get("text/markdown", 0.0)
    return markdown > 0 and markdown >= weights.get("text/html", 0.0)


def page_response(page: Page, accept: str, user: str | None) -> Response:
    if wants_markdown(accept):
        return _markdown_response(blocks_markdown(page.title, page.blocks))
    markup = layout(page.title, _blocks_html(page.blocks), user=user, current=page.path)
    return Response(
        200,
        markup.encode(),
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Vary", "Accept"),
            ("Link", '</.well-known/api-catalog>; rel="api-catalog"'),
        ],
    )


def admin_response(accept: str, user: str | None, audit: list[dict[str, object]]) -> Response:
    columns = ("time", "user", "client_id", "method", "path", "status")
    recent = audit[-20:]
    blocks: tuple[Block, ...] = (
        ("p", "Only holders of the **admin** scope see this page. The audit trail ties every request an "
              "agent makes to the person who approved it."),
        ("h2", "Recent requests"),
        ("table", columns, tuple(tuple(str(entry.get(c) or "-") for c in columns) for entry in recent)),
    )
    if wants_markdown(accept):
        return _markdown_response(blocks_markdown("Admin", blocks))
    markup = layout("Admin", _blocks_html(blocks), user=user, current="/admin")
    return Response(200, markup.encode(), [("Content-Type", "text/html; charset=utf-8"), ("Vary", "Accept")])
