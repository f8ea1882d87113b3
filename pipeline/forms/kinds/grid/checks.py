"""A grid's checks: its counts through one pandera call per form over every return of a
run, then the definition's arithmetic against every derived cell the file states.

Derived cells are never trusted. A number typed over a formula (D-OVERWRITTEN) or a
cached result that disagrees with the counts (D-CACHED) rejects the return; a 累计总计
that differs from the ledger's is only noted (D-CUMULATIVE): the ledger is the record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.findings import Finding, make
from pipeline.forms.kinds.base import CheckContext, Returned
from pipeline.forms.kinds.grid.arithmetic import derive_table, rate_words
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW, GridSpec, Measure
from pipeline.forms.kinds.grid.totals import cumulative_counts, grid_totals
from pipeline.forms.layout import Layout
from pipeline.forms.records import GridCell
from pipeline.forms.rows import Row

RATE_TOLERANCE = 0.05 + 1e-9  # a rate shown to one decimal, with float slack
# Check names are rule codes of pipeline.findings.
NEGATIVE, INTEGER, MAX = "V-NEGATIVE", "V-INTEGER", "V-MAX"
BLANKS_SHOWN = 10  # blank cells named in the finding; more are counted
EXPECTED = {NEGATIVE: "0或正整数", INTEGER: "整数", MAX: "{max}"}  # the findings' 应为


def validate_grid(
    spec: GridSpec,
    rows: tuple[Row, ...],
    lay: Layout,
    batch: Sequence[Returned],
    ctx: CheckContext,
) -> None:
    topics = [r.key for r in rows]
    labels = {k: lay.labels.get((r, 1), k) for k, r in lay.row_of.items()}
    cells = [(i, c) for i, r in enumerate(batch) for c in r.extracted.values]
    refused: dict[int, set[tuple[str, str]]] = {}
    for i, cell, rule in failures(spec, cells):
        refused.setdefault(i, set()).add((cell.row_key, cell.measure))
        returned = batch[i]
        what = f"{labels[cell.row_key]}/{spec.measure(cell.measure).short_label}"
        returned.extracted.findings.append(
            make(
                rule,
                value=cell.raw if cell.raw is not None else cell.value,
                expected=EXPECTED[rule].format(max=spec.max_count),
                what=what,
                form=spec.id,
                sheet=spec.sheet,
                cell=cell.cell,
                **returned.where,
            )
        )
    previous = cumulative_counts(
        grid_totals(spec, rows, ctx.records, ctx.start, ctx.period.shift(-1))
    )
    for i, returned in enumerate(batch):
        ext = returned.extracted
        prev = previous.get(ext.institution.code, {})
        ext.findings.extend(
            check_return(
                spec,
                topics,
                ext.values,
                ext.claims,
                prev,
                returned.where,
                labels,
                ext.foreign,
                refused.get(i, set()),
            )
        )


def grid_schema(spec: GridSpec) -> Any:
    import pandera.pandas as pa  # pandas and pandera: only when there is work

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
    """Validate every (return index, cell) of ``spec`` at once: all returns of a run in
    one frame (a call costs more than reading a file; one over thousands of rows costs
    about the same as one over a single return). Returns (return index, offending cell,
    rule code) for each failure."""
    import pandas as pd
    from pandera.errors import SchemaErrors

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
        for _, case in exc.failure_cases.iterrows():
            index = case.get("index")
            if index is None or pd.isna(index):
                continue
            ret, row_key = keys[int(index)]
            cell = lookup.get((ret, row_key, str(case["column"])))
            if cell is not None:
                out.append((ret, cell, str(case["check"])))
        return out
    return []


def _differs(m: Measure, stated: float | None, expected: float | None) -> bool:
    if m.kind == "rate":
        if expected is None or stated is None:
            return (expected is None) != (stated is None)
        return abs(stated - expected) > RATE_TOLERANCE
    return (stated or 0) != (expected or 0)


def check_return(
    spec: GridSpec,
    topics: list[str],
    values: list[GridCell],
    claims: list[GridCell],
    prev_cumulative: Mapping[str, float],
    where: Mapping[str, Any],
    labels: Mapping[str, str],
    foreign: Sequence[GridCell] = (),
    refused: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> list[Finding]:
    """Compare what the file states in derived cells with what its counts give.

    ``foreign`` are counts typed into columns the reporter does not fill: not counted,
    but the file's formulas include them, so the comparison does too. ``refused`` are
    the counts (row, measure) already refused (a negative number): no rule is applied
    to figures made from them, which would only repeat the refusal in other words.
    """
    counts = {(c.row_key, c.measure): c.value for c in values if c.form == spec.id}
    typed = counts | {(c.row_key, c.measure): c.value for c in foreign if c.form == spec.id}
    expected = derive_table(spec, topics, counts, prev_cumulative)
    as_typed = derive_table(spec, topics, typed, prev_cumulative)
    findings: list[Finding] = []
    for claim in claims:
        if claim.form != spec.id:
            continue
        m = spec.measure(claim.measure)
        want = as_typed.get((claim.row_key, claim.measure))
        what = f"{labels.get(claim.row_key, claim.row_key)}/{m.short_label}"
        loc = {**where, "form": spec.id, "sheet": spec.sheet, "cell": claim.cell}
        if not claim.typed and claim.value is None:
            continue  # a formula never calculated (saved by a script): nothing to compare
        if not _differs(m, claim.value, want):
            continue
        if m.kind == "rate":  # shown as the sheet shows it, to one decimal
            want = None if want is None else round(want, 1)
        if claim.row_key == CUMULATIVE_ROW:
            findings.append(
                make("D-CUMULATIVE", value=claim.value, expected=want, what=what, **loc)
            )
        else:
            rule = "D-OVERWRITTEN" if claim.typed else "D-CACHED"
            shown = "空白" if claim.value is None else claim.value
            findings.append(
                make(
                    rule,
                    value=shown,
                    expected=want if want is not None else "空白",
                    what=what,
                    **loc,
                )
            )
    mine = [c for c in values if c.form == spec.id]
    if mine and all(c.value is None for c in mine):
        findings.append(make("A-BLANK", **{**where, "form": spec.id, "sheet": spec.sheet}))
    elif blank := [c for c in mine if c.value is None and c.raw is None]:
        # 「没有请填0」: a blank among filled cells is counted as 0, and said.
        shown = "、".join(c.cell for c in blank[:BLANKS_SHOWN])
        shown += f"等{len(blank)}个" if len(blank) > BLANKS_SHOWN else ""
        findings.append(
            make(
                "A-BLANK-CELLS",
                value=len(blank),
                expected=shown,
                **{**where, "form": spec.id, "sheet": spec.sheet, "cell": blank[0].cell},
            )
        )
    cell_of = {(c.row_key, c.measure): c.cell for c in claims if c.form == spec.id}
    for m in spec.measures:
        if m.kind == "rate":
            if any(measure in (m.numerator, m.denominator) for _, measure in refused):
                continue
            fixed = expected[(MONTH_ROW, m.numerator)] or 0  # type: ignore[index]
            found = expected[(MONTH_ROW, m.denominator)] or 0  # type: ignore[index]
            if fixed > found:
                findings.append(
                    make(
                        "A-MONTH-RATE",
                        value=fixed,
                        expected=found,
                        words=rate_words(spec, m),
                        what=f"{labels.get(MONTH_ROW, '')}/{m.short_label}",
                        **{
                            **where,
                            "form": spec.id,
                            "sheet": spec.sheet,
                            "cell": cell_of.get((MONTH_ROW, m.key), ""),
                        },
                    )
                )
    return findings
