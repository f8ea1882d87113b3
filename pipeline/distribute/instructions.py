"""The 填报说明 sheet: what to fill, by when, and whom to ask, rendered from a template."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import TYPE_CHECKING

import jinja2
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.forms import printing
from pipeline.forms.kinds import kind_of
from pipeline.forms.styles import BODY_FONT, HEADER_FONT, LEFT, TITLE_FONT, set_text, style

if TYPE_CHECKING:
    from pipeline.campaigns.campaign import Campaign
    from pipeline.config.calendar import Period
    from pipeline.config.roster import Reporter


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)


def lines(
    campaign: Campaign, reporter: Reporter, period: Period, due: dt.date, kind: str
) -> list[str]:
    """The sheet's text, one cell per line: what each form asks of this reporter and how
    to fill it, as each form's kind words it from the definition."""
    _, covered = campaign.due.due_date(period)
    forms = [
        {
            "annex": spec.annex,
            "title": spec.title_for(period.year),
            "fill": kind_of(spec).to_fill(spec, reporter.role),
            "how": kind_of(spec).how_to_fill(spec),
        }
        for spec in campaign.forms_for(reporter.role if kind == "template" else "administration")
    ]
    text = render(
        "instructions.txt.j2",
        due_covered=covered,
        due_rule=campaign.due.describe(campaign.kind),
        stage=campaign.stage(period),
        campaign=campaign,
        reporter=reporter,
        period=period,
        due=due,
        kind=kind,
        forms=forms,
    )
    return text.splitlines()


def write_sheet(
    ws: Worksheet, campaign: Campaign, reporter: Reporter, period: Period, due: dt.date, kind: str
) -> None:
    ws.column_dimensions["A"].width = 110
    for r, line in enumerate(lines(campaign, reporter, period, due, kind), start=1):
        cell = ws.cell(r, 1)
        set_text(cell, line)
        font = TITLE_FONT if r == 1 else HEADER_FONT if r <= 4 else BODY_FONT
        style(cell, font=font, align=LEFT, border=False)
    printing.set_page(ws, printing.sheet_plan(ws, 1), 1, None)
    ws.protection.sheet = kind == "template"
