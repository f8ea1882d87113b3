"""The period as its leaders read it, from the aggregates: :func:`build` makes one
:class:`Digest` that the report page and the briefing both render.

Each form kind has its digester (a small registry, like the kinds' own): a fourth kind
adds a module here and a line in :data:`DIGESTERS`. Reporting (who should report, who
did, on time or late, who is missing) comes from the same judgement as 报送情况.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pipeline.report.charts import Chart, Series
from pipeline.report.digest import grid, register, tasklist
from pipeline.report.digest.model import Digest, Figure, FormDigest
from pipeline.report.status import reporting

if TYPE_CHECKING:
    from pipeline.aggregate.period import PeriodData
    from pipeline.forms.kinds.base import Totals

__all__ = ["Digest", "Figure", "FormDigest", "build"]

Digester = Callable[["Totals", "PeriodData"], FormDigest]
DIGESTERS: dict[str, Digester] = {
    "grid": grid.digest,
    "register": register.digest,
    "list": tasklist.digest,
}
UNBRACKET = str.maketrans("", "", "（）")  # 逾期（4天） as a clause: 逾期4天
STANDING_COLORS = {"按时": "#4a9a5b", "逾期": "#e08a2c", "已退回": "#c4473f", "未报送": "#9e9e9e"}


def _reporting(data: PeriodData) -> tuple[dict[str, Any], list[Figure], list[Chart]]:
    told = reporting(data)
    counts = told.counts
    should = told.should

    def rate(n: int) -> float | None:
        return n / should * 100 if should else None

    late = [
        {"name": i.name, "when": told.standings[i.code].timeliness.translate(UNBRACKET)}
        for i in told.late
    ]
    facts = {
        **{k: v for k, v in counts.items()},
        "should": should,
        "on_time": len(told.on_time),
        "late": len(told.late),
        "missing": len(told.missing),
        "rejected": len(told.rejected),
        "reported": told.reported,
        "reported_rate": rate(told.reported),
        "on_time_rate": rate(len(told.on_time)),
        "late_names": late,
        "missing_names": [i.name for i in told.missing],
        "rejected_names": [i.name for i in told.rejected],
    }
    headlines = [
        Figure("应报单位", should, "家", "本期"),
        Figure("已报送", told.reported, "家", "本期"),
        Figure("报送率", rate(told.reported), "%", "本期"),
        Figure("按时率", rate(len(told.on_time)), "%", "本期"),
    ]
    # By the roster's level (机构级别): where reporting lags.
    levels = list(dict.fromkeys(i.level or "其他" for i in data.roster))
    groups = {
        "按时": told.on_time,
        "逾期": told.late,
        "已退回": told.rejected,
        "未报送": told.missing,
    }
    chart = Chart(
        key="reporting",
        title=f"报送情况：按时、逾期、已退回待重报、未报送（{data.period.label()}，按机构级别）",
        kind="stacked",
        categories=tuple(levels),
        series=tuple(
            Series(
                name,
                tuple(float(sum(1 for i in insts if (i.level or "其他") == lv)) for lv in levels),
                STANDING_COLORS[name],
            )
            for name, insts in groups.items()
        ),
        unit="家",
    )
    return facts, headlines, [chart]


def build(data: PeriodData) -> Digest:
    facts, headlines, charts = _reporting(data)
    forms = [
        DIGESTERS[spec.kind](data.totals[spec.id], data)
        for spec in data.campaign.forms
        if spec.kind in DIGESTERS
    ]
    return Digest(
        campaign=data.campaign.name,
        code=data.campaign.code,
        bureau=data.campaign.bureau.name,
        period=str(data.period),
        label=data.period.label(),
        stage=data.stage,
        due=f"{data.due.year}年{data.due.month}月{data.due.day}日",
        reporting=facts,
        headlines=headlines,
        charts=charts,
        forms=forms,
    )
