"""Where everything of a form sits on its sheet, derived from the definition and its rows.

The template writer, the extractor, the layout check and the report writers all ask the
layout for cell addresses, so a form's geometry is computed in exactly one place. The
layout's *fingerprint* is a hash of every fixed label and where it sits: a template and
a return agree on layout exactly when their fingerprints agree.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from pipeline.forms.cells import column_letter
from pipeline.forms.spec import FormSpec, GridSpec, ListSpec, Task, Topic

MONTH_ROW = "__month"
CUMULATIVE_ROW = "__cumulative"


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
    title_row: int = 1
    unit_row: int = 2  # 填报单位 / period line
    labels: dict[tuple[int, int], str] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    row_of: dict[str, int] = field(default_factory=dict)
    col_of: dict[str, int] = field(default_factory=dict)
    header_rows: tuple[int, ...] = ()
    first_data_row: int = 0
    last_data_row: int = 0
    footer_row: int = 0
    # (label as on the sheet, its column); the cell to its right is where a name goes
    footer_cells: list[tuple[str, int]] = field(default_factory=list)
    spare_rows: tuple[int, ...] = ()

    def cell(self, row_key: str, col_key: str) -> str:
        return f"{column_letter(self.col_of[col_key])}{self.row_of[row_key]}"

    def coords(self, row_key: str, col_key: str) -> tuple[int, int]:
        return self.row_of[row_key], self.col_of[col_key]

    @property
    def fingerprint(self) -> str:
        payload = json.dumps(
            [self.sheet, sorted((f"{r},{c}", t) for (r, c), t in self.labels.items())],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _grid_layout(spec: GridSpec, topics: tuple[Topic, ...]) -> Layout:
    depth = spec.header_depth
    lay = Layout(spec=spec, sheet=spec.sheet, width=1 + len(spec.measures))
    top = 3
    lay.header_rows = tuple(range(top, top + depth))
    unit_row = top + depth
    lay.labels[(top, 1)] = spec.row_header
    lay.merges.append(Merge(top, 1, top + depth - 1, 1))
    for i, m in enumerate(spec.measures):
        lay.col_of[m.key] = 2 + i
    # Merge equal header prefixes across columns; a path's last label extends downwards.
    for level in range(depth):
        i = 0
        while i < len(spec.measures):
            m = spec.measures[i]
            if len(m.header) <= level:
                i += 1
                continue
            j = i
            while (
                j + 1 < len(spec.measures)
                and len(spec.measures[j + 1].header) > level
                and spec.measures[j + 1].header[: level + 1] == m.header[: level + 1]
                and len(m.header) > level + 1
            ):
                j += 1
            last_row = top + level if len(m.header) > level + 1 else top + depth - 1
            lay.labels[(top + level, 2 + i)] = m.header[level]
            if j > i or last_row > top + level:
                lay.merges.append(Merge(top + level, 2 + i, last_row, 2 + j))
            i = j + 1
    for m in spec.measures:
        lay.labels[(unit_row, lay.col_of[m.key])] = f"（{m.unit}）"
    row = unit_row + 1
    lay.first_data_row = row
    for t in topics:
        lay.row_of[t.key] = row
        lay.labels[(row, 1)] = t.label
        row += 1
    for key, label in (
        (MONTH_ROW, spec.month_total_label),
        (CUMULATIVE_ROW, spec.cumulative_label),
    ):
        lay.row_of[key] = row
        lay.labels[(row, 1)] = label
        row += 1
    lay.last_data_row = row - 1
    lay.footer_row = row + 1
    return lay


def _list_layout(spec: ListSpec, tasks: tuple[Task, ...]) -> Layout:
    lay = Layout(spec=spec, sheet=spec.sheet, width=len(spec.fields))
    header = 3
    lay.header_rows = (header,)
    for i, f in enumerate(spec.fields):
        lay.col_of[f.key] = 1 + i
        lay.labels[(header, 1 + i)] = f.header
    row = header + 1
    lay.first_data_row = row
    identity = spec.identity_field
    group_start: int | None = None
    for t in tasks:
        lay.row_of[t.key] = row
        if identity:
            lay.labels[(row, lay.col_of[identity])] = t.values.get(identity, "")
        if spec.opens_group(t):
            group_start = row
        elif group_start is not None:
            for key in spec.group_fields:
                col = lay.col_of[key]
                lay.merges = [
                    m for m in lay.merges if (m.first_row, m.first_col) != (group_start, col)
                ]
                lay.merges.append(Merge(group_start, col, row, col))
        row += 1
    spare = []
    for n in range(spec.spare_rows):
        key = f"new{n + 1}"
        lay.row_of[key] = row
        spare.append(row)
        row += 1
    lay.spare_rows = tuple(spare)
    lay.last_data_row = row - 1
    lay.footer_row = row + 1
    return lay


FOOTER_ROW = "__footer"  # row key of the names under a table (审核人, 填表人...)


def footer_key(label: str) -> str:
    """``审核人：`` → ``审核人``: the field name a footer entry is recorded under."""
    return label.split("：")[0].strip()


def _footer_cells(spec: FormSpec, width: int) -> list[tuple[str, int]]:
    """Labels spread across the table, each with a free cell to its right; a narrow
    first column (序号) is skipped so a label is not hidden by the name beside it."""
    narrow = isinstance(spec, ListSpec) and spec.fields[0].width < 8
    start = 2 if narrow else 1
    labels = [f for f in spec.footer if f]
    step = max(2, (width - start + 1) // max(1, len(labels)))
    return [(label, start + i * step) for i, label in enumerate(labels)]


def build_layout(spec: FormSpec, rows: tuple[Topic, ...] | tuple[Task, ...]) -> Layout:
    lay = (
        _grid_layout(spec, rows)  # type: ignore[arg-type]
        if isinstance(spec, GridSpec)
        else _list_layout(spec, rows)  # type: ignore[arg-type]
    )
    lay.footer_cells = _footer_cells(spec, lay.width)
    return lay
