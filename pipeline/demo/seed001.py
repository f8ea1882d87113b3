"""The demo's civilized-city campaign (seeds 001/004, 创建文明城市), week by week.

Seven units report every week; 示例区疾病预防控制中心 misses every other week and
示例区北湖镇卫生院 never reports. Problems come from the provincial and city checks,
third-party secret visits (more of them in the fifth week: rising), the bureau's
supervision and self-checks; most are put right, one stays open past its deadline.
示例区中医院 assesses item 3 不达标 two weeks running; 示例区人民医院's window queue is
17.5 minutes one week. The bureau supervises its three key hospitals and misses
示例区妇幼保健院 in the first half of September.
"""

from __future__ import annotations

import datetime as dt

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import MonthData, fill_return
from pipeline.demo.registers import RegisterFill
from pipeline.demo.stamps import stamp
from pipeline.distribute.templates import Prefills, write_templates
from pipeline.forms.kinds.register.layout import RegisterRows
from pipeline.ledger.store import Ledger

REPORTERS = ("QW001", "QW002", "QW003", "QW005", "QW007", "QW009", "QW012", "QW004")
SKIPS = {"QW004": (1, 3, 5, 7)}  # weeks it sends nothing
BUREAU = "QW000"
ITEMS = ("K01", "K02", "K03", "K04", "K05", "K06")

# week index -> new problems: (unit, source, description, checklist item, days to deadline)
NEW: dict[int, list[tuple[str, str, str, str | None, int]]] = {
    0: [
        ("QW001", "市文明办检查", "门诊大厅公益广告褪色破损", "K01", 10),
        ("QW002", "第三方暗访", "收费窗口排队较长，无便民座椅", "K02", 14),
    ],
    1: [("QW003", "自查", "住院部楼道有烟头", "K04", 7)],
    2: [("QW005", "督导检查", "志愿服务站无人值守", "K05", 10)],
    3: [("QW007", "第三方暗访", "无障碍卫生间堆放杂物", "K06", 7)],
    4: [
        ("QW001", "第三方暗访", "门诊楼后侧垃圾未分类", "K03", 7),
        ("QW002", "第三方暗访", "医务人员未佩戴工牌", None, 10),
        ("QW009", "第三方暗访", "院内吸烟无人劝阻", "K04", 5),
    ],
    5: [("QW012", "省文明办检查", "公益广告数量不足", "K01", 14)],
}
# (unit, description) -> week it is put right (its 整改完成日期: that week's Wednesday);
# 示例区中医院's 排队 problem is never put right: overdue from its deadline on.
CLOSED = {
    ("QW001", "门诊大厅公益广告褪色破损"): 1,
    ("QW003", "住院部楼道有烟头"): 2,
    ("QW005", "志愿服务站无人值守"): 3,
    ("QW007", "无障碍卫生间堆放杂物"): 4,
    ("QW001", "门诊楼后侧垃圾未分类"): 5,
    ("QW002", "医务人员未佩戴工牌"): 6,
    ("QW009", "院内吸烟无人劝阻"): 5,
}
NOT_MET = {(1, "QW002", "K03"), (2, "QW002", "K03"), (4, "QW009", "K04")}  # 不达标
QUEUE = {(2, "QW001"): "17.5"}  # over 15 minutes
# week index -> the bureau's visits: (weekday, unit, inspector, problems found)
VISITS = {
    0: [(1, "QW001", "尹铁柱", 2), (3, "QW002", "尹铁柱", 1)],
    1: [(2, "QW003", "张海", 1)],
    2: [(1, "QW002", "张海", 0), (3, "QW001", "尹铁柱", 1)],
    3: [(2, "QW003", "张海", 0)],
    4: [(1, "QW001", "尹铁柱", 1), (4, "QW002", "张海", 2)],
    5: [(2, "QW002", "尹铁柱", 0)],
    6: [(2, "QW003", "张海", 1), (3, "QW001", "尹铁柱", 0)],
    7: [(2, "QW002", "张海", 0)],
}


def _weekly(code: str, index: int) -> dict[str, str]:
    n = int(code[-2:])
    return {
        "publicity": str((n + index) % 4 + 1),
        "volunteers": str(10 + (n * 3 + index) % 15),
        "lectures": str((n + index) % 3),
        "clinics": str((n * index) % 2),
        "queue": QUEUE.get((index, code), f"{8 + (n * 7 + index * 3) % 7}.0"),
        "info": f"第{index + 1}周：开展文明创建宣传和志愿服务，整改督导发现的问题。",
    }


def _checklist(code: str, index: int) -> dict[str, dict[str, str]]:
    out = {}
    for item in ITEMS:
        if (index, code, item) in NOT_MET:
            out[item] = {"result": "不达标", "problems": "对照标准仍有差距，正在整改"}
        else:
            out[item] = {"result": "达标"}
    return out


def _problems(
    campaign: Campaign, code: str, index: int, period: Period, held: RegisterRows | None
) -> RegisterFill:
    labels = {r.key: r.label for r in campaign.rows_for(campaign.form("ccwm_checklist"))}
    monday = period.first_day()
    fill = RegisterFill()
    for item_id, values in held.items if held is not None else ():
        week = CLOSED.get((code, values.get("description", "")))
        if week is not None and week <= index:
            closed = monday + dt.timedelta(days=2)
            fill.updates[item_id] = {"status": "已整改", "closed": closed.isoformat()}
        elif values.get("status") == "未整改":
            fill.updates[item_id] = {"status": "整改中"}
    for unit, source, text, item, days in NEW.get(index, []):
        if unit != code:
            continue
        fill.new.append(
            {
                "source": source,
                "description": text,
                "indicator": labels.get(item or "", ""),
                "department": "院办",
                "person": "王伟",
                "deadline": (monday + dt.timedelta(days=days)).isoformat(),
                "measure": "立即整改，举一反三",
                "status": "未整改",
            }
        )
    return fill


def week(campaign: Campaign, index: int, period: Period) -> None:
    """Templates of the week, and every unit's return (and the bureau's) in the inbox."""
    ledger = Ledger(campaign.ledger_path, campaign.code)
    try:
        prefills = Prefills(campaign, period, ledger)
        write_templates(campaign, period, prefills)
        due, _ = campaign.due.due_date(period)
        roster = campaign.roster()
        for n, code in enumerate(REPORTERS):
            inst = roster.get(code)
            if inst is None or index in SKIPS.get(code, ()):
                continue
            held = prefills.of(inst).get("ccwm_problems")
            data = MonthData(
                texts={
                    "ccwm_checklist": _checklist(code, index),
                    "ccwm_weekly": {"self": _weekly(code, index)},
                },
                registers={
                    "ccwm_problems": _problems(
                        campaign,
                        code,
                        index,
                        period,
                        held if isinstance(held, RegisterRows) else None,
                    )
                },
            )
            path = fill_return(campaign, inst, period, campaign.inbox, data, prefills=prefills)
            late = code == "QW007" and index == 3
            day = due + dt.timedelta(days=3) if late else due - dt.timedelta(days=1)
            stamp(path, dt.datetime.combine(day, dt.time(9)) + dt.timedelta(minutes=7 * n))
        bureau = roster.get(BUREAU)
        if bureau is not None:
            visits = [
                {
                    "date": (period.first_day() + dt.timedelta(days=weekday)).isoformat(),
                    "unit": roster.get(unit).name if roster.get(unit) else unit,  # type: ignore[union-attr]
                    "inspector": who,
                    "problems": str(found),
                }
                for weekday, unit, who, found in VISITS.get(index, [])
            ]
            data = MonthData(registers={"ccwm_supervision": RegisterFill(new=visits)})
            path = fill_return(campaign, bureau, period, campaign.inbox, data, prefills=prefills)
            stamp(path, dt.datetime.combine(due, dt.time(16)))
    finally:
        ledger.close()
