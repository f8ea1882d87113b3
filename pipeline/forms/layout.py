"""Where everything of a form sits on its sheet, computed once from the definition.

Each form kind builds the layout of its sheet (:meth:`FormKind.layout`); the template
writer, the extractor, the layout check and the report writers all ask it for cell
addresses, so a form's geometry is computed in exactly one place. The layout's
*fingerprint* is a hash of every fixed label and where it sits: a template and a return
agree on layout exactly when their fingerprints agree. Item rows of a register are data,
not labels, so every institution's register has the same fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from pipeline.forms.cells import column_letter
from pipeline.forms.spec import FormSpec

TITLE_ROW = 1
UNIT_ROW = 2  # 填报单位 … 报告期 …
FOOTER_ROW = "__footer"  # row key of the names under a table (审核人, 填表人...)


@dataclass(frozen=True)
class Merge:
    first_row: int
    first_col: int
    last_row: int
    last_col: int

    @property
    def ref(self) -> str:
        a = f"{column_letter(self.first_col)}{self.first_row}"
        b = f"{column_letter(self.last_col)}{self.last_row}"
        return f"{a}:{b}"


@dataclass
class Layout:
    """Cell geometry of one form sheet."""

    spec: FormSpec
    sheet: str
    width: int  # number of columns used
    title_row: int = TITLE_ROW
    unit_row: int = UNIT_ROW
    labels: dict[tuple[int, int], str] = field(default_factory=dict)
    # other spellings a label may have on a returned sheet (a topic's aliases)
    aliases: dict[tuple[int, int], tuple[str, ...]] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    row_of: dict[str, int] = field(default_factory=dict)
    col_of: dict[str, int] = field(default_factory=dict)
    header_rows: tuple[int, ...] = ()
    first_data_row: int = 0
    last_data_row: int = 0
    footer_row: int = 0
    # (label as on the sheet, its column); the cell to its right is where a name goes
    footer_cells: list[tuple[str, int]] = field(default_factory=list)
    spare_rows: tuple[int, ...] = ()  # blank rows to add tasks or items in
    # An aggregated return laid out otherwise than the template (a list's row for each
    # institution under each task): what its metadata declares, so that the level above
    # builds this layout to read it. "" for the form's own layout.
    variant: str = ""

    def cell(self, row_key: str, col_key: str) -> str:
        return f"{column_letter(self.col_of[col_key])}{self.row_of[row_key]}"

    def coords(self, row_key: str, col_key: str) -> tuple[int, int]:
        return self.row_of[row_key], self.col_of[col_key]

    def accepts(self, row: int, col: int, text: str) -> bool:
        """Whether ``text`` found at (row, col) is the label expected there."""
        expected = self.labels.get((row, col), "")
        if "".join(text.split()) == "".join(expected.split()):
            return True
        return text in self.aliases.get((row, col), ())

    @property
    def fingerprint(self) -> str:
        payload = json.dumps(
            [self.sheet, sorted((f"{r},{c}", t) for (r, c), t in self.labels.items())],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class Declared(str):
    """The variant an aggregated return's metadata declares (:attr:`Layout.variant`),
    handed to the form's kind as the content its layout is built for."""


def footer_key(label: str) -> str:
    """``审核人：`` → ``审核人``: the field name a footer entry is recorded under."""
    return label.split("：")[0].strip()


def footer_cells(spec: FormSpec, width: int, start: int = 1) -> list[tuple[str, int]]:
    """Labels spread across the table, each with a free cell to its right, from column
    ``start`` (a kind skips a narrow first column so a label is not hidden by a name)."""
    labels = [f for f in spec.footer if f]
    step = max(2, (width - start + 1) // max(1, len(labels)))
    return [(label, start + i * step) for i, label in enumerate(labels)]
