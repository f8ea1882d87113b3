"""A list's aggregation: each pre-filled row's fields from every institution, each
prefixed with the institution's name, and the rows institutions added, each marked as
added (附件1 filling note 3) and led by the institution unless it names a lead."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pipeline.config.roster import Roster
from pipeline.forms.kinds.base import AggregateContext, Totals
from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.layout import FOOTER_ROW
from pipeline.forms.rows import Row


@dataclass(frozen=True, slots=True)
class Source:
    institution: str
    text: str
    cell: str
    file: str
    sha256: str


@dataclass
class ListTotals(Totals):
    spec: ListSpec  # type: ignore[assignment]
    # row key -> field -> every institution's text, in roster order
    merged_sources: dict[str, dict[str, list[Source]]] = field(default_factory=dict)
    merged: dict[str, dict[str, str]] = field(default_factory=dict)
    extra: list[dict[str, str]] = field(default_factory=list)  # rows institutions added
    # institution -> row key -> field -> text: every institution's own list
    by_inst: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)


def merge(spec: ListSpec, rows: tuple[Row, ...], ctx: AggregateContext) -> ListTotals:
    roster = ctx.roster
    order = {inst.code: i for i, inst in enumerate(roster)}
    by_row: dict[str, dict[str, dict[str, Source]]] = defaultdict(lambda: defaultdict(dict))
    sheet_row: dict[str, int] = {}  # added rows keep the order they had on the sheet
    this = str(ctx.period)
    for inst, _p, row_key, fld, text, cell, file, sha in ctx.records.accepted_texts(
        spec.id, this, this
    ):
        if row_key == FOOTER_ROW:
            continue  # the institutions' 审核人/填表人 are shown in 报送情况
        by_row[row_key][inst][fld] = Source(inst, text, cell, file, sha)
        sheet_row[row_key] = int("".join(ch for ch in cell if ch.isdigit()) or 0)
    fixed = {r.key for r in rows}
    totals = ListTotals(spec=spec, period=ctx.period)
    extra: list[tuple[int, int, dict[str, str]]] = []
    for row_key in sorted(by_row, key=lambda k: (k not in fixed, sheet_row[k])):
        per_inst = sorted(by_row[row_key].items(), key=lambda kv: order.get(kv[0], 1 << 30))
        for inst, texts in per_inst:
            totals.by_inst.setdefault(inst, {})[row_key] = {k: s.text for k, s in texts.items()}
        if row_key in fixed:
            sources = {f.key: [t[f.key] for _, t in per_inst if f.key in t] for f in spec.inputs}
            totals.merged_sources[row_key] = sources
            totals.merged[row_key] = {
                key: "\n".join(f"{_name(roster, s.institution)}：{s.text}" for s in found)
                for key, found in sources.items()
            }
            continue
        for inst, texts in per_inst:  # a row an institution added in a spare row
            row = {k: s.text for k, s in texts.items()}
            name = _name(roster, inst)
            if spec.lead_field:
                row[spec.lead_field] = row.get(spec.lead_field) or name
            if spec.remark_field:
                remark = row.get(spec.remark_field, "")
                if spec.new_task_marker in remark:  # the institution marked it already
                    row[spec.remark_field] = f"{name}：{remark}"
                else:
                    mark = f"{name}{spec.new_task_marker}"
                    row[spec.remark_field] = mark + (f"；{remark}" if remark else "")
            extra.append((order.get(inst, 1 << 30), sheet_row[row_key], row))
    totals.extra = [row for *_, row in sorted(extra, key=lambda e: e[:2])]
    return totals


def _name(roster: Roster, code: str) -> str:
    inst = roster.get(code)
    return inst.name if inst else code
