"""Saving openpyxl workbooks: each sheet's XML built in memory, and a workbook saved
again and again with only its cells' values changed.

openpyxl's own ``Workbook.save`` writes every worksheet's XML to a temporary file in the
system's temporary folder, copies it into the zip and deletes it. On this project's
machines deleting a file takes milliseconds of waiting on the disk's journal (an ext4
mounted with ``discard``), so a template of four sheets spent more time creating and
deleting temporary files than serialising its cells. Here each sheet is serialised into
memory and stored in the zip from there: the same XML, the same members in the same
order, no file but the target.

:class:`Resaver` goes further for the templates, where one workbook is restamped and
saved for every institution of a role: of a save, only the cells (``<sheetData>``) and
the time of saving depend on the values, while the styles, column widths, merged cells,
in-cell checks, page setup, the workbook's sheet list and names, and the parts list are
the same each time, and cost about half of the save to serialise. Of the cells, only
the few rows naming the institution or holding its figures change: the others are
written once and their XML kept, each row compared by what its XML is made of.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import IO, Any
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.writer.excel import ExcelWriter
from openpyxl.xml.constants import ARC_CORE
from openpyxl.xml.functions import tostring

Target = Path | IO[bytes]


class _InMemorySheets(ExcelWriter):
    """openpyxl's writer, but each worksheet's XML goes to a buffer, not a temp file."""

    def __init__(self, wb: Workbook, archive: Any, sheet_xml: Callable[[Any], bytes]) -> None:
        super().__init__(wb, archive)
        self._sheet_xml = sheet_xml

    def write_worksheet(self, ws: Any) -> None:
        if self.workbook.write_only:  # streamed sheets already live in their own files
            super().write_worksheet(ws)
            return
        # As ExcelWriter.write_worksheet does, with a buffer for the writer's output.
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        self._archive.writestr(ws.path[1:], self._sheet_xml(ws))
        self.manifest.append(ws)


def _whole_sheet(ws: Any) -> bytes:
    writer = WorksheetWriter(ws, out=BytesIO())
    writer.write()
    ws._rels = writer._rels
    return bytes(writer.read())


class _CellsOnly(WorksheetWriter):
    """Writes ``<sheetData>`` alone (inside the ``<worksheet>`` element every writer
    opens)."""

    def write(self) -> None:
        self.write_rows()
        self.close()

    def write_and_read(self) -> bytes:
        self.write()
        return bytes(self.read())


def _cells(ws: Any) -> bytes:
    """The sheet's ``<sheetData>…</sheetData>``, as :func:`_whole_sheet` writes it."""
    xml = _CellsOnly(ws, out=BytesIO()).write_and_read()
    return xml[xml.index(b">") + 1 : xml.rindex(b"</worksheet>")]


class _SomeRows(_CellsOnly):
    """Writes ``<sheetData>`` with some of the sheet's rows alone: those of ``only``."""

    def __init__(self, ws: Any) -> None:
        super().__init__(ws, out=BytesIO())
        self.all = super().rows()  # openpyxl's: (row, its cells), rows with a height too
        self.only: set[int] = set()

    def rows(self) -> list[tuple[int, list[Any]]]:
        return [row for row in self.all if row[0] in self.only]


_ROW = re.compile(rb"<row[ />]")  # '<' is escaped in text and values: never a cell's
_PLAIN = frozenset({str, int, float, bool, type(None)})
RowKey = tuple[object, ...]


def _row_key(ws: Any, r: int, cells: list[Any]) -> RowKey | None:
    """All a row's XML depends on (given the workbook's styles, which only grow), or
    None for a row with what is not compared here (a comment, a link, rich text)."""
    dim = ws.row_dimensions.get(r)
    key: list[object] = [tuple(dim) if dim is not None else None]
    for c in cells:
        v = c._value
        if type(v) not in _PLAIN or c.comment is not None or c.hyperlink is not None:
            return None
        if type(v) is float:  # -0.0 == 0.0, nan != nan: compare as written
            v = repr(v)
        style = c._style
        key.append((c.column, type(c._value), v, c.data_type, style and style.tobytes()))
    return tuple(key)


class _KeptRows:
    """A sheet's rows as last written, each with its key: a row whose key is the same
    is not written again."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[RowKey | None, bytes]] = {}

    def cells(self, ws: Any) -> bytes:
        """The sheet's ``<sheetData>…</sheetData>``, as :func:`_cells` writes it."""
        writer = _SomeRows(ws)
        rows = writer.all
        if not rows:
            return _cells(ws)
        keys = [_row_key(ws, r, cells) for r, cells in rows]
        todo = [
            (row, key)
            for row, key in zip(rows, keys, strict=True)
            if key is None or self.rows.get(row[0], (None, b""))[0] != key
        ]
        if todo:
            writer.only = {r for (r, _), _ in todo}
            xml = writer.write_and_read()
            inner = xml[xml.index(b"<sheetData>") + 11 : xml.rindex(b"</sheetData>")]
            starts = [m.start() for m in _ROW.finditer(inner)]
            if len(starts) != len(todo):
                self.rows = {}
                return _cells(ws)
            for ((r, _), key), a, b in zip(todo, starts, [*starts[1:], len(inner)], strict=True):
                self.rows[r] = (key, inner[a:b])
        out = [self.rows[r][1] for r, _ in rows]
        if len(self.rows) > len(rows):  # rows gone: forget them
            kept = {r for r, _ in rows}
            self.rows = {r: v for r, v in self.rows.items() if r in kept}
        return b"<sheetData>" + b"".join(out) + b"</sheetData>"


def _stamp(wb: Workbook) -> None:
    wb.properties.modified = dt.datetime.now(tz=dt.UTC).replace(tzinfo=None)


def save(wb: Workbook, target: Target) -> None:
    """``wb.save(target)``, without temporary files (see the module's docstring)."""
    with ZipFile(target, "w", ZIP_DEFLATED, allowZip64=True) as archive:
        _stamp(wb)
        _InMemorySheets(wb, archive, _whole_sheet).write_data()


class _Recorder:
    """Stands for the zip archive while openpyxl saves: keeps each part, in order."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, bytes]] = []

    def writestr(self, name: str, data: bytes | str) -> None:
        self.parts.append((name, data.encode() if isinstance(data, str) else data))

    def namelist(self) -> list[str]:
        return [name for name, _ in self.parts]


def _more_than_cells(ws: Any) -> bool:
    """Whether writing the sheet writes more than its cells and their styles: comments
    and hyperlinks (found as the cells are written), drawings, tables, pivots."""
    return bool(ws._comments or ws._hyperlinks or ws._images or ws._charts) or bool(
        ws._tables or ws._pivots
    )


@dataclass
class _Around:
    """A sheet's XML before and after its cells, and its rows as last written."""

    before: bytes = b""
    after: bytes = b""
    kept: _KeptRows = field(default_factory=_KeptRows)


class Resaver:
    """Saves one workbook again and again while only its cells' values change between
    saves (a template restamped for another institution).

    The first save is openpyxl's, every part of it kept; a later one writes afresh the
    rows whose cells changed and takes everything else as kept, byte for byte. A change
    beyond values that is cheap to see (a cell added, a style, a merged range, an
    in-cell check, a column's width, a sheet added, renamed or hidden) makes a full
    save again; others (page setup, protection, frozen panes) are the caller's not to
    make between saves, or to start a new :class:`Resaver` after.
    """

    def __init__(self, wb: Workbook) -> None:
        self.wb = wb
        self._parts: list[tuple[str, bytes | _Around]] = []
        self._shape: tuple[object, ...] = ()
        self._saved = 0  # full saves

    def save(self, target: Target) -> None:
        wb = self.wb
        sheets = {name: part for name, part in self._parts if isinstance(part, _Around)}
        if sheets and list(sheets) == [ws.path[1:] for ws in wb.worksheets]:
            # Writing a changed cell may add its style to the workbook's: compare after.
            cells = [sheets[ws.path[1:]].kept.cells(ws) for ws in wb.worksheets]
            if self._shape == self._shape_now():
                self._write(target, iter(cells))
                return
        self._save_whole(target)

    def _write(self, target: Target, cells: Any) -> None:
        _stamp(self.wb)
        with ZipFile(target, "w", ZIP_DEFLATED, allowZip64=True) as archive:
            for name, part in self._parts:
                if isinstance(part, _Around):
                    archive.writestr(name, part.before + next(cells) + part.after)
                elif name == ARC_CORE:
                    archive.writestr(name, tostring(self.wb.properties.to_tree()))
                else:
                    archive.writestr(name, part)

    def _save_whole(self, target: Target) -> None:
        """openpyxl's save; from the workbook's second save on, its parts are kept.

        Not from the first: openpyxl records a sheet's column outline level as it
        writes the columns, and writes it in <sheetFormatPr> from the next save on. A
        workbook saved once (built for one institution alone) keeps nothing.
        """
        parts = self._record()
        with ZipFile(target, "w", ZIP_DEFLATED, allowZip64=True) as archive:
            for name, data in parts:
                archive.writestr(name, data)
        self._parts, self._shape = [], ()
        self._saved += 1
        if self._saved > 1:
            around = self._split(parts)
            if around is not None:
                self._parts, self._shape = around, self._shape_now()

    def _record(self) -> list[tuple[str, bytes]]:
        recorder = _Recorder()
        _stamp(self.wb)
        _InMemorySheets(self.wb, recorder, _whole_sheet).write_data()
        return recorder.parts

    def _split(self, parts: list[tuple[str, bytes]]) -> list[tuple[str, bytes | _Around]] | None:
        """The parts with each sheet's cells cut out; None when a sheet has what this
        does not keep (comments, hyperlinks, drawings, tables) or its cells cannot be
        found once in its XML."""
        wb = self.wb
        if wb.write_only or wb.chartsheets or wb.vba_archive:
            return None
        sheets = {ws.path[1:]: ws for ws in wb.worksheets}
        out: list[tuple[str, bytes | _Around]] = []
        for name, data in parts:
            ws = sheets.get(name)
            if ws is None:
                out.append((name, data))
                continue
            around = _Around()
            cells = around.kept.cells(ws)
            if _more_than_cells(ws) or data.count(cells) != 1:
                return None
            around.before, _, around.after = data.partition(cells)
            out.append((name, around))
        return out

    def _shape_now(self) -> tuple[object, ...]:
        """What the kept parts depend on, beyond the cells' values."""
        wb = self.wb
        styles = (
            wb._fonts,
            wb._fills,
            wb._borders,
            wb._number_formats,
            wb._alignments,
            wb._protections,
            wb._cell_styles,
            wb._named_styles,
            wb._differential_styles.styles,
        )
        sheets = tuple(
            (
                ws.title,
                ws.sheet_state,
                ws.calculate_dimension(),
                len(ws._cells),
                len(ws.merged_cells.ranges),
                len(ws.data_validations.dataValidation),
                len(ws.conditional_formatting),
                tuple((k, d.width, d.hidden) for k, d in ws.column_dimensions.items()),
                _more_than_cells(ws),
            )
            for ws in wb.worksheets
        )
        return (
            tuple(len(s) for s in styles),
            sheets,
            len(wb.defined_names),
            wb._active_sheet_index,
        )
