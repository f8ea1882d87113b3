"""Helpers for the end-to-end, golden, round-trip and roll-up tests.

The arithmetic here is written out from the annex (seed 002, 附件2) on purpose, without
the pipeline's form definition, aggregation or rules: the tests compare the pipeline's
output with what a clerk would compute by hand. The pipeline is only asked where a cell
is (its layout), which is the one thing a test cannot know independently.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from click.testing import CliRunner, Result
from openpyxl import load_workbook

from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.cli import cli
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution
from pipeline.forms.kinds import build_layout
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW
from pipeline.forms.layout import Layout

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "examples" / "campaign.toml"  # the seed 002 campaign as shipped
ANNEXES = ("fujian1_tasks", "fujian2_progress")


def _annexes_campaign() -> Path:
    """The shipped campaign with its two annexes only (附件1, 附件2), without the two
    registers. The annexes' arithmetic, the hostile files and the crash tests are about
    those two sheets, and some build every month's returns before running any (which a
    register, whose template depends on last month's accepted items, does not allow);
    the registers have tests of their own (tests/test_registers*.py)."""
    folder = Path(tempfile.mkdtemp(prefix="annexes-campaign-"))
    text = SHIPPED.read_text(encoding="utf-8")
    forms = next(line for line in text.splitlines() if line.startswith("forms = "))
    text = text.replace(forms, "forms = " + json.dumps(list(ANNEXES)))
    (folder / "campaign.toml").write_text(text, encoding="utf-8")
    shutil.copyfile(SHIPPED.parent / "roster.csv", folder / "roster.csv")
    return folder / "campaign.toml"


EXAMPLE = _annexes_campaign()


def example_workspace(base: Path) -> Path:
    """The shipped example workspace copied to ``base`` (its files in ``base/examples``,
    its inbox, outbox and templates folders beside them); returns its workspace file."""
    (base / "examples").mkdir(parents=True)
    for path in (ROOT / "examples").iterdir():
        if path.suffix in (".toml", ".csv"):
            shutil.copy(path, base / "examples" / path.name)
    for folder in ("inbox", "outbox", "form_templates"):
        (base / folder).mkdir()
    return base / "examples" / "workspace.toml"


FORM = "fujian2"
SHEET = "附件2"

TOPICS = ("T1", "T2", "T3", "T4", "T5")
ROWS = (*TOPICS, MONTH_ROW, CUMULATIVE_ROW)
# What an institution types (排查整治隐患) and what only the bureau types (annex note 5).
HAZARD_COUNTS = ("general_found", "general_fixed", "major_found", "major_fixed")
BUREAU_COUNTS = (
    "problems_province",
    "problems_city",
    "problems_county",
    "groups_formed",
    "inspections",
    "units_inspected",
    "inspection_problems",
    "interviews",
)
COUNTS = HAZARD_COUNTS + BUREAU_COUNTS
# 小计 = 省级 + 市级 + 县级; 排查隐患总数 = 一般排查 + 重大排查.
SUMS = {
    "problems_total": ("problems_province", "problems_city", "problems_county"),
    "hazards_total": ("general_found", "major_found"),
}
# 整改率 = 已整改 / 排查 × 100, blank when 排查 is 0.
RATES = {
    "general_rate": ("general_fixed", "general_found"),
    "major_rate": ("major_fixed", "major_found"),
}
MEASURES = (*COUNTS, *SUMS, *RATES)
# The aggregated sheet shows rates with one decimal; allow the rounding and no more.
RATE_TOLERANCE = 0.05 + 1e-9

Grid = Mapping[str, Mapping[str, float]]  # topic -> count measure -> value
Table = dict[tuple[str, str], float | None]  # (row key, measure) -> figure


# -- campaign, CLI, files --------------------------------------------------------------
def campaign_in(base: Path, campaign_file: Path = EXAMPLE) -> Campaign:
    """The campaign with its inbox, outbox and ledger under ``base``."""
    return load_campaign(
        campaign_file,
        {"inbox": base / "inbox", "outbox": base / "outbox", "ledger": base / "ledger.sqlite"},
    )


def grid_layout(campaign: Campaign) -> Layout:
    spec = campaign.form(FORM)
    return build_layout(spec, campaign.rows_for(spec))


def invoke(
    *args: str,
    campaign_file: Path = EXAMPLE,
    inbox: Path | None = None,
    outbox: Path | None = None,
    ledger: Path | None = None,
) -> Result:
    """Run the CLI in-process, as a clerk would type it."""
    argv = ["--campaign", str(campaign_file)]
    for flag, value in (("--inbox", inbox), ("--outbox", outbox), ("--ledger", ledger)):
        if value is not None:
            argv += [flag, str(value)]
    return CliRunner().invoke(cli, [*argv, *args], catch_exceptions=False)


def run_cli(period: str, **paths: Path) -> Result:
    result = invoke("run", "--period", period, **paths)
    assert result.exit_code == 0, result.output
    return result


def set_received(path: Path, moment: dt.datetime) -> None:
    """The pipeline takes a file's modification time as the time it was received."""
    stamp = moment.timestamp()
    os.utime(path, (stamp, stamp))


def due_moment(campaign: Campaign, period: Period, days: int = 0, hour: int = 10) -> dt.datetime:
    """``days`` after (negative: before) the due date of ``period``, at ``hour``."""
    due = campaign.due.due_date(period)[0]
    return dt.datetime.combine(due + dt.timedelta(days=days), dt.time(hour))


def fingerprint(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Every file's sha256, size and mtime (ns): to prove a folder was not touched."""
    out = {}
    for path in sorted(folder.iterdir()):
        st = path.stat()
        out[path.name] = (hashlib.sha256(path.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns)
    return out


# -- independent arithmetic ------------------------------------------------------------
def counted(grid: Grid, bureau: bool) -> dict[str, dict[str, float]]:
    """What of a return counts: an institution's hazards, or every count of the bureau."""
    keep = COUNTS if bureau else HAZARD_COUNTS
    return {t: {k: v for k, v in row.items() if k in keep} for t, row in grid.items()}


def derive(counts: Mapping[str, float]) -> dict[str, float | None]:
    row: dict[str, float | None] = {k: float(counts.get(k, 0) or 0) for k in COUNTS}
    for key, terms in SUMS.items():
        row[key] = sum(row[t] or 0 for t in terms)
    for key, (fixed, found) in RATES.items():
        row[key] = None if not row[found] else (row[fixed] or 0) / row[found] * 100  # type: ignore[operator]
    return row


def total(grids: Iterable[Grid], measure: str, topics: Sequence[str] = TOPICS) -> float:
    return sum(float(g.get(t, {}).get(measure, 0) or 0) for g in grids for t in topics)


def expected_table(month: Sequence[Grid], since_start: Sequence[Grid]) -> Table:
    """附件2 by hand: topic rows and 当月累计 from ``month``, 累计总计 from ``since_start``."""
    table: Table = {}
    for t in TOPICS:
        row = derive({k: total(month, k, [t]) for k in COUNTS})
        table.update({(t, k): v for k, v in row.items()})
    for row_key, grids in ((MONTH_ROW, month), (CUMULATIVE_ROW, since_start)):
        row = derive({k: total(grids, k) for k in COUNTS})
        table.update({(row_key, k): v for k, v in row.items()})
    return table


def read_table(path: Path, lay: Layout, sheet: str = SHEET) -> Table:
    """The figures of an aggregated 附件2, as stored (values, not formulas)."""
    wb = load_workbook(path)
    try:
        ws = wb[sheet]
        return {(r, m): ws[lay.cell(r, m)].value for r in ROWS for m in MEASURES}
    finally:
        wb.close()


def mismatches(actual: Table, expected: Table, lay: Layout) -> list[str]:
    """Human-readable differences; counts exact, rates within the one-decimal rounding."""
    bad = []
    for key, want in expected.items():
        got = actual.get(key)
        row, measure = key
        where = f"{lay.cell(row, measure)} ({row}/{measure})"
        if measure in RATES:
            if want is None or got is None:
                if (want is None) != (got is None):
                    bad.append(f"{where}: got {got!r}, expected {want!r}")
            elif not isinstance(got, int | float) or abs(got - want) > RATE_TOLERANCE:
                bad.append(f"{where}: got {got!r}, expected {want:.4f}")
        elif not isinstance(got, int | float) or got != want:
            bad.append(f"{where}: got {got!r}, expected {want!r}")
    return bad


# -- reading outputs -------------------------------------------------------------------
def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def read_csv(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("\ufeff"), "CSV for Excel should start with a BOM"
    return list(csv.DictReader(io.StringIO(text[1:])))


def workbook_values(path: Path) -> dict[str, object]:
    """Every sheet's name, state and non-empty cell values: a byte-independent snapshot."""
    wb = load_workbook(path)
    try:
        return {
            ws.title: {
                "state": ws.sheet_state,
                "cells": {
                    c.coordinate: c.value
                    for row in ws.iter_rows()
                    for c in row
                    if c.value is not None
                },
            }
            for ws in wb.worksheets
        }
    finally:
        wb.close()


def docx_text(path: Path) -> list[str]:
    """A Word document's paragraphs and table cells, in order."""
    import docx

    doc = docx.Document(str(path))
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        lines += [cell.text for row in table.rows for cell in row.cells]
    return lines


def outbox_snapshot(folder: Path) -> dict[str, object]:
    """Contents of every output of a period folder, compared by value."""
    snap: dict[str, object] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".xlsx":
            snap[path.name] = workbook_values(path)
        elif path.suffix == ".jsonl":
            snap[path.name] = read_jsonl(path)
        elif path.suffix == ".docx":
            snap[path.name] = docx_text(path)
        else:
            snap[path.name] = path.read_text(encoding="utf-8")
    return snap


def ledger_counts(path: Path) -> dict[str, object]:
    """Row counts of the ledger's store of record (runs excluded: each run adds one)."""
    db = sqlite3.connect(path)
    try:
        out: dict[str, object] = {
            "submissions": dict(
                db.execute("SELECT status, COUNT(*) FROM submissions GROUP BY status").fetchall()
            )
        }
        for table in ("grid_values", "text_values", "findings", "baselines"):
            out[table] = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        return out
    finally:
        db.close()


def status_rows(path: Path) -> tuple[list[str], dict[str, dict[str, object]]]:
    """报送情况: the counts of the summary line (row 3, parts joined by "；") and the table
    by 机构代码."""
    wb = load_workbook(path)
    try:
        ws = wb.active
        summary = [part for c in ws[3] if c.value is not None for part in str(c.value).split("；")]
        header_row = next(r for r in range(1, 10) if ws.cell(r, 1).value == "序号")
        headers = [c.value for c in ws[header_row]]
        rows = {}
        for r in range(header_row + 1, ws.max_row + 1):
            values = {h: ws.cell(r, i + 1).value for i, h in enumerate(headers) if h}
            if values.get("机构代码"):
                rows[str(values["机构代码"])] = values
        return summary, rows
    finally:
        wb.close()


class ModelPrefills:
    """A template's pre-filled 累计总计 from a test's own model instead of the ledger:
    ``lookup(code, form, through)`` gives the cumulative counts through last period.
    Stands in for :class:`pipeline.distribute.templates.Prefills`."""

    def __init__(self, lookup: Callable[[str, str, Period], dict[str, float]], period: Period):
        self.lookup = lookup
        self.period = period

    def of(self, inst: Institution) -> dict[str, object]:
        return {FORM: self.lookup(inst.code, FORM, self.period.shift(-1))}
