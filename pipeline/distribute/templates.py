"""Write one pre-filled, protected template per institution for a period."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook

from pipeline import parallel
from pipeline.config.calendar import Period
from pipeline.config.campaign import Campaign
from pipeline.config.roster import Institution
from pipeline.distribute.workbook import Reporter, build_workbook, restamp_template
from pipeline.report.atomic import safe_filename, write_atomic

# (institution code, form id, through period) -> {measure: cumulative value}; the
# pipeline's is pipeline.aggregate.totals.CumulativeLookup
CumulativeLookup = Callable[[str, str, Period], dict[str, float]]


def reporter_for(inst: Institution) -> Reporter:
    return Reporter(code=inst.code, name=inst.name, role=inst.role)


def template_filename(period: Period, inst: Institution) -> str:
    return f"{period}_{safe_filename(inst.name)}_{safe_filename(inst.code, 30)}.xlsx"


def _previous(
    campaign: Campaign, inst: Institution, period: Period, cumulative: CumulativeLookup | None
) -> dict[str, dict[str, float]]:
    """Form id -> measure -> the institution's cumulative through last month."""
    return {
        spec.id: cumulative(inst.code, spec.id, period.shift(-1)) if cumulative else {}
        for spec in campaign.grid_forms
    }


def _template(
    campaign: Campaign, inst: Institution, period: Period, cumulative: CumulativeLookup | None
) -> Workbook:
    prev = _previous(campaign, inst, period, cumulative)
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


PARALLEL_FROM = 24  # templates; fewer are written in-process
_Job = tuple[Institution, dict[str, dict[str, float]]]
_worker: tuple[Campaign, Period, Path] | None = None
_built: dict[str, Workbook] = {}  # role -> the last template built in this process


def _start_worker(campaign: Campaign, period: Period, out: Path) -> None:
    global _worker
    _worker = (campaign, period, out)
    _built.clear()


def _write_one(job: _Job) -> Path:
    """One institution's template: the role's workbook restamped, or built afresh."""
    assert _worker is not None, "worker started without its campaign"
    campaign, period, out = _worker
    inst, prev = job
    reporter = reporter_for(inst)
    wb = _built.get(inst.role)
    if wb is None or not restamp_template(wb, campaign, reporter, period, prev):
        wb = build_workbook(campaign, reporter, period, prev_cumulative=prev)
        _built[inst.role] = wb
    return write_atomic(out / template_filename(period, inst), wb.save)


def write_templates(
    campaign: Campaign,
    period: Period,
    cumulative: CumulativeLookup | None = None,
    folder: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Templates for every roster institution under ``<templates>/<period>/``.

    Last month's cumulative figures are looked up here, once; building and saving the
    workbooks, independent of each other, is shared among worker processes, one per
    core, when there are many.
    """
    roster = list(campaign.roster())
    out = folder or campaign.templates_dir / str(period)
    jobs = [(inst, _previous(campaign, inst, period, cumulative)) for inst in roster]
    paths: list[Path] = []
    for path in parallel.each(
        _write_one, jobs, _start_worker, (campaign, period, out), parallel_from=PARALLEL_FROM
    ):
        paths.append(path)
        if progress:
            progress(len(paths), len(jobs))
    return paths
