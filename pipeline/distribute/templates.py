"""Write one pre-filled, protected template per institution for a period."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook

from pipeline.config.calendar import Period
from pipeline.config.campaign import Campaign
from pipeline.config.roster import Institution
from pipeline.distribute.workbook import Reporter, build_workbook
from pipeline.report.atomic import safe_filename, write_atomic

# (institution code, form id, through period) -> {measure: cumulative value}; the
# pipeline's is pipeline.aggregate.totals.CumulativeLookup
CumulativeLookup = Callable[[str, str, Period], dict[str, float]]


def reporter_for(inst: Institution) -> Reporter:
    return Reporter(code=inst.code, name=inst.name, role=inst.role)


def template_filename(period: Period, inst: Institution) -> str:
    return f"{period}_{safe_filename(inst.name)}_{safe_filename(inst.code, 30)}.xlsx"


def _template(
    campaign: Campaign, inst: Institution, period: Period, cumulative: CumulativeLookup | None
) -> Workbook:
    prev = {
        spec.id: cumulative(inst.code, spec.id, period.shift(-1)) if cumulative else {}
        for spec in campaign.grid_forms
    }
    return build_workbook(campaign, reporter_for(inst), period, prev_cumulative=prev)


def write_template(
    campaign: Campaign,
    inst: Institution,
    period: Period,
    folder: Path,
    cumulative: CumulativeLookup | None = None,
) -> Path:
    wb = _template(campaign, inst, period, cumulative)
    return write_atomic(folder / template_filename(period, inst), wb.save)


def template_bytes(
    campaign: Campaign,
    inst: Institution,
    period: Period,
    cumulative: CumulativeLookup | None = None,
) -> bytes:
    """A fresh template as the bytes of an xlsx file (a reminder's attachment)."""
    buffer = io.BytesIO()
    _template(campaign, inst, period, cumulative).save(buffer)
    return buffer.getvalue()


def write_templates(
    campaign: Campaign,
    period: Period,
    cumulative: CumulativeLookup | None = None,
    folder: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Templates for every roster institution under ``<templates>/<period>/``."""
    roster = campaign.roster()
    out = folder or campaign.templates_dir / str(period)
    paths = []
    for i, inst in enumerate(roster, start=1):
        paths.append(write_template(campaign, inst, period, out, cumulative))
        if progress:
            progress(i, len(roster))
    return paths
