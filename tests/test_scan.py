"""The fast path through a sheet's cells reads a workbook as the exact reader does, or
declines it: never a third reading."""

from __future__ import annotations

import io
import re

import pytest
from hostile_bytes import rezip, sheet_part
from openpyxl import Workbook

from pipeline.config.limits import DEFAULT_LIMITS
from pipeline.extract import reader
from pipeline.extract.scan import scan_sheet

BOUNDS = {"表": (30, 10)}
SHEET = b"<sheetData>"


def _base() -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "表"
    ws["A1"] = "标题 <一> & “二”"
    ws["B2"] = 12
    ws["C2"] = 1.5
    ws["D2"] = "=B2+C2"
    ws["E3"] = "  带空格  "
    ws["B60"] = 99  # past the rows read (30 and a margin of 20)
    ws.row_dimensions[3].hidden = True
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _read(data: bytes, fast: bool) -> object:
    try:
        wb = reader._read(io.BytesIO(data), BOUNDS, DEFAULT_LIMITS, (60, 30), fast=fast)
    except (reader._NotPlain, reader.Refused) as exc:
        return ("declined" if fast else "refused", getattr(exc, "rule", ""))
    return {
        name: (
            s.state,
            {k: (type(v).__name__, v) for k, v in s.cells.items()},
            {k: (type(v).__name__, v) for k, v in s.cached.items()},
            s.hidden_rows,
        )
        for name, s in wb.sheets.items()
    }


def _with_sheet(edit: object) -> bytes:
    base = _base()
    part = sheet_part(base, "表")
    return rezip(base, {part: edit})  # type: ignore[dict-item]


def _sub(pattern: bytes, repl: bytes) -> object:
    def edit(xml: bytes) -> bytes:
        out, n = re.subn(pattern, repl, xml, count=1)
        assert n == 1, pattern
        return out

    return edit


def test_a_plain_workbook_is_read_alike_by_both_paths() -> None:
    data = _base()
    fast = _read(data, fast=True)
    assert isinstance(fast, dict), fast
    assert fast == _read(data, fast=False)
    cells = fast["表"][1]
    assert cells[(1, 1)] == ("str", "标题 <一> & “二”")
    assert cells[(2, 4)] == ("Formula", "=B2+C2")
    assert (60, 2) not in cells
    assert fast["表"][3] == {3}


VARIANTS = {
    "comment among the cells": _sub(rb"<row r=\"2\"", b'<!-- <c r="A2"><v>7</v></c> --><row r="2"'),
    "comment inside a cell": _sub(rb"<v>12</v>", b"<!-- x --><v>12</v>"),
    "CDATA value": _sub(rb"<v>12</v>", b"<v><![CDATA[13]]></v>"),
    "a > inside an attribute": _sub(rb'<c r="B2"', b'<c x="a>b" r="B2"'),
    "attributes in another order": _sub(rb'<c r="B2"( [^>]*)?>', b'<c t="n" r="B2">'),
    "single quotes": _sub(rb'<c r="B2"', b"<c r='B2'"),
    "character references": _sub(rb"<v>12</v>", b"<v>&#49;&#x32;</v>"),
    "inline text, CR LF and escapes": _sub(
        rb'<c r="B2"[^>]*>.*?</c>',
        b'<c r="B2" t="inlineStr"><is><t xml:space="preserve">a\r\nb&#13;c_x000D_&lt;</t></is></c>',
    ),
    "a cell twice": _sub(rb"(<c r=\"B2\"[^>]*>.*?</c>)", rb"\1\1"),
    "a row twice": _sub(rb"(<row r=\"2\".*?</row>)", rb"\1\1"),
    "a prefixed cell": _sub(
        rb"<worksheet ",
        b'<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ',
    ),
    "a cell without a reference": _sub(rb'<c r="C2"', b"<c"),
    "a bad reference": _sub(rb'<c r="C2"', b'<c r="C0"'),
    "an unknown entity": _sub(rb"<v>12</v>", b"<v>&foo;</v>"),
    "not well-formed past the rows read": _sub(rb"</sheetData>", b"</sheetData><oops>"),
    "an extra child": _sub(rb"<v>12</v>", b"<v>12</v><extLst/>"),
    "rich inline text": _sub(
        rb'<c r="B2"[^>]*>.*?</c>',
        b'<c r="B2" t="inlineStr"><is><r><t>x</t></r><t>y</t><rPh><t>z</t></rPh></is></c>',
    ),
    "self-closing row": _sub(rb"<row r=\"2\"", b'<row r="9"/><row r="2"'),
    "a hidden row past the rows read": _sub(rb"<row r=\"60\"", b'<row r="60" hidden="1"'),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_a_variant_is_read_alike_or_declined(name: str) -> None:
    data = _with_sheet(VARIANTS[name])
    fast = _read(data, fast=True)
    if fast != ("declined", ""):
        assert fast == _read(data, fast=False), name


def test_the_fast_path_declines_what_it_does_not_know() -> None:
    assert scan_sheet(b"<worksheet><sheetData>", 10, 10, 100, 100) is None  # not XML
    doctype = b'<!DOCTYPE x [<!ENTITY a "1">]><worksheet><sheetData/></worksheet>'
    assert scan_sheet(doctype, 10, 10, 100, 100) is None
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><worksheet/>'.encode("utf-16")
    assert scan_sheet(utf16, 10, 10, 100, 100) is None
    many = b"<worksheet><sheetData>" + b'<row r="1"/>' * 101 + b"</sheetData></worksheet>"
    assert scan_sheet(many, 200, 10, 100, 100) is None  # over max_cells: refused exactly
    assert scan_sheet(SHEET.join([b"<worksheet>", b"</sheetData></worksheet>"]), 9, 9, 9, 9)
