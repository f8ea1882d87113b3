"""A list's checks across periods: a field whose choices are in order (建设阶段) going
back from what the institution reported before is a warning naming both values
(V-STEP-BACK): 验收达标 → 建设中 is a question to ask, not a return to refuse."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.findings import make
from pipeline.forms.kinds.base import CheckContext, Returned
from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.layout import Layout


def steps_back(spec: ListSpec, lay: Layout, batch: Sequence[Returned], ctx: CheckContext) -> None:
    ordered = {f.key: f for f in spec.fields if f.ordered and f.is_input}
    if not ordered:
        return
    before: dict[tuple[str, str, str], tuple[str, str]] = {}
    for inst, period, _first, row, fld, text, *_ in ctx.records.item_states(
        spec.id, str(ctx.period.shift(-1))
    ):
        if fld in ordered:
            before[(inst, row, fld)] = (text, period)
    for returned in batch:
        ext = returned.extracted
        for t in ext.texts:
            f = ordered.get(t.field)
            if f is None or t.form != spec.id:
                continue
            last = before.get((ext.institution.code, t.row_key, t.field))
            if last is None or f.rank(t.text) < 0 or f.rank(t.text) >= f.rank(last[0]):
                continue
            ext.findings.append(
                make(
                    "V-STEP-BACK",
                    value=t.text,
                    expected=last[0],
                    what=f.header,
                    words={"when": last[1]},
                    **{**returned.where, "form": spec.id, "sheet": spec.sheet, "cell": t.cell},
                )
            )
