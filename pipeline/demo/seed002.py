"""The demo's seed 002 campaign (安全生产专项整治三年行动), month by month.

Institutions fill their templates as people do — one types units and full-width digits,
one reports late, one misses a month, one resubmits a corrected return, one types a
number over a formula — and keep their registers in step with 附件2, but for the planted
cases: an item left open past its deadline, a 重大隐患 left open (supervised by
listing), a register that disagrees with 附件2. The bureau lists one item itself.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import MonthData, fill_return, random_month
from pipeline.demo.registers import RegisterFill
from pipeline.demo.stamps import stamp
from pipeline.distribute.templates import Prefills, write_templates
from pipeline.ledger.store import Ledger

PLAN = {  # month index -> what happens to whom
    "late": {0: "QW009", 2: "QW010"},
    "missing": {1: "QW011"},
    "resubmit": {1: "QW003"},
    "error": {1: "QW006"},
    "habits": {0: "QW002", 1: "QW002", 2: "QW005"},
    # the registers (两个清单)
    "overdue": {0: "QW004"},  # an item whose deadline passes while it stays open
    "major_open": {1: "QW002"},  # a 重大隐患 found and left open: supervised
    "disagrees": {2: "QW008"},  # a register that disagrees with its 附件2
}


def _planted_error(campaign: Campaign, data: MonthData) -> dict:
    """排查隐患总数 typed over its formula, one more than 一般 + 重大 of topic 1."""
    spec = campaign.form("fujian2")
    topic = campaign.rows_for(spec)[0].key
    row = data.grid.get(spec.id, {}).get(topic, {})
    wrong = row.get("general_found", 0) + row.get("major_found", 0) + 1
    return {spec.id: {(topic, "hazards_total"): wrong}}


def month(campaign: Campaign, rng: random.Random, index: int, period: Period) -> None:
    """Templates of the month, and every institution's return saved into the inbox."""
    roster = list(campaign.roster())
    plan = PLAN
    ledger = Ledger(campaign.ledger_path, campaign.code)
    try:
        prefills = Prefills(campaign, period, ledger)
        write_templates(campaign, period, prefills)
        due, _ = campaign.due.due_date(period)
        on_time = dt.datetime.combine(due - dt.timedelta(days=3), dt.time(9, 30))
        for n, inst in enumerate(roster):
            if plan["missing"].get(index) == inst.code:
                continue
            data = random_month(campaign, inst, period, rng)
            habits = (
                frozenset({"fullwidth", "unit", "spaces"})
                if plan["habits"].get(index) == inst.code
                else frozenset()
            )
            overwrite = (
                _planted_error(campaign, data) if plan["error"].get(index) == inst.code else None
            )
            _plant_items(
                campaign, data, period, {k: v.get(index) for k, v in plan.items()}, inst.code
            )
            path = fill_return(
                campaign,
                inst,
                period,
                campaign.inbox,
                data,
                habits=habits,
                overwrite_formula=overwrite,
                prefills=prefills,
            )
            late = plan["late"].get(index) == inst.code
            received = due + dt.timedelta(days=4) if late else None
            stamp(
                path,
                dt.datetime.combine(received, dt.time(15, 0))
                if received
                else on_time + dt.timedelta(minutes=17 * n),
            )
            if plan["resubmit"].get(index) == inst.code:
                first = path.with_name(path.stem + "（初稿）.xlsx")
                path.rename(first)
                corrected = random_month(campaign, inst, period, rng)
                again = fill_return(
                    campaign, inst, period, campaign.inbox, corrected, prefills=prefills
                )
                again = again.rename(again.with_name(again.stem + "（更正）.xlsx"))
                stamp(again, on_time + dt.timedelta(days=1))
    finally:
        ledger.close()


def _plant_items(
    campaign: Campaign, data: MonthData, period: Period, today: dict[str, str | None], code: str
) -> None:
    """The registers' planted cases: an item left open past its deadline, a 重大隐患 left
    open (supervised by listing), a register that disagrees with 附件2."""
    grid = data.grid.get("fujian2", {})
    topics = campaign.rows_for(campaign.form("fujian2"))
    if today["overdue"] == code:
        deadline = period.shift(1).first_day() + dt.timedelta(days=19)
        item = {
            "topic": topics[3].label,
            "category": "突出问题",
            "description": "消防控制室值班人员未持证上岗",
            "found": (period.first_day() + dt.timedelta(days=9)).isoformat(),
            "measure": "组织值班人员参加消防设施操作员培训取证",
            "department": "保卫科",
            "person": "赵刚",
            "deadline": deadline.isoformat(),
            "status": "整改中",
        }
        data.registers["hazards"] = RegisterFill(new=[item], in_step=True)
    if today["major_open"] == code and topics[3].key in grid:
        grid[topics[3].key]["major_found"] = grid[topics[3].key].get("major_found", 0) + 1
    if today["disagrees"] == code and topics[0].key in grid:
        grid[topics[0].key]["general_found"] = grid[topics[0].key].get("general_found", 0) + 1
        data.registers["hazards"] = RegisterFill(in_step=True, drop_new=1)


def supervise_one(
    campaign: Campaign, period: Period, code: str, echo: Callable[[str], object]
) -> None:
    """The bureau lists one of an institution's open hazards for supervision (挂牌督办)."""
    from pipeline.forms.kinds.register.items import latest_states
    from pipeline.forms.kinds.register.spec import RegisterSpec
    from pipeline.ledger.supervise import supervise

    spec = campaign.form("hazards")
    assert isinstance(spec, RegisterSpec)
    ledger = Ledger(campaign.ledger_path, campaign.code)
    try:
        states = latest_states(spec, ledger, str(period))
    finally:
        ledger.close()
    open_ones = sorted(
        item for (inst, item), s in states.items() if inst == code and not spec.is_closed(s.values)
    )
    if open_ones:
        d = supervise(campaign, open_ones[-1], note="演示：本局挂牌督办")
        echo(f"本局将{d.form} {d.item_id} 列入挂牌督办（python -m pipeline supervise {d.item_id}）")
