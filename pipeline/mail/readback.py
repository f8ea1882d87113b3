"""The key figures of an accepted return, read back to its sender so that a typo shows.

Read from the ledger (what was recorded for the return, not the file) and worded from
the campaign's form definitions: a grid's counts by row, as the institution filled them
(only the cells it fills are recorded), with their total; for any other kind of form,
how many of its rows the institution wrote in. Kept generic, so that a new kind of form
is read back without code here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.findings import as_text
from pipeline.forms.kinds.grid.spec import GridSpec
from pipeline.forms.layout import FOOTER_ROW
from pipeline.ledger.store import Ledger


@dataclass(frozen=True)
class FormFigures:
    """One form of a return, read back: ``lines`` of text, one per row filled."""

    annex: str
    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Readback:
    forms: tuple[FormFigures, ...]
    signed: str  # 填表人：张三；审核人：李四 (the names under the tables), or ""


def _grid_lines(spec: GridSpec, rows: tuple, values: dict[tuple[str, str], float]) -> list[str]:
    lines = []
    totals: dict[str, float] = defaultdict(float)
    for row in rows:
        parts = []
        for m in spec.measures:
            value = values.get((row.key, m.key))
            if value is None:
                continue
            totals[m.key] += value
            parts.append(f"{m.short_label} {as_text(value)}{m.unit}")
        if parts:
            lines.append(f"{row.label}：{'，'.join(parts)}")
    if len(lines) > 1:
        summed = [
            f"{m.short_label} {as_text(totals[m.key])}{m.unit}"
            for m in spec.measures
            if m.key in totals
        ]
        lines.append(f"合计：{'，'.join(summed)}")
    return lines or ["（未填写）"]


class Readbacks:
    """The read-back figures of every accepted return of a period, by its sha256 (read
    from the ledger once for all the period's receipts)."""

    def __init__(self, campaign: Campaign, ledger: Ledger, period: Period) -> None:
        self.campaign = campaign
        p = str(period)
        self.values: dict[str, dict[str, dict[tuple[str, str], float]]] = {}
        self.rows: dict[str, dict[str, set[str]]] = {}
        self.names: dict[str, dict[str, str]] = {}
        for spec in campaign.forms:
            for *_, row, measure, value, _cell, _file, sha in ledger.accepted_values(spec.id, p, p):
                if value is not None:
                    self.values.setdefault(sha, {}).setdefault(spec.id, {})[(row, measure)] = value
            for *_, row, fld, text, _cell, _file, sha in ledger.accepted_texts(spec.id, p, p):
                if row == FOOTER_ROW:
                    self.names.setdefault(sha, {}).setdefault(fld, text)
                else:
                    self.rows.setdefault(sha, {}).setdefault(spec.id, set()).add(row)

    def of(self, sha256: str, year: int) -> Readback:
        forms = []
        for spec in self.campaign.forms:
            if isinstance(spec, GridSpec):
                values = self.values.get(sha256, {}).get(spec.id, {})
                lines = _grid_lines(spec, self.campaign.rows_for(spec), values)
            else:
                count = len(self.rows.get(sha256, {}).get(spec.id, ()))
                lines = [f"填写了 {count} 行" if count else "（未填写）"]
            forms.append(FormFigures(spec.annex, spec.title_for(year), tuple(lines)))
        names = self.names.get(sha256, {})
        signed = "；".join(f"{field}：{name}" for field, name in names.items())
        return Readback(tuple(forms), signed)
