"""Printouts a leader can read: every output sheet on paper, and the aggregated 附件1.

One run of a month for a district of 51 institutions (the bureau and 50 hospitals), each
writing a progress of 44 characters on every task of 附件1 (2,232 characters a task: what
one merged cell used to hold), one a progress of 1,000 characters (three tasks have progress from five institutions
only, so that their rows fit a page), four adding tasks
(two naming a group, two naming none that agrees), and one closing more hazards than
it found, so that a month's 整改率 passes 100.

The ≥ 9 pt claim is proved twice. By Excel's arithmetic, from what each file says: its
paper, margins, print scale, print area, page breaks across, columns repeated, column
widths and cell fonts (written out below, not taken from the program). And, where
LibreOffice can be had, by converting every output to PDF and reading the size of every
character back with pdfminer.six.
"""

from __future__ import annotations

import math
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_support import EXAMPLE, due_moment, read_jsonl, run_cli, set_received
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.cell import coordinate_from_string, range_boundaries
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import fill_return, random_month

PERIOD = Period(2026, 7)
HOSPITALS = 50
ROSTER_HEADER = "机构代码,机构名称,机构级别,经济类型,电子邮箱,联系人,联系电话\n"
LONG = "QW023"  # writes 1,000 characters of progress on task 2.6
ADDED = {  # institution -> the task it adds
    "QW001": {"item": "后勤安全整治", "content": "食堂燃气管道更换", "remark": "新增"},
    "QW002": {"number": "5.2", "content": "电梯年度检验", "remark": "新增"},
    "QW003": {"item": "院感防控", "content": "医疗废物暂存间改造", "remark": "新增"},
    "QW004": {"number": "5", "item": "食堂安全", "content": "食品留样柜更新", "remark": "新增"},
}
OVER = "QW005"  # closes 5 hazards of topic T1 while finding 2
FEW = ("3.1", "4.1", "5.1")  # tasks only the bureau and four hospitals report on

# -- Excel's arithmetic ----------------------------------------------------------------
A4_LANDSCAPE_PT = (297 / 25.4 * 72, 210 / 25.4 * 72)
DIGIT_PX = 7  # Calibri 11, the default font of the files' Normal style
MIN_PT = 9


def column_pt(width: float) -> float:
    """Excel: pixels = Truncate(((256 × width + Truncate(128 / 7)) / 256) × 7); 96 px an
    inch, 72 points."""
    return math.trunc(((256 * width + math.trunc(128 / DIGIT_PX)) / 256) * DIGIT_PX) * 0.75


def progress(code: str, task: int) -> str:
    """44 characters: 51 institutions write 2,232 on one task."""
    text = f"{code}第{task}项：本月已按要求完成各项工作，建立台账并逐条记录整改情况，按时上报。"
    return text[:44].ljust(44, "。")


@dataclass
class Scene:
    campaign: Campaign
    outbox: Path
    texts: dict[str, dict[str, str]]  # institution -> task key -> progress

    def out(self, stem: str) -> Path:
        return self.outbox / f"{stem}_{PERIOD}.xlsx"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    base = tmp_path_factory.mktemp("printouts")
    shutil.copyfile(EXAMPLE, base / "campaign.toml")
    members = [("QW000", "示例区卫生健康局", "卫生健康行政部门")]
    members += [(f"QW{n:03d}", f"示例区第{n}医院", "二级医院") for n in range(1, HOSPITALS + 1)]
    rows = "".join(f"{c},{n},{lvl},公立,,联系人{c},0432-{c[2:]}\n" for c, n, lvl in members)
    (base / "roster.csv").write_text(ROSTER_HEADER + rows, encoding="utf-8")
    paths = {"inbox": base / "inbox", "outbox": base / "outbox", "ledger": base / "ledger.sqlite"}
    campaign = load_campaign(base / "campaign.toml", paths)
    tasks = campaign.rows_for(campaign.form("fujian1"))
    rng = random.Random(20260701)
    texts: dict[str, dict[str, str]] = {}
    for inst in campaign.roster():
        data = random_month(campaign, inst, PERIOD, rng)
        mine = {t.key: progress(inst.code, n) for n, t in enumerate(tasks, start=1)}
        if inst.code > "QW004":
            mine = {k: v for k, v in mine.items() if k not in FEW}
        if inst.code == LONG:
            mine["2.6"] = ("持续推进标准化建设，" * 100)[:1000]
        texts[inst.code] = mine
        data.texts["fujian1"] = {k: {"progress": v, "outcome": "工作台账"} for k, v in mine.items()}
        data.new_tasks["fujian1"] = [ADDED[inst.code]] if inst.code in ADDED else []
        grid = data.grid["fujian2"]
        for topic in grid.values():
            topic.update(general_found=topic.get("general_found", 0))
        if inst.code == OVER:
            grid["T1"].update(general_found=2, general_fixed=5)
        elif "T1" in grid:
            grid["T1"].update(general_found=0, general_fixed=0)
        path = fill_return(campaign, inst, PERIOD, campaign.inbox, data)
        set_received(path, due_moment(campaign, PERIOD, days=-1))
    run_cli(str(PERIOD), campaign_file=base / "campaign.toml", **paths)
    return Scene(campaign, base / "outbox" / str(PERIOD), texts)


OUTPUTS = ("汇总表", "汇总明细", "异常清单", "报送情况", "校验日志")


def sheets(scene: Scene) -> list[tuple[str, Worksheet]]:
    """Every visible sheet of every xlsx output (the registers' books too)."""
    out = []
    paths = sorted(scene.outbox.glob("*.xlsx"))
    assert {p.stem.split("_")[0] for p in paths} >= set(OUTPUTS)
    for path in paths:
        wb = load_workbook(path)
        out += [
            (f"{path.stem}/{ws.title}", ws) for ws in wb.worksheets if ws.sheet_state == "visible"
        ]
    return out


def print_area(ws: Worksheet) -> tuple[int, int, int, int]:
    """(first column, first row, last column, last row) of the sheet's print area."""
    area = ws.print_area
    assert area, f"{ws.title}: no print area"
    ref = (area[0] if isinstance(area, list) else area).split("!")[-1].replace("$", "")
    return range_boundaries(ref)  # type: ignore[return-value]


def repeated_columns(ws: Worksheet) -> list[int]:
    cols = ws.print_title_cols
    if not cols:
        return []
    first, last = (column_index_from_string(c) for c in cols.replace("$", "").split(":"))
    return list(range(first, last + 1))


def width_pt(ws: Worksheet, col: int) -> float:
    for dim in ws.column_dimensions.values():
        if dim.min and dim.max and dim.min <= col <= dim.max and dim.width:
            return column_pt(dim.width)
    return column_pt(8.43)  # Excel's default width


# -- every output sheet ----------------------------------------------------------------
def test_every_sheet_prints_landscape_a4_with_its_header_rows_repeated(scene: Scene) -> None:
    for name, ws in sheets(scene):
        setup = ws.page_setup
        assert setup.orientation == "landscape", name
        assert int(setup.paperSize) == 9, name  # A4
        assert not ws.sheet_properties.pageSetUpPr.fitToPage, f"{name}: fit to page shrinks"
        if not name.endswith("填报说明"):
            assert ws.print_title_rows, f"{name}: header rows not repeated"


def test_no_text_prints_under_9_points(scene: Scene) -> None:
    """Each page across holds its columns at the sheet's scale, and every cell's font
    times that scale is 9 pt or more: the printed size, whatever the columns' count."""
    for name, ws in sheets(scene):
        scale = (ws.page_setup.scale or 100) / 100
        m = ws.page_margins
        room = A4_LANDSCAPE_PT[0] - 72 * (m.left + m.right)
        tall = A4_LANDSCAPE_PT[1] - 72 * (m.top + m.bottom)
        first_col, first_row, last_col, last_row = print_area(ws)
        starts = sorted({first_col} | {b.id + 1 for b in ws.col_breaks.brk if b.id < last_col})
        repeat = repeated_columns(ws)
        for i, start in enumerate(starts):
            end = starts[i + 1] - 1 if i + 1 < len(starts) else last_col
            cols = list(range(start, end + 1)) + ([c for c in repeat if c < start] if i else [])
            across = sum(width_pt(ws, c) for c in cols) * scale
            assert across <= room + 0.5, f"{name}: columns {cols} are {across:.0f} of {room:.0f} pt"
        for row in ws.iter_rows(min_row=first_row, max_row=last_row, max_col=last_col):
            for cell in row:
                if cell.value not in (None, "") and cell.font is not None:
                    printed = (cell.font.sz or 11) * scale
                    assert printed >= MIN_PT, f"{name}!{cell.coordinate}: {printed:.1f} pt"
            height = ws.row_dimensions[row[0].row].height or 15
            assert height * scale <= tall, f"{name}: row {row[0].row} taller than a page"


def test_a_sha256_prints_short_and_stays_whole_on_screen(scene: Scene) -> None:
    ws = load_workbook(scene.out("校验日志"))["文件"]
    *_, last_col, _ = print_area(ws)
    header_row = next(r for r in range(1, 10) if ws.cell(r, 1).value == "文件名")
    heads = {ws.cell(header_row, c).value: c for c in range(1, ws.max_column + 1)}
    short, whole = heads["SHA-256（前12位）"], heads["SHA-256"]
    assert short <= last_col < whole  # the short one prints, the whole one does not
    log = {
        r["file"]: r["sha256"]
        for r in read_jsonl(scene.outbox / f"校验日志_{PERIOD}.jsonl")
        if r["type"] == "file"
    }
    shown = 0
    for r in range(header_row + 1, ws.max_row + 1):
        name = ws.cell(r, heads["文件名"]).value
        if name in log:
            assert ws.cell(r, whole).value == log[name]
            assert ws.cell(r, short).value == log[name][:12]
            shown += 1
    assert shown == len(log) == HOSPITALS + 1
    # Two lines at most (the hash wrapped rows to 114 pt): 51 files on a few pages.
    assert all(
        (ws.row_dimensions[r].height or 15) < 40 for r in range(header_row + 1, ws.max_row + 1)
    )


def test_trace_lists_cells_in_reading_order(scene: Scene) -> None:
    ws = load_workbook(scene.out("校验日志"))["数据溯源"]
    header_row = next(r for r in range(1, 10) if ws.cell(r, 1).value == "汇总表工作表")
    col = next(c for c in range(1, 10) if ws.cell(header_row, c).value == "汇总表单元格")
    cells = [ws.cell(r, col).value for r in range(header_row + 1, ws.max_row + 1)]
    places = [
        (row, column_index_from_string(letters))
        for letters, row in map(coordinate_from_string, cells)
    ]
    assert len(places) > 100 and places == sorted(places)


# -- the aggregated 附件1 ----------------------------------------------------------------
def _list_sheet(scene: Scene) -> tuple[Worksheet, dict[str, int]]:
    ws = load_workbook(scene.out("汇总表"))["附件1"]
    heads = {ws.cell(3, c).value: c for c in range(1, ws.max_column + 1)}
    return ws, heads


def _footer_row(ws: Worksheet) -> int:
    """The row of 审核人/填表人 under the table."""
    return next(
        r
        for r in range(4, ws.max_row + 1)
        for c in range(1, 4)
        if str(ws.cell(r, c).value or "").startswith("审核人")
    )


def _lines(text: str, width: float) -> int:
    """Lines a 10-pt CJK text takes in a column: a CJK glyph is 10 pt wide, 2 pt of
    padding each side."""
    per_line = max(1, int((column_pt(width) - 4) // 10))
    return sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))


def test_every_institution_has_its_own_row_under_each_task(scene: Scene) -> None:
    ws, heads = _list_sheet(scene)
    unit, prog, content = heads["填报单位"], heads["工作进展"], heads["主要内容"]
    names = {i.name: i.code for i in scene.campaign.roster()}
    tasks = {
        t.values["content"]: t.key for t in scene.campaign.rows_for(scene.campaign.form("fujian1"))
    }
    covering = {
        r: ws.cell(m.min_row, m.min_col).value
        for m in ws.merged_cells.ranges
        if m.min_col == content
        for r in range(m.min_row, m.max_row + 1)
    }
    seen: dict[str, dict[str, str]] = {}
    code = ""
    for r in range(4, ws.max_row + 1):
        task = tasks.get(covering.get(r, ws.cell(r, content).value))
        who, text = ws.cell(r, unit).value, ws.cell(r, prog).value
        if task is None:
            continue
        if who in names:
            code = names[who]
            seen.setdefault(task, {})[code] = text or ""
        elif text:  # a long text going on in the row below, without a name
            seen[task][code] += text
    for key in tasks.values():
        want = {c: t[key] for c, t in scene.texts.items() if key in t}
        assert seen[key] == want, key
    # No cell holds more than one institution's text.
    assert max(len(str(ws.cell(r, prog).value or "")) for r in range(4, ws.max_row + 1)) <= 1000


def test_every_row_is_tall_enough_for_its_text(scene: Scene) -> None:
    ws, heads = _list_sheet(scene)
    widths = {c: ws.column_dimensions[get_column_letter(c)].width for c in heads.values()}
    spans = {(m.min_row, m.min_col): m for m in ws.merged_cells.ranges}
    for r in range(4, _footer_row(ws)):
        height = ws.row_dimensions[r].height or 15
        assert height <= 409
        for c in heads.values():
            text = ws.cell(r, c).value
            if not isinstance(text, str) or not text:
                continue
            m = spans.get((r, c))
            rows = range(r, m.max_row + 1) if m else range(r, r + 1)
            room = sum(ws.row_dimensions[x].height or 15 for x in rows)
            assert _lines(text, widths[c]) * 12 <= room, f"{get_column_letter(c)}{r}"


def test_a_tasks_rows_stay_on_one_page_where_they_fit(scene: Scene) -> None:
    ws, heads = _list_sheet(scene)
    breaks = sorted(b.id + 1 for b in ws.row_breaks.brk)  # first row of each new page
    scale = (ws.page_setup.scale or 100) / 100
    m = ws.page_margins
    header = ws.row_dimensions[3].height or 15
    page = (A4_LANDSCAPE_PT[1] - 72 * (m.top + m.bottom)) / scale - header
    for merged in ws.merged_cells.ranges:  # nothing merged across a page break
        assert not [b for b in breaks if merged.min_row < b <= merged.max_row], merged.coord
    content = heads["主要内容"]
    tasks = {t.values["content"] for t in scene.campaign.rows_for(scene.campaign.form("fujian1"))}
    blocks: dict[str, list[int]] = {}  # a task's rows: its merged parts on every page
    for mr in ws.merged_cells.ranges:
        name = ws.cell(mr.min_row, content).value
        if mr.min_col == content and name in tasks:
            blocks.setdefault(name, []).extend(range(mr.min_row, mr.max_row + 1))
    fitting = 0
    for name, rows in blocks.items():
        tall = sum(ws.row_dimensions[r].height or 15 for r in rows)
        inside = [b for b in breaks if min(rows) < b <= max(rows)]
        if tall <= page * 0.9:  # fits a page: kept together
            fitting += 1
            assert not inside, f"{name}: cut at rows {inside}"
        else:  # does not: starts a page, so its first part is a whole page
            assert min(rows) in breaks or min(rows) == 4, name
    assert fitting == len(FEW) and len(blocks) > fitting
    # Each merged part after a break is tall enough to show its text again.
    widths = {c: ws.column_dimensions[get_column_letter(c)].width for c in heads.values()}
    for mr in ws.merged_cells.ranges:
        text = ws.cell(mr.min_row, mr.min_col).value
        if mr.min_row in breaks and isinstance(text, str):
            rows = range(mr.min_row, mr.max_row + 1)
            room = sum(ws.row_dimensions[r].height or 15 for r in rows)
            assert _lines(text, widths[mr.min_col]) * 12 <= room, mr.coord


def test_added_tasks_go_under_the_group_they_name(scene: Scene) -> None:
    ws, heads = _list_sheet(scene)
    where = {ws.cell(r, heads["主要内容"]).value: r for r in range(4, ws.max_row + 1)}
    last_task = max(
        r
        for r in range(4, ws.max_row + 1)
        if ws.cell(r, heads["主要内容"]).value == "加强医疗机构房屋、水、电、气等安全管理"
    )
    group5 = next(
        m
        for m in ws.merged_cells.ranges
        if m.min_col == heads["任务事项"] and m.max_row >= where["食堂燃气管道更换"] >= m.min_row
    )
    assert ws.cell(group5.min_row, heads["任务事项"]).value == "后勤安全整治"
    for named in ("食堂燃气管道更换", "电梯年度检验"):  # by 任务事项, by 序号 5.2
        assert last_task < where[named] <= group5.max_row, named
        assert "新增" in ws.cell(where[named], heads["备注"]).value
    for unclaimed, item in (("医疗废物暂存间改造", "院感防控"), ("食品留样柜更新", "食堂安全")):
        assert where[unclaimed] > group5.max_row, unclaimed
        assert ws.cell(where[unclaimed], heads["任务事项"]).value == item
    unit = {ws.cell(where[t["content"]], heads["填报单位"]).value for t in ADDED.values()}
    assert unit == {f"示例区第{n}医院" for n in range(1, 5)}


# -- 附件2: a month's rate over 100 -----------------------------------------------------
def test_a_months_rate_over_100_is_explained(scene: Scene) -> None:
    ws = load_workbook(scene.out("汇总表"))["附件2"]
    over = [
        c
        for row in ws.iter_rows(min_row=7, max_row=12)
        for c in row
        if isinstance(c.value, int | float) and c.value > 100 and c.number_format == "0.0"
    ]
    assert [c.coordinate for c in over] == ["I7"]  # T1 一般隐患 整改率: 5 / 2
    comment = over[0].comment
    assert comment is not None and "超过100%" in comment.text and "以前月份" in comment.text
    note = next(
        str(ws.cell(r, 1).value)
        for r in range(13, 20)
        if str(ws.cell(r, 1).value or "").startswith("注：")
    )
    assert "1.学习宣传贯彻习近平总书记关于安全生产重要论述专题" in note
    assert "一般隐患/整改率" in note and "I7" in note and "排查2处" in note and "已整改5处" in note
    # Nothing over 100 where hazards closed do not pass those found.
    assert not [c for row in ws.iter_rows() for c in row if c.comment and c.coordinate != "I7"]


# -- the same on paper, through LibreOffice ----------------------------------------------
@pytest.mark.libreoffice
@pytest.mark.parametrize("stem", OUTPUTS)
def test_pdf_prints_no_character_under_9_points(scene: Scene, stem: str, tmp_path: Path) -> None:
    from support import libreoffice as lo

    if lo.soffice_path() is None:
        pytest.skip(f"LIBREOFFICE NOT AVAILABLE: {lo.unavailable_reason('soffice')}")
    pdfminer = pytest.importorskip("pdfminer.high_level", reason="pdfminer.six not installed")
    from pdfminer.layout import LTChar

    pdf = lo.convert(scene.out(stem), "pdf", tmp_path)
    sizes: list[float] = []

    def walk(item: object) -> None:
        if isinstance(item, LTChar):
            if item.get_text().strip():
                sizes.append(item.size)
        elif hasattr(item, "__iter__"):
            for child in item:  # type: ignore[attr-defined]
                walk(child)

    for page in pdfminer.extract_pages(pdf):
        walk(page)
    assert sizes, f"{pdf.name}: no text found"
    assert min(sizes) >= MIN_PT - 0.05, f"{pdf.name}: smallest character {min(sizes):.2f} pt"


def test_filling_notes_under_a_form_wrap_whole(scene: Scene) -> None:
    """The notes under a form's table (填报说明) wrap across the table's width, each
    row tall enough for its note: none runs off the printed page."""
    wb = load_workbook(scene.out("汇总表"))
    for spec in scene.campaign.forms:
        ws = wb[spec.sheet]
        start = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "填报说明：")
        across = sum(width_pt(ws, c) for c in range(1, print_area(ws)[2] + 1))
        for r in range(start + 1, start + 1 + len(spec.notes)):
            text = str(ws.cell(r, 1).value)
            assert ws.cell(r, 1).alignment.wrap_text, f"{spec.sheet}!A{r}"
            per_line = max(1, int((across - 4) // 10))
            lines = math.ceil(len(text) / per_line)
            assert lines * 12 <= (ws.row_dimensions[r].height or 15), f"{spec.sheet}!A{r}"


def test_a_form_printed_in_bands_repeats_its_first_column(tmp_path: Path) -> None:
    """A register's template is wider than a page: it prints in bands of whole columns
    (breaks across), each page with the item's 编号 again on its left; 附件2 fits one
    page and repeats nothing."""
    from e2e_support import SHIPPED

    from pipeline.distribute.templates import write_template

    campaign = load_campaign(SHIPPED)
    inst = campaign.roster().get("QW001")
    assert inst is not None
    wb = load_workbook(write_template(campaign, inst, PERIOD, tmp_path))
    register = wb["问题隐患清单"]
    assert register.col_breaks.brk, "the register fits one page: this test needs one that does not"
    assert register.print_title_cols == "$A:$A"
    assert any(register.cell(r, 1).value == "编号" for r in range(1, 8))
    annex = wb["附件2"]
    assert not annex.col_breaks.brk
    assert annex.print_title_cols is None
