"""The pandera schema of a grid form, derived from its definition, and its use.

All returns of a run are validated in one call per form over one frame (a call costs
more than reading a file; one call over thousands of rows costs about the same as one
over a single return). ``lazy=True`` collects every failure; each failure case maps
back through the frame's index to its return and cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from pipeline.extract.returns import GridCell
from pipeline.forms.spec import GridSpec

# Check names are rule codes of :mod:`pipeline.findings`.
NEGATIVE, INTEGER, MAX = "V-NEGATIVE", "V-INTEGER", "V-MAX"
EXPECTED = {NEGATIVE: "0或正整数", INTEGER: "整数", MAX: "{max}"}  # the findings' 应为


def grid_schema(spec: GridSpec) -> pa.DataFrameSchema:
    limit = spec.max_count

    def checks() -> list[pa.Check]:
        return [
            pa.Check(lambda s: s.isna() | (s >= 0), name=NEGATIVE),
            pa.Check(lambda s: s.isna() | (s % 1 == 0), name=INTEGER),
            pa.Check(lambda s: s.isna() | (s <= limit), name=MAX),
        ]

    columns = {
        m.key: pa.Column(float, checks=checks(), nullable=True, required=False, title=m.label)
        for m in spec.inputs
    }
    return pa.DataFrameSchema(columns, strict=False, name=spec.id)


def failures(
    spec: GridSpec, cells: Sequence[tuple[int, GridCell]]
) -> list[tuple[int, GridCell, str]]:
    """Validate every (return index, cell) of ``spec`` at once.

    Returns (return index, offending cell, rule code) for each failure.
    """
    mine = [(i, c) for i, c in cells if c.form == spec.id]
    if not mine:
        return []
    rows: dict[tuple[int, str], dict[str, float | None]] = {}
    lookup: dict[tuple[int, str, str], GridCell] = {}
    for i, c in mine:
        rows.setdefault((i, c.row_key), {})[c.measure] = c.value
        lookup[(i, c.row_key, c.measure)] = c
    keys = list(rows)
    frame = pd.DataFrame(
        [rows[k] for k in keys], columns=[m.key for m in spec.inputs], dtype="float64"
    )
    try:
        grid_schema(spec).validate(frame, lazy=True)
    except SchemaErrors as exc:
        out = []
        cases = exc.failure_cases
        for _, case in cases.iterrows():
            index = case.get("index")
            if index is None or pd.isna(index):
                continue
            ret, row_key = keys[int(index)]
            cell = lookup.get((ret, row_key, str(case["column"])))
            if cell is not None:
                out.append((ret, cell, str(case["check"])))
        return out
    return []
