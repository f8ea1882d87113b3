"""Saving an openpyxl workbook with each sheet's XML built in memory.

openpyxl's own ``Workbook.save`` writes every worksheet's XML to a temporary file in the
system's temporary folder, copies it into the zip and deletes it. On this project's
machines deleting a file takes milliseconds of waiting on the disk's journal (an ext4
mounted with ``discard``), so a template of four sheets spent more time creating and
deleting temporary files than serialising its cells. Here each sheet is serialised into
memory and stored in the zip from there: the same XML, the same members in the same
order, no file but the target.
"""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from pathlib import Path
from typing import IO, Any
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.writer.excel import ExcelWriter


class _InMemorySheets(ExcelWriter):
    """openpyxl's writer, but each worksheet's XML goes to a buffer, not a temp file."""

    def write_worksheet(self, ws: Any) -> None:
        if self.workbook.write_only:  # streamed sheets already live in their own files
            super().write_worksheet(ws)
            return
        # As ExcelWriter.write_worksheet does, with a buffer for the writer's output.
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        writer = WorksheetWriter(ws, out=BytesIO())
        writer.write()
        ws._rels = writer._rels
        self._archive.writestr(ws.path[1:], writer.read())
        self.manifest.append(ws)


def save(wb: Workbook, target: Path | IO[bytes]) -> None:
    """``wb.save(target)``, without temporary files (see the module's docstring)."""
    with ZipFile(target, "w", ZIP_DEFLATED, allowZip64=True) as archive:
        wb.properties.modified = dt.datetime.now(tz=dt.UTC).replace(tzinfo=None)
        _InMemorySheets(wb, archive).write_data()
