"""Math on web pages → TeX, which agents read and write fluently.

Sources, best first: the TeX the page kept (KaTeX and MathJax put it in an
``<annotation encoding="application/x-tex">``; Wikipedia in ``alttext`` and
in the fallback image's ``alt``), then a plain MathML → TeX translation for
the elements that carry meaning (fractions, scripts, roots, over/under,
tables); anything else contributes its text.
"""

from __future__ import annotations

from agentfetch.content._tree import text_of

__all__ = ["math_to_tex"]

_TEX_ENCODINGS = ("application/x-tex", "text/x-tex", "application/x-latex", "tex")
_CONTAINERS = {"math", "mrow", "mstyle", "mpadded", "menclose", "merror", "mfenced", "semantics", "mlabeledtr"}
_ESCAPES = {"{": "\\{", "}": "\\}", "%": "\\%", "#": "\\#", "&": "\\&", "$": "\\$"}


def math_to_tex(el) -> str:
    """TeX for a ``<math>`` element or a KaTeX/MathJax/MediaWiki wrapper around one."""
    for annotation in el.iter("annotation"):
        if (annotation.get("encoding") or "").lower() in _TEX_ENCODINGS:
            return " ".join(text_of(annotation).split())
    math = el if el.tag == "math" else next(el.iter("math"), None)
    if math is not None:
        alt = math.get("alttext")
        if alt and alt.strip():
            return " ".join(alt.split())
        return " ".join(_tex(math).split())
    for img in el.iter("img"):
        alt = img.get("alt")
        if alt and alt.strip():
            return " ".join(alt.split())
    return ""


def _kids(el) -> list:
    return [c for c in el if isinstance(c.tag, str) and c.tag not in ("annotation", "annotation-xml")]


def _group(el) -> str:
    tex = _tex(el)
    return tex if len(tex) == 1 else "{" + tex + "}"


def _token(el) -> str:
    text = " ".join(text_of(el).split())
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _tex(el) -> str:
    tag = el.tag
    kids = _kids(el)
    if tag in ("mi", "mn", "mo", "ms"):
        return _token(el)
    if tag == "mtext":
        text = _token(el)
        return f"\\text{{{text}}}" if text.strip() else " "
    if tag == "mspace":
        return " "
    if tag == "mphantom":
        return ""
    if tag == "mfrac" and len(kids) == 2:
        return f"\\frac{{{_tex(kids[0])}}}{{{_tex(kids[1])}}}"
    if tag == "msqrt":
        return "\\sqrt{" + "".join(_tex(k) for k in kids) + "}"
    if tag == "mroot" and len(kids) == 2:
        return f"\\sqrt[{_tex(kids[1])}]{{{_tex(kids[0])}}}"
    if tag == "msup" and len(kids) == 2:
        return f"{_group(kids[0])}^{_group(kids[1])}"
    if tag == "msub" and len(kids) == 2:
        return f"{_group(kids[0])}_{_group(kids[1])}"
    if tag == "msubsup" and len(kids) == 3:
        return f"{_group(kids[0])}_{_group(kids[1])}^{_group(kids[2])}"
    if tag == "mover" and len(kids) == 2:
        return f"\\overset{{{_tex(kids[1])}}}{{{_tex(kids[0])}}}"
    if tag == "munder" and len(kids) == 2:
        return f"\\underset{{{_tex(kids[1])}}}{{{_tex(kids[0])}}}"
    if tag == "munderover" and len(kids) == 3:
        return f"{_group(kids[0])}_{_group(kids[1])}^{_group(kids[2])}"
    if tag == "mtable":
        rows = []
        for row in kids:
            cells = [_tex(cell) for cell in _kids(row)]
            rows.append(" & ".join(cells))
        return "\\begin{matrix}" + " \\\\ ".join(rows) + "\\end{matrix}"
    if tag == "mfenced":
        opening = el.get("open", "(")
        closing = el.get("close", ")")
        separator = (el.get("separators") or ",")[:1]
        return opening + separator.join(_tex(k) for k in kids) + closing
    if tag == "semantics" and kids:
        return _tex(kids[0])
    if tag in _CONTAINERS or kids:
        return "".join(_tex(k) for k in kids)
    return _token(el)
