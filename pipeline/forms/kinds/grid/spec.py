"""A grid's definition: fixed rows (topics) × numeric measures, with derived sums and rates.

kind of a measure:  "count"  a whole number somebody types in
                    "sum"    derived: the sum of `terms` (a formula in the template)
                    "rate"   derived: numerator / denominator × 100, blank when the
                             denominator is 0
role of a count:    who fills it: "institution" (every reporter) or "bureau" (the health
                    administration alone, as 附件2's filling note 5 says)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pipeline.errors import ConfigError, shown
from pipeline.forms.rows import rows_from
from pipeline.forms.spec import COMMON_KEYS, FormSpec, common, require

MeasureKind = Literal["count", "sum", "rate"]
Role = Literal["institution", "bureau"]
MONTH_ROW = "__month"  # 当月累计: the period's total over the rows
CUMULATIVE_ROW = "__cumulative"  # 累计总计: since the campaign began
TOTAL_ROWS = (MONTH_ROW, CUMULATIVE_ROW)


@dataclass(frozen=True)
class Measure:
    """One numeric column of a grid form."""

    key: str
    header: tuple[str, ...]
    unit: str
    kind: MeasureKind
    role: Role | None = None
    terms: tuple[str, ...] = ()
    numerator: str | None = None
    denominator: str | None = None
    # A rate whose open items (denominator − numerator, cumulative) are an anomaly to
    # supervise until closed, e.g. 重大隐患 (挂牌督办).
    flag_open: bool = False

    @property
    def label(self) -> str:
        """Full Chinese name, e.g. ``排查整治隐患/一般隐患/排查``."""
        return "/".join(self.header)

    @property
    def short_label(self) -> str:
        """The header path without the top group when it adds nothing, for messages."""
        return "".join(self.header[1:]) if len(self.header) > 1 else self.header[0]

    @property
    def is_input(self) -> bool:
        return self.kind == "count"

    @property
    def parts(self) -> set[str]:
        """The counts this measure is: itself, or what it is derived from."""
        if self.is_input:
            return {self.key}
        return set(self.terms) | {k for k in (self.numerator, self.denominator) if k}


@dataclass(frozen=True, kw_only=True)
class GridSpec(FormSpec):
    row_header: str
    measures: tuple[Measure, ...]
    month_total_label: str
    cumulative_label: str
    max_count: int

    def measure(self, key: str) -> Measure:
        for m in self.measures:
            if m.key == key:
                return m
        raise KeyError(key)

    @property
    def inputs(self) -> tuple[Measure, ...]:
        return tuple(m for m in self.measures if m.is_input)

    def inputs_for(self, role: str) -> tuple[Measure, ...]:
        """Counts a reporter fills: its role's own ("institution" or "bureau"); a
        subordinate health administration ("administration") reports every count."""
        if role == "administration":
            return self.inputs
        return tuple(m for m in self.inputs if m.role == role)

    def shown_for(self, role: str) -> tuple[Measure, ...]:
        """Measures that mean something for a reporter of ``role``: its counts and what
        is derived from them."""
        counts = {m.key for m in self.inputs_for(role)}
        return tuple(m for m in self.measures if m.parts & counts)

    @property
    def header_depth(self) -> int:
        return max(len(m.header) for m in self.measures)


KEYS = COMMON_KEYS | {
    "row_header",
    "month_total_label",
    "cumulative_label",
    "measures",
    "bounds",
}


def load_grid(data: dict[str, Any], where: str) -> GridSpec:
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise ConfigError(
            f"{where}：“{'”“'.join(unknown)}”不是 grid 类报表可用的设置项。"
            f"可用的有：{'、'.join(sorted(KEYS))}"
        )
    measures = tuple(
        _measure(d, f"{where} 第{i + 1}个 [[measures]]")
        for i, d in enumerate(require(data, "measures", where))
    )
    spec = GridSpec(
        **common(data, where),
        default_rows=rows_from(data.get("default_rows", []), f"{where} [[default_rows]]"),
        row_header=str(data.get("row_header", "")),
        measures=measures,
        month_total_label=str(require(data, "month_total_label", where)),
        cumulative_label=str(require(data, "cumulative_label", where)),
        max_count=int(data.get("bounds", {}).get("max_count", 100000)),
    )
    _check_references(spec, where)
    return spec


def _measure(d: dict[str, Any], where: str) -> Measure:
    kind = require(d, "kind", where)
    if kind not in ("count", "sum", "rate"):
        raise ConfigError(f"{where}：kind 须为 count、sum 或 rate 之一，现为 {shown(kind)}")
    m = Measure(
        key=require(d, "key", where),
        header=tuple(require(d, "header", where)),
        unit=d.get("unit", ""),
        kind=kind,
        role=d.get("role"),
        terms=tuple(d.get("terms", ())),
        numerator=d.get("numerator"),
        denominator=d.get("denominator"),
        flag_open=bool(d.get("flag_open", False)),
    )
    if kind == "count" and m.role not in ("institution", "bureau"):
        raise ConfigError(
            f'{where}：kind = "count" 的栏须写明由谁填报：role = "institution" 或 "bureau"'
        )
    if kind == "sum" and not m.terms:
        raise ConfigError(f'{where}：kind = "sum" 的栏须写明由哪些栏相加：terms = [...]')
    if kind == "rate" and not (m.numerator and m.denominator):
        raise ConfigError(
            f'{where}：kind = "rate" 的栏须写明分子和分母：numerator = "…"、denominator = "…"'
        )
    return m


def _check_references(spec: GridSpec, where: str) -> None:
    counts = {m.key for m in spec.inputs}
    for m in spec.measures:
        refs = (*m.terms, *(r for r in (m.numerator, m.denominator) if r))
        for ref in refs:
            if ref not in counts:
                raise ConfigError(
                    f'{where}：栏 {m.key} 引用了 {ref}，它不是本表的计数栏（kind = "count"）'
                )
