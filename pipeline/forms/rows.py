"""The fixed rows of a form: a grid's topics (专题专项), a list's pre-filled tasks.

Rows belong to each form's definition (``[[default_rows]]``); a campaign may replace or
extend them for one form by its id (``[[forms.<id>.rows]]``, ``[[forms.<id>.local_rows]]``),
as a district adds local topics (附件2 filling note 1).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import ConfigError


@dataclass(frozen=True)
class Milestone:
    """A dated step of a seeded item's plan (节点计划): by ``day``, ``percent`` done."""

    day: dt.date
    percent: float
    text: str = ""

    def label(self) -> str:
        return f"{self.day.isoformat()} {self.text}（{self.percent:g}%）".replace(" （", "（")


@dataclass(frozen=True)
class Row:
    """One fixed row. ``label`` is what a grid shows in its first column (other spellings
    read back in ``aliases``, e.g. the annex's own misprint); ``values`` are a list's
    pre-filled fields by key."""

    key: str
    label: str = ""
    aliases: tuple[str, ...] = ()
    values: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    milestones: tuple[Milestone, ...] = ()  # a seeded register item's plan, by date

    def matches(self, text: str) -> bool:
        return text in (self.label, *self.aliases)


def rows_from(
    tables: object, where: str, defaults: Mapping[str, str] | None = None
) -> tuple[Row, ...]:
    """Rows from a TOML array of tables; ``defaults`` are every row's field values."""
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{where}：须为若干行，每行以 [[…]] 开头、下面写 key = ...")
    rows = []
    for i, table in enumerate(tables):
        rows.append(_row(table, f"{where} 第{i + 1}项", defaults or {}))
    keys = [r.key for r in rows]
    if len(set(keys)) != len(keys):
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        raise ConfigError(f"{where}：行的 key 重复：{'、'.join(repeated)}；每行的 key 须各不相同")
    return tuple(rows)


def _row(table: dict[str, Any], where: str, defaults: Mapping[str, str]) -> Row:
    if "key" not in table:
        raise ConfigError(f"{where}：缺少必填的键 key")
    aliases = table.get("aliases", ())
    if not isinstance(aliases, list | tuple) or not all(isinstance(a, str) for a in aliases):
        raise ConfigError(f'{where}：aliases 须为文字的列表，如 aliases = ["别名一", "别名二"]')
    values = {
        **defaults,
        **{
            k: str(v)
            for k, v in table.items()
            if k not in ("key", "label", "aliases", "milestones")
        },
    }
    return Row(
        key=str(table["key"]),
        label=str(table.get("label", "")),
        aliases=tuple(aliases),
        values=values,
        milestones=_milestones(table.get("milestones", []), f"{where} milestones"),
    )


def _milestones(tables: object, where: str) -> tuple[Milestone, ...]:
    """``milestones = [{ date = 2026-06-30, percent = 60, text = "主体结构封顶" }, ...]``:
    dates in order, percents never going down, each 0–100."""
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{where}：应为表的列表，如 [{{ date = 2026-06-30, percent = 60 }}]")
    out = []
    for i, t in enumerate(tables, start=1):
        day = t.get("date")
        if isinstance(day, str):
            try:
                day = dt.date.fromisoformat(day)
            except ValueError:
                day = None
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise ConfigError(f"{where} {i}：date 应为日期，如 2026-06-30 / date must be a date")
        percent = t.get("percent")
        if not isinstance(percent, int | float) or not 0 <= percent <= 100:
            raise ConfigError(f"{where} {i}：percent 应为 0—100 的数 / percent must be 0..100")
        out.append(Milestone(day, float(percent), str(t.get("text", ""))))
    for a, b in itertools.pairwise(out):
        if b.day <= a.day or b.percent < a.percent:
            raise ConfigError(
                f"{where}：节点应按日期先后排列，进度不能减少（{a.label()} → {b.label()}）"
                " / milestones must be in date order with percents never going down"
            )
    return tuple(out)
