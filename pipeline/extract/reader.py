"""Read the cells a form needs, and nothing more, from an OOXML workbook.

This is a small streaming reader of our own, not a general one: general readers trust
what a file declares (a ``<dimension>``, a shared-strings count) or load a sheet whole,
and a crafted or damaged file makes them allocate gigabytes or spin for minutes. Here
every XML part is inflated in chunks against a byte budget, parsed incrementally, and
abandoned as soon as the rows the layout needs have been read; a part must not declare a
DTD (no entity expansion, no external entities); cells and text are counted against the
campaign's limits. Whatever is wrong is raised as :class:`Refused`, which the run turns
into a finding naming the part, sheet and cell. What is wrong yet harmless to us (a
``[Content_Types].xml`` that Excel needs and we do not) is kept as a note on the
:class:`RawWorkbook`.

Where Excel would call a file damaged and other readers could read it otherwise than we
do (a zip holding two members of one name, a sheet holding one cell or row twice), the
file is refused: the clerk who opens it must see the numbers we count.

Formulas and their cached results are both kept: the pipeline never trusts a formula
cell, it recomputes and compares. Every member is inflated to its end, so an archive
whose checksums do not match is refused even where its damage lies outside our cells.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from pipeline.config.limits import DEFAULT_LIMITS, Limits
from pipeline.distribute.metadata import META_SHEET, parse_rows
from pipeline.extract.scan import scan_sheet, unescape_excel
from pipeline.forms.cells import column_index, column_letter
from pipeline.forms.sheet import Formula, RawSheet, RawWorkbook

MARGIN_ROWS = 20
MARGIN_COLS = 5
META_ROWS = 200
CHUNK = 64 * 1024
PROLOG_WINDOW = 64 * 1024  # the XML declaration and comments before the root element

_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_R_NS_STRICT = "http://purl.oclc.org/ooxml/officeDocument/relationships"
_CELL_REF = re.compile(r"^([A-Z]{1,3})([0-9]{1,7})$")
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ROOT_START = re.compile(rb"<[A-Za-z_]")
_DATE_CODES = re.compile(r"[dmyhs]", re.IGNORECASE)
_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')
_CONTENT_TYPES = "[Content_Types].xml"
_COLUMNS = 16_385  # past Excel's last column (XFD): row * _COLUMNS + column is one cell
_BUILTIN_DATES = frozenset((*range(14, 23), 27, 28, 29, 30, 31, 34, 35, 36, 45, 46, 47, 50, 57))


class Refused(Exception):
    """The file cannot be read safely; ``rule`` is the finding to record."""

    def __init__(self, rule: str, detail: str, sheet: str = "", cell: str = "") -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail
        self.sheet = sheet
        self.cell = cell


class _BadXml(Refused):
    """A part that is not well-formed XML: fatal in a part we read, a note elsewhere."""


class _NotPlain(Exception):
    """The fast path declines the workbook: the exact reader reads it instead."""


_LOCAL: dict[str, str] = {}


def _local(tag: str) -> str:
    """``{namespace}name`` -> ``name`` (transitional, strict and unprefixed alike)."""
    name = _LOCAL.get(tag)
    if name is None:
        name = tag.rpartition("}")[2]
        if len(_LOCAL) < 512:  # bounded: a crafted file may use any number of tags
            _LOCAL[tag] = name
    return name


class _Archive:
    """Members of the zip, inflated in chunks against the part budget."""

    def __init__(self, zf: zipfile.ZipFile, limits: Limits) -> None:
        self.zf = zf
        self.limits = limits
        # "xl\\workbook.xml", as some Windows tools write it, is "xl/workbook.xml"
        self.names: dict[str, zipfile.ZipInfo] = {}
        for info in zf.infolist():
            name = info.filename.replace("\\", "/")
            if name in self.names:  # Excel takes the first, zipfile the last
                raise Refused("F-DAMAGED", f"压缩包内有两个同名文件“{name[:80]}”")
            self.names[name] = info
        self.drained: set[str] = set()
        self.sheet_of: dict[str, str] = {}  # part -> the sheet it holds, once known

    def refused(self, rule: str, part: str, detail: str, kind: type[Refused] = Refused) -> Refused:
        """A refusal inside ``part``, naming the sheet it holds (if it holds one), so that
        the clerk is told which sheet, not which file inside the zip."""
        return kind(rule, detail, self.sheet_of.get(part, ""))

    def chunks(self, name: str) -> Generator[bytes, None, None]:
        """The whole member, chunk by chunk; stops with Refused past the budget."""
        budget = self.limits.part_bytes
        seen = 0
        try:
            with self.zf.open(self.names[name]) as fh:
                while block := fh.read(CHUNK):
                    seen += len(block)
                    if seen > budget:
                        raise self.refused(
                            "F-TOO-LARGE",
                            name,
                            f"{name} 解压后超过 {self.limits.max_part_mb:g} MB",
                        )
                    yield block
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise self.refused("F-DAMAGED", name, f"{name}：{_reason(exc)}") from exc
        self.drained.add(name)

    def drain(self) -> None:
        """Inflate what was not read to its end, so every checksum is verified."""
        for name in self.names:
            if name not in self.drained and not name.endswith("/"):
                for _ in self.chunks(name):
                    pass


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:120]


def _closed_elements(archive: _Archive, name: str) -> Iterator[Element]:
    """Each element of one XML part as its end tag is parsed, after checking that the
    part's prolog declares no DTD. The caller may clear elements and stop at any time."""
    parser: XMLPullParser[Element] = XMLPullParser(events=("end",))
    prolog_checked = False
    head = b""
    source = archive.chunks(name)
    try:
        for block in source:
            if not prolog_checked:
                head += block
                if not _prolog_ok(archive, head, name):
                    continue  # the root element has not started yet: read on
                prolog_checked = True
                block, head = head, b""
            parser.feed(block)
            yield from _ended(parser)
        if not prolog_checked:
            _prolog_ok(archive, head, name, final=True)
            parser.feed(head)
        parser.close()
        yield from _ended(parser)
    except ParseError as exc:
        detail = f"{name} 不是正确的 XML（{_reason(exc)}）"
        raise archive.refused("F-DAMAGED", name, detail, _BadXml) from exc
    finally:
        source.close()  # abandoned early: the rest is inflated by drain()


def _ended(parser: XMLPullParser[Element]) -> Iterator[Element]:
    for event in parser.read_events():
        el = event[-1]
        if isinstance(el, Element):
            yield el


def _prolog_ok(archive: _Archive, head: bytes, name: str, final: bool = False) -> bool:
    """True once the root element starts in ``head`` with no DTD before it."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head[:PROLOG_WINDOW].decode("utf-16", "ignore").encode("utf-8")
    else:
        text = head[:PROLOG_WINDOW]
    root = _ROOT_START.search(text)
    prolog = text if root is None else text[: root.start()]
    if _DOCTYPE.search(prolog):
        raise archive.refused("F-XML-DTD", name, f"{name} 含有 DOCTYPE/ENTITY 声明")
    if root is not None:
        return True
    if final or len(head) >= PROLOG_WINDOW:
        raise archive.refused("F-DAMAGED", name, f"{name} 缺少 XML 根元素", _BadXml)
    return False


def _relationships(archive: _Archive, part: str) -> dict[str, str]:
    """Id -> target part name of ``part``'s relationships (missing: none)."""
    folder, base = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", base + ".rels")
    if rels not in archive.names:
        return {}
    out = {}
    for el in _closed_elements(archive, rels):
        if _local(el.tag) == "Relationship" and el.get("TargetMode") != "External":
            target = el.get("Target", "")
            if target.startswith("/"):
                resolved = target.lstrip("/")
            else:
                resolved = posixpath.normpath(posixpath.join(folder, target))
            out[el.get("Id", "")] = resolved
            out["type:" + el.get("Type", "").rpartition("/")[2]] = resolved
    return out


@dataclass
class _Book:
    sheets: list[tuple[str, str, str]]  # name, state, part
    date1904: bool
    strings_part: str | None
    styles_part: str | None


def _book(archive: _Archive) -> _Book:
    root_rels = _relationships(archive, "")
    workbook = root_rels.get("type:officeDocument")
    if workbook is None or workbook not in archive.names:
        raise Refused("F-NOT-XLSX", "压缩包中没有 Excel 工作簿")
    rels = _relationships(archive, workbook)
    sheets: list[tuple[str, str, str]] = []
    date1904 = False
    for el in _closed_elements(archive, workbook):
        tag = _local(el.tag)
        if tag == "workbookPr":
            date1904 = el.get("date1904", "0").lower() in ("1", "true")
        elif tag == "sheet":
            rid = el.get(f"{{{_R_NS}}}id") or el.get(f"{{{_R_NS_STRICT}}}id") or ""
            part = rels.get(rid, "")
            if part in archive.names:  # a chart sheet or a dangling entry has no cells
                sheets.append((el.get("name", ""), el.get("state", "visible"), part))
    return _Book(sheets, date1904, rels.get("type:sharedStrings"), rels.get("type:styles"))


@dataclass
class _Cell:
    row: int
    col: int
    kind: str  # the t attribute
    style: int
    value: str | None  # <v> text, or the inline string
    formula: str | None  # formula text without '=', "" for a shared formula's follower


def _sheet_cells(
    archive: _Archive, part: str, sheet: str, max_row: int, max_col: int, limits: Limits
) -> tuple[list[_Cell], set[int]]:
    """Cells with content in rows 1..max_row, columns 1..max_col; hidden rows.

    Parsing stops at the first row past ``max_row``; every cell and row element met on
    the way counts against ``limits.max_cells``, so no sheet can keep the parser busy.
    A row or a cell met twice refuses the sheet (see :class:`_Addresses`).
    """
    cells: list[_Cell] = []
    unplaced: list[_Cell] = []  # cells without a reference: their row is known at its end
    hidden: set[int] = set()
    addresses = _Addresses(sheet)
    seen = 0
    row = col = 0
    for el in _closed_elements(archive, part):
        tag = _local(el.tag)
        if tag == "c":
            ref = el.get("r")
            if ref is None:
                col += 1
                cell_row = 0
                addresses.unplaced(col)
            else:
                m = _CELL_REF.match(ref)
                try:
                    col = column_index(m.group(1)) if m else 0
                except ValueError:
                    col = 0
                if not col or m is None:
                    raise Refused("F-DAMAGED", f"单元格引用“{ref[:20]}”无效", sheet)
                cell_row = int(m.group(2))
                if cell_row > max_row:
                    break
                addresses.cell(cell_row, col)
            if col <= max_col and len(el):
                cell = _cell(el, cell_row, col, sheet, limits)
                (cells if cell_row else unplaced).append(cell)
            el.clear()
        elif tag == "row":
            row = _int(el.get("r"), row + 1, sheet)
            col = 0
            if row > max_row:
                break
            addresses.row(row)
            for cell in unplaced:
                cell.row = row
            cells.extend(unplaced)
            unplaced.clear()
            if el.get("hidden", "0").lower() in ("1", "true"):
                hidden.add(row)
            el.clear()
        elif tag == "sheetData":
            break  # nothing after the cells is needed
        else:
            continue
        seen += 1
        if seen > limits.max_cells:
            where = f"{column_letter(min(max(col, 1), 16384))}{row + 1}"
            raise Refused("F-TOO-LARGE", f"工作表单元格超过 {limits.max_cells} 个", sheet, where)
    return cells, hidden


class _Addresses:
    """The rows and cells of one sheet met so far, so that none is met twice.

    Excel calls a sheet holding one cell (or one row) twice damaged, and readers that
    take it anyway keep one of the two values, the first or the last, each its own way:
    the number a clerk sees there need not be the number we would count. Bounded like
    the parse itself: a sheet holds at most ``limits.max_cells`` cells before its rows
    past the form.
    """

    def __init__(self, sheet: str) -> None:
        self.sheet = sheet
        self.rows: set[int] = set()  # rows whose element has ended
        self.cells: set[int] = set()  # row * _COLUMNS + column
        self.pending: list[int] = []  # columns of this row's cells written without "r"

    def cell(self, row: int, col: int) -> None:
        if row in self.rows:  # a second element for a row already read
            raise self._twice(f"第{row}行", f"A{row}")
        key = row * _COLUMNS + col
        if key in self.cells:
            ref = f"{column_letter(col)}{row}"
            raise self._twice(f"单元格 {ref} ", ref)
        self.cells.add(key)

    def unplaced(self, col: int) -> None:
        self.pending.append(col)

    def row(self, row: int) -> None:
        """The end of a row's element: its cells without a reference are placed now."""
        if row in self.rows:
            raise self._twice(f"第{row}行", f"A{row}")
        for col in self.pending:
            self.cell(row, col)
        self.pending.clear()
        self.rows.add(row)

    def _twice(self, what: str, cell: str) -> Refused:
        return Refused("F-DAMAGED", f"{what}在工作表中出现两次", self.sheet, cell)


def _int(text: str | None, default: int, sheet: str) -> int:
    """A row element's number; rows past Excel's last row are simply past our bound."""
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise Refused("F-DAMAGED", f"行号“{text[:20]}”无效", sheet) from None
    if value < 1:
        raise Refused("F-DAMAGED", f"行号 {value} 无效", sheet)
    return value


def _cell(el: Element, row: int, col: int, sheet: str, limits: Limits) -> _Cell:
    kind = el.get("t", "n")
    value = None
    formula = None
    for child in el:
        tag = _local(child.tag)
        if tag == "v":
            value = child.text or ""
        elif tag == "f":
            formula = child.text or ""
        elif tag == "is":
            value = _rich_text(child)
    if value is not None and len(value) > limits.max_text_chars:
        raise Refused(
            "F-TOO-LARGE",
            f"单元格文字 {len(value)} 字，超过 {limits.max_text_chars} 字",
            sheet,
            f"{column_letter(col)}{row}",
        )
    style = el.get("s")
    return _Cell(row, col, kind, int(style) if style and style.isdigit() else 0, value, formula)


def _rich_text(el: Element) -> str:
    """Text of an <is> or <si>: its <t> runs, without phonetic (<rPh>) runs, with
    Excel's ``_xHHHH_`` escapes decoded (a carriage return is saved as ``_x000D_``)."""
    parts = []
    for child in el:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return unescape_excel("".join(parts))


def _shared_strings(
    archive: _Archive, part: str | None, wanted: dict[int, tuple[str, str]], limits: Limits
) -> dict[int, str]:
    """Only the strings the cells read refer to; the declared count is never trusted.

    ``wanted`` maps each index to the sheet and cell of a cell that shows it, so that a
    string too long is reported where a clerk can find it."""
    if not wanted or part is None or part not in archive.names:
        return {}
    last = max(wanted)
    out: dict[int, str] = {}
    index = 0
    for el in _closed_elements(archive, part):
        if _local(el.tag) != "si":
            continue
        if index in wanted:
            text = _rich_text(el)
            if len(text) > limits.max_text_chars:
                raise Refused(
                    "F-TOO-LARGE",
                    f"单元格文字 {len(text)} 字，超过 {limits.max_text_chars} 字",
                    *wanted[index],
                )
            out[index] = text
        el.clear()
        index += 1
        if index > last:
            break
    return out


_DATES_OF: dict[bytes, frozenset[int]] = {}  # styles part -> its date formats, as parsed
_DATES_KEPT = 32  # distinct styles parts remembered: one per template version, mostly


def _known_date_styles(archive: _Archive, part: str | None) -> frozenset[int]:
    """The date formats of a styles part, remembered by its bytes: every return from
    one template shares it, and parsing it was a fifth of reading a return."""
    if part is None or part not in archive.names:
        return frozenset()
    data = b"".join(archive.chunks(part))
    known = _DATES_OF.get(data)
    if known is None:
        known = _date_styles(archive, part)
        if len(_DATES_OF) < _DATES_KEPT:
            _DATES_OF[data] = known
    return known


def _date_styles(archive: _Archive, part: str | None) -> frozenset[int]:
    """Indexes of cell formats (cellXfs) that show a number as a date or time."""
    if part is None or part not in archive.names:
        return frozenset()
    custom: dict[int, str] = {}
    formats: list[int] = []
    for el in _closed_elements(archive, part):
        tag = _local(el.tag)
        if tag == "numFmt":
            custom[_digits(el.get("numFmtId"))] = el.get("formatCode", "")
        elif tag == "xf":
            formats.append(_digits(el.get("numFmtId")))
        elif tag == "cellStyleXfs":
            formats.clear()  # those were the named styles' formats
        elif tag == "cellXfs":
            break
    dates = set()
    for i, fmt in enumerate(formats):
        code = custom.get(fmt)
        if (code is None and fmt in _BUILTIN_DATES) or (
            code is not None and _DATE_CODES.search(_FORMAT_NOISE.sub("", code))
        ):
            dates.add(i)
    return frozenset(dates)


def _digits(text: str | None) -> int:
    return int(text) if text and text.isdigit() else -1


def _from_serial(serial: float, date1904: bool) -> dt.datetime | None:
    base = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    if not date1904 and serial < 61:  # Excel's phantom 1900-02-29
        serial += 1
    try:
        return base + dt.timedelta(days=serial)
    except OverflowError:
        return None


def _values(
    cells: list[_Cell], strings: dict[int, str], dates: frozenset[int], date1904: bool
) -> tuple[dict[tuple[int, int], object], dict[tuple[int, int], object]]:
    """(as typed, with formulas as Formula) and (cached results) by (row, col)."""
    typed: dict[tuple[int, int], object] = {}
    cached: dict[tuple[int, int], object] = {}
    for c in cells:
        value: object = c.value
        if c.value is None or (c.value == "" and c.kind not in ("str", "inlineStr")):
            value = None
        elif c.kind == "s":
            value = strings.get(_digits(c.value), "")
        elif c.kind == "b":
            value = c.value.strip() in ("1", "true")
        elif c.kind in ("str", "inlineStr", "e", "d"):
            value = c.value
        else:
            value = _number(c.value)
            if isinstance(value, float | int) and c.style in dates:
                value = _from_serial(float(value), date1904) or value
        key = (c.row, c.col)
        if c.formula is not None:
            typed[key] = Formula("=" + c.formula)
            if value is not None and value != "":
                cached[key] = value
        elif value is not None:
            typed[key] = cached[key] = value
    return typed, cached


def _number(text: str) -> object:
    """A <v> number as int when whole (as Excel shows it), else float; bad text as is."""
    stripped = text.strip()
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        return float(stripped)
    except ValueError:
        return text


_Found = list[tuple[str, str, list[_Cell], set[int]]]


def _scanned_cells(
    archive: _Archive, part: str, max_row: int, max_col: int, limits: Limits
) -> tuple[list[_Cell], set[int]]:
    """The fast path's reading of one sheet (see :mod:`pipeline.extract.scan`)."""
    data = b"".join(archive.chunks(part))
    found = scan_sheet(data, max_row, max_col, limits.max_cells, limits.max_text_chars)
    if found is None:
        raise _NotPlain(part)
    cells, hidden = found
    return [_Cell(*c) for c in cells], hidden


def _parse(
    archive: _Archive,
    bounds: dict[str, tuple[int, int]],
    default: tuple[int, int],
    limits: Limits,
    fast: bool = False,
) -> tuple[_Book, _Found, dict[int, str], frozenset[int]]:
    book = _book(archive)
    for name, _, part in book.sheets:
        archive.sheet_of.setdefault(part, name)
    found: _Found = []
    for name, state, part in book.sheets:
        if name == META_SHEET:
            max_row, max_col = META_ROWS, 2
        else:
            max_row, max_col = bounds.get(name, default)
            max_row, max_col = max_row + MARGIN_ROWS, max_col + MARGIN_COLS
        if fast:
            cells, hidden = _scanned_cells(archive, part, max_row, max_col, limits)
        else:
            cells, hidden = _sheet_cells(archive, part, name, max_row, max_col, limits)
        found.append((name, state, cells, hidden))
    wanted: dict[int, tuple[str, str]] = {}
    for name, _, cells, _ in found:
        for c in cells:
            if c.kind == "s":
                wanted.setdefault(_digits(c.value), (name, f"{column_letter(c.col)}{c.row}"))
    strings = _shared_strings(archive, book.strings_part, wanted, limits)
    numeric_styles = any(
        c.style and c.kind == "n" and c.formula is None for *_, cells, _ in found for c in cells
    )
    dates = frozenset[int]()
    if numeric_styles:
        by = _known_date_styles if fast else _date_styles
        dates = by(archive, book.styles_part)
    return book, found, strings, dates


def read_workbook(
    path: Path | IO[bytes],
    bounds: dict[str, tuple[int, int]],
    limits: Limits = DEFAULT_LIMITS,
    default: tuple[int, int] = (60, 30),
) -> RawWorkbook:
    """Cells of every sheet within ``bounds`` (max row, max column by sheet name), from a
    file or an open binary stream (a member of a zip of returns, read into memory).

    Raises :class:`Refused` for a file that is damaged or exceeds ``limits``.

    The sheets of a plain file are read by the fast path (:mod:`pipeline.extract.scan`);
    a file it declines, or one with anything to refuse, is read again by the exact
    reader from its start, so that what is refused, and why, is the exact reader's.
    """
    try:
        return _read(path, bounds, limits, default, fast=True)
    except (_NotPlain, Refused):
        pass
    if not isinstance(path, str | Path):
        path.seek(0)
    return _read(path, bounds, limits, default, fast=False)


def _read(
    path: Path | IO[bytes],
    bounds: dict[str, tuple[int, int]],
    limits: Limits,
    default: tuple[int, int],
    fast: bool,
) -> RawWorkbook:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise Refused("F-DAMAGED", _reason(exc)) from exc
    with zf:
        archive = _Archive(zf, limits)
        try:
            book, found, strings, dates = _parse(archive, bounds, default, limits, fast)
            notes = _content_types(archive)
        except Refused as refused:
            if refused.rule != "F-DAMAGED" and not fast:
                archive.drain()  # a damaged archive is the better reason, if it is one
            raise
        archive.drain()
    sheets: dict[str, RawSheet] = {}
    meta = None
    for name, state, cells, hidden in found:
        typed, cached = _values(cells, strings, dates, book.date1904)
        if name == META_SHEET:
            meta = parse_rows(
                (typed.get((r, 1)), typed.get((r, 2))) for r in range(1, META_ROWS + 1)
            )
            continue
        sheets[name] = RawSheet(name, state, typed, cached, hidden)
    return RawWorkbook(sheets=sheets, meta=meta, notes=notes)


def _content_types(archive: _Archive) -> list[tuple[str, str]]:
    """Notes on ``[Content_Types].xml``, which says what every part is. We find the
    parts through their relationships and never need it; Excel does, and refuses to
    open a workbook where it is missing or cut short. So such a file is read, and the
    clerk told that the institution's file does not open in Excel."""
    if _CONTENT_TYPES not in archive.names:
        return [("F-CONTENT-TYPES", f"缺少 {_CONTENT_TYPES}")]
    try:
        for el in _closed_elements(archive, _CONTENT_TYPES):
            el.clear()
    except _BadXml as exc:  # a DTD, a damaged zip member or a bomb is still refused
        return [("F-CONTENT-TYPES", exc.detail)]
    return []
