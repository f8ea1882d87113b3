"""Write one pre-filled, protected template per institution for a period."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from pathlib import Path

from pipeline import parallel
from pipeline.atomic import safe_filename, write_atomic
from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution, Reporter
from pipeline.distribute.workbook import build_workbook, restamp_template
from pipeline.forms import xlsxfile
from pipeline.forms.kinds import kind_of
from pipeline.forms.kinds.base import PrefillContext, Records

Contents = dict[str, object]  # form id -> what its kind pre-fills


def template_filename(period: Period, inst: Institution, campaign: str = "") -> str:
    """``2026-08_srzz-2021_示例区人民医院_QW001.xlsx``: the period first (files sort by
    it), the campaign's code (one inbox takes every campaign's returns), the institution."""
    what = f"{safe_filename(campaign, 30)}_" if campaign else ""
    return f"{period}_{what}{safe_filename(inst.name)}_{safe_filename(inst.code, 30)}.xlsx"


class Prefills:
    """What every institution's template is pre-filled with, asked of each form's kind
    once for all institutions (a grid's cumulative, a register's open items)."""

    def __init__(self, campaign: Campaign, period: Period, records: Records | None) -> None:
        self.campaign = campaign
        self.ctx = PrefillContext(period=period, start=campaign.start, records=records)
        self._by_form: dict[str, Mapping[str, object]] = {}
        self._roster: list[Institution] | None = None

    def of(self, inst: Institution) -> Contents:
        out: Contents = {}
        for spec in self.campaign.forms:
            if spec.id not in self._by_form:
                if self._roster is None:
                    self._roster = list(self.campaign.roster(strict_text=False))
                rows = self.campaign.rows_for(spec)
                found = kind_of(spec).prefills(spec, rows, self.ctx, self._roster)
                self._by_form[spec.id] = found
            content = self._by_form[spec.id].get(inst.code)
            if content is not None:
                out[spec.id] = content
        return out


def write_template(
    campaign: Campaign,
    inst: Institution,
    period: Period,
    folder: Path,
    prefills: Prefills | None = None,
) -> Path:
    """``prefills``: the period's (from the ledger); none: a blank template."""
    contents = prefills.of(inst) if prefills else {}
    wb = build_workbook(campaign, Reporter.of(inst), period, contents=contents)
    return write_atomic(
        folder / template_filename(period, inst, campaign.code), lambda tmp: xlsxfile.save(wb, tmp)
    )


def template_bytes(
    campaign: Campaign, inst: Institution, period: Period, prefills: Prefills | None = None
) -> bytes:
    """A fresh template as the bytes of an xlsx file (a reminder's attachment)."""
    buffer = io.BytesIO()
    contents = prefills.of(inst) if prefills else {}
    xlsxfile.save(build_workbook(campaign, Reporter.of(inst), period, contents=contents), buffer)
    return buffer.getvalue()


PARALLEL_FROM = 24  # templates; fewer are written in-process
_Job = tuple[Institution, Contents]
_worker: tuple[Campaign, Period, Path] | None = None
# (role, sheet shapes) -> the last template built here, and its saver
_built: dict[object, xlsxfile.Resaver] = {}


def _start_worker(campaign: Campaign, period: Period, out: Path) -> None:
    global _worker
    _worker = (campaign, period, out)
    _built.clear()


def _write_one(job: _Job) -> Path:
    """One institution's template: a workbook of the same role and shape restamped, or
    one built afresh; a restamped one is saved writing only its cells afresh."""
    assert _worker is not None, "worker started without its campaign"
    campaign, period, out = _worker
    inst, contents = job
    reporter = Reporter.of(inst)
    shape = (inst.role, *(kind_of(s).shape(contents.get(s.id)) for s in campaign.forms))
    saver = _built.get(shape)
    if saver is None or not restamp_template(saver.wb, campaign, reporter, period, contents):
        saver = xlsxfile.Resaver(build_workbook(campaign, reporter, period, contents=contents))
        _built[shape] = saver
    return write_atomic(out / template_filename(period, inst, campaign.code), saver.save)


def write_templates(
    campaign: Campaign,
    period: Period,
    prefills: Prefills | None = None,
    folder: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Templates for every roster institution under ``<templates>/<period>/``.

    What each is pre-filled with is looked up here, once for all; building and saving
    the workbooks, independent of each other, is shared among worker processes, one per
    core, when there are many.
    """
    roster = list(campaign.roster())
    out = folder or campaign.templates_dir / str(period)
    jobs = [(inst, prefills.of(inst) if prefills else {}) for inst in roster]
    paths: list[Path] = []
    for path in parallel.each(
        _write_one, jobs, _start_worker, (campaign, period, out), parallel_from=PARALLEL_FROM
    ):
        paths.append(path)
        if progress:
            progress(len(paths), len(jobs))
    return paths
