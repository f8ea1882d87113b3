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
the same each time, and cost about half of the save to serialise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
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


def _cells(ws: Any) -> bytes:
    """The sheet's ``<sheetData>…</sheetData>``, as :func:`_whole_sheet` writes it."""
    writer = _CellsOnly(ws, out=BytesIO())
    writer.write()
    xml = bytes(writer.read())
    return xml[xml.index(b">") + 1 : xml.rindex(b"</worksheet>")]


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


@dataclass(frozen=True)
class _Around:
    """A sheet's XML before and after its cells."""

    before: bytes
    after: bytes


class Resaver:
    """Saves one workbook again and again while only its cells' values change between
    saves (a template restamped for another institution).

    The first save is openpyxl's, every part of it kept; a later one writes the cells
    of each sheet afresh and takes every other part as kept, byte for byte. A change
    beyond values that is cheap to see (a cell added, a style, a merged range, an
    in-cell check, a column's width, a sheet added, renamed or hidden) makes a full
    save again; others (page setup, protection, frozen panes) are the caller's not to
    make between saves, or to start a new :class:`Resaver` after.
    """

    def __init__(self, wb: Workbook) -> None:
        self.wb = wb
        self._parts: list[tuple[str, bytes | _Around]] = []
        self._shape: tuple[object, ...] = ()

    def save(self, target: Target) -> None:
        wb = self.wb
        if self._parts:
            cells = [_cells(ws) for ws in wb.worksheets]  # may add styles: then compare
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
        self._parts = []
        self._shape = ()
        with ZipFile(target, "w", ZIP_DEFLATED, allowZip64=True) as archive:
            for name, data in self._record():
                archive.writestr(name, data)
        # Saving changes the workbook: openpyxl records a sheet's column outline level
        # as it writes the columns, and writes it in <sheetFormatPr> from the next save
        # on. The parts kept are those of a second save, as every later one writes them.
        around = self._split(self._record())
        if around is not None:
            self._parts = around
            self._shape = self._shape_now()

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
            cells = _cells(ws)
            if _more_than_cells(ws) or data.count(cells) != 1:
                return None
            before, _, after = data.partition(cells)
            out.append((name, _Around(before, after)))
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
