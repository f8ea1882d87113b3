"""A streaming xlsx (SpreadsheetML) writer for the plain table outputs, and no more.

Why not xlsxwriter: its per-cell Python cost. Each cell went through several calls
(the cell-argument wrapper, a type's write method, a tuple stored per cell, the row's
flush, the cell's XML) at 8 to 10 µs a cell, ~15 µs under a profiler: a quarter of a
cold run at N = 2,000 (393,000 cells), and 汇总明细 alone is 1.7 M cells at N = 10,000.
Here a row is one loop that turns its values straight into XML text: 1.5 to 2 µs a
cell, deflate included.

Rows are streamed to a temporary file per sheet (in the output's folder), so memory
does not grow with them; :meth:`Workbook.close` then writes the package (deflate) to
the path given, which the callers make atomic (:mod:`pipeline.atomic`). Rows go in
order, each once.

The package holds ``[Content_Types].xml``, the relationships, ``xl/workbook.xml``
(sheets; defined names: print area, print titles, the autofilter's
``_xlnm._FilterDatabase``), ``xl/styles.xml`` (the cell styles the book was given) and a
``xl/worksheets/sheetN.xml`` per sheet: dimension, frozen rows, column widths, rows
and their heights, autofilter, merged ranges, margins, paper, orientation, print
scale, header and footer, page breaks across. It leaves out what the tables do not
use: a shared-string table (text is written inline, as xlsxwriter's constant-memory
mode did: a shared table must be held until the end, growing with the distinct texts
of a run, and the files are deflated anyway), a theme, document properties, number
formats (dates are ISO text), formulas, hyperlinks, comments, validation, protection.

Text is always a string cell, never a formula, number or hyperlink. Characters XML
cannot hold (C0 controls other than tab, line feed and carriage return; lone
surrogates; U+FFFE, U+FFFF) become U+FFFD; a carriage return is written ``&#13;`` so
it is not read back as a line feed; text that reads as Excel's own escape ``_xHHHH_``
is escaped as Excel does (``_x005F_xHHHH_``), so Excel shows it as typed; text over
Excel's 32,767 characters (UTF-16 units) is cut there, as xlsxwriter did.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from pipeline.forms import cells
from pipeline.forms.cells import MAX_COLUMN
from pipeline.forms.printing import DIGIT_PX, PADDING_PX

MAX_ROWS = 1_048_576
MAX_TEXT = 32_767  # characters of a cell, counted in UTF-16 units
DEFAULT_ROW_PT = 15
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the same bytes for the same tables

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# A text needing more than escaping-free output: the slow path looks at it again.
_SPECIAL = re.compile("[\x00-\x08\x0b-\x1f&<>\ud800-\udfff\ufffe\uffff]")
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_EXCEL_ESCAPE = re.compile("_(?=x[0-9A-Fa-f]{4}_)")  # each underscore starting one
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SPACE = " \t\n\r"


class SheetError(ValueError):
    """A sheet was asked for something xlsx cannot hold (a bad name, a row out of order)."""


@dataclass(frozen=True)
class CellStyle:
    """A cell's font, fill, border and alignment (vertically centred unless said)."""

    font: str
    size: float = 10
    bold: bool = False
    fill: str | None = None  # RGB, "DDEBF7"
    border: bool = False  # thin, all four sides
    align: str | None = None  # "left", "center"; None: Excel's general alignment
    wrap: bool = False
    valign: str = "center"


@dataclass
class Page:
    """How a sheet prints; rows and columns 0-based, ranges inclusive."""

    landscape: bool = True
    paper: int = 9  # A4
    scale: int = 100
    margins: tuple[float, float, float, float] = (0.7, 0.7, 0.75, 0.75)  # l, r, t, b
    header_margin: float = 0.3
    footer_margin: float = 0.3
    header: str = ""
    footer: str = ""
    area: tuple[int, int, int, int] | None = None  # first row, first col, last row, last col
    title_rows: tuple[int, int] | None = None
    title_cols: tuple[int, int] | None = None
    col_breaks: tuple[int, ...] = ()  # a page across starts at each of these columns


def column_letter(col: int) -> str:
    """``0`` -> ``A``, ``26`` -> ``AA``: the rows here count columns from 0."""
    return cells.column_letter(col + 1)


def stored_width(width: float) -> float:
    """The ``<col width>`` of a column ``width`` digits wide as Excel's column-width box
    (and xlsxwriter) sets it: whole pixels, 5 of them padding."""
    if width <= 0:
        return 0.0
    if width < 1:
        pixels = int(width * (DIGIT_PX + PADDING_PX) + 0.5)
    else:
        pixels = int(width * DIGIT_PX + 0.5) + PADDING_PX
    return pixels * 256 // DIGIT_PX / 256


def clean_text(text: str) -> str:
    """``text`` as a cell can hold it, before XML escaping: illegal characters as
    U+FFFD, cut at :data:`MAX_TEXT` UTF-16 units (never inside a surrogate pair)."""
    text = _ILLEGAL.sub("\ufffd", text)
    if len(text) > MAX_TEXT // 2:
        cut = text[:MAX_TEXT]
        while len(cut) + len(_ASTRAL.findall(cut)) > MAX_TEXT:  # astral: two units each
            over = len(cut) + len(_ASTRAL.findall(cut)) - MAX_TEXT
            cut = cut[: len(cut) - max(1, over // 2)]
        text = cut
    return text


def _text_xml(text: str) -> str:
    """The slow path: a text with something to clean, cut or escape."""
    text = clean_text(text)
    if "_x" in text:
        text = _EXCEL_ESCAPE.sub("_x005F_", text)
    text = escape(text)
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _sheet_ref(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


class Workbook:
    """An xlsx being written: sheets, then :meth:`close`."""

    def __init__(self, path: Path, compresslevel: int = 3) -> None:
        """``compresslevel``: zlib's 3 deflates three times as fast as its default 6,
        for files about 15 % larger."""
        self.path = path
        self.compresslevel = compresslevel
        self.sheets: list[Sheet] = []
        self._styles: list[CellStyle] = []

    def add_style(self, style: CellStyle) -> int:
        """The index cells of this style are written with."""
        if style not in self._styles:
            self._styles.append(style)
        return self._styles.index(style) + 1  # 0 is the default style

    def add_sheet(self, name: str) -> Sheet:
        if not name or len(name) > 31 or re.search(r"[\[\]:*?/\\]", name):
            raise SheetError(f"not a sheet name: {name!r}")
        if name.startswith("'") or name.endswith("'"):
            raise SheetError(f"a sheet name cannot start or end with an apostrophe: {name!r}")
        if any(s.name.casefold() == name.casefold() for s in self.sheets):
            raise SheetError(f"a sheet of that name already: {name!r}")
        sheet = Sheet(name, len(self.sheets), self.path.parent)
        self.sheets.append(sheet)
        return sheet

    def discard(self) -> None:
        """Drop the sheets' temporary files; nothing is written."""
        for sheet in self.sheets:
            sheet.discard()

    def close(self) -> None:
        """Write the package to :attr:`path`."""
        if not self.sheets:
            raise SheetError("a workbook needs a sheet")
        try:
            with zipfile.ZipFile(
                self.path, "w", zipfile.ZIP_DEFLATED, compresslevel=self.compresslevel
            ) as zf:

                def part(name: str, text: str) -> None:
                    zf.writestr(self._info(name), text.encode("utf-8"))

                part("[Content_Types].xml", self._content_types())
                part("_rels/.rels", self._root_rels())
                part("xl/workbook.xml", self._workbook_xml())
                part("xl/_rels/workbook.xml.rels", self._workbook_rels())
                part("xl/styles.xml", self._styles_xml())
                for sheet in self.sheets:
                    info = self._info(f"xl/worksheets/sheet{sheet.index + 1}.xml")
                    big = sheet.size() > 0x7FFF0000
                    with zf.open(info, "w", force_zip64=big) as out:
                        sheet.copy_to(out)
        finally:
            self.discard()

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, _ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        # Python 3.13 names the level; before, only the private attribute holds it.
        level = "compress_level" if hasattr(info, "compress_level") else "_compresslevel"
        setattr(info, level, self.compresslevel)
        return info

    def _content_types(self) -> str:
        sheets = "".join(
            f'<Override PartName="/xl/worksheets/sheet{s.index + 1}.xml" '
            f'ContentType="{_CT}.worksheet+xml"/>'
            for s in self.sheets
        )
        return (
            f'{_XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
            f"{sheets}</Types>"
        )

    def _root_rels(self) -> str:
        return (
            f'{_XML_DECL}<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        )

    def _workbook_rels(self) -> str:
        rels = [
            f'<Relationship Id="rId{s.index + 1}" Type="{_REL}/worksheet" '
            f'Target="worksheets/sheet{s.index + 1}.xml"/>'
            for s in self.sheets
        ]
        rels.append(
            f'<Relationship Id="rId{len(self.sheets) + 1}" Type="{_REL}/styles" '
            'Target="styles.xml"/>'
        )
        return f'{_XML_DECL}<Relationships xmlns="{_PKG_REL}">{"".join(rels)}</Relationships>'

    def _workbook_xml(self) -> str:
        sheets = "".join(
            f'<sheet name={quoteattr(s.name)} sheetId="{s.index + 1}" r:id="rId{s.index + 1}"/>'
            for s in self.sheets
        )
        names = sorted(n for s in self.sheets for n in s.defined_names())
        hidden = ' hidden="1"'
        defined = "".join(
            f'<definedName name="{name}" localSheetId="{index}"'
            f"{hidden if name == '_xlnm._FilterDatabase' else ''}>"
            f"{escape(value)}</definedName>"
            for name, index, value in names
        )
        return (
            f'{_XML_DECL}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            f"<bookViews><workbookView/></bookViews><sheets>{sheets}</sheets>"
            f"{f'<definedNames>{defined}</definedNames>' if defined else ''}</workbook>"
        )

    def _styles_xml(self) -> str:
        fonts = ['<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>']
        fills = ['<fill><patternFill patternType="none"/></fill>']
        fills.append('<fill><patternFill patternType="gray125"/></fill>')
        borders = ["<border><left/><right/><top/><bottom/><diagonal/></border>"]
        thin = "".join(
            f'<{side} style="thin"><color auto="1"/></{side}>'
            for side in ("left", "right", "top", "bottom")
        )
        borders.append(f"<border>{thin}<diagonal/></border>")
        xfs = ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>']
        for s in self._styles:
            font = (
                f'<font>{"<b/>" if s.bold else ""}<sz val="{s.size:g}"/>'
                f"<name val={quoteattr(s.font)}/></font>"
            )
            if font not in fonts:
                fonts.append(font)
            fill_id = 0
            if s.fill:
                fill = (
                    f'<fill><patternFill patternType="solid"><fgColor rgb="FF{s.fill}"/>'
                    '<bgColor indexed="64"/></patternFill></fill>'
                )
                if fill not in fills:
                    fills.append(fill)
                fill_id = fills.index(fill)
            align = f' vertical="{s.valign}"' if s.valign else ""
            align += f' horizontal="{s.align}"' if s.align else ""
            align += ' wrapText="1"' if s.wrap else ""
            applied = ' applyFont="1"'
            applied += ' applyFill="1"' if fill_id else ""
            applied += ' applyBorder="1"' if s.border else ""
            xfs.append(
                f'<xf numFmtId="0" fontId="{fonts.index(font)}" fillId="{fill_id}" '
                f'borderId="{int(s.border)}" xfId="0"{applied} applyAlignment="1">'
                f"<alignment{align}/></xf>"
            )

        def listed(tag: str, items: list[str]) -> str:
            return f'<{tag} count="{len(items)}">{"".join(items)}</{tag}>'

        return (
            f'{_XML_DECL}<styleSheet xmlns="{_MAIN}">'
            f"{listed('fonts', fonts)}{listed('fills', fills)}{listed('borders', borders)}"
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            f"</cellStyleXfs>{listed('cellXfs', xfs)}"
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"
        )


@dataclass
class Sheet:
    """One sheet: its rows streamed to a temporary file, the rest kept until the end."""

    name: str
    index: int
    folder: Path | None = None  # of the temporary file: beside the output, not in /tmp
    page: Page = field(default_factory=Page)
    frozen_rows: int = 0
    autofilter: tuple[int, int, int, int] | None = None
    widths: dict[int, float] = field(default_factory=dict)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    last_row: int = -1
    last_col: int = -1
    _refs: list[str] = field(default_factory=list)
    _file: IO[bytes] | None = None
    _text: io.TextIOWrapper | None = None

    def __post_init__(self) -> None:
        # Kept open across calls, closed by copy_to or discard; nameless where the system
        # allows (Linux), so a killed run leaves nothing. Beside the output: a /tmp in
        # memory (tmpfs) would hold the rows in memory after all.
        self._file = tempfile.TemporaryFile(  # noqa: SIM115
            prefix=".sheet-", suffix=".xml", dir=self.folder
        )
        self._text = io.TextIOWrapper(
            self._file, encoding="utf-8", errors="strict", newline="", write_through=False
        )

    def set_width(self, col: int, width: float) -> None:
        """Column ``col`` (0-based) ``width`` digits wide."""
        self.widths[col] = width

    def merge(self, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
        self.merged.append((first_row, first_col, last_row, last_col))

    def row(
        self,
        row: int,
        values: Sequence[Any],
        styles: Sequence[int],
        height: float | None = None,
        blanks: bool = True,
    ) -> None:
        """Row ``row`` (0-based, after the rows already written): ``values`` from the
        first column, each cell of the style at the same place in ``styles``; ``None``
        and ``""`` are blank cells, written (for their style: borders) when ``blanks``."""
        if row <= self.last_row:
            raise SheetError(f"{self.name}: row {row + 1} after row {self.last_row + 1}")
        if row >= MAX_ROWS:
            raise SheetError(f"{self.name}: row {row + 1} past the last, {MAX_ROWS}")
        if self._text is None:
            raise SheetError(f"{self.name}: written already")
        refs = self._refs
        if len(styles) < len(values):
            raise SheetError(f"{self.name}: {len(values)} values, {len(styles)} styles")
        if len(values) > len(refs):
            if len(values) > MAX_COLUMN:
                raise SheetError(f"{self.name}: {len(values)} columns")
            refs.extend(column_letter(c) for c in range(len(refs), len(values)))
        n = row + 1
        if height is not None and height != DEFAULT_ROW_PT:
            out = [f'<row r="{n}" ht="{height:g}" customHeight="1">']
        else:
            out = [f'<row r="{n}">']
        add = out.append
        special = _SPECIAL.search
        for ref, s, v in zip(refs, styles, values, strict=False):
            t = type(v)
            if t is str:
                if not v:
                    if blanks:
                        add(f'<c r="{ref}{n}" s="{s}"/>')
                    continue
                if special(v) or "_x" in v or len(v) > 16383:
                    v = _text_xml(v)  # never empty: characters are replaced, not dropped
                if v[0] in _SPACE or v[-1] in _SPACE:
                    add(
                        f'<c r="{ref}{n}" s="{s}" t="inlineStr"><is><t xml:space="preserve">'
                        f"{v}</t></is></c>"
                    )
                else:
                    add(f'<c r="{ref}{n}" s="{s}" t="inlineStr"><is><t>{v}</t></is></c>')
            elif v is None:
                if blanks:
                    add(f'<c r="{ref}{n}" s="{s}"/>')
            elif t is bool:
                add(f'<c r="{ref}{n}" s="{s}" t="b"><v>{v:d}</v></c>')
            elif t is int and -9007199254740992 < v < 9007199254740992:
                add(f'<c r="{ref}{n}" s="{s}"><v>{v}</v></c>')
            elif t is float and math.isfinite(v):
                add(f'<c r="{ref}{n}" s="{s}"><v>{v!r}</v></c>')
            else:
                cell = _other(v)
                if cell is not None:
                    add(f'<c r="{ref}{n}" s="{s}"{cell}</c>')
                elif blanks:
                    add(f'<c r="{ref}{n}" s="{s}"/>')
        add("</row>")
        self._text.write("".join(out))
        self.last_row = row
        self.last_col = max(self.last_col, len(values) - 1)

    def defined_names(self) -> list[tuple[str, int, str]]:
        """(name, sheet index, formula) of the sheet's print area, titles and filter."""
        me = _sheet_ref(self.name)
        names = []
        if self.autofilter:
            names.append(("_xlnm._FilterDatabase", self.index, f"{me}!{_area(self.autofilter)}"))
        page = self.page
        if page.area:
            names.append(("_xlnm.Print_Area", self.index, f"{me}!{_area(page.area)}"))
        titles = []
        if page.title_cols:
            first, last = (column_letter(c) for c in page.title_cols)
            titles.append(f"{me}!${first}:${last}")
        if page.title_rows:
            titles.append(f"{me}!${page.title_rows[0] + 1}:${page.title_rows[1] + 1}")
        if titles:
            names.append(("_xlnm.Print_Titles", self.index, ",".join(titles)))
        return names

    def size(self) -> int:
        """Bytes of the rows written so far."""
        if self._text is None or self._file is None:
            return 0
        self._text.flush()
        return self._file.tell()

    def copy_to(self, out: IO[bytes]) -> None:
        """The sheet's whole XML into ``out``; the rows once, from the temporary file."""
        if self._text is None or self._file is None:
            raise SheetError(f"{self.name}: written already")
        self._text.flush()
        out.write(self._head().encode("utf-8"))
        if self.last_row >= 0:
            out.write(b"<sheetData>")
            self._file.seek(0)
            shutil.copyfileobj(self._file, out, 1 << 20)
            out.write(b"</sheetData>")
        else:
            out.write(b"<sheetData/>")
        out.write(self._tail().encode("utf-8"))
        self.discard()

    def discard(self) -> None:
        if self._text is not None:
            self._text.close()  # closes the temporary file, which removes it
        self._text = self._file = None

    def _head(self) -> str:
        last = (max(self.last_row, 0), max(self.last_col, 0))
        dimension = "A1" if last == (0, 0) else f"A1:{column_letter(last[1])}{last[0] + 1}"
        selected = ' tabSelected="1"' if self.index == 0 else ""
        pane = ""
        if self.frozen_rows:
            top = f"A{self.frozen_rows + 1}"
            pane = (
                f'<pane ySplit="{self.frozen_rows}" topLeftCell="{top}" activePane="bottomLeft" '
                f'state="frozen"/><selection pane="bottomLeft" activeCell="{top}" sqref="{top}"/>'
            )
        spans: list[list[int | float]] = []  # [first, last, stored width]; alike neighbours joined
        for c, w in sorted(self.widths.items()):
            stored = stored_width(w)
            if spans and spans[-1][1] == c - 1 and spans[-1][2] == stored:
                spans[-1][1] = c
            else:
                spans.append([c, c, stored])
        cols = "".join(
            f'<col min="{first + 1}" max="{last + 1}" width="{w:g}" customWidth="1"/>'
            for first, last, w in spans
        )
        return (
            f'{_XML_DECL}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
            f'<dimension ref="{dimension}"/>'
            f'<sheetViews><sheetView{selected} workbookViewId="0">{pane}</sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="{DEFAULT_ROW_PT}"/>'
            f"{f'<cols>{cols}</cols>' if cols else ''}"
        )

    def _tail(self) -> str:
        page = self.page
        parts = []
        if self.autofilter:
            parts.append(f'<autoFilter ref="{_area(self.autofilter, absolute=False)}"/>')
        if self.merged:
            merges = "".join(f'<mergeCell ref="{_area(m, absolute=False)}"/>' for m in self.merged)
            parts.append(f'<mergeCells count="{len(self.merged)}">{merges}</mergeCells>')
        left, right, top, bottom = page.margins
        parts.append(
            f'<pageMargins left="{left:g}" right="{right:g}" top="{top:g}" bottom="{bottom:g}" '
            f'header="{page.header_margin:g}" footer="{page.footer_margin:g}"/>'
        )
        orientation = "landscape" if page.landscape else "portrait"
        parts.append(
            f'<pageSetup paperSize="{page.paper}" scale="{page.scale}" '
            f'orientation="{orientation}"/>'
        )
        if page.header or page.footer:
            header = f"<oddHeader>{escape(page.header)}</oddHeader>" if page.header else ""
            footer = f"<oddFooter>{escape(page.footer)}</oddFooter>" if page.footer else ""
            parts.append(f"<headerFooter>{header}{footer}</headerFooter>")
        if page.col_breaks:
            brks = "".join(f'<brk id="{c}" max="{MAX_ROWS - 1}" man="1"/>' for c in page.col_breaks)
            n = len(page.col_breaks)
            parts.append(f'<colBreaks count="{n}" manualBreakCount="{n}">{brks}</colBreaks>')
        return "".join(parts) + "</worksheet>"


def _area(area: tuple[int, int, int, int], absolute: bool = True) -> str:
    first_row, first_col, last_row, last_col = area
    d = "$" if absolute else ""
    return (
        f"{d}{column_letter(first_col)}{d}{first_row + 1}:"
        f"{d}{column_letter(last_col)}{d}{last_row + 1}"
    )


def _other(value: object) -> str | None:
    """The rest of a ``<c>`` element (after its reference and style) for a value of no
    common type: subclasses of bool, int, float and str (an enum), dates as ISO text,
    anything else as its text; None for a blank."""
    if isinstance(value, bool):
        return f' t="b"><v>{int(value)}</v>'
    if isinstance(value, int) and abs(value) < 2**53:
        return f"><v>{int(value)}</v>"
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer past any double: its digits, as text
            number = math.nan
        if math.isfinite(number):
            return f"><v>{number!r}</v>"
    if isinstance(value, dt.date):  # a datetime too
        text = value.isoformat()
    elif isinstance(value, str):
        text = str.__str__(value)
    else:
        text = str(value)
    if text == "":
        return None
    text = _text_xml(text)
    if not text:
        return None
    preserve = ' xml:space="preserve"' if text[0] in _SPACE or text[-1] in _SPACE else ""
    return f' t="inlineStr"><is><t{preserve}>{text}</t></is>'
