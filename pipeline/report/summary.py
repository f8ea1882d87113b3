"""汇总表_YYYY-MM.xlsx: the district's return in the annex layout, plus a detail sheet.

Built by the same workbook code as the templates, for the bureau as reporter, so the file
is itself a valid return for the level above (district → city → province).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.distribute.workbook import Filling, Reporter, build_workbook
from pipeline.forms.layout import FOOTER_ROW
from pipeline.forms.spec import GridSpec, ListSpec
from pipeline.report.atomic import write_atomic
from pipeline.report.tables import TableBook

if TYPE_CHECKING:
    from pipeline.ledger.store import Ledger
    from pipeline.run import PeriodData

DETAIL_SHEET = "明细"


def filename(period: object) -> str:
    return f"汇总表_{period}.xlsx"


def _merged_texts(data: PeriodData, ledger: Ledger, spec: ListSpec, filling: Filling) -> None:
    """Each task's texts from every institution, prefixed with the institution's name."""
    order = {inst.code: i for i, inst in enumerate(data.roster)}
    by_row: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    sheet_row: dict[str, int] = {}  # added tasks keep the order they had on the sheet
    for inst, row_key, fld, text, cell, _file in ledger.accepted_texts(spec.id, str(data.period)):
        if row_key == FOOTER_ROW:
            continue  # the institutions' 审核人/填表人 are shown in 报送情况
        by_row[row_key][inst][fld] = text
        sheet_row[row_key] = int("".join(ch for ch in cell if ch.isdigit()) or 0)
    task_keys = {t.key for t in data.campaign.tasks}
    merged: dict[str, dict[str, str]] = {}
    extra: list[tuple[int, int, dict[str, str]]] = []
    for row_key in sorted(by_row, key=lambda k: (k not in task_keys, sheet_row[k])):
        per_inst = sorted(by_row[row_key].items(), key=lambda kv: order.get(kv[0], 1 << 30))
        if row_key in task_keys:
            merged[row_key] = {
                f.key: "\n".join(
                    f"{_name(data, i)}：{t[f.key]}" for i, t in per_inst if t.get(f.key)
                )
                for f in spec.inputs
            }
            continue
        for inst, texts in per_inst:  # a task an institution added in a spare row
            row = dict(texts)
            if spec.lead_field:
                row[spec.lead_field] = row.get(spec.lead_field) or _name(data, inst)
            if spec.remark_field:
                remark = row.get(spec.remark_field, "")
                if spec.new_task_marker in remark:  # the institution marked it already
                    row[spec.remark_field] = f"{_name(data, inst)}：{remark}"
                else:
                    mark = f"{_name(data, inst)}{spec.new_task_marker}"
                    row[spec.remark_field] = mark + (f"；{remark}" if remark else "")
            extra.append((order.get(inst, 1 << 30), sheet_row[row_key], row))
    filling.lists[spec.id] = merged
    filling.extra_rows[spec.id] = [row for *_, row in sorted(extra, key=lambda e: e[:2])]


def _name(data: PeriodData, code: str) -> str:
    inst = data.roster.get(code)
    return inst.name if inst else code


def _detail_columns(spec: GridSpec) -> list[str]:
    heads = ["机构代码", "机构名称", "专题专项"]
    for m in spec.measures:
        unit = f"（{m.unit}）" if m.unit else ""
        heads += [f"当月：{m.label}{unit}", f"累计总计：{m.label}{unit}"]
    return heads


def _detail_rows(data: PeriodData, spec: GridSpec) -> list[list[object]]:
    """One row per institution and topic, as on the annex: each column's month and
    cumulative figure; blank where the institution does not report the column."""
    totals = data.totals[spec.id]
    rows: list[list[object]] = []
    for inst in data.roster:
        month = totals.month_by_inst.get(inst.code)
        cum = totals.cumulative_by_inst.get(inst.code)
        if month is None and cum is None:
            continue
        counts = {m.key for m in spec.inputs_for(inst.role)}
        shown = [
            m
            for m in spec.measures
            if (
                m.key in counts
                if m.is_input
                else (set(m.terms) | {m.numerator, m.denominator}) & counts
            )
        ]
        for topic in data.campaign.topics:
            row: list[object] = [inst.code, inst.name, topic.label]
            for m in spec.measures:
                if m in shown:
                    key = (topic.key, m.key)
                    row += [_round(month.get(key)) if month else None]
                    row += [_round(cum.get(key)) if cum else None]
                else:
                    row += [None, None]
            rows.append(row)
    return rows


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def write(data: PeriodData, ledger: Ledger, outbox: Path) -> Path:
    campaign = data.campaign
    filling = Filling()
    for spec in campaign.grid_forms:
        # Full precision: the sheet shows one decimal by number format, while the level
        # above recomputes and compares the exact figure.
        filling.grid[spec.id] = dict(data.totals[spec.id].table)
    for list_spec in campaign.list_forms:
        _merged_texts(data, ledger, list_spec, filling)
    bureau = Reporter(code=campaign.bureau.code, name=campaign.bureau.name, role="bureau")
    wb = build_workbook(campaign, bureau, data.period, filling=filling, kind="aggregate")
    return write_atomic(outbox / filename(data.period), wb.save)


def write_detail(data: PeriodData, outbox: Path) -> Path:
    """汇总明细: every institution's figures by topic, month and cumulative, one sheet per
    grid form. Kept apart from 汇总表, which is sent up as a return and stays small."""

    def _write(path: Path) -> None:
        with TableBook(path) as book:
            for spec in data.campaign.grid_forms:
                heads = _detail_columns(spec)
                book.sheet(f"{spec.sheet}{DETAIL_SHEET}").table(
                    heads,
                    _detail_rows(data, spec),
                    widths=[10, 30, 40] + [14] * (len(heads) - 3),
                    title=f"{spec.annex} {spec.title}（明细）{data.period.label()}",
                    fit_rows=False,
                    blank_cells=False,
                )

    return write_atomic(outbox / f"汇总明细_{data.period}.xlsx", _write)
