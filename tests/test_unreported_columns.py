"""A column no return of the month carries is blank in the aggregated return, not 0."""

from __future__ import annotations

import random
from pathlib import Path

from openpyxl import load_workbook

from pipeline.campaigns.campaign import load_campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import fill_return, random_month
from pipeline.forms.kinds import build_layout
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW
from pipeline.run import run_period

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "campaign.toml"
PERIOD = Period(2026, 8)


def test_bureau_columns_blank_until_the_bureau_reports(tmp_path: Path) -> None:
    campaign = load_campaign(
        EXAMPLE,
        {
            "inbox": tmp_path / "inbox",
            "outbox": tmp_path / "out",
            "ledger": tmp_path / "ledger.sqlite",
        },
    )
    hospital = campaign.roster().get("QW001")
    assert hospital is not None
    data = random_month(campaign, hospital, PERIOD, random.Random(3))
    fill_return(campaign, hospital, PERIOD, campaign.inbox, data)
    result = run_period(campaign, PERIOD)
    assert result.count("accepted") == 1

    spec = campaign.form("fujian2")
    lay = build_layout(spec, campaign.rows_for(campaign.form("fujian2")))
    ws = load_workbook(result.outbox / f"汇总表_{PERIOD}.xlsx")[spec.sheet]
    for row in [*(t.key for t in campaign.rows_for(campaign.form("fujian2"))), MONTH_ROW]:
        for key in ("problems_total", "problems_county", "inspections", "interviews"):
            assert ws[lay.cell(row, key)].value is None, (row, key)
        assert ws[lay.cell(row, "hazards_total")].value is not None
    month_found = sum(row["general_found"] for row in data.grid[spec.id].values())
    assert ws[lay.cell(MONTH_ROW, "general_found")].value == month_found
    # 累计总计 is history: zero so far, shown as such
    assert ws[lay.cell(CUMULATIVE_ROW, "interviews")].value == 0
