"""A list's aggregation: under each pre-filled row, every institution's fields, each
named; the rows institutions added, each marked as added (附件1 filling note 3), led by
the institution unless it names a lead, and put under the task group it names (filling
note 4, see :func:`claim`).

An aggregated list of the level below brings its rows already split by institution
(``1.1#2``: task 1.1, its second institution) and each row's institution in the field
:data:`~pipeline.forms.kinds.tasklist.shape.UNIT`: each becomes a row here, named by
both (``甲区卫生健康局／甲区人民医院``).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from pipeline.config.roster import Roster
from pipeline.forms.kinds.base import AggregateContext, Totals
from pipeline.forms.kinds.tasklist.history import PeriodTotals
from pipeline.forms.kinds.tasklist.shape import GROUP_ADDED, UNCLAIMED, UNIT, Shape, groups
from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.layout import FOOTER_ROW
from pipeline.forms.rows import Row

LINES_PER_ROW = 24  # a longer text goes on in the next row (24 lines: 330 pt of 409)
UNIT_WIDTH = 14  # the 填报单位 column of an aggregated list


@dataclass(frozen=True)
class Entry:
    """One institution's row: its name and its fields' texts."""

    unit: str
    texts: dict[str, str]


@dataclass
class ListAggregate:
    """The content of an aggregated list, part by part as :class:`Shape` orders them:
    each part's sheet rows, each row its fields' texts by key (the name under UNIT)."""

    parts: list[tuple[str, list[dict[str, str]]]]

    @property
    def shape(self) -> Shape:
        return Shape(tuple((key, len(rows)) for key, rows in self.parts))


@dataclass
class ListTotals(Totals):
    spec: ListSpec  # type: ignore[assignment]
    tasks: dict[str, list[Entry]] = field(default_factory=dict)  # row key -> its entries
    added: dict[str, list[Entry]] = field(default_factory=dict)  # group key -> added tasks
    unclaimed: list[Entry] = field(default_factory=list)  # added tasks naming no group
    # institution -> row key -> field -> text: every institution's own list
    by_inst: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    history: list[PeriodTotals] = field(default_factory=list)  # its numbers, period by period
    rows: tuple[Row, ...] = ()  # the pre-filled rows, in order


def merge(spec: ListSpec, rows: tuple[Row, ...], ctx: AggregateContext) -> ListTotals:
    roster = ctx.roster
    order = {inst.code: i for i, inst in enumerate(roster)}
    by_row: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    sheet_row: dict[str, int] = {}  # rows keep the order they had on the sheet
    this = str(ctx.period)
    for inst, _p, row_key, fld, text, cell, _file, _sha in ctx.records.accepted_texts(
        spec.id, this, this
    ):
        if row_key == FOOTER_ROW:
            continue  # the institutions' 审核人/填表人 are shown in 报送情况
        by_row[row_key][inst][fld] = text
        if fld != UNIT:
            sheet_row[row_key] = int("".join(ch for ch in cell if ch.isdigit()) or 0)
    fixed = {r.key for r in rows}
    openers = {g.key for g, _ in groups(spec, rows)}
    totals = ListTotals(spec=spec, period=ctx.period)
    found: list[tuple[int, int, str, str, Entry]] = []  # order, row, task, group, entry
    for row_key, per_inst in by_row.items():
        base = row_key.partition("#")[0]
        for inst, texts in per_inst.items():
            totals.by_inst.setdefault(inst, {})[row_key] = dict(texts)
            unit = _unit(roster, inst, texts.get(UNIT, ""))
            own = {k: v for k, v in texts.items() if k != UNIT}
            place = (order.get(inst, 1 << 30), sheet_row.get(row_key, 0))
            if base in fixed:
                inputs = {f.key for f in spec.inputs}
                found.append(
                    (*place, base, "", Entry(unit, {k: own[k] for k in own if k in inputs}))
                )
                continue
            group = base[1:] if base[1:] in openers and base[:1] == GROUP_ADDED else ""
            row = _added(spec, own, unit)
            found.append((*place, "", group or claim(spec, rows, row), Entry(unit, row)))
    for *_, task, group, entry in sorted(found, key=lambda e: e[:2]):
        if task:
            totals.tasks.setdefault(task, []).append(entry)
        elif group:
            totals.added.setdefault(group, []).append(entry)
        else:
            totals.unclaimed.append(entry)
    return totals


def _added(spec: ListSpec, texts: dict[str, str], unit: str) -> dict[str, str]:
    """A row an institution added, marked (备注: 新增) and led (by it, unless named)."""
    row = dict(texts)
    if spec.lead_field:
        row[spec.lead_field] = row.get(spec.lead_field) or unit
    if spec.remark_field:
        remark = row.get(spec.remark_field, "")
        if spec.new_task_marker not in remark:
            row[spec.remark_field] = spec.new_task_marker + (f"；{remark}" if remark else "")
    return row


def _unit(roster: Roster, code: str, below: str) -> str:
    """Who reported a row: the institution, or a unit of the level below it."""
    inst = roster.get(code)
    name = inst.name if inst else code
    return f"{name}／{below}" if below and below != name else name


def _plain(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def claim(spec: ListSpec, rows: tuple[Row, ...], texts: dict[str, str]) -> str:
    """The group an added task belongs to: the one whose group fields (序号, 任务事项)
    agree with every one of them the institution filled, a number also when followed
    by more of it (``5.2`` or ``5-1`` is under 5); "" when it fills none or none agrees,
    so that no text the institution typed is hidden under another group's name."""
    filled = {k: _plain(texts[k]) for k in spec.group_fields if _plain(texts.get(k, ""))}
    if not filled:
        return ""
    for opener, _ in groups(spec, rows):
        if all(_agrees(typed, _plain(opener.values.get(k, ""))) for k, typed in filled.items()):
            return opener.key
    return ""


def _agrees(typed: str, value: str) -> bool:
    if typed == value:
        return True
    return value.isdigit() and typed.startswith(value) and not typed[len(value)].isdigit()


def laid_out(spec: ListSpec, rows: tuple[Row, ...], totals: ListTotals) -> ListAggregate:
    """The sheet rows of each part: an entry whose text is longer than a row holds is
    cut into pieces at line ends, each going on in the row below without a name."""
    width = {f.key: f.width for f in spec.fields} | {UNIT: UNIT_WIDTH}
    parts: list[tuple[str, list[dict[str, str]]]] = []

    def sheet_rows(entries: list[Entry]) -> list[dict[str, str]]:
        out = []
        for e in entries:
            pieces = {k: _pieces(v, width.get(k, 10)) for k, v in e.texts.items()}
            for i in range(max((len(p) for p in pieces.values()), default=1)):
                row = {k: p[i] for k, p in pieces.items() if i < len(p)}
                out.append({UNIT: e.unit, **row} if i == 0 else row)
        return out

    for opener, tasks in groups(spec, rows):
        for t in tasks:
            parts.append((t.key, sheet_rows(totals.tasks.get(t.key, [])) or [{}]))
        parts.append((GROUP_ADDED, sheet_rows(totals.added.get(opener.key, []))))
    parts.append((UNCLAIMED, sheet_rows(totals.unclaimed)))
    return ListAggregate(parts)


def _pieces(text: str, width: int) -> list[str]:
    """``text`` cut at line ends into pieces of at most LINES_PER_ROW lines."""
    from pipeline.forms.styles import text_lines  # openpyxl's, not on a rerun's path

    if text_lines(text, width) <= LINES_PER_ROW:
        return [text]
    pieces, start = [], 0
    for end in range(1, len(text) + 1):
        if text_lines(text[start:end], width) > LINES_PER_ROW:
            pieces.append(text[start : end - 1])
            start = end - 1
    pieces.append(text[start:])
    return pieces
