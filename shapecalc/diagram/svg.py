"""SVG text of a laid-out :class:`~shapecalc.diagram.figure.Figure`: the writer only writes.

Self-contained SVG 1.1: inline styles, no scripts, no external fonts; each tensor is a ``<g>`` whose
``<title>`` names the layers it stands for (a tooltip in a browser).
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .figure import FONT, SMALL, TITLE, Figure

FONTS = "DejaVu Sans, Helvetica, Arial, sans-serif"
_STYLES = {
    "map": 'fill="#dbe8f5" stroke="#3d6a99" stroke-width="1"',
    "vector": 'fill="#f7e2c6" stroke="#a86a24" stroke-width="1"',
}
_TEXT = {
    "shape": f'font-size="{FONT:g}" fill="#1a1a1a"',
    "caption": f'font-size="{FONT:g}" fill="#555555" font-style="italic"',
    "op": f'font-size="{SMALL:g}" fill="#333333"',
    "title": f'font-size="{TITLE:g}" font-weight="bold" fill="#1a1a1a"',
}


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def to_svg(figure: Figure) -> str:
    """The figure as an SVG document (UTF-8 text)."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{_n(figure.width)}" '
        f'height="{_n(figure.height)}" viewBox="0 0 {_n(figure.width)} {_n(figure.height)}" '
        f"font-family={quoteattr(FONTS)}>",
        f"<title>{escape(figure.title)}</title>",
        "<defs>",
        '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555555"/></marker>',
        "</defs>",
        f'<rect width="{_n(figure.width)}" height="{_n(figure.height)}" fill="#ffffff"/>',
    ]
    for group in figure.groups:
        out.append("<g>")
        out.append(f"<title>{escape(group.title)}</title>")
        for a in group.arrows:
            out.append(
                f'<line x1="{_n(a.x1)}" y1="{_n(a.y1)}" x2="{_n(a.x2)}" y2="{_n(a.y2)}" '
                'stroke="#555555" stroke-width="1.2" marker-end="url(#arrow)"/>'
            )
        for b in group.boxes:
            out.append(
                f'<rect x="{_n(b.x)}" y="{_n(b.y)}" width="{_n(b.width)}" '
                f'height="{_n(b.height)}" {_STYLES[b.style]}/>'
            )
        for t in group.labels:
            out.append(
                f'<text x="{_n(t.x)}" y="{_n(t.y)}" text-anchor="{t.anchor}" {_TEXT[t.style]}>'
                f"{escape(t.text)}</text>"
            )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
