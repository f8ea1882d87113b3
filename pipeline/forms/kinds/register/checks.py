"""A register's checks over a batch of returns.

The typed fields first (one pandera call for the form: required fields, choices, dates
not after the period's end and in order). Then the item's life, against the ledger:
an open item missing from the return (R-ITEM-MISSING), an ID the institution never had
(R-ITEM-UNKNOWN: the 编号 cell is locked, so it was copied or typed over), the same ID
twice (R-ITEM-DUPLICATE), a closed item back open (R-ITEM-REOPENED), the bureau's
挂牌督办 changed by an institution (R-BUREAU-FIELD, not taken), a row added where only
the bureau's seeded items belong (R-ITEM-NEW), an ordered field going back (形象进度
down: V-STEP-BACK, a warning). A register of records carries nothing, so misses nothing.
Last, the register against the grid of the same return ([[reconcile]]).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence

from pipeline.findings import make
from pipeline.forms.cells import column_letter
from pipeline.forms.kinds.base import CheckContext, Returned
from pipeline.forms.kinds.register.extract import AGAIN, NEW
from pipeline.forms.kinds.register.items import ItemState, States, latest_states
from pipeline.forms.kinds.register.seeds import seeded
from pipeline.forms.kinds.register.spec import Reconcile, RegisterSpec
from pipeline.forms.kinds.rowcheck import UNREADABLE, gather, report
from pipeline.forms.layout import Layout
from pipeline.forms.records import Extracted, TextCell
from pipeline.forms.rows import Row


def validate_register(
    spec: RegisterSpec,
    seed_rows: tuple[Row, ...],
    lay: Layout,
    batch: Sequence[Returned],
    ctx: CheckContext,
) -> None:
    required = [f for f in spec.fields if f.required and f.is_input]
    rows = gather(spec.id, lay, batch)
    report(spec.id, spec.sheet, spec.fields, lay, batch, rows, ctx.period.last_day(), required)
    before = latest_states(spec, ctx.records, str(ctx.period.shift(-1))) if spec.carry else {}
    known = {inst: set(ids) for inst, ids in ctx.records.item_ids(spec.id).items()}
    seeds = seeded(spec, seed_rows)
    for inst, items in seeds.items():
        known.setdefault(inst, set()).update(items)
    decisions = ctx.records.decisions(spec.id)
    # Each institution's items, in order, found once: looked for among every
    # institution's items for each return, they cost the square of the batch.
    items_of: dict[str, list[tuple[str, ItemState]]] = defaultdict(list)
    for (code, item), state in sorted(before.items()):
        items_of[code].append((item, state))
    for returned in batch:
        mine = items_of.get(returned.extracted.institution.code, [])
        _items(spec, lay, returned, before, mine, known, decisions)
        _seeds_missing(spec, returned, before, seeds)
        _steps_back(spec, returned, before)
        for rule in spec.reconcile:
            _reconcile(spec, rule, returned, ctx)


def _rows(ext: Extracted, form: str) -> dict[str, dict[str, TextCell]]:
    out: dict[str, dict[str, TextCell]] = defaultdict(dict)
    for t in ext.texts:
        if t.form == form and not t.row_key.startswith("__"):
            out[t.row_key][t.field] = t
    return out


def _row_number(cell: str) -> int:
    return int("".join(ch for ch in cell if ch.isdigit()) or 0)


def _items(
    spec: RegisterSpec,
    lay: Layout,
    returned: Returned,
    before: States,
    mine: Sequence[tuple[str, ItemState]],
    known: Mapping[str, set[str]],
    decisions: Mapping[tuple[str, str], tuple[str, str, str]],
) -> None:
    """``mine``: the institution's items of ``before``, by item ID."""
    ext = returned.extracted
    inst = ext.institution.code
    id_col = lay.col_of[spec.id_field]
    letter = column_letter(id_col)
    loc = {**returned.where, "form": spec.id, "sheet": spec.sheet}

    def add(rule: str, cell: str = "", value: object = "", expected: object = "") -> None:
        ext.findings.append(make(rule, value=value, expected=expected, **{**loc, "cell": cell}))

    rows = _rows(ext, spec.id)
    seen: dict[str, int] = {}
    for row_key, cells in rows.items():
        if row_key.startswith(NEW):
            if not spec.new_items and not ext.aggregate:
                r = _row_number(next(iter(cells.values())).cell)
                add("R-ITEM-NEW", f"{letter}{r}", value=r)
            continue
        r = _row_number(next(iter(cells.values())).cell)
        if AGAIN in row_key:
            item = row_key.split(AGAIN)[0]
            add(
                "R-ITEM-DUPLICATE",
                f"{letter}{r}",
                value=item,
                expected=f"第{seen.get(item, '?')}行",
            )
            continue
        seen[row_key] = r
        if ext.aggregate:
            continue  # an aggregated return brings its own items
        if row_key not in known.get(inst, set()):
            add("R-ITEM-UNKNOWN", f"{letter}{r}", value=row_key)
            continue
        last = before.get((inst, row_key))
        status = cells.get(spec.status_field)
        reopened = status is not None and status.text not in spec.closed_values
        if last is not None and spec.is_closed(last.values) and status is not None and reopened:
            add("R-ITEM-REOPENED", status.cell, value=status.text, expected=last.period)
    for item, state in mine:
        if not spec.is_closed(state.values) and item not in seen:
            description = state.values.get(spec.identity_field, "")
            add("R-ITEM-MISSING", value=item, expected=description[:40])
    if spec.supervised_field and ext.institution.role == "institution":
        for t in ext.not_taken:
            if t.form != spec.id or t.field != spec.supervised_field:
                continue
            decided = decisions.get((inst, t.row_key))
            last = before.get((inst, t.row_key))
            was = decided[1] if decided else (last.values.get(t.field, "") if last else "")
            if t.text != was:
                add("R-BUREAU-FIELD", t.cell, value=t.text, expected=was or "空白")


def _seeds_missing(
    spec: RegisterSpec, returned: Returned, before: States, seeds: Mapping[str, Mapping[str, Row]]
) -> None:
    """A seeded item never reported yet is as open as any: it must be in the return."""
    ext = returned.extracted
    inst = ext.institution.code
    present = {t.row_key for t in ext.texts if t.form == spec.id}
    for item, row in seeds.get(inst, {}).items():
        if (inst, item) in before or item in present:
            continue
        ext.findings.append(
            make(
                "R-ITEM-MISSING",
                value=item,
                expected=row.values.get(spec.identity_field, "")[:40],
                **{**returned.where, "form": spec.id, "sheet": spec.sheet},
            )
        )


def _steps_back(spec: RegisterSpec, returned: Returned, before: States) -> None:
    """An ordered field below the item's last reported value (形象进度 down)."""
    ordered = {f.key: f for f in spec.fields if f.ordered and f.is_input}
    if not ordered:
        return
    ext = returned.extracted
    for t in ext.texts:
        f = ordered.get(t.field)
        last = before.get((ext.institution.code, t.row_key)) if f else None
        if f is None or last is None or t.form != spec.id:
            continue
        was = last.values.get(t.field, "")
        if was and f.stepped_back(t.text, was):
            ext.findings.append(
                make(
                    "V-STEP-BACK",
                    value=t.text,
                    expected=was,
                    what=f"{t.row_key}/{f.header}",
                    words={"when": last.period},
                    **{**returned.where, "form": spec.id, "sheet": spec.sheet, "cell": t.cell},
                )
            )


def _reconcile(spec: RegisterSpec, rule: Reconcile, returned: Returned, ctx: CheckContext) -> None:
    """Items of the kind ``rule`` counts, dated within the period, per grid row, against
    the grid's figure in the same return."""
    ext = returned.extracted
    figures = {
        v.row_key: v for v in ext.values if v.form == rule.form and v.measure == rule.measure
    }
    if not figures:
        return  # the return has no such figure (another role's column, or no grid sheet)
    if any(f.form == spec.id and f.rule in UNREADABLE for f in ext.findings):
        return  # a register row could not be read: it is refused, not counted wrong
    grid = ctx.forms.get(rule.form)
    if grid is None:
        return
    row_of: dict[str, str] = {}
    for grid_row in ctx.rows.get(rule.form, ()):
        for text in (grid_row.label, *grid_row.aliases, grid_row.key):
            row_of[text] = grid_row.key
    first, last = ctx.period.first_day(), ctx.period.last_day()
    counts: dict[str, int] = defaultdict(int)
    for cells in _rows(ext, spec.id).values():
        if any(cells.get(k) is None or cells[k].text != v for k, v in rule.where.items()):
            continue
        day = cells.get(rule.date_field)
        row = cells.get(rule.row_field)
        if day is None or row is None or not isinstance(day.value, dt.date):
            continue
        if first <= day.value <= last and row.text in row_of:
            counts[row_of[row.text]] += 1
    labels = {r.key: r.label for r in ctx.rows.get(rule.form, ())}
    filters = "、".join(f"{spec.field(k).header}为{v}" for k, v in rule.where.items())
    words = {
        "register": spec.title_for(ctx.period.year),
        "when": f"{spec.field(rule.date_field).header}在本期内",
        "items": filters or "条目",
    }
    for row_key, cell in figures.items():
        stated = int(cell.value or 0)
        counted = counts.get(row_key, 0)
        if stated == counted:
            continue
        ext.findings.append(
            make(
                "X-RECONCILE",
                value=counted,
                expected=stated,
                what=f"{labels.get(row_key, row_key)}/{rule.label or rule.measure}",
                words=words,
                **{**returned.where, "form": rule.form, "sheet": grid.sheet, "cell": cell.cell},
            )
        )
