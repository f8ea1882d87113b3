"""A workbook's cells as read from a returned file: what every form kind extracts from.

The reader (:mod:`pipeline.extract.reader`) fills these from the file's XML; the form
kinds read them by the geometry of their layout. Values are as the file states them:
numbers, text, dates (cells formatted as dates), booleans, and formulas as
:class:`Formula` with their cached results kept apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class Formula(str):
    """A cell's formula text (``=A1+B1``), as opposed to a string that starts with '='."""


@dataclass
class RawSheet:
    name: str
    state: str
    cells: dict[tuple[int, int], object] = field(default_factory=dict)
    cached: dict[tuple[int, int], object] = field(default_factory=dict)
    hidden_rows: set[int] = field(default_factory=set)

    def text(self, row: int, col: int) -> str:
        value = self.cells.get((row, col))
        return "" if value is None else str(value).strip()


@dataclass
class RawWorkbook:
    sheets: dict[str, RawSheet]
    meta: dict[str, str] | None
    # Harmless to reading, yet to be told: (rule, detail), e.g. a file Excel cannot open.
    notes: list[tuple[str, str]] = field(default_factory=list)
