"""Math on web pages → TeX, which agents read and write fluently.

Sources, best first: the TeX the page kept (KaTeX and MathJax put it in an
``<annotation encoding="application/x-tex">``; Wikipedia in ``alttext`` and
in the fallback image's ``alt``), then a plain MathML → TeX translation for
the elements that carry meaning (fractions, scripts, roots, over/under,
tables); anything else contributes its text.
"""

from __future__ import annotations

from ._tree import text_of

__all__ = ["math_to_tex"]

_TEX_ENCODINGS = ("application/x-tex", "text/x-tex", "application/x-latex", "tex")
_CONTAINERS = {"math", "mrow", "mstyle", "mpadded", "menclose", "merror", "mfenced", "semantics", "mlabeledtr"}
# tag: (number of children, TeX with {0}.. for each child and {g[0]}.. for it braced)
_TEMPLATES = {
    "mfrac": (2, "\\frac{{{0}}}{{{1}}}"),
    "mroot": (2, "\\sqrt[{1}]{{{0}}}"),
    "msup": (2, "{g[0]}^{g[1]}"),
    "msub": (2, "{g[0]}_{g[1]}"),
    "msubsup": (3, "{g[0]}_{g[1]}^{g[2]}"),
    "munderover": (3, "{g[0]}_{g[1]}^{g[2]}"),
    "mover": (2, "\\overset{{{1}}}{{{0}}}"),
    "munder": (2, "\\underset{{{1}}}{{{0}}}"),
}
_ESCAPES = {"{": "\\{", "}": "\\}", "%": "\\%", "#": "\\#", "&": "\\&", "$": "\\$"}


def math_to_tex(el) -> str:
    """TeX for a ``<math>`` element or a KaTeX/MathJax/MediaWiki wrapper around one."""
    for annotation in el.iter("annotation"):
        if (annotation.get("encoding") or "").lower() in _TEX_ENCODINGS:
            return _unwrap_style(" ".join(text_of(annotation).split()))
    math = el if el.tag == "math" else next(el.iter("math"), None)
    if math is not None:
        alt = math.get("alttext")
        if alt and alt.strip():
            return _unwrap_style(" ".join(alt.split()))
        return " ".join(_tex(math).split())
    for img in el.iter("img"):
        alt = img.get("alt")
        if alt and alt.strip():
            return _unwrap_style(" ".join(alt.split()))
    return ""


def _unwrap_style(tex: str) -> str:
    """``{\\displaystyle x}`` → ``x``: MediaWiki wraps every formula in a style switch that
    only says how big to draw it; the ``$``/``$$`` delimiters already say inline or display."""
    for switch in ("{\\displaystyle ", "{\\textstyle "):
        if tex.startswith(switch) and tex.endswith("}") and _balanced(tex[len(switch) : -1]):
            return tex[len(switch) : -1].strip()
    return tex


def _balanced(tex: str) -> bool:
    depth = 0
    escaped = False
    for ch in tex:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _kids(el) -> list:
    return [c for c in el if isinstance(c.tag, str) and c.tag not in ("annotation", "annotation-xml")]


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
    template = _TEMPLATES.get(tag)
    if template is not None and len(kids) == template[0]:
        raw = [_tex(k) for k in kids]
        grouped = [t if len(t) == 1 else "{" + t + "}" for t in raw]
        return template[1].format(*raw, g=grouped)
    if tag == "msqrt":
        return "\\sqrt{" + "".join(_tex(k) for k in kids) + "}"
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
