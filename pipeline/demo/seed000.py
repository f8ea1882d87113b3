"""The demo's seed 000 campaign (安全生产标准化建设专项行动), month by month.

Nine institutions in scope report where they stand: most have passed the review; one
passes in the third month; one is reviewed and fails; two are still building, years
past their tier's deadlines (the overdue list); one falls back from 验收达标 to 建设中
(a step back, warned); one says it has self-assessed without the date and score
(rejected); the 门诊部 reports late. Two report red (重大) risk points.
"""

from __future__ import annotations

import datetime as dt

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import MonthData, fill_return
from pipeline.demo.stamps import stamp
from pipeline.distribute.templates import Prefills, write_templates
from pipeline.ledger.store import Ledger

# institution -> its stage in each of the three months
STAGES = {
    "QW001": ("验收达标", "验收达标", "验收达标"),
    "QW002": ("已申请验收", "已申请验收", "验收达标"),
    "QW003": ("已自评", "已申请验收", "验收未达标"),
    "QW005": ("建设中", "建设中", "已自评"),
    "QW006": ("验收达标", "验收达标", "建设中"),  # a step back in the third month
    "QW007": ("动员部署", "建设中", "建设中"),
    "QW008": ("验收达标", "验收达标", "验收达标"),
    "QW009": ("已自评", "已申请验收", "已申请验收"),  # July: no date, no score
    "QW010": ("建设中", "已自评", "已申请验收"),  # the 门诊部: late in August
}
RED = {"QW003": 1, "QW007": 2}
NOT_BUILT = {"QW007": "L4"}  # a list not built yet
NO_ASSESSMENT = {0: "QW009"}
LATE = {1: "QW010"}
ASSESSED = ("已自评", "已申请验收", "验收未达标", "验收达标")
APPLIED = ("已申请验收", "验收未达标", "验收达标")


def progress_row(code: str, index: int, period: Period) -> dict[str, str]:
    stage = STAGES[code][index]
    n = int(code[-2:])
    row = {
        "stage": stage,
        "red": str(RED.get(code, 0)),
        "orange": str(n % 3),
        "yellow": str(3 + n % 4),
        "blue": str(5 + n),
    }
    if stage in ASSESSED and NO_ASSESSMENT.get(index) != code:
        row["assessed"] = (period.first_day() - dt.timedelta(days=40 + n)).isoformat()
        row["score"] = f"{70 + n * 2.5:.1f}"
    if stage in APPLIED:
        row["level"] = "三级"
    return row


def lists_rows(code: str, period: Period) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for key in ("L1", "L2", "L3", "L4"):
        if NOT_BUILT.get(code) == key:
            rows[key] = {"built": "否"}
        else:
            rows[key] = {"built": "是", "date": "2023-05-10", "remark": f"院发〔2023〕{key[1]}号"}
    return rows


def month(campaign: Campaign, index: int, period: Period) -> None:
    """Templates of the month, and every institution's return saved into the inbox."""
    ledger = Ledger(campaign.ledger_path, campaign.code)
    try:
        prefills = Prefills(campaign, period, ledger)
        write_templates(campaign, period, prefills)
    finally:
        ledger.close()
    due, _ = campaign.due.due_date(period)
    for n, inst in enumerate(campaign.roster()):
        if inst.code not in STAGES:
            continue
        data = MonthData(
            texts={
                "bzh_progress": {"self": progress_row(inst.code, index, period)},
                "bzh_lists": lists_rows(inst.code, period),
            }
        )
        path = fill_return(campaign, inst, period, campaign.inbox, data, prefills=prefills)
        late = LATE.get(index) == inst.code
        day = due + dt.timedelta(days=6) if late else due - dt.timedelta(days=2)
        stamp(path, dt.datetime.combine(day, dt.time(10, 0)) + dt.timedelta(minutes=11 * n))
