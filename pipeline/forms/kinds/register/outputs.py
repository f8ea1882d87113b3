"""What a register gives the outputs: its own book (「<title>汇总」: every item of every
institution with status, days open and overdue flag; counts by group × status, with the
totals of its summed fields; the 挂牌督办 list; the 逾期 list; the items behind their
plan; each institution's cumulative rate, ranked), the content of the aggregated
return's sheet, and the trace of every count to the rows it counts.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.config.roster import Roster
from pipeline.forms.cells import column_letter
from pipeline.forms.fields import NUMERIC, Field
from pipeline.forms.kinds.base import Book, Table
from pipeline.forms.kinds.register.layout import RegisterRows
from pipeline.forms.kinds.register.totals import ItemView, RegisterTotals, counts, rates

COUNTS_SHEET = "分类统计"
SUPERVISED_SHEET = "挂牌督办"
OVERDUE_SHEET = "逾期"
BEHIND_SHEET = "进度滞后"
TOTAL = "合计"
FIRST_DATA_ROW = 4  # a table's title, a blank row, its header, then its rows


def book_stem(totals: RegisterTotals) -> str:
    return f"{totals.spec.title_for(totals.period.year)}汇总"


def aggregated(totals: RegisterTotals) -> RegisterRows:
    """The district's register, a valid return one level up: every item reported this
    period, and every open item of an institution that did not report (as last known)."""
    shown = [v for v in totals.items if v.reported or not v.closed]
    return RegisterRows(items=tuple((v.item_id, v.values) for v in shown), blank=0)


def _name(roster: Roster, code: str) -> str:
    inst = roster.get(code)
    return inst.name if inst else code


def _shown(f: Field, text: str, roster: Roster) -> object:
    """A value as the book shows it: a number as a number, an institution by its name."""
    if f.type == "institution":
        return _name(roster, text)
    if f.type in NUMERIC and text:
        try:
            return float(text)
        except ValueError:
            return text
    return text


def books(totals: RegisterTotals, roster: Roster) -> list[Book]:
    spec = totals.spec
    label = totals.period.label()
    fields = [f for f in spec.fields]
    items = Table(
        sheet=book_stem(totals),
        title=f"{book_stem(totals)}（截至{label}，共{len(totals.items)}条）",
        headers=[
            "序号",
            "机构代码",
            "机构名称",
            *(f.header for f in fields),
            "首次报送",
            "本期状态",
            "在账天数",
            "逾期天数",
        ],
        rows=[
            [
                i,
                v.institution,
                _name(roster, v.institution),
                *(
                    v.item_id
                    if f.key == spec.id_field
                    else _shown(f, v.values.get(f.key, ""), roster)
                    for f in fields
                ),
                v.state.first_period,
                _standing(v),
                v.days_open,
                v.overdue_days or None,
            ]
            for i, v in enumerate(totals.items, start=1)
        ],
        widths=[6, 10, 24, *(min(f.width, 30) for f in fields), 10, 12, 8, 8],
    )
    tables = [items, _counts(totals)]
    if spec.schedule is not None:
        tables.append(_behind(totals, roster))
    if spec.supervised_field or spec.supervise_when:
        tables.append(
            _listing(totals, roster, SUPERVISED_SHEET, [v for v in totals.items if v.supervised])
        )
    if spec.deadline_field:
        overdue = sorted((v for v in totals.items if v.overdue_days), key=lambda v: -v.overdue_days)
        tables.append(_listing(totals, roster, OVERDUE_SHEET, overdue))
    if spec.status_field:
        tables.append(_ranking(totals, roster))
    return [Book(stem=book_stem(totals), tables=tables)]


def _standing(v: ItemView) -> str:
    """Where the item's state comes from: this period's return, or an earlier one."""
    if v.reported:
        return "本期报送"
    if not v.state.period:
        return "尚未报送（本局预填）"
    if v.closed:
        return f"{v.state.period}已完成"
    return f"沿用{v.state.period}（本期未报送）"


def _statuses(totals: RegisterTotals) -> list[str]:
    spec = totals.spec
    return list(spec.field(spec.status_field).choices) if spec.status_field else []


def _counts(totals: RegisterTotals) -> Table:
    """Items by group (× status), with the totals of the summed fields."""
    spec = totals.spec
    statuses = _statuses(totals)
    sums = [spec.field(k) for k in spec.sums]
    rows: list[list[object]] = []
    counted = [0] * (len(statuses) + 1)  # by status, and all
    grand = [0.0] * len(sums)
    for key, by_status in _ordered(totals):
        views = [v for group in by_status.values() for v in group]
        n = [len(by_status.get(s, [])) for s in statuses] + [len(views)]
        added = [_total(views, f.key) for f in sums]
        counted = [a + b for a, b in zip(counted, n, strict=True)]
        grand = [a + b for a, b in zip(grand, added, strict=True)]
        rows.append([*key, *n, *(round(x, 4) for x in added)])
    if sums and rows and spec.group_by:
        blank = [""] * (len(spec.group_by) - 1)
        rows.append([TOTAL, *blank, *counted, *(round(x, 4) for x in grand)])
    groups = [spec.field(k).header for k in spec.group_by]
    return Table(
        sheet=COUNTS_SHEET,
        title=f"{spec.title_for(totals.period.year)}分类统计（截至{totals.period.label()}）",
        headers=[*groups, *statuses, TOTAL if statuses else "条目数", *(f.header for f in sums)],
        rows=rows,
        widths=[30] * len(groups) + [10] * (len(statuses) + 1) + [14] * len(sums),
    )


def _ordered(totals: RegisterTotals) -> list[tuple[tuple[str, ...], dict[str, list[ItemView]]]]:
    """Groups in the order of their fields' choices (项目类别 as the definition lists
    them), other values after, alphabetically."""
    spec = totals.spec
    fields = [spec.field(k) for k in spec.group_by]

    def rank(key: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
        return tuple(
            (f.choices.index(v) if v in f.choices else len(f.choices), v)
            for f, v in zip(fields, key, strict=True)
        )

    return sorted(counts(totals).items(), key=lambda kv: rank(kv[0]))


def _total(views: list[ItemView], key: str) -> float:
    out = 0.0
    for v in views:
        try:
            out += float(v.values.get(key, "") or 0)
        except ValueError:
            continue
    return out


def _behind(totals: RegisterTotals, roster: Roster) -> Table:
    """The items behind their plan at the period's end, the latest first."""
    spec = totals.spec
    sched = spec.schedule
    assert sched is not None
    late = sorted(
        (v for v in totals.items if v.verdict is not None and v.verdict.behind),
        key=lambda v: (-(v.verdict.days_late if v.verdict else 0), v.item_id),
    )
    shown = [k for k in (*spec.group_by, sched.target) if k]
    rows = []
    for i, v in enumerate(late, start=1):
        verdict = v.verdict
        assert verdict is not None
        rows.append(
            [
                i,
                v.item_id,
                v.values.get(spec.identity_field, ""),
                _name(roster, v.institution),
                *(_shown(spec.field(k), v.values.get(k, ""), roster) for k in shown),
                verdict.planned,
                verdict.actual,
                verdict.gap,
                "；".join(m.label() for m in verdict.missed),
                verdict.days_late,
                v.values.get(sched.claim, "") if sched.claim else "",
                v.state.period or "未报送",
            ]
        )
    progress = spec.field(sched.progress).header
    return Table(
        sheet=BEHIND_SHEET,
        title=f"{spec.title_for(totals.period.year)}：进度滞后的项目（截至{totals.period.label()}，共{len(rows)}项）",
        headers=[
            "序号",
            spec.field(spec.id_field).header,
            spec.field(spec.identity_field).header,
            spec.field(spec.owner_field).header if spec.owner_field else "单位",
            *(spec.field(k).header for k in shown),
            "计划进度（%）",
            progress,
            "落后（百分点）",
            "已过期未完成的节点",
            "滞后天数",
            spec.field(sched.claim).header if sched.claim else "单位自评",
            "最近报送",
        ],
        rows=rows,
        widths=[6, 10, 28, 24, *([12] * len(shown)), 10, 10, 10, 34, 8, 12, 10],
    )


def _listing(totals: RegisterTotals, roster: Roster, sheet: str, views: list[ItemView]) -> Table:
    spec = totals.spec
    shown = [
        k
        for k in (
            spec.id_field,
            *spec.group_by,
            spec.identity_field,
            spec.opened_field,
            spec.deadline_field,
            spec.status_field,
        )
        if k
    ]
    headers = ["序号", "机构名称", *(spec.field(k).header for k in shown), "在账天数"]
    extra = "逾期天数" if sheet == OVERDUE_SHEET else "挂牌原因"
    rows = [
        [
            i,
            _name(roster, v.institution),
            *(v.item_id if k == spec.id_field else v.values.get(k, "") for k in shown),
            v.days_open,
            v.overdue_days if sheet == OVERDUE_SHEET else v.supervised,
        ]
        for i, v in enumerate(views, start=1)
    ]
    return Table(
        sheet=sheet,
        title=f"{spec.title_for(totals.period.year)}{sheet}（截至{totals.period.label()}，共{len(rows)}条）",
        headers=[*headers, extra],
        rows=rows,
        widths=[6, 24, *(min(spec.field(k).width, 30) for k in shown), 8, 14],
    )


def _ranking(totals: RegisterTotals, roster: Roster) -> Table:
    spec = totals.spec
    found = sorted(
        rates(totals),
        key=lambda r: (-(r[2] / r[1]) if r[1] else 0, -r[1], totals.order.get(r[0], 1 << 30)),
    )
    rows = []
    for i, (inst, n, closed) in enumerate(found, start=1):
        rows.append(
            [
                i,
                inst,
                _name(roster, inst),
                n,
                closed,
                n - closed,
                round(closed / n * 100, 1) if n else None,
            ]
        )
    label = spec.rate_label
    return Table(
        sheet=f"{label}排名",
        title=f"各单位{label}排名（累计，截至{totals.period.label()}）",
        headers=["名次", "机构代码", "机构名称", "在账总数", "已完成", "未完成", f"{label}（%）"],
        rows=rows,
        widths=[6, 10, 30, 10, 10, 10, 12],
    )


def trace(totals: RegisterTotals, output: str) -> Iterator[dict[str, object]]:
    """Each count of 分类统计 and the row (its status cell) of each item it counts."""
    spec = totals.spec
    if not spec.status_field:
        return
    statuses = _statuses(totals)
    first_col = len(spec.group_by) + 1
    status_header = spec.field(spec.status_field).header
    for r, (key, by_status) in enumerate(_ordered(totals), start=FIRST_DATA_ROW):
        for c, status in enumerate(statuses, start=first_col):
            views = by_status.get(status, [])
            for v in views:
                yield {
                    "type": "trace",
                    "output": output,
                    "sheet": COUNTS_SHEET,
                    "cell": f"{column_letter(c)}{r}",
                    "row": "/".join(key),
                    "measure": f"{status_header}/{status}",
                    "figure": len(views),
                    "source_file": v.state.file,
                    "source_sha256": v.state.sha256,
                    "source_sheet": spec.sheet,
                    "source_cell": v.state.cells.get(spec.status_field, ""),
                    "source_period": v.state.period,
                    "institution": v.institution,
                    "value": v.item_id,
                }
