"""报告_<period>.html: the period on one page for the leaders, and 报告索引.html across
the periods.

Each page is one self-contained file: its style inline, its charts inline SVG with
their words as text (the reader's own fonts show the Chinese), no script, no font, no
image and no address outside the file — a government intranet has no internet, and a
page mailed or copied on a USB stick must show the same. A Content-Security-Policy
forbids any load, so a resource slipped in later shows as an error rather than a leak.
It prints on A4: the charts and tables are never split across pages.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from markupsafe import Markup, escape

from pipeline.atomic import write_text_atomic
from pipeline.config.calendar import Period
from pipeline.errors import ConfigError
from pipeline.report import INDEX_NAME, briefing
from pipeline.report.charts import Chart
from pipeline.report.svg import svg
from pipeline.report.text import TEMPLATE_FAILURES, change
from pipeline.templating import overridable

if TYPE_CHECKING:
    from pipeline.report.digest import Digest, Figure

LIST = 50  # rows of a list on the page (overdue items …); the books have them all
TOP = 8  # headline cards on top: reporting's four and the forms' first


def filename(period: object) -> str:
    return f"报告_{period}.html"


def figure(chart: Chart) -> Markup:
    return Markup(
        f'<figure id="{escape(chart.key)}" data-chart="{escape(chart.key)}">'
        f"<figcaption>{escape(chart.title)}"
        + (f'<span class="note">（{escape(chart.note)}）</span>' if chart.note else "")
        + f"</figcaption>{svg(chart)}</figure>"
    )


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}" if value.is_integer() else f"{value:.1f}"
    return str(value)


@cache
def environment(folder: Path | None) -> jinja2.Environment:
    env = overridable("report", folder, autoescape=True)
    env.filters.update(change=change, cell=cell)
    env.globals.update(figure=figure, LIST=LIST)
    return env


def _render(folder: Path | None, name: str, context: dict[str, object]) -> str:
    try:
        return environment(folder).get_template(name).render(**context)
    except TEMPLATE_FAILURES as exc:
        raise ConfigError(f"报告模板 {name} 有误 / report template {name}: {exc}") from exc


KIND_ORDER = {"grid": 0, "register": 1, "list": 2}  # figures first, then items, then lists


def top(digest: Digest) -> list[tuple[str, Figure]]:
    """The cards on top, each with what it counts: reporting's, then each form's first
    figures in turn (grids, registers, lists)."""
    out = [("报送情况", h) for h in digest.headlines]
    forms = sorted(digest.forms, key=lambda f: KIND_ORDER.get(f.kind, 9))
    rounds = [[(f.title, h) for h in f.headlines] for f in forms]
    while len(out) < TOP and any(rounds):
        for figures in rounds:
            if figures and len(out) < TOP:
                out.append(figures.pop(0))
    return out


def write(digest: Digest, folder: Path | None, outbox: Path, today: dt.date | None = None) -> Path:
    html = _render(
        folder,
        "page.html.j2",
        {
            "d": digest,
            "r": digest.reporting,
            "top": top(digest),
            "today": briefing.zh_date(today or dt.date.today()),
            "index": INDEX_NAME,
            "briefing": briefing.filename(digest.period),
        },
    )
    return write_text_atomic(outbox / filename(digest.period), html)


def write_index(root: Path, campaign: str, kind: str, folder: Path | None = None) -> Path | None:
    """报告索引.html in ``root`` (the campaign's outbox): every period with a page, the
    latest first. None when there is no page yet."""
    periods = []
    for page in sorted(root.glob("*/报告_*.html"), reverse=True):
        key = page.parent.name
        try:
            label = Period.parse(key, kind).label()  # type: ignore[arg-type]
        except ConfigError:
            continue
        docx = page.parent / briefing.filename(key)
        periods.append(
            {
                "label": label,
                "page": f"{key}/{page.name}",
                "briefing": f"{key}/{docx.name}" if docx.is_file() else "",
            }
        )
    if not periods:
        return None
    html = _render(folder, "index.html.j2", {"campaign": campaign, "periods": periods})
    return write_text_atomic(root / INDEX_NAME, html)
