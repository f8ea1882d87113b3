"""Charts for the leaders' page and briefing, drawn once as shapes.

A :class:`Chart` says what is shown (categories, series of figures, a rate line); :func:`draw`
lays it out as a :class:`Drawing`, a list of plain shapes (rectangles, lines, circles,
text) in pixels. Two back ends paint the same drawing: :mod:`pipeline.report.svg` writes
it as inline SVG with its text as ``<text>`` (the browser uses its own Chinese fonts),
:mod:`pipeline.report.raster` paints it as a PNG for the briefing. So the page and the
document can never show two different charts, and no plotting library is needed.

Text widths are estimated (a CJK character one em, others about 0.6 em): the browser's
font is not known here, so labels are cut to fit with room to spare.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

T = TypeVar("T")

ChartKind = Literal["columns", "bars", "stacked"]
PALETTE = ("#3b6fb6", "#e08a2c", "#4a9a5b", "#c4473f", "#8c6bb1", "#7f7f7f")
INK = "#222222"
GRID = "#d9d9d9"
MUTED = "#666666"
LINE = "#c4473f"
WIDTH = 640
FONT = 12
SMALL = 10


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]
    color: str = ""


@dataclass(frozen=True)
class Chart:
    """``columns``: a vertical bar group per category (periods), with ``line`` (a rate,
    in %) on a right-hand axis; ``bars``: horizontal bar groups (topics, institutions);
    ``stacked``: horizontal bars split by series (reporting, items by status)."""

    key: str  # stable id: the page's anchor, the tests' handle
    title: str
    kind: ChartKind
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    unit: str = ""
    line: Series | None = None
    note: str = ""

    def figures(self) -> list[str]:
        """Every figure written on the chart (for the tests)."""
        return [s.text for s in draw(self).shapes if isinstance(s, Text) and s.figure]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str


@dataclass(frozen=True)
class Line:
    points: tuple[tuple[float, float], ...]
    stroke: str
    width: float = 1.0


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    r: float
    fill: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # the baseline
    text: str
    size: float = FONT
    anchor: Literal["start", "middle", "end"] = "start"
    fill: str = INK
    figure: bool = False  # one of the chart's figures (not a label)


Shape = Rect | Line | Dot | Text


@dataclass
class Drawing:
    width: float
    height: float
    shapes: list[Shape] = field(default_factory=list)


MAX_BARS = 30  # a ranking of more is drawn by its two ends (a province has thousands)


def ends(items: Sequence[T], most: int = MAX_BARS) -> tuple[list[T], str]:
    """``items`` as a chart shows them: all, or the first and last ``most // 2`` with a
    note saying so."""
    if len(items) <= most:
        return list(items), ""
    half = most // 2
    return [*items[:half], *items[-half:]], f"共{len(items)}个，图中为前{half}个和后{half}个"


def fmt(value: float | None, unit: str = "") -> str:
    """A figure as charts and texts write it: whole numbers bare, a rate to one decimal."""
    if value is None:
        return "—"
    if unit == "%":
        return f"{value:.1f}%"
    if float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.1f}"


def text_width(text: str, size: float = FONT) -> float:
    return sum(size if ord(c) >= 0x2E80 else size * 0.6 for c in text)


def clip(text: str, room: float, size: float = FONT) -> str:
    """``text`` cut (with …) to fit ``room`` pixels."""
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def nice_top(value: float) -> float:
    """A round axis top at or above ``value`` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * exp >= value:
            return float(step * exp)
    return float(10 * exp)


def _color(s: Series, i: int) -> str:
    return s.color or PALETTE[i % len(PALETTE)]


def _legend(d: Drawing, chart: Chart, y: float) -> None:
    x = 8.0
    entries = [(s.name, _color(s, i), False) for i, s in enumerate(chart.series)]
    if chart.line is not None:
        entries.append((chart.line.name, LINE, True))
    for name, color, is_line in entries:
        if is_line:
            d.shapes.append(Line(((x, y - 4), (x + 14, y - 4)), color, 2))
            d.shapes.append(Dot(x + 7, y - 4, 3, color))
        else:
            d.shapes.append(Rect(x, y - 10, 12, 10, color))
        d.shapes.append(Text(x + 18, y, name, SMALL + 1))
        x += 18 + text_width(name, SMALL + 1) + 16


def draw(chart: Chart) -> Drawing:
    if chart.kind == "columns":
        return _columns(chart)
    return _bars(chart, stacked=chart.kind == "stacked")


def _columns(chart: Chart) -> Drawing:
    n = max(1, len(chart.categories))
    d = Drawing(WIDTH, 300)
    left, right, top, bottom = 48.0, 52.0 if chart.line else 16.0, 40.0, 40.0
    x0, x1, y0, y1 = left, d.width - right, top, d.height - bottom
    _legend(d, chart, 18)
    values = [v for s in chart.series for v in s.values if v is not None]
    ymax = nice_top(max(values, default=0))
    for k in range(5):
        y = y1 - (y1 - y0) * k / 4
        d.shapes.append(Line(((x0, y), (x1, y)), GRID))
        d.shapes.append(Text(x0 - 6, y + 4, fmt(ymax * k / 4), SMALL, "end", MUTED))
    band = (x1 - x0) / n
    group = band * 0.72
    bar = group / max(1, len(chart.series))
    labelled = n * len(chart.series) <= 30
    for i, cat in enumerate(chart.categories):
        gx = x0 + band * i + (band - group) / 2
        for j, s in enumerate(chart.series):
            v = s.values[i] if i < len(s.values) else None
            if v is None:
                continue
            h = (y1 - y0) * max(v, 0) / ymax
            d.shapes.append(Rect(gx + bar * j + 1, y1 - h, bar - 2, h, _color(s, j)))
            if labelled:
                t = Text(gx + bar * (j + 0.5), y1 - h - 3, fmt(v), SMALL, "middle", INK, True)
                d.shapes.append(t)
        d.shapes.append(Text(x0 + band * (i + 0.5), y1 + 16, clip(cat, band - 4), SMALL, "middle"))
    if chart.line is not None:
        _rate_line(d, chart.line, x0, x1, y0, y1, band)
    return d


def _rate_line(d: Drawing, line: Series, x0: float, x1: float, y0: float, y1: float, band: float):
    rmax = max([100.0, *(v for v in line.values if v is not None)])
    for k in (0, 2, 4):
        y = y1 - (y1 - y0) * k / 4
        d.shapes.append(Text(x1 + 6, y + 4, f"{rmax * k / 4:.0f}%", SMALL, "start", LINE))
    points = [
        (x0 + band * (i + 0.5), y1 - (y1 - y0) * v / rmax)
        for i, v in enumerate(line.values)
        if v is not None
    ]
    if len(points) > 1:
        d.shapes.append(Line(tuple(points), LINE, 2))
    for (x, y), v in zip(points, [v for v in line.values if v is not None], strict=True):
        d.shapes.append(Dot(x, y, 3.5, LINE))
        d.shapes.append(Text(x, y - 7, fmt(v, "%"), SMALL, "middle", LINE, True))


def _bars(chart: Chart, stacked: bool) -> Drawing:
    n = len(chart.categories)
    per = 1 if stacked else max(1, len(chart.series))
    bar = 16.0 if per == 1 else 11.0
    row = bar * per + 10
    top, bottom = 36.0, 12.0
    label_w = min(190.0, max((text_width(c) for c in chart.categories), default=40) + 8)
    d = Drawing(WIDTH, top + row * max(n, 1) + bottom)
    _legend(d, chart, 18)
    x0, x1 = label_w + 8, d.width - 64
    if stacked:
        totals = [
            sum(s.values[i] or 0 for s in chart.series if i < len(s.values)) for i in range(n)
        ]
        vmax = max(totals, default=0) or 1.0
    else:
        vmax = max((v for s in chart.series for v in s.values if v is not None), default=0)
        vmax = 100.0 if chart.unit == "%" and vmax <= 100 else nice_top(vmax)
    scale = (x1 - x0) / vmax
    d.shapes.append(Line(((x0, top - 4), (x0, top + row * n)), GRID))
    for i, cat in enumerate(chart.categories):
        y = top + row * i
        d.shapes.append(Text(x0 - 6, y + row / 2 + 4, clip(cat, label_w), FONT, "end"))
        x = x0
        for j, s in enumerate(chart.series):
            v = s.values[i] if i < len(s.values) else None
            if v is None:
                continue
            w = max(v, 0) * scale
            by = y + 5 if stacked else y + 5 + bar * j
            d.shapes.append(Rect(x, by, w, bar - 1, _color(s, j)))
            label = fmt(v, chart.unit)
            if stacked:
                if v and w >= text_width(label, SMALL) + 4:
                    t = Text(x + w / 2, by + bar - 4, label, SMALL, "middle", "#ffffff", True)
                    d.shapes.append(t)
                x += w
            else:
                d.shapes.append(Text(x + w + 4, by + bar - 3, label, SMALL, "start", INK, True))
        if stacked:
            total = fmt(totals[i])
            d.shapes.append(Text(x + 4, y + 5 + bar - 4, total, SMALL, "start", MUTED))
    return d
