"""<targets title>_<period>.xlsx: a campaign's targets by group (机构级别…) — institutions,
how many reached each stage a deadline names, the rate against it and whether the group
met it — and the institutions past a deadline without its stage, with the days late."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.forms.kinds.base import Table
from pipeline.report.summary import write_tables

if TYPE_CHECKING:
    from pipeline.aggregate.period import PeriodData
    from pipeline.aggregate.targets import Progress


def tables(found: Progress) -> list[Table]:
    t = found.targets
    end = found.period.last_day()
    heads = [t.by_label, "单位数"]
    for stage in found.named:
        heads += [
            f"达到“{stage}”（家）",
            f"{t.rate_name(stage)}（%）",
            "截止日期",
            "要求（%）",
            "状态",
        ]
    rows: list[list[object]] = []
    for group in found.groups():
        members = [s for s in found.standings if s.group == group]
        row: list[object] = [group, len(members)]
        for stage in found.named:
            n = sum(1 for s in members if found.reached(s, stage))
            rate = round(n / len(members) * 100, 1) if members else None
            d = found.deadline(group, stage)
            if d is None:
                row += [n, rate, "", "", "不要求"]
                continue
            met = rate is not None and rate >= d.rate
            state = "已达到" if met else ("逾期未达到" if d.date < end else "未到期")
            row += [n, rate, d.date.isoformat(), d.rate, state]
        rows.append(row)
    if len(rows) > 1:  # the whole scope, rates recomputed from the counts
        total: list[object] = ["合计", len(found.standings)]
        for stage in found.named:
            n = sum(1 for s in found.standings if found.reached(s, stage))
            rate = round(n / len(found.standings) * 100, 1) if found.standings else None
            total += [n, rate, "", "", ""]
        rows.append(total)
    late = [
        [
            i,
            x.standing.institution.code,
            x.standing.institution.name,
            x.standing.group,
            x.standing.stage or "未报送",
            x.deadline.reach,
            x.deadline.date.isoformat(),
            x.days,
            x.standing.period,
        ]
        for i, x in enumerate(found.late, start=1)
    ]
    label = found.period.label()
    return [
        Table(
            sheet=f"按{t.by_label}"[:31],
            title=f"{t.title}（截至{label}末）",
            headers=heads,
            rows=rows,
            widths=[18, 8] + [10, 8, 12, 8, 12] * len(found.named),
        ),
        Table(
            sheet="逾期未达到",
            title=f"{t.title}：逾期未达到要求的单位（截至{label}末，共{len(late)}家）",
            headers=[
                "序号",
                "机构代码",
                "机构名称",
                t.by_label,
                "当前阶段",
                "应达到",
                "截止日期",
                "逾期天数",
                "最近报送",
            ],
            rows=late,
            widths=[6, 10, 28, 16, 12, 12, 12, 10, 12],
        ),
    ]


def write(data: PeriodData, outbox: Path) -> list[Path]:
    return [
        write_tables(outbox / f"{found.targets.title}_{data.period}.xlsx", tables(found))
        for found in data.progress
    ]
