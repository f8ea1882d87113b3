"""The briefing's text from jinja2 templates the bureau can override.

Templates are looked up in the bureau's own folder (``[report] templates``) first, then in
the package (``pipeline/templates/report/``), as the mail's are: a bureau copies the one
part it wants to word differently (``next_steps.txt.j2``, say) and leaves the rest.
``StrictUndefined``: a misspelt variable stops the run naming the file and line.

The text is written one paragraph a line, with a mark for what each line is (see
``briefing.txt.j2``); :func:`blocks` reads it into :class:`Block` s that the document
writer lays out, so a template never holds layout and the layout never holds words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import jinja2

from pipeline.errors import ConfigError
from pipeline.report.charts import fmt
from pipeline.report.digest.model import Digest, FormDigest
from pipeline.templating import overridable

Style = Literal["title", "h1", "h2", "body", "flush", "right", "table", "chart"]
MARKS: tuple[tuple[str, Style], ...] = (
    ("= ", "title"),
    ("## ", "h2"),
    ("# ", "h1"),
    ("> ", "right"),
    ("@ ", "flush"),
)
PLACE = re.compile(r"\[\[(table|chart):([^\]]+)\]\]")
CN_DIGITS = "零一二三四五六七八九十"
# What a bureau's template may raise besides jinja2's own errors ({{ x + "处" }} on a
# number, a loop over a figure …): a message naming the template, not a traceback.
TEMPLATE_FAILURES = (jinja2.TemplateError, TypeError, ValueError, AttributeError, KeyError)


@dataclass(frozen=True)
class Block:
    style: Style
    text: str  # the paragraph; for a table, the form's id; for a chart, its key


def n(value: object) -> str:
    """A figure as the text writes it (whole numbers bare)."""
    return fmt(value if isinstance(value, int | float) else None)


def pct(value: object) -> str:
    return fmt(value if isinstance(value, int | float) else None, "%")


def change(value: object, unit: str = "") -> str:
    """增加5处, 减少3.2个百分点 (a rate's change), 持平."""
    if not isinstance(value, int | float) or round(value, 1) == 0:
        return "持平"
    word = "个百分点" if unit == "%" else unit
    return f"{'增加' if value > 0 else '减少'}{fmt(round(abs(value), 1))}{word}"


def names(values: object, most: int = 10) -> str:
    shown = [str(v) for v in (values or [])]  # type: ignore[attr-defined]
    if len(shown) > most:
        return "、".join(shown[:most]) + f"等{len(shown)}家"
    return "、".join(shown)


def cn(number: int) -> str:
    """1 → 一, 12 → 十二 (for （一） headings)."""
    if number <= 10:
        return CN_DIGITS[number]
    tens, ones = divmod(number, 10)
    return f"{CN_DIGITS[tens] if tens > 1 else ''}十{CN_DIGITS[ones] if ones else ''}"


@cache
def environment(folder: Path | None) -> jinja2.Environment:
    env = overridable("report", folder, autoescape=False)  # text for a document
    env.filters.update(n=n, pct=pct, change=change, names=names, cn=cn)
    env.globals.update(
        table=lambda f: f"[[table:{f.form}]]" if f.table is not None else "",
        charts=lambda f: "\n".join(f"[[chart:{c.key}]]" for c in f.charts),
        chart=lambda key: f"[[chart:{key}]]",
    )
    return env


def render(digest: Digest, folder: Path | None, today: str) -> str:
    env = environment(folder)
    context = {
        "d": digest,
        "r": digest.reporting,
        "forms": digest.forms,
        "today": today,
    }
    try:
        return env.get_template("briefing.txt.j2").render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"通报模板 {exc.filename or exc.name}：第{exc.lineno}行：{exc.message}"
            f" / briefing template {exc.filename or exc.name}: line {exc.lineno}: {exc.message}"
        ) from exc
    except TEMPLATE_FAILURES as exc:  # UndefinedError, TemplateNotFound …
        raise ConfigError(f"通报模板有误 / briefing template: {exc}") from exc


def blocks(text: str) -> list[Block]:
    """The rendered text as blocks: one a non-empty line."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if PLACE.search(line):  # a table or a chart, and any text around it
            at = 0
            for placed in PLACE.finditer(line):
                out += blocks(line[at : placed.start()])
                out.append(Block("table" if placed[1] == "table" else "chart", placed[2]))
                at = placed.end()
            out += blocks(line[at:])
            continue
        for mark, style in MARKS:
            if line.startswith(mark):
                out.append(Block(style, line[len(mark) :].strip()))
                break
        else:
            out.append(Block("body", line))
    return out


def form_of(digest: Digest, form: str) -> FormDigest | None:
    return next((f for f in digest.forms if f.form == form), None)
