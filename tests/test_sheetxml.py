"""The table outputs' xlsx writer (pipeline.report.sheetxml through TableBook), read back
by openpyxl: values and their types, the look, the sheet's layout and print set-up,
hostile text kept as text, and rows streamed rather than held."""

from __future__ import annotations

import datetime as dt
import math
import re
import tracemalloc
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.forms import printing
from pipeline.forms.printing import PrintColumns
from pipeline.forms.styles import FONT
from pipeline.report.sheetxml import MAX_TEXT, SheetError, Workbook, column_letter
from pipeline.report.tables import TableBook

_EXCEL_ESCAPE = re.compile("_x([0-9A-Fa-f]{4})_")
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def shown(value: object) -> object:
    """A cell's value as Excel shows it: openpyxl leaves Excel's ``_xHHHH_`` escapes in
    the text, Excel decodes them (``_x005F_`` is the underscore)."""
    if isinstance(value, str):
        return _EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
    return value


def write(path: Path, headers: Sequence[str], rows: list[list[object]], **kw: object) -> Worksheet:
    with TableBook(path, "巩固提高阶段") as book:
        book.sheet("表").table(headers, rows, **kw)  # type: ignore[arg-type]
    return load_workbook(path)["表"]


def column_pt(width: float) -> float:
    """Excel's points for a stored column width (Calibri 11: 7 pixels a digit)."""
    return math.trunc(((256 * width + math.trunc(128 / 7)) / 256) * 7) * 0.75


def test_values_keep_their_types(tmp_path: Path) -> None:
    row: list[object] = ["机构", 12, 2.5, True, False, None, "", dt.date(2026, 10, 1)]
    row += [dt.datetime(2026, 10, 1, 8, 30), 2**60, math.nan, -0.0]
    ws = write(tmp_path / "t.xlsx", [f"列{i}" for i in range(len(row))], [row], title="标题")
    got = [ws.cell(4, c).value for c in range(1, len(row) + 1)]
    assert got[:8] == ["机构", 12, 2.5, True, False, None, None, "2026-10-01"]
    assert got[8:] == ["2026-10-01T08:30:00", float(2**60), "nan", 0.0]
    types = [ws.cell(4, c).data_type for c in range(1, 6)]
    assert types == ["s", "n", "n", "b", "b"]
    assert isinstance(got[1], int) and not isinstance(got[1], bool)


def test_title_header_and_body_look(tmp_path: Path) -> None:
    ws = write(tmp_path / "t.xlsx", ["甲", "乙", "丙"], [["一", 1, None]], title="表名")
    title, header, body = ws["A1"], ws["A3"], ws["A4"]
    assert title.value == "表名　巩固提高阶段"
    assert [str(r) for r in ws.merged_cells.ranges] == ["A1:C1"]
    assert (title.font.name, title.font.sz, title.font.b) == (FONT, 16, True)
    assert (header.font.name, header.font.sz, header.font.b) == (FONT, 10, True)
    assert header.fill.fill_type == "solid" and header.fill.fgColor.rgb == "FFDDEBF7"
    assert header.alignment.horizontal == "center" and header.alignment.wrap_text
    for cell in (header, body, ws["C4"]):  # the blank cell has its borders too
        assert {cell.border.left.style, cell.border.top.style} == {"thin"}
        assert cell.alignment.vertical == "center"
    assert (body.font.name, body.font.sz, body.font.b) == (FONT, 10, False)
    assert body.alignment.horizontal == "left" and body.alignment.wrap_text


def test_unfitted_rows_do_not_wrap_and_blank_cells_can_be_left_out(tmp_path: Path) -> None:
    ws = write(
        tmp_path / "t.xlsx",
        ["甲", "乙"],
        [["一", None], ["", "二"]],
        fit_rows=False,
        blank_cells=False,
    )
    assert not ws["A2"].alignment.wrap_text
    assert ws["B2"].has_style is False and ws["A3"].has_style is False
    assert ws["B3"].value == "二"


def test_sheet_layout_and_print_setup(tmp_path: Path) -> None:
    headers = ["机构", "说明", "代码"]
    rows = [["第一医院", "很长的说明文字" * 20, "QW001"], ["第二医院", "短", "QW002"]]
    ws = write(tmp_path / "t.xlsx", headers, rows, widths=[20, 30, 8], title="标题")
    assert ws.freeze_panes == "A4"
    assert ws.print_title_rows == "$3:$3" and ws.print_title_cols is None
    assert ws.auto_filter.ref == "A3:C5"
    assert ws.print_area == "'表'!$A$1:$C$5"
    for letter, width in zip("ABC", [20, 30, 8], strict=True):
        assert column_pt(ws.column_dimensions[letter].width) == printing.table_width_pt(width)
    assert ws.row_dimensions[4].height > 100  # the long text wraps in a tall row
    assert (ws.row_dimensions[5].height or 15) < 25  # one line
    setup = ws.page_setup
    assert (setup.orientation, int(setup.paperSize)) == ("landscape", printing.PAPER_A4)
    assert (
        setup.scale
        == printing.plan_columns([printing.table_width_pt(w) for w in (20, 30, 8)]).scale
    )
    m = ws.page_margins
    assert (m.left, m.right, m.top, m.bottom) == (0.4, 0.4, 0.6, 0.6)
    assert (m.header, m.footer) == (0.3, 0.3)
    assert ws.oddFooter.center.text == printing.PAGE_FOOTER.removeprefix("&C")
    assert not ws.sheet_properties.pageSetUpPr.fitToPage
    with zipfile.ZipFile(tmp_path / "t.xlsx") as zf:
        book = zf.read("xl/workbook.xml").decode()
    assert (
        '<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
        "'表'!$A$3:$C$5</definedName>" in book
    )


def test_wide_table_prints_in_bands_with_its_key_column_repeated(tmp_path: Path) -> None:
    headers = [f"列{i}" for i in range(14)]
    printed = PrintColumns.of({h: 20 for h in headers[:12]}, repeat=1)
    ws = write(tmp_path / "t.xlsx", headers, [list(range(14))], printed=printed)
    plan = printing.plan_columns([printing.table_width_pt(20)] * 12, 1)
    assert plan.breaks and plan.repeat == 1
    assert [b.id for b in ws.col_breaks.brk] == list(plan.breaks)
    assert ws.print_title_cols == "$A:$A" and ws.print_title_rows == "$1:$1"
    assert ws.page_setup.scale == plan.scale >= printing.MIN_SCALE
    assert ws.print_area == "'表'!$A$1:$L$2"  # the two unprinted columns stay on screen
    assert ws["N2"].value == 13


def test_banners_then_a_table_further_down(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    with TableBook(path) as book:
        sheet = book.sheet("报送情况")
        sheet.banner(1, "标题", 3, title=True)
        sheet.banner(2, "截止日期", 3)
        assert sheet.table(["甲", "乙", "丙"], [[1, 2, 3]], start_row=4) == 7  # a row left free
    ws = load_workbook(path).active
    assert sorted(str(r) for r in ws.merged_cells.ranges) == ["A1:C1", "A2:C2"]
    assert ws["A2"].font.b and ws["A2"].font.sz == 10
    assert ws.freeze_panes == "A5" and ws["C5"].value == 3


HOSTILE = [
    "=1+1",
    '=HYPERLINK("http://x","y")',
    "+123",
    "1e5",
    "http://example.org/a?b=1&c=2",
    "<x>&",
    "]]>",
    "'quoted\"",
    "<r><t>x</t></r>",  # xlsxwriter took this for rich text and wrote it as XML
    "<r>&</r>",  # ... and this made the whole file unreadable
    "a\rb\r\nc\td",
    "_x0041_ stays as typed",
    "_x005F_x0041_",
    " leading and trailing ",
    "\n",
    "😀🇨🇳 emoji",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_comes_back_as_the_same_text(tmp_path: Path, text: str) -> None:
    ws = write(tmp_path / "t.xlsx", [text], [[text]])
    for cell in (ws["A1"], ws["A2"]):
        assert cell.data_type == "s" and shown(cell.value) == text


def test_characters_a_workbook_cannot_hold_become_replacement_characters(tmp_path: Path) -> None:
    text = "a\x00b\x0bc\x1fd\ud800e\udfff\ufffe\uffff"
    ws = write(tmp_path / "t.xlsx", [text], [[text]])
    assert ws["A1"].value == ws["A2"].value == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffd\ufffd\ufffd"


def test_text_over_excels_limit_is_cut_there(tmp_path: Path) -> None:
    long, astral = "长" * 40_000, "x" + "😀" * 20_000
    ws = write(tmp_path / "t.xlsx", ["甲", "乙"], [[long, astral]], fit_rows=False)
    assert ws["A2"].value == long[:MAX_TEXT]
    assert ws["B2"].value == astral[: 1 + (MAX_TEXT - 1) // 2]  # no emoji cut in half
    assert len(ws["B2"].value.encode("utf-16-le")) // 2 <= MAX_TEXT


_TEXT = st.text(
    alphabet=st.sampled_from(list("_x0Aaf4&<>\r\n\t \x00\ud800\ufffe😀甲")), max_size=12
)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(),
    st.text(max_size=20),
    _TEXT,
    st.sampled_from(HOSTILE),
)


def expected(value: object) -> object:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return _ILLEGAL.sub("\ufffd", str(value))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(_VALUES, min_size=1, max_size=5), min_size=1, max_size=8))
def test_random_rows_round_trip(tmp_path: Path, rows: list[list[object]]) -> None:
    width = max(len(r) for r in rows)
    ws = write(tmp_path / "t.xlsx", [f"列{i}" for i in range(width)], rows)
    for r, row in enumerate(rows, start=2):
        for c in range(width):
            value = row[c] if c < len(row) else None
            got = shown(ws.cell(r, c + 1).value)
            assert got == expected(value), (r, c, value)
            assert type(got) is type(expected(value))


def test_rows_are_streamed_not_held(tmp_path: Path) -> None:
    """Forty thousand rows (about 8 MB of sheet XML) in under 4 MB of Python memory."""
    text = "本月已按要求完成各项工作，建立台账并逐条记录整改情况，按时上报。"

    def rows() -> object:
        for i in range(40_000):
            yield [f"示例区第{i}医院", i, text, i * 0.5]

    tracemalloc.start()
    try:
        with TableBook(tmp_path / "t.xlsx") as book:
            book.sheet("表").table(["甲", "乙", "丙", "丁"], rows(), fit_rows=False)  # type: ignore[arg-type]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    with zipfile.ZipFile(tmp_path / "t.xlsx") as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size > 8_000_000
    assert peak < 4_000_000, f"{peak:,} bytes"


def test_an_error_while_writing_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    with pytest.raises(RuntimeError), TableBook(path) as book:
        book.sheet("表").table(["甲"], [["一"]])
        raise RuntimeError("the caller failed")
    assert not list(tmp_path.iterdir())  # nor any temporary file


def test_nothing_but_the_output_is_left_in_its_folder(tmp_path: Path) -> None:
    with TableBook(tmp_path / "t.xlsx") as book:
        for name in ("甲", "乙"):
            book.sheet(name).table(["列"], [["一"]] * 3000)
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]
    assert load_workbook(tmp_path / "t.xlsx").sheetnames == ["甲", "乙"]


def test_what_xlsx_cannot_hold_is_refused(tmp_path: Path) -> None:
    book = Workbook(tmp_path / "t.xlsx")
    sheet = book.add_sheet("表")
    for bad in ("表", "a/b", "x" * 32, "", "'q"):
        with pytest.raises(SheetError):
            book.add_sheet(bad)
    sheet.row(1, ["一"], [0])
    with pytest.raises(SheetError):
        sheet.row(1, ["again"], [0])  # rows go in order, each once
    with pytest.raises(SheetError):
        sheet.row(2, ["一", "二"], [0])  # a style for every value
    book.discard()
    assert not (tmp_path / "t.xlsx").exists()


def test_column_letters() -> None:
    assert [column_letter(c) for c in (0, 25, 26, 701, 702, 16383)] == [
        "A",
        "Z",
        "AA",
        "ZZ",
        "AAA",
        "XFD",
    ]


@pytest.mark.libreoffice
def test_libreoffice_reads_the_hostile_text_as_typed(tmp_path: Path) -> None:
    """LibreOffice opens the file without complaint and holds every text as typed:
    Excel's escapes decoded (``_x005F_``), markup and formulas as plain text."""
    import csv

    from support import libreoffice as lo

    if lo.soffice_path() is None:
        pytest.skip(f"LIBREOFFICE NOT AVAILABLE: {lo.unavailable_reason('soffice')}")
    texts = [t for t in HOSTILE if "\r" not in t and t.strip()]  # LibreOffice makes CR a LF
    with TableBook(tmp_path / "h.xlsx") as book:
        book.sheet("表").table(
            ["文本", "序号"], [[t, i] for i, t in enumerate(texts)], title="标题"
        )
    out = lo.convert(
        tmp_path / "h.xlsx", "csv:Text - txt - csv (StarCalc):44,34,76", tmp_path / "lo"
    )
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][0] == "标题" and rows[2] == ["文本", "序号"]
    assert rows[3:] == [[t, str(i)] for i, t in enumerate(texts)]
