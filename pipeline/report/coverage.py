"""<coverage title>_<period>.xlsx (督导覆盖情况): per window (half-month) since the
campaign began, how many institutions were to be covered, how many were and who was not;
then the windows the period overlaps, institution by institution, with the last visit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.forms.kinds.base import Table
from pipeline.report.summary import write_tables

if TYPE_CHECKING:
    from pipeline.aggregate.coverage import Covered
    from pipeline.aggregate.period import PeriodData


def tables(found: Covered) -> list[Table]:
    cov = found.coverage
    label = found.period.label()
    history = [
        [
            w.period.label(),
            f"{w.period.first_day():%m-%d}至{w.period.last_day():%m-%d}",
            len(w.due),
            len(w.due) - len(w.missed),
            w.rate,
            "已结束" if w.complete else "进行中",
            "、".join(i.name for i in w.missed) or "无",
        ]
        for w in reversed(found.windows)
    ]
    detail = []
    for w in found.current:
        for inst in w.due:
            visits = sorted(w.visits.get(inst.code, []), key=lambda v: v.day)
            detail.append(
                [
                    w.period.label(),
                    inst.code,
                    inst.name,
                    inst.level,
                    len(visits),
                    "、".join(v.day.isoformat() for v in visits) or "未督导",
                    "" if visits else ("未覆盖" if w.complete else "尚未督导（进行中）"),
                ]
            )
    return [
        Table(
            sheet="按半月" if cov.every == "half" else "按期",
            title=f"{cov.title}（截至{label}末）",
            headers=[
                "时段",
                "起止",
                "应覆盖（家）",
                "已覆盖（家）",
                "覆盖率（%）",
                "状态",
                "未覆盖单位",
            ],
            rows=history,
            widths=[18, 14, 10, 10, 10, 8, 48],
        ),
        Table(
            sheet="本期各单位",
            title=f"{cov.title}：{label}所在时段各单位督导情况",
            headers=["时段", "机构代码", "机构名称", "机构级别", "督导次数", "督导日期", "说明"],
            rows=detail,
            widths=[18, 10, 28, 16, 8, 30, 18],
        ),
    ]


def write(data: PeriodData, outbox: Path) -> list[Path]:
    return [
        write_tables(
            outbox / f"{found.coverage.title}_{data.period}.xlsx", tables(found), data.stage
        )
        for found in data.coverage
    ]
