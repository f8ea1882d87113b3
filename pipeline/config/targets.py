"""Targets by a roster attribute: what each group of institutions must reach, and by when.

A campaign file may declare, for an ordered choice field of one of its forms (建设阶段),
the stage each group of institutions (by a roster column: 机构级别, 经济类型…) must have
reached by a date, and the share of the group that must have (a rate, 100% unless said):

    [[targets]]
    title = "标准化建设进度"
    form = "bzh_progress"         # the form, and its field that moves in order
    field = "stage"
    by = "机构级别"                # the roster column the groups are made of
    [[targets.deadlines]]
    groups = ["三级医院"]          # values of that column; "*": every institution in scope
    reach = "已自评"
    date = 2023-03-31
    rate = 100                    # percent of the group (default 100)
    [targets.rates]               # optional: what the notice calls a stage's rate
    "验收达标" = "达标率"

The outputs count, per group, the institutions that reached each stage named, the rate
against each deadline, and list the institutions past a deadline without its stage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pipeline.config.roster import COLUMNS
from pipeline.errors import ConfigError

EVERYONE = "*"


@dataclass(frozen=True)
class Deadline:
    groups: tuple[str, ...]  # values of the roster column, or ("*",)
    reach: str  # the value of the field the group must have reached
    date: dt.date
    rate: float = 100.0  # percent of the group

    def covers(self, group: str) -> bool:
        return EVERYONE in self.groups or group in self.groups


@dataclass(frozen=True)
class Targets:
    title: str
    form: str
    field: str
    by: str  # the roster attribute (Institution field), e.g. "level"
    by_label: str  # as headed in the roster, e.g. 机构级别
    deadlines: tuple[Deadline, ...]
    rates: tuple[tuple[str, str], ...] = ()  # (stage, name of its rate), e.g. 达标率

    def rate_name(self, stage: str) -> str:
        return dict(self.rates).get(stage, "比例")


def load_targets(tables: object, where: str) -> tuple[Targets, ...]:
    if tables is None:
        return ()
    if not isinstance(tables, list):
        raise ConfigError(
            f"{where}：[[targets]] 应为表的数组 / [[targets]] must be an array of tables"
        )
    return tuple(_targets(t, f"{where} 第{i + 1}个 [[targets]]") for i, t in enumerate(tables))


def _targets(table: Any, where: str) -> Targets:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}：应为一个表 / must be a table")
    unknown = sorted(set(table) - {"title", "form", "field", "by", "deadlines", "rates"})
    if unknown:
        raise ConfigError(f"{where}：不可用的设置项 {unknown} / unknown keys {unknown}")
    for key in ("form", "field", "by"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise ConfigError(f"{where}：缺少 {key} / missing required key '{key}'")
    if table["by"] not in COLUMNS:
        raise ConfigError(
            f"{where}：by 应为名册的一列（{'、'.join(COLUMNS)}），不是“{table['by']}” / unknown roster column"
        )
    deadlines = []
    for i, d in enumerate(table.get("deadlines", []), start=1):
        w = f"{where} deadlines 第{i}项"
        if not isinstance(d, dict) or not isinstance(d.get("reach"), str):
            raise ConfigError(f"{w}：缺少 reach（应达到的阶段） / missing reach")
        date = d.get("date")
        if not isinstance(date, dt.date):
            raise ConfigError(f"{w}：date 应为日期，如 2023-03-31 / date must be a TOML date")
        groups = d.get("groups", [EVERYONE])
        if isinstance(groups, str):
            groups = [groups]
        rate = float(d.get("rate", 100))
        if not 0 < rate <= 100:
            raise ConfigError(f"{w}：rate 应在 0—100 之间 / rate must be a percent")
        deadlines.append(Deadline(tuple(str(g) for g in groups), d["reach"], date, rate))
    rates = table.get("rates", {})
    if not isinstance(rates, dict) or not all(isinstance(v, str) for v in rates.values()):
        raise ConfigError(
            f'{where}：rates 应为“阶段 = 名称”的表，如 "验收达标" = "达标率" / bad rates'
        )
    stray = sorted(set(rates) - {d.reach for d in deadlines})
    if stray:
        raise ConfigError(
            f"{where}：rates 中的阶段 {stray} 没有对应的 deadlines / rates name stages no deadline names"
        )
    return Targets(
        title=str(table.get("title", "进度")),
        form=table["form"],
        field=table["field"],
        by=COLUMNS[table["by"]],
        by_label=table["by"],
        deadlines=tuple(deadlines),
        rates=tuple((str(k), str(v)) for k, v in rates.items()),
    )
