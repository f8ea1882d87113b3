"""A campaign's stages by date (seed 001: 宣传发动 in April, 创建实施 in May, 检查考核 in
June, 巩固提高 from July to December), as its file declares them:

    [[stages]]
    name = "巩固提高"
    from = "2026-07"      # a month ("2026-07": from its first day) or a date
    until = "2026-12"     # a month (to its last day) or a date; inclusive

Every form and report of a period says the stage the period ends in, so a clerk and a
hospital read the same 阶段 the notice set for that time.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from pipeline.config.calendar import Period
from pipeline.errors import ConfigError


@dataclass(frozen=True)
class Stage:
    name: str
    first: dt.date
    last: dt.date


def load_stages(tables: object, where: str) -> tuple[Stage, ...]:
    if tables is None:
        return ()
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(
            f"{where}：[[stages]] 应为表的数组 / [[stages]] must be an array of tables"
        )
    stages = tuple(_stage(t, f"{where} 第{i + 1}个 [[stages]]") for i, t in enumerate(tables))
    ordered = sorted(stages, key=lambda s: s.first)
    for a, b in itertools.pairwise(ordered):
        if b.first <= a.last:
            raise ConfigError(
                f"{where} [[stages]]：“{a.name}”与“{b.name}”的时间重叠 / stages overlap"
            )
    return tuple(ordered)


def _stage(table: dict[str, Any], where: str) -> Stage:
    unknown = sorted(set(table) - {"name", "from", "until"})
    if unknown:
        raise ConfigError(f"{where}：不可用的设置项 {unknown} / unknown keys {unknown}")
    name = table.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}：缺少 name（阶段名称） / missing name")
    first = _day(table.get("from"), where, "from", end=False)
    last = _day(table.get("until", table.get("from")), where, "until", end=True)
    if last < first:
        raise ConfigError(f"{where}：until 早于 from / until is before from")
    return Stage(name, first, last)


def _day(value: object, where: str, key: str, *, end: bool) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        month = Period.parse(str(value), "month")
    except ConfigError as exc:
        raise ConfigError(
            f'{where}：{key} 应为月份（如 "2026-07"）或日期（如 2026-07-15） / bad {key}'
        ) from exc
    return month.last_day() if end else month.first_day()


def stage_of(stages: tuple[Stage, ...], period: Period) -> str:
    """The stage the period ends in ("" outside every stage)."""
    day = period.last_day()
    return next((s.name for s in stages if s.first <= day <= s.last), "")
