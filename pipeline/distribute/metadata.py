"""The hidden metadata sheet that lets a returned workbook be identified.

It records the campaign, institution, period, and for every form its id, version and
layout fingerprint. The sheet is *very hidden* (not listed by Excel's Unhide menu), and
the workbook is protected, so institutions do not stumble on it; the pipeline still
checks it against the cells it can see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl import Workbook

    from pipeline.campaigns.campaign import Campaign
    from pipeline.config.calendar import Period
    from pipeline.config.roster import Reporter
    from pipeline.forms.layout import Layout

META_SHEET = "_meta"
FORMAT = "health-returns/1"


def form_key(form_id: str, what: str) -> str:
    return f"form.{form_id}.{what}"


def write_sheet(
    wb: Workbook,
    campaign: Campaign,
    reporter: Reporter,
    period: Period,
    layouts: Iterable[Layout],
    kind: str,
    variants: Mapping[str, str] | None = None,
) -> None:
    """``variants``: form id -> how an aggregated return lays that form out, when not as
    the template does (:attr:`Layout.variant`); the level above reads it by it."""
    ws = wb.create_sheet(META_SHEET)
    rows: list[tuple[str, str]] = [
        ("format", FORMAT),
        ("campaign", campaign.code),
        ("campaign_name", campaign.name),
        ("institution_code", reporter.code),
        ("institution_name", reporter.name),
        ("period", str(period)),
        ("kind", kind),
    ]
    for lay in layouts:
        rows.append((form_key(lay.spec.id, "version"), str(lay.spec.version)))
        rows.append((form_key(lay.spec.id, "sheet"), lay.sheet))
        rows.append((form_key(lay.spec.id, "fingerprint"), lay.fingerprint))
        if (variants or {}).get(lay.spec.id):
            rows.append((form_key(lay.spec.id, "variant"), (variants or {})[lay.spec.id]))
    for r, (key, value) in enumerate(rows, start=1):
        ws.cell(r, 1, key)
        ws.cell(r, 2, value).data_type = "s"
    ws.sheet_state = "veryHidden"
    ws.protection.sheet = True


def restamp(wb: Workbook, reporter: Reporter) -> None:
    """Put ``reporter`` in place of the institution a template's metadata names."""
    ws = wb[META_SHEET]
    values = {"institution_code": reporter.code, "institution_name": reporter.name}
    for key, value in ws.iter_rows(min_col=1, max_col=2):
        if key.value in values:
            value.value = values[key.value]
            value.data_type = "s"


def parse_rows(rows: Iterable[tuple[object, object]]) -> dict[str, str]:
    """Key/value pairs of the metadata sheet, as text."""
    meta: dict[str, str] = {}
    for key, value in rows:
        if isinstance(key, str) and key:
            meta[key] = "" if value is None else str(value).strip()
    return meta
