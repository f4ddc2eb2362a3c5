"""HTML → Markdown quality and speed on real pages, agentfetch side by side with its peers.

Usage: ``python benchmarks/markdown.py [--corpus DIR] [--only NAME ...] [--per-page]``

Reads ``../shared/corpus/pages/*/`` (``source.html`` as served,
``expected.html`` the Firefox Reader View of it, ``expected-metadata.json``)
and prints one table, every method measured in the same run:

* seconds to convert every ``source.html``, and the ratio to the floor, a bare
  ``lxml.html.fromstring`` of the same bytes;
* median and 10th-percentile recall: the share of the reader view's word
  bigrams found in the output;
* median boilerplate: the share of the output's word bigrams not in the
  reader view.

Words are lower-cased ``\\w+`` runs; block elements separate words, inline
ones do not. The reference text is what Reader View shows: the title and byline
from ``expected-metadata.json`` above the text of ``expected.html``. Markdown
syntax that is not prose is left out of every method's output before counting,
the same way for all: link destinations (``](…)``), images (``![alt](…)``,
shown as images, not words, by Reader View) and ordered-list numbers (``1.``,
which HTML draws but does not hold as text).

Peers (benchmark-only: ``pip install trafilatura lxml_html_clean html2text
readabilipy``; current trafilatura needs ``lxml_html_clean`` with lxml 5.2+):
markdownify alone, html2text alone, trafilatura with Markdown
output, and the MCP fetch server's pipeline, readabilipy then markdownify. The
latter runs Readability.js under Node when node and readabilipy's JavaScript
dependencies are installed (``npm install`` in readabilipy's ``javascript``
folder) and falls back to readabilipy's pure-Python mode otherwise; the table
says which mode ran.

Timing: every method first converts one page untimed (imports are start-up
cost, see ``startup.py``), then passes over all pages are repeated, up to
three, while a pass takes under 5 s; the fastest pass counts. The same rule
for every method keeps machine noise from deciding the ratio to the floor.

Targets (issue 7): median recall >= 0.99, p10 recall >= 0.95, median
boilerplate <= 5%, total time <= 15x the floor. Exit status 0 either way:
the PASS/FAIL lines are the verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
PAGE_URL = "http://fakehost/test/page.html"  # the URL Readability's test pages were saved under
_WORDS = re.compile(r"\w+")
_LINK_TARGET = re.compile(r"\]\((?:[^()\s]|\([^()]*\))*\)")
_IMAGE = re.compile(r"!\[[^\]]*\]\((?:[^()\s]|\([^()]*\))*\)")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_ORDERED_MARKER = re.compile(r"^([ \t>]*)\d{1,9}[.)](?=[ \t])", re.M)
_BLOCK_TAGS = (
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure",
    "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
    "pre", "section", "table", "td", "th", "tr", "ul", "caption", "img", "math", "mtd", "mtr",
)

REPEATS = 3
REPEAT_BELOW = 5.0  # seconds; slower methods run once
TARGETS = {"median_recall": 0.99, "p10_recall": 0.95, "median_boilerplate": 0.05, "ratio": 15.0}


def words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


def bigrams(tokens: list[str]) -> list[tuple[str, str]]:
    return list(zip(tokens, tokens[1:]))


def markdown_words(markdown: str) -> list[str]:
    text = _LINK_TARGET.sub("]", _IMAGE.sub(" ", _COMMENT.sub(" ", markdown)))
    return words(_ORDERED_MARKER.sub(r"\1", text))


def reference_bigrams(page: Path) -> set[tuple[str, str]]:
    import lxml.html

    parser = lxml.html.HTMLParser(encoding="utf-8")
    expected = lxml.html.fromstring(page.joinpath("expected.html").read_bytes(), parser=parser)
    meta = json.loads(page.joinpath("expected-metadata.json").read_text(encoding="utf-8"))
    # Block boundaries are word boundaries ("end.</p><p>Next"); inline ones are not ("<b>H</b>ello").
    for el in expected.iter(*_BLOCK_TAGS):
        el.text = " " + (el.text or "")
        el.tail = " " + (el.tail or "")
    parts = [str(meta.get("title") or ""), str(meta.get("byline") or ""), expected.text_content()]
    return set().union(*(bigrams(words(part)) for part in parts))


def score(reference: set, output: str) -> tuple[float, float]:
    out = bigrams(markdown_words(output))
    recall = len(reference & set(out)) / len(reference) if reference else 1.0
    counts = Counter(out)
    total = sum(counts.values())
    junk = sum(n for bigram, n in counts.items() if bigram not in reference)
    return recall, (junk / total if total else 0.0)


# -- methods ---------------------------------------------------------------
def method_floor() -> Callable[[bytes], str]:
    import lxml.html

    def run(body: bytes) -> str:
        lxml.html.fromstring(body)
        return ""

    return run


def method_agentfetch() -> Callable[[bytes], str]:
    from agentfetch.content import convert

    return lambda body: convert(body, "text/html", PAGE_URL).markdown


def method_markdownify() -> Callable[[bytes], str]:
    import markdownify

    return lambda body: markdownify.markdownify(body.decode("utf-8", "replace"), heading_style="ATX")


def method_html2text() -> Callable[[bytes], str]:
    import html2text

    def run(body: bytes) -> str:
        converter = html2text.HTML2Text(baseurl=PAGE_URL)
        converter.body_width = 0
        return converter.handle(body.decode("utf-8", "replace"))

    return run


def method_trafilatura() -> Callable[[bytes], str]:
    import trafilatura

    def run(body: bytes) -> str:
        return trafilatura.extract(body, url=PAGE_URL, output_format="markdown") or ""

    return run


def readabilipy_mode() -> str:
    try:
        import readabilipy
    except ImportError:
        return "missing"
    js = Path(readabilipy.__file__).parent / "javascript" / "node_modules" / "@mozilla" / "readability"
    return "Readability.js via node" if shutil.which("node") and js.exists() else "pure Python"


def method_mcp_fetch() -> Callable[[bytes], str]:
    """mcp-server-fetch's ``extract_content_from_html``: readabilipy, then markdownify."""
    import markdownify
    from readabilipy.simple_json import simple_json_from_html_string

    use_readability = readabilipy_mode().startswith("Readability.js")

    def run(body: bytes) -> str:
        result = simple_json_from_html_string(body.decode("utf-8", "replace"), use_readability=use_readability)
        if not result["content"]:
            return ""
        return markdownify.markdownify(result["content"], heading_style=markdownify.ATX)

    return run


METHODS: dict[str, Callable[[], Callable[[bytes], str]]] = {
    "lxml parse (floor)": method_floor,
    "agentfetch": method_agentfetch,
    "markdownify": method_markdownify,
    "html2text": method_html2text,
    "trafilatura": method_trafilatura,
    "mcp-fetch (readabilipy+markdownify)": method_mcp_fetch,
}


def measure(name: str, run: Callable[[bytes], str], pages: list[Path], bodies: list[bytes]) -> tuple[float, list[str]]:
    """Seconds for one pass over every page (the fastest of up to REPEATS), and the outputs.

    Every method gets the same rule: a warm-up call (imports are start-up
    cost, measured by startup.py), then passes repeated while one takes under
    REPEAT_BELOW seconds, keeping the fastest, so a noisy machine does not
    decide the ratio to the (fast, noise-sensitive) floor.
    """
    run(bodies[0])
    best = float("inf")
    outputs: list[str] = []
    for attempt in range(REPEATS):
        outputs = []
        started = time.perf_counter()
        for page, body in zip(pages, bodies):
            try:
                outputs.append(run(body))
            except Exception as err:  # a peer crashing on a page scores zero on it
                outputs.append("")
                if attempt == 0:
                    print(f"  {name} failed on {page.name}: {type(err).__name__}: {err}", file=sys.stderr)
        seconds = time.perf_counter() - started
        best = min(best, seconds)
        if seconds >= REPEAT_BELOW:
            break
    return best, outputs


def p10(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.1 * (len(ordered) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("AGENTFETCH_CORPUS", DEFAULT_CORPUS)))
    parser.add_argument("--only", nargs="*", help="method names (substrings) to run besides the floor")
    parser.add_argument("--per-page", action="store_true", help="print agentfetch's recall and boilerplate per page")
    args = parser.parse_args(argv)

    pages_dir = args.corpus / "pages"
    if not pages_dir.is_dir():
        print(f"SKIP: no corpus at {pages_dir} (see ../shared/corpus/README.md)")
        return 0
    pages = sorted(p for p in pages_dir.iterdir() if (p / "source.html").exists() and (p / "expected.html").exists())
    bodies = [p.joinpath("source.html").read_bytes() for p in pages]
    references = [reference_bigrams(p) for p in pages]
    print(f"corpus: {len(pages)} pages, {sum(map(len, bodies)) / 1e6:.1f} MB, {args.corpus}")

    results: dict[str, dict] = {}
    floor_seconds = None
    for name, factory in METHODS.items():
        if args.only and name != "lxml parse (floor)" and not any(o in name for o in args.only):
            continue
        try:
            run = factory()
        except ImportError as err:
            print(f"skip {name}: {err} (pip install trafilatura lxml_html_clean html2text readabilipy)")
            continue
        seconds, outputs = measure(name, run, pages, bodies)
        if floor_seconds is None:
            floor_seconds = seconds
            results[name] = {"seconds": seconds}
            continue
        scores = [score(ref, out) for ref, out in zip(references, outputs)]
        recalls = [s[0] for s in scores]
        junk = [s[1] for s in scores]
        results[name] = {
            "seconds": seconds,
            "median_recall": statistics.median(recalls),
            "p10_recall": p10(recalls),
            "median_boilerplate": statistics.median(junk),
        }
        if name == "agentfetch" and args.per_page:
            for page, (recall, boiler) in sorted(zip(pages, scores), key=lambda x: x[1][0]):
                print(f"  {page.name:40s} recall {recall:.3f}  boilerplate {boiler:.3f}")

    print()
    print(f"{'method':40s} {'seconds':>8s} {'x floor':>8s} {'recall med':>10s} {'recall p10':>10s} {'boiler med':>10s}")
    for name, r in results.items():
        ratio = r["seconds"] / floor_seconds
        if "median_recall" in r:
            print(
                f"{name:40s} {r['seconds']:8.2f} {ratio:8.1f} {r['median_recall']:10.3f} "
                f"{r['p10_recall']:10.3f} {r['median_boilerplate']:10.1%}"
            )
        else:
            print(f"{name:40s} {r['seconds']:8.2f} {ratio:8.1f}")
    if any("mcp-fetch" in n for n in results):
        print(f"(mcp-fetch ran readabilipy in {readabilipy_mode()} mode)")
    ours = results.get("agentfetch")
    if ours:
        print()
        checks = [
            ("median recall >= 0.99", ours["median_recall"] >= TARGETS["median_recall"], f"{ours['median_recall']:.3f}"),
            ("p10 recall >= 0.95", ours["p10_recall"] >= TARGETS["p10_recall"], f"{ours['p10_recall']:.3f}"),
            ("median boilerplate <= 5%", ours["median_boilerplate"] <= TARGETS["median_boilerplate"], f"{ours['median_boilerplate']:.1%}"),
            ("time <= 15x floor", ours["seconds"] / floor_seconds <= TARGETS["ratio"], f"{ours['seconds'] / floor_seconds:.1f}x"),
        ]
        for label, ok, value in checks:
            print(f"{'PASS' if ok else 'FAIL'}  {label}  ({value})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
