"""Filling a register the way an institution does: update the open items its template
came with, add the month's new ones in the blank rows.

Left to itself (no explicit :class:`RegisterFill`), the filler keeps the register in
step with the grid of the same return, by the register's own ``[[reconcile]]`` rules: as
many new items of a kind, per topic, as the grid says were found this month, and as many
closed (oldest open ones first) as it says were fixed — so a filled return passes the
cross-check unless a test or the demo breaks it on purpose. A register without such
rules gets an occasional new item and status change, from a generator seeded by the
institution and month (the result does not depend on the order returns are filled in).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from copy import copy
from dataclasses import dataclass, field

from openpyxl.worksheet.worksheet import Worksheet

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution
from pipeline.forms.fields import NUMERIC
from pipeline.forms.kinds.register.spec import Reconcile, RegisterSpec
from pipeline.forms.layout import Layout, footer_key
from pipeline.forms.styles import set_text

_PLACES = ("门诊楼", "住院部", "配电室", "锅炉房", "药库", "食堂", "地下车库", "污水处理站")
_PROBLEMS = (
    "{p}消防通道堆放杂物",
    "{p}灭火器压力不足",
    "{p}应急照明损坏",
    "{p}电线老化裸露",
    "{p}安全出口指示标志缺失",
    "{p}危险化学品未分类存放",
)
_MEASURES = ("安全生产责任制", "隐患排查治理制度", "消防安全管理规定", "危险化学品管理办法")
_DEPARTMENTS = ("总务科", "保卫科", "医务科", "药剂科")
_PEOPLE = ("王伟", "李强", "张敏", "刘洋", "陈静")


@dataclass
class RegisterFill:
    """What an institution does to its register this month: ``updates`` of the items the
    template came with ({item ID: {field: text}}), and ``new`` rows. ``clear`` lists
    item IDs whose rows it empties (a test of a missing item). ``in_step`` adds to these
    the changes that keep the register in step with the grid; ``drop_new`` then leaves
    out the first so many new items it would add (a register that disagrees)."""

    updates: dict[str, dict[str, str]] = field(default_factory=dict)
    new: list[dict[str, str]] = field(default_factory=list)
    clear: list[str] = field(default_factory=list)
    in_step: bool = False
    drop_new: int = 0


@dataclass
class _Item:
    row: int
    values: dict[str, str]


def read_items(
    ws: Worksheet, spec: RegisterSpec, lay: Layout
) -> tuple[dict[str, _Item], list[int]]:
    """The template's pre-filled items by ID, and its blank rows, down to the footer."""
    items: dict[str, _Item] = {}
    blank: list[int] = []
    footer = {footer_key(label) for label, _ in lay.footer_cells}
    label_col = lay.footer_cells[0][1] if lay.footer_cells else 1
    r = lay.first_data_row
    while r <= ws.max_row:
        label = str(ws.cell(r, label_col).value or "")
        if any(label.startswith(k) for k in footer if k):
            break
        item_id = str(ws.cell(r, lay.col_of[spec.id_field]).value or "")
        if not item_id and ws.cell(r, lay.col_of[spec.identity_field]).protection.locked:
            r += 1
            continue  # not a row of the table (the gap above the footer)
        if item_id:
            values = {}
            for f in spec.fields:
                value = ws.cell(r, lay.col_of[f.key]).value
                if isinstance(value, dt.datetime):
                    value = value.date()
                values[f.key] = (
                    value.isoformat() if isinstance(value, dt.date) else str(value or "")
                )
            items[item_id] = _Item(r, values)
        else:
            blank.append(r)
        r += 1
    return items, blank


def auto_fill(
    campaign: Campaign,
    spec: RegisterSpec,
    inst: Institution,
    period: Period,
    grid: Mapping[str, Mapping[str, Mapping[str, int]]],
    items: Mapping[str, _Item],
) -> RegisterFill:
    """The month's changes that keep the register in step with the grid."""
    rng = random.Random(f"{inst.code}/{period}/{spec.id}")
    fill = RegisterFill()
    if not spec.reconcile:
        return _occasional(spec, period, items, rng, fill)
    opened = {r.date_field for r in spec.reconcile if spec.opened_field == r.date_field}
    found_rules = [r for r in spec.reconcile if r.date_field in opened]
    closed_rules = [r for r in spec.reconcile if r.date_field == spec.closed_field]
    new_by_key: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for rule in found_rules:
        for label, n in _wanted(campaign, rule, grid):
            for _ in range(n):
                row = _new_item(spec, rule, label, period, rng)
                fill.new.append(row)
                new_by_key.setdefault(_key(rule, label), []).append(row)
    for rule in closed_rules:
        for label, n in _wanted(campaign, rule, grid):
            todo = n
            for item_id, item in sorted(items.items()):
                if todo == 0:
                    break
                if item_id in fill.updates or spec.is_closed(item.values):
                    continue
                if not _matches(rule, label, item.values, ignore=(spec.status_field,)):
                    continue
                fill.updates[item_id] = _closing(spec, period, item.values, rng)
                todo -= 1
            for row in new_by_key.get(_key(rule, label), []):
                if todo == 0:
                    break
                if not spec.is_closed(row):
                    row.update(_closing(spec, period, row, rng))
                    todo -= 1
            for _ in range(todo):  # an older hazard, entered and closed this month
                row = _new_item(spec, rule, label, period, rng, before=True)
                row.update(_closing(spec, period, row, rng))
                fill.new.append(row)
    return fill


def _key(rule: Reconcile, label: str) -> tuple[str, ...]:
    return (label, *(f"{k}={v}" for k, v in sorted(rule.where.items()) if k != "status"))


def _wanted(
    campaign: Campaign, rule: Reconcile, grid: Mapping[str, Mapping[str, Mapping[str, int]]]
) -> list[tuple[str, int]]:
    """(row label, the grid's figure) for each row of the grid the rule counts against."""
    figures = grid.get(rule.form, {})
    rows = campaign.rows_for(campaign.form(rule.form)) if rule.form in campaign.rows else ()
    return [(r.label, int(figures.get(r.key, {}).get(rule.measure, 0) or 0)) for r in rows]


def _matches(
    rule: Reconcile, label: str, values: Mapping[str, str], ignore: tuple[str, ...] = ()
) -> bool:
    if values.get(rule.row_field) != label:
        return False
    return all(values.get(k) == v for k, v in rule.where.items() if k not in ignore)


def _day(period: Period, rng: random.Random) -> dt.date:
    last = period.last_day().day
    return period.first_day() + dt.timedelta(days=rng.randint(0, last - 1))


def _new_item(
    spec: RegisterSpec,
    rule: Reconcile,
    label: str,
    period: Period,
    rng: random.Random,
    *,
    before: bool = False,
) -> dict[str, str]:
    found = (
        period.first_day() - dt.timedelta(days=rng.randint(3, 20)) if before else _day(period, rng)
    )
    row = {k: v for k, v in rule.where.items() if k != spec.status_field}
    row[rule.row_field] = label
    row[spec.identity_field] = rng.choice(_PROBLEMS).format(p=rng.choice(_PLACES))
    if spec.opened_field:
        row[spec.opened_field] = found.isoformat()
    if spec.deadline_field:
        row[spec.deadline_field] = (found + dt.timedelta(days=120)).isoformat()
    row[spec.status_field] = _open_status(spec)
    _others(spec, row, rng)
    return row


def _open_status(spec: RegisterSpec) -> str:
    choices = spec.field(spec.status_field).choices
    open_ones = [c for c in choices if c not in spec.closed_values]
    return open_ones[-1] if open_ones else choices[0]


def _others(spec: RegisterSpec, row: dict[str, str], rng: random.Random) -> None:
    keys = {f.key for f in spec.fields}
    if "measure" in keys:
        row.setdefault("measure", "立即整改，落实专人负责")
    if "department" in keys:
        row.setdefault("department", rng.choice(_DEPARTMENTS))
    if "person" in keys:
        row.setdefault("person", rng.choice(_PEOPLE))


def _closing(
    spec: RegisterSpec, period: Period, values: Mapping[str, str], rng: random.Random
) -> dict[str, str]:
    """Closed this month, on a day not before it was found."""
    day = _day(period, rng)
    found = values.get(spec.opened_field, "") if spec.opened_field else ""
    if found and found > day.isoformat():
        day = dt.date.fromisoformat(found)
    out = {spec.status_field: spec.closed_values[0]}
    if spec.closed_field:
        out[spec.closed_field] = day.isoformat()
    return out


def _occasional(
    spec: RegisterSpec,
    period: Period,
    items: Mapping[str, _Item],
    rng: random.Random,
    fill: RegisterFill,
) -> RegisterFill:
    """A register kept by hand: now and then a new item, now and then one completed."""
    for item_id, item in sorted(items.items()):
        if not spec.is_closed(item.values) and rng.random() < 0.4:
            fill.updates[item_id] = _closing(spec, period, item.values, rng)
    if rng.random() < 0.5:
        row: dict[str, str] = {spec.identity_field: rng.choice(_MEASURES)}
        for f in spec.fields:
            if f.type == "choice" and f.key != spec.status_field and f.fill == "institution":
                row[f.key] = f.choices[0] if f.choices else ""
        if spec.deadline_field:
            row[spec.deadline_field] = (period.last_day() + dt.timedelta(days=90)).isoformat()
        row[spec.status_field] = _open_status(spec)
        _others(spec, row, rng)
        fill.new.append(row)
    return fill


def write_fill(ws: Worksheet, spec: RegisterSpec, lay: Layout, fill: RegisterFill) -> None:
    """Write ``fill`` into the template's rows (dates as dates, as Excel stores them)."""
    items, blank = read_items(ws, spec, lay)
    for item_id, changes in fill.updates.items():
        for key, text in changes.items():
            _put(ws, spec, items[item_id].row, lay.col_of[key], key, text)
    for item_id in fill.clear:
        for f in spec.fields:
            if f.key != spec.id_field:
                ws.cell(items[item_id].row, lay.col_of[f.key]).value = None
    if len(fill.new) > len(blank):  # the clerk inserts rows, as the sheet allows
        blank += _insert_rows(
            ws, (blank or [lay.first_data_row])[-1] + 1, len(fill.new) - len(blank)
        )
    for r, row in zip(blank, fill.new, strict=False):
        for key, text in row.items():
            _put(ws, spec, r, lay.col_of[key], key, text)


def _insert_rows(ws: Worksheet, at: int, count: int) -> list[int]:
    """Insert ``count`` rows before row ``at``, formatted as the row above (as Excel
    does), moving the merged cells below them too (openpyxl moves only the cells)."""
    below = [m for m in ws.merged_cells.ranges if m.min_row >= at]
    for m in below:
        ws.merged_cells.remove(m)
    ws.insert_rows(at, count)
    for m in below:
        m.shift(row_shift=count)
        ws.merged_cells.add(m)
    for r in range(at, at + count):
        for c in range(1, ws.max_column + 1):
            above = ws.cell(at - 1, c)
            if above.has_style:
                ws.cell(r, c)._style = copy(above._style)
    return list(range(at, at + count))


def _put(ws: Worksheet, spec: RegisterSpec, row: int, col: int, key: str, text: str) -> None:
    cell = ws.cell(row, col)
    if spec.field(key).type == "date" and text:
        try:
            cell.value = dt.date.fromisoformat(text)
            cell.number_format = "yyyy-mm-dd"
            return
        except ValueError:
            pass  # a date as a clerk types it ("2026.7.3"): written as text
    if spec.field(key).type in NUMERIC and text:
        try:
            number = float(text)
            cell.value = int(number) if number.is_integer() else number
            return
        except ValueError:
            pass  # "5处" typed with its unit: written as text
    set_text(cell, text)
