"""What the leaders read of a period, as data: headline figures, facts for the briefing's
text, charts and a table — one :class:`FormDigest` per form, made by its kind's digester
from the very objects the workbooks are written from (a grid's aggregated table, a
register's or list's book tables), so the page, the briefing and 汇总表 show one number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.forms.kinds.base import Table
from pipeline.report.charts import Chart, fmt


@dataclass(frozen=True)
class Figure:
    """One headline number: ``value`` in the period (or as at its end), ``change`` from
    the period before where that means something."""

    label: str
    value: float | None
    unit: str = ""
    scope: str = ""  # 本期, 累计, 期末 …
    change: float | None = None
    key: str = ""  # where the output has it: "<form>:<row key>:<measure>" for a grid

    @property
    def text(self) -> str:
        return fmt(self.value, self.unit)

    @property
    def unit_text(self) -> str:
        return "" if self.unit == "%" else self.unit


@dataclass
class FormDigest:
    form: str  # the form's id
    kind: str  # its kind: grid, register, list
    title: str
    headlines: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    table: Table | None = None  # the headline table of the briefing
    facts: dict[str, Any] = field(default_factory=dict)  # what its briefing text says


@dataclass
class Digest:
    """A campaign's period for its leaders."""

    campaign: str
    code: str
    bureau: str
    period: str  # its key
    label: str  # as written: 2026年9月
    stage: str
    due: str
    reporting: dict[str, Any]
    headlines: list[Figure]
    charts: list[Chart]  # the reporting charts
    forms: list[FormDigest]

    def all_charts(self) -> list[Chart]:
        return [*self.charts, *(c for f in self.forms for c in f.charts)]

    def all_headlines(self) -> Sequence[Figure]:
        return [*self.headlines, *(h for f in self.forms for h in f.headlines)]
