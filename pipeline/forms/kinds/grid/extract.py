"""A grid's cells as records: the counts its reporter fills, normalised and logged; what
it typed into columns it does not fill; and every derived cell, to be checked."""

from __future__ import annotations

from pipeline.findings import make
from pipeline.forms.cells import column_letter
from pipeline.forms.kinds.base import ReadContext
from pipeline.forms.kinds.grid.spec import TOTAL_ROWS, GridSpec
from pipeline.forms.layout import Layout
from pipeline.forms.records import Extracted, GridCell
from pipeline.forms.sheet import Formula, RawSheet
from pipeline.forms.values import normalise_number


def fills_words(spec: GridSpec, role: str) -> dict[str, str]:
    """The column groups a reporter fills, for messages: “排查整治隐患”."""
    groups = dict.fromkeys(m.header[0] for m in spec.inputs_for(role))
    return {"fills": "、".join(f"“{g}”" for g in groups) or "本表"}


def extract_grid(
    sheet: RawSheet, spec: GridSpec, lay: Layout, ctx: ReadContext, out: Extracted
) -> None:
    role = ctx.institution.role
    mine = {m.key for m in spec.inputs_for(role)}
    for row_key, r in lay.row_of.items():
        total_row = row_key in TOTAL_ROWS
        for m in spec.measures:
            c = lay.col_of[m.key]
            cell = f"{column_letter(c)}{r}"
            raw = sheet.cells.get((r, c))
            loc = {**ctx.where, "form": spec.id, "sheet": sheet.name, "cell": cell}
            what = f"{lay.labels.get((r, 1), row_key)}/{m.short_label}"
            if m.is_input and not total_row:
                norm = normalise_number(raw, units=(m.unit,))
                if norm.error:
                    out.findings.append(make("V-PARSE", value=raw, what=what, **loc))
                    continue
                if norm.changed and norm.value is not None:
                    out.findings.append(
                        make("N-NORMALISED", value=raw, expected=norm.value, what=what, **loc)
                    )
                if m.key not in mine:
                    if norm.value:
                        out.findings.append(
                            make(
                                "V-NOT-YOURS",
                                value=norm.value,
                                what=what,
                                words=fills_words(spec, role),
                                **loc,
                            )
                        )
                        out.foreign.append(GridCell(spec.id, row_key, m.key, cell, raw, norm.value))
                    continue
                out.values.append(GridCell(spec.id, row_key, m.key, cell, raw, norm.value))
            else:
                typed = not isinstance(raw, Formula)
                stated = raw if typed else sheet.cached.get((r, c))
                if stated == "":
                    stated = None
                norm = normalise_number(stated, rate=m.kind == "rate", units=(m.unit,))
                value = None if norm.error else norm.value
                out.claims.append(GridCell(spec.id, row_key, m.key, cell, raw, value, typed))
