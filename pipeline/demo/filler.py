"""Fill blank templates the way real institutions do, for the demo, tests and benchmarks.

The pipeline is only as good as what it survives, so the filler does not just write clean
numbers: it can type them the way clerks do (full-width digits, a trailing unit, numbers
stored as text, stray spaces) and can type a plain number over a formula (the classic
arithmetic error a return is rejected for). Everything goes through the same layout the
template writer and the extractor use, so a filled cell is exactly where the pipeline will
look for it. Figures come from a caller-supplied ``random.Random``: a seed reproduces a run.
"""

from __future__ import annotations

import itertools
import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.atomic import write_atomic
from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution
from pipeline.demo.registers import RegisterFill, auto_fill, read_items, write_fill
from pipeline.distribute.metadata import META_SHEET, parse_rows
from pipeline.distribute.templates import Prefills, template_filename, write_template
from pipeline.forms.kinds import kind_of
from pipeline.forms.kinds.grid.spec import GridSpec
from pipeline.forms.kinds.register.spec import RegisterSpec
from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.kinds.typed import typed_value
from pipeline.forms.layout import Layout
from pipeline.forms.styles import set_text

Overwrites = dict[str, dict[tuple[str, str], float]]
"""{form_id: {(row_key, measure_key): number}}: numbers typed over derived (formula) cells."""

HABITS = ("fullwidth", "spaces", "text", "unit")
"""What clerks type instead of a plain number; see :func:`habit_text`."""

# Upper bounds of a month's figure per topic row, before ``scale``; unknown counts get 3.
_RANGES = {
    "general_found": 4,
    "problems_province": 1,
    "problems_city": 2,
    "problems_county": 3,
    "groups_formed": 2,
    "inspections": 4,
    "units_inspected": 6,
    "inspection_problems": 5,
    "interviews": 1,
}
_RARE = {"major_found": 0.06}  # found at most once a month, and seldom

_PROGRESS = (
    "{m}月已组织专题学习1次，参学人员{n}人。",
    "已制定本单位工作方案，明确责任科室和责任人。",
    "{m}月开展全院安全检查{k}次，发现问题已登记入台账。",
    "组织职工培训{k}场，培训{n}人次。",
    "按计划推进，{m}月完成消防设施维护保养。",
    "已完成自查自纠，问题隐患整改正在推进。",
    "{m}月开展应急演练1次，参演{n}人。",
    "持续推进，本月无新增情况。",
)
_OUTCOMES = ("会议记录", "培训签到表", "整改台账", "检查记录", "工作方案", "演练记录及照片")
_REMARKS = ("持续推进", "已完成", "按季度开展", "部分完成")
# (主要内容, 重点措施, 序号 of the task group it belongs to: filling note 4, 归类填写)
_NEW_TASKS = (
    ("开展电动自行车充电安全专项检查", "对院内电动自行车停放、充电区域逐一排查。", "4"),
    ("开展有限空间作业安全排查", "对污水处理站、地下管廊等有限空间建立台账。", "5"),
    ("加强医用氧气瓶安全管理", "规范氧气瓶储存、搬运和使用，落实专人管理。", "3"),
)


@dataclass
class MonthData:
    """What one reporter types into one month's return.

    ``grid`` holds counts only ({form_id: {topic_key: {measure_key: value}}}); derived cells
    stay formulas. ``texts`` holds list forms' input fields ({form_id: {task_key: {field:
    text}}}); ``new_tasks`` holds whole rows written into the spare rows, each with the
    spec's ``new_task_marker`` in 备注 as the annex asks. Anything missing stays blank.
    """

    grid: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    texts: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    new_tasks: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    # what it does to each register ({form_id: RegisterFill}); a register not named here
    # is kept in step with the grid (see pipeline.demo.registers)
    registers: dict[str, RegisterFill] = field(default_factory=dict)


def with_zeros(
    campaign: Campaign, grid: dict[str, dict[str, dict[str, int]]]
) -> dict[str, dict[str, dict[str, int]]]:
    """``grid`` with every other count an institution fills typed as 0, as the annexes ask
    (「没有请填0」): a careful hospital's return, where no cell is left blank."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for spec in campaign.forms:
        if not isinstance(spec, GridSpec):
            continue
        given = grid.get(spec.id, {})
        out[spec.id] = {
            row.key: {
                m.key: given.get(row.key, {}).get(m.key, 0) for m in spec.inputs_for("institution")
            }
            for row in campaign.rows_for(spec)
        }
    return out


def _scaled(limit: int, scale: float) -> int:
    return max(0, round(limit * scale))


def _grid_month(
    spec: GridSpec, topic_keys: list[str], role: str, rng: random.Random, scale: float
) -> dict[str, dict[str, int]]:
    """Counts per topic; a rate's numerator (已整改) is drawn from its denominator (排查)."""
    counts = spec.inputs_for(role)
    keys = {m.key for m in counts}
    fixed_of: dict[str, str] = {}
    for m in spec.measures:
        num, den = m.numerator, m.denominator
        if m.kind == "rate" and num and den and num in keys and den in keys:
            fixed_of[num] = den
    rows: dict[str, dict[str, int]] = {}
    for topic in topic_keys:
        row: dict[str, int] = {}
        for m in counts:
            if m.key in fixed_of:
                continue
            if m.key in _RARE:
                row[m.key] = int(rng.random() < min(1.0, _RARE[m.key] * scale))
            else:
                row[m.key] = rng.randint(0, _scaled(_RANGES.get(m.key, 3), scale))
        for fixed, found in fixed_of.items():
            n = row[found]
            roll = rng.random()
            if roll < 0.05 and found not in _RARE:  # older hazards closed: fixed > found
                row[fixed] = n + 1
            elif roll < 0.7:
                row[fixed] = n
            else:
                row[fixed] = rng.randint(0, n)
        rows[topic] = {m.key: row[m.key] for m in counts}  # sheet order
    return rows


def _fit(text: str, limit: int) -> str:
    return text[:limit] if limit else text


def _list_month(
    spec: ListSpec, task_keys: list[str], inst: Institution, period: Period, rng: random.Random
) -> tuple[dict[str, dict[str, str]], list[dict[str, str]]]:
    """Progress texts for every task and, now and then, one task the institution adds."""
    names = {f.key for f in spec.fields}
    limits = {f.key: f.max_length for f in spec.fields}

    def sentence() -> str:
        pattern = rng.choice(_PROGRESS)
        return pattern.format(m=period.month, n=rng.randint(8, 120), k=rng.randint(1, 4))

    texts: dict[str, dict[str, str]] = {}
    for task in task_keys:
        row = {"progress": sentence(), "outcome": rng.choice(_OUTCOMES)}
        if rng.random() < 0.15:
            row["remark"] = rng.choice(_REMARKS)
        texts[task] = {k: _fit(v, limits[k]) for k, v in row.items() if k in names}
    new: list[dict[str, str]] = []
    if spec.spare_rows and rng.random() < 0.2:
        content, measures, group = rng.choice(_NEW_TASKS)
        row = {
            "number": group,
            "content": content,
            "measures": measures,
            "lead": inst.name,
            "deadline": f"{period.year}年年底",
            "progress": sentence(),
            "outcome": rng.choice(_OUTCOMES),
            "remark": f"{spec.new_task_marker}任务",
        }
        new.append({k: _fit(v, limits[k]) for k, v in row.items() if k in names})
    return texts, new


def random_month(
    campaign: Campaign, inst: Institution, period: Period, rng: random.Random, *, scale: float = 1.0
) -> MonthData:
    """Plausible figures and texts for what ``inst`` fills (its role's counts only).

    ``scale`` stretches the count ranges (a big hospital finds more hazards). The result
    depends only on the arguments and the state of ``rng``.
    """
    data = MonthData()
    for spec in campaign.forms:
        keys = [row.key for row in campaign.rows_for(spec)]
        if isinstance(spec, GridSpec):
            data.grid[spec.id] = _grid_month(spec, keys, inst.role, rng, scale)
        elif isinstance(spec, ListSpec):
            texts, new = _list_month(spec, keys, inst, period, rng)
            data.texts[spec.id] = texts
            if new:
                data.new_tasks[spec.id] = new
    return data


def habit_text(value: int, habit: str, unit: str = "") -> str:
    """How a clerk with ``habit`` types ``value``: "５", "5处", "5" (text) or " 5 "."""
    digits = str(value)
    if habit == "fullwidth":
        return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in digits)
    if habit == "unit":
        return digits + unit
    if habit == "text":
        return digits
    if habit == "spaces":
        return f" {digits} "
    raise ValueError(f"unknown habit {habit!r}; known: {', '.join(HABITS)}")


def _fill_grid(
    ws: Worksheet,
    spec: GridSpec,
    lay: Layout,
    values: dict[str, dict[str, int]],
    habit_turns: Iterator[str] | None,
    overwrite: dict[tuple[str, str], float],
) -> None:
    """Counts into their input cells, refusing derived measures so a plant is deliberate."""
    for row_key, row in values.items():
        for key, value in row.items():
            measure = spec.measure(key)
            if not measure.is_input:
                raise ValueError(f"{spec.id}: {key} is derived; use overwrite_formula")
            cell = ws[lay.cell(row_key, key)]
            if value and habit_turns is not None:
                cell.value = habit_text(value, next(habit_turns), measure.unit)
            else:
                cell.value = value
    for (row_key, key), number in overwrite.items():
        ws[lay.cell(row_key, key)] = number


def _fill_list(
    ws: Worksheet,
    spec: ListSpec,
    lay: Layout,
    texts: dict[str, dict[str, str]],
    new_tasks: list[dict[str, str]],
) -> None:
    """Values into the input fields only (the rest is the bureau's), as Excel stores them
    (a date as a date, a number as a number); new tasks into spare rows."""
    fields = {f.key: f for f in spec.inputs}
    for task, row in texts.items():
        for key, text in row.items():
            if key not in fields:
                raise ValueError(f"{spec.id}: {key} is not an input field")
            cell = ws[lay.cell(task, key)]
            value = typed_value(fields[key], text)
            if isinstance(value, str):
                set_text(cell, value)
            else:
                cell.value = value
                if fields[key].type == "date":
                    cell.number_format = "yyyy-mm-dd"
    if len(new_tasks) > len(lay.spare_rows):
        raise ValueError(f"{spec.id}: {len(new_tasks)} new tasks, {len(lay.spare_rows)} spare rows")
    for r, row in zip(lay.spare_rows, new_tasks, strict=False):
        for key, text in row.items():
            set_text(ws.cell(r, lay.col_of[key]), text)


def fill_template(
    campaign: Campaign,
    template: Path,
    out: Path,
    data: MonthData,
    *,
    habits: frozenset[str] = frozenset(),
    overwrite_formula: Overwrites | None = None,
) -> Path:
    """Write ``data`` into a copy of ``template`` at ``out`` and return ``out``.

    Formulas, protection, validation and the hidden ``_meta`` sheet survive (openpyxl
    re-saves them). With several ``habits``, the non-zero count cells take them in turn
    (sorted names; forms, rows and measures in ``data`` order), one habit per cell, never
    stacked, so a test can predict every cell; zeros stay numeric 0. ``overwrite_formula``
    types a number over any grid cell ({form_id: {(row_key, measure_key): value}}), e.g. a
    wrong 排查隐患总数, after the counts are written.
    """
    unknown = set(habits) - set(HABITS)
    if unknown:
        raise ValueError(f"unknown habit(s) {sorted(unknown)}; known: {', '.join(HABITS)}")
    habit_turns = itertools.cycle(sorted(habits)) if habits else None
    wb = load_workbook(template)
    try:
        for spec in campaign.forms:
            lay = kind_of(spec).layout(spec, campaign.rows_for(spec))
            if lay.sheet not in wb.sheetnames:
                continue  # a form of another reporter's (the bureau's 督导记录)
            ws = wb[lay.sheet]
            if isinstance(spec, GridSpec):
                overwrite = (overwrite_formula or {}).get(spec.id, {})
                _fill_grid(ws, spec, lay, data.grid.get(spec.id, {}), habit_turns, overwrite)
            elif isinstance(spec, ListSpec):
                texts, new = data.texts.get(spec.id, {}), data.new_tasks.get(spec.id, [])
                _fill_list(ws, spec, lay, texts, new)
            elif isinstance(spec, RegisterSpec):
                fill = data.registers.get(spec.id)
                if fill is None or fill.in_step:
                    inst, period = _reporter(campaign, wb)
                    items, _ = read_items(ws, spec, lay)
                    auto = auto_fill(campaign, spec, inst, period, data.grid, items)
                    if fill is not None:
                        auto.updates.update(fill.updates)
                        auto.new = auto.new[fill.drop_new :] + fill.new
                        auto.clear += fill.clear
                    fill = auto
                write_fill(ws, spec, lay, fill)
        write_atomic(out, wb.save)
    finally:
        wb.close()
    return out


def _reporter(campaign: Campaign, wb: Workbook) -> tuple[Institution, Period]:
    """Who a template is for and its period, from its hidden metadata."""
    rows = wb[META_SHEET].iter_rows(max_col=2, values_only=True)
    meta = parse_rows((key, value) for key, value in rows)
    inst = campaign.roster().get(meta.get("institution_code", ""))
    if inst is None:
        raise ValueError(f"template for {meta.get('institution_code')!r}, not in the roster")
    return inst, Period.parse(meta.get("period", ""))


def fill_return(
    campaign: Campaign,
    inst: Institution,
    period: Period,
    folder: Path,
    data: MonthData,
    *,
    habits: frozenset[str] = frozenset(),
    overwrite_formula: Overwrites | None = None,
    prefills: Prefills | None = None,
) -> Path:
    """The filled return of ``inst`` for ``period`` at ``folder/<template file name>``.

    The blank template is written to a scratch folder first, so ``folder`` never holds a
    half-filled file; ``prefills`` is passed to the template writer (last month's 累计).
    """
    with tempfile.TemporaryDirectory(prefix="filler-") as scratch:
        blank = write_template(campaign, inst, period, Path(scratch), prefills)
        out = folder / template_filename(period, inst, campaign.code)
        return fill_template(
            campaign, blank, out, data, habits=habits, overwrite_formula=overwrite_formula
        )
