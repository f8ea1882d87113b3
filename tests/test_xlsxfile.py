"""Saving workbooks without temporary files, and saving one again as its values change
(pipeline/forms/xlsxfile.py): every part as openpyxl's own save writes it."""

from __future__ import annotations

import re
import tempfile
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from pipeline.forms import xlsxfile

_TIMES = re.compile(rb"<dcterms:(created|modified)[^<]*</dcterms:\w+>")


def _parts(data: bytes) -> list[tuple[str, bytes]]:
    """Each member of an xlsx in order, the times of saving aside."""
    with zipfile.ZipFile(BytesIO(data)) as z:
        return [(n, _TIMES.sub(b"", z.read(n))) for n in z.namelist()]


def _openpyxl(wb: Workbook) -> bytes:
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _resaved(saver: xlsxfile.Resaver) -> bytes:
    buffer = BytesIO()
    saver.save(buffer)
    return buffer.getvalue()


def _form(name: str) -> Workbook:
    """A small protected form: merged title, widths, an in-cell check, two sheets."""
    wb = Workbook()
    ws = wb.active
    ws.title = "附件2"
    ws.merge_cells("A1:D1")
    ws["A1"] = "进展情况"
    ws["A1"].font = Font(name="宋体", bold=True)
    ws["A2"] = f"填报单位：{name}"
    ws.column_dimensions["A"].width = 30
    check = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0")
    check.add("B3:D9")
    ws.add_data_validation(check)
    ws["B10"] = "=SUM(B3:B9)"
    ws.protection.sheet = True
    meta = wb.create_sheet("_meta")
    meta["A1"], meta["B1"] = "institution_name", name
    meta.sheet_state = "veryHidden"
    return wb


def test_save_writes_what_openpyxl_writes_and_leaves_no_temporary_file() -> None:
    before = set(Path(tempfile.gettempdir()).glob("openpyxl.*"))
    buffer = BytesIO()
    xlsxfile.save(_form("甲医院"), buffer)
    assert _parts(buffer.getvalue()) == _parts(_openpyxl(_form("甲医院")))
    assert set(Path(tempfile.gettempdir()).glob("openpyxl.*")) == before


def test_resaved_workbook_is_byte_for_byte_openpyxls_save_of_each_state() -> None:
    wb = _form("甲医院")
    saver = xlsxfile.Resaver(wb)
    assert _parts(_resaved(saver)) == _parts(_openpyxl(_form("甲医院")))  # a first save
    for name in ("乙卫生院", "丙社区卫生服务中心", "="):
        wb["附件2"]["A2"] = f"填报单位：{name}"
        wb["_meta"]["B1"] = name
        wb["附件2"]["B3"] = 7
        got = _resaved(saver)
        assert _parts(got) == _parts(_openpyxl(wb))
        back = load_workbook(BytesIO(got))
        assert back["附件2"]["A2"].value == f"填报单位：{name}"
        assert back["_meta"]["B1"].value == name


@pytest.mark.parametrize(
    "change",
    [
        lambda wb: setattr(wb["附件2"]["B3"], "value", 1.0),
        lambda wb: setattr(wb["附件2"]["B3"], "value", True),
        lambda wb: setattr(wb["附件2"]["B3"], "value", None),
        lambda wb: setattr(wb["附件2"]["B10"], "value", "=SUM(B3:B8)"),
        lambda wb: setattr(wb["附件2"]["A1"], "value", " 前后有空格 "),
        lambda wb: setattr(wb["附件2"].row_dimensions[2], "height", 40),
        lambda wb: setattr(wb["附件2"]["B3"], "number_format", "0.0"),
        lambda wb: setattr(wb["附件2"]["A2"], "font", Font(name="宋体", bold=True)),
        lambda wb: setattr(wb["附件2"]["A2"], "hyperlink", "https://example.org/"),
        lambda wb: wb["附件2"].merge_cells("A11:D11"),
        lambda wb: setattr(wb["附件2"]["A12"], "font", Font(name="宋体", italic=True)),
        lambda wb: wb["附件2"].cell(40, 9, "新单元格"),
        lambda wb: wb["附件2"].add_data_validation(DataValidation(type="list", sqref="E3")),
        lambda wb: setattr(wb["附件2"].column_dimensions["A"], "width", 12),
        lambda wb: setattr(wb["_meta"], "sheet_state", "visible"),
        lambda wb: wb.create_sheet("新表"),
        lambda wb: setattr(wb["附件2"], "title", "附件3"),
    ],
)
def test_any_change_is_saved_as_openpyxl_saves_it(change: object) -> None:
    """Values of other types, a row's height, a cell's style, a link, a merged range,
    a check, a width, a sheet: whether written afresh in part or whole."""
    wb = _form("甲医院")
    saver = xlsxfile.Resaver(wb)
    _resaved(saver)
    _resaved(saver)
    change(wb)  # type: ignore[operator]
    assert _parts(_resaved(saver)) == _parts(_openpyxl(wb))
    assert _parts(_resaved(saver)) == _parts(_openpyxl(wb))


def test_only_the_cells_are_written_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """What makes it fast: after the second save, no sheet is written whole (not after
    the first: a workbook saved once, built for one institution, keeps nothing)."""
    wb = _form("甲医院")
    saver = xlsxfile.Resaver(wb)
    _resaved(saver)
    _resaved(saver)
    whole: list[str] = []
    real = xlsxfile._whole_sheet

    def counted(ws: Any) -> bytes:
        whole.append(ws.title)
        return real(ws)

    monkeypatch.setattr(xlsxfile, "_whole_sheet", counted)
    for name in ("乙卫生院", "丙卫生院"):
        wb["附件2"]["A2"] = f"填报单位：{name}"
        _resaved(saver)
    assert whole == []
    wb["附件2"].merge_cells("A11:D11")
    _resaved(saver)
    assert whole


def test_a_row_is_written_again_only_when_it_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    wb = _form("甲医院")
    saver = xlsxfile.Resaver(wb)
    _resaved(saver)
    _resaved(saver)
    written: list[tuple[str, int]] = []

    class Counted(xlsxfile._SomeRows):
        def rows(self) -> list[tuple[int, list[Any]]]:
            written.extend((self.ws.title, r) for r, _ in super().rows())
            return super().rows()

    monkeypatch.setattr(xlsxfile, "_SomeRows", Counted)
    wb["附件2"]["A2"] = "填报单位：乙卫生院"
    wb["_meta"]["B1"] = "乙卫生院"
    got = _resaved(saver)
    assert written == [("附件2", 2), ("_meta", 1)]
    assert _parts(got) == _parts(_openpyxl(wb))
    written.clear()
    assert _parts(_resaved(saver)) == _parts(_openpyxl(wb))
    assert written == []


@pytest.mark.parametrize(("before", "after"), [(0.0, -0.0), (1, 1.0), (1, True), ("1", 1)])
def test_values_equal_in_python_but_written_otherwise_are_written_again(
    before: object, after: object
) -> None:
    wb = _form("甲医院")
    wb["附件2"]["B3"] = before
    saver = xlsxfile.Resaver(wb)
    _resaved(saver)
    _resaved(saver)
    wb["附件2"]["B3"] = after
    assert _parts(_resaved(saver)) == _parts(_openpyxl(wb))
