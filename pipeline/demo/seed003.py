"""The demo's work-points campaign (seed 003, 年度重点项目), two months at a time.

Each project's responsible unit reports its 形象进度 and cumulative investment on the
projects the bureau seeded. Most keep to their plan; the 示范性发热门诊 and the 疾控中心
move too slowly and miss their milestones; 东城街道社区卫生服务中心 reports its 迁建 lower
than two months before (a step back, warned); 示例区康宁医院 reports late in May–June;
示例区北湖镇卫生院 sends nothing in July–August (its project stands as last reported).
"""

from __future__ import annotations

import datetime as dt

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import MonthData, fill_return
from pipeline.demo.registers import RegisterFill
from pipeline.demo.stamps import stamp
from pipeline.distribute.templates import Prefills, write_templates
from pipeline.ledger.store import Ledger

# period index -> unit -> project -> (形象进度 %, 累计完成投资 万元, 节点完成情况)
PROGRESS: dict[int, dict[str, dict[str, tuple[str, str, str]]]] = {
    0: {
        "QW001": {"XM01": ("62", "3150.5", "按期完成"), "XM08": ("10", "45", "未到期")},
        "QW005": {"XM02": ("50", "820", "未到期")},
        "QW007": {"XM04": ("40", "118", "按期完成"), "XM10": ("15", "6.5", "未到期")},
        "QW004": {"XM06": ("0", "0", "未到期")},
        "QW006": {"XM07": ("100", "260", "按期完成")},
        "QW008": {"XM09": ("20", "95", "未到期")},
        "QW009": {"XM03": ("10", "1200", "未到期")},
        "QW012": {"XM05": ("25", "310", "未到期")},
    },
    1: {
        "QW001": {"XM01": ("74", "4020", "按期完成"), "XM08": ("28", "130", "滞后")},
        "QW005": {"XM02": ("45", "905", "滞后")},
        "QW007": {"XM04": ("78", "236", "未到期"), "XM10": ("32", "12", "未到期")},
        "QW004": {"XM06": ("2", "150", "滞后")},
        "QW006": {"XM07": ("100", "262", "按期完成")},
        "QW009": {"XM03": ("26", "2150", "按期完成")},
        "QW012": {"XM05": ("48", "560", "未到期")},
    },
}
LATE = {0: "QW009"}
ISSUES = {"XM08": ("设备招标流标", "重新组织招标"), "XM06": ("施工许可延迟", "加快办理开工手续")}


def period_returns(campaign: Campaign, index: int, period: Period) -> None:
    """Templates of the two months, and each responsible unit's return in the inbox."""
    ledger = Ledger(campaign.ledger_path, campaign.code)
    try:
        prefills = Prefills(campaign, period, ledger)
        write_templates(campaign, period, prefills)
        due, _ = campaign.due.due_date(period)
        roster = campaign.roster()
        for n, (code, projects) in enumerate(PROGRESS.get(index, {}).items()):
            inst = roster.get(code)
            if inst is None:
                continue
            updates = {}
            for item, (percent, invested, claim) in projects.items():
                issue, plan = ISSUES.get(item, ("无", "按计划推进"))
                updates[item] = {
                    "progress": percent,
                    "investment": invested,
                    "claim": claim,
                    "issues": issue,
                    "next": plan,
                }
            data = MonthData(registers={"gdyd_projects": RegisterFill(updates=updates)})
            path = fill_return(campaign, inst, period, campaign.inbox, data, prefills=prefills)
            day = (
                due + dt.timedelta(days=5)
                if LATE.get(index) == code
                else due - dt.timedelta(days=2)
            )
            stamp(path, dt.datetime.combine(day, dt.time(10)) + dt.timedelta(minutes=9 * n))
    finally:
        ledger.close()
