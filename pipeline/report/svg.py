"""A :class:`~pipeline.report.charts.Drawing` as inline SVG: shapes as elements, text as
``<text>`` in the reader's own fonts (no font, script or image is fetched)."""

from __future__ import annotations

from html import escape

from pipeline.report.charts import Chart, Dot, Line, Rect, Text, draw

# Fonts named, never fetched: whichever of them the reader's system has.
FONTS = (
    "'Microsoft YaHei','PingFang SC','Noto Sans CJK SC','Source Han Sans SC',"
    "'WenQuanYi Zen Hei',SimHei,sans-serif"
)


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def svg(chart: Chart) -> str:
    d = draw(chart)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(d.width)} {_n(d.height)}"'
        f' width="{_n(d.width)}" height="{_n(d.height)}" role="img"'
        f' aria-label="{escape(chart.title)}" font-family="{escape(FONTS)}">',
        f"<title>{escape(chart.title)}</title>",
    ]
    for s in d.shapes:
        if isinstance(s, Rect):
            out.append(
                f'<rect x="{_n(s.x)}" y="{_n(s.y)}" width="{_n(max(s.w, 0))}"'
                f' height="{_n(max(s.h, 0))}" fill="{s.fill}"/>'
            )
        elif isinstance(s, Line):
            pts = " ".join(f"{_n(x)},{_n(y)}" for x, y in s.points)
            out.append(
                f'<polyline points="{pts}" fill="none" stroke="{s.stroke}"'
                f' stroke-width="{_n(s.width)}"/>'
            )
        elif isinstance(s, Dot):
            out.append(f'<circle cx="{_n(s.x)}" cy="{_n(s.y)}" r="{_n(s.r)}" fill="{s.fill}"/>')
        elif isinstance(s, Text):
            cls = ' class="figure"' if s.figure else ""
            out.append(
                f'<text x="{_n(s.x)}" y="{_n(s.y)}" font-size="{_n(s.size)}"'
                f' text-anchor="{s.anchor}" fill="{s.fill}"{cls}>{escape(s.text)}</text>'
            )
    out.append("</svg>")
    return "\n".join(out)
