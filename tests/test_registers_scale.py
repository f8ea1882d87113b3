"""A register with many items: 300 open hazards of one institution carried from one month
into the next template, updated there and read back, and a district's register read by
its city as a return (the IDs it brings are its own)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from e2e_support import SHIPPED, invoke, read_jsonl
from openpyxl import load_workbook

from pipeline.campaigns.campaign import load_campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import MonthData, fill_template, with_zeros
from pipeline.demo.registers import RegisterFill
from pipeline.distribute.templates import Prefills, write_templates
from pipeline.ledger.store import Ledger

JUL, AUG = Period(2026, 7), Period(2026, 8)
TOPIC = "1.学习宣传贯彻习近平总书记关于安全生产重要论述专题"


def _campaign(base: Path, roster: str, text: str = ""):
    """The shipped campaign in ``base/campaign/``: inbox, outbox and ledger in ``base``."""
    folder = base / "campaign"
    folder.mkdir(parents=True)
    (folder / "campaign.toml").write_text(
        text or SHIPPED.read_text(encoding="utf-8"), encoding="utf-8"
    )
    (folder / "roster.csv").write_text(roster, encoding="utf-8")
    return load_campaign(folder / "campaign.toml")


def _templates(campaign, period: Period, out: Path) -> dict[str, Path]:
    ledger = Ledger(campaign.ledger_path, campaign.code)
    try:
        paths = write_templates(campaign, period, Prefills(campaign, period, ledger), out)
    finally:
        ledger.close()
    return {p.stem.rsplit("_", 1)[-1]: p for p in paths}


def _item(n: int) -> dict[str, str]:
    return {
        "topic": TOPIC,
        "category": "一般隐患",
        "description": f"第{n}处隐患",
        "found": "2026-07-02",
        "deadline": "2026-12-31",
        "status": "整改中",
    }


def test_three_hundred_open_items_are_carried_updated_and_read_back(tmp_path: Path) -> None:
    roster = "机构代码,机构名称,机构级别\nQW000,示例区卫生健康局,卫生健康行政部门\nH1,第一医院,三级医院\n"
    campaign = _campaign(tmp_path / "c", roster)
    july = _templates(campaign, JUL, tmp_path / "f7")
    grid = {"fujian2": {"T1": {"general_found": 300}}}
    items = RegisterFill(new=[_item(n) for n in range(1, 301)])
    fill_template(
        campaign,
        july["H1"],
        campaign.inbox / "h1-7.xlsx",
        MonthData(grid=grid, registers={"hazards": items}),
    )
    assert invoke("run", "--period", "2026-07", campaign_file=campaign.path).exit_code == 0
    aug = _templates(campaign, AUG, tmp_path / "f8")
    ws = load_workbook(aug["H1"], read_only=True)["问题隐患清单"]
    ids = [
        r[0]
        for r in ws.iter_rows(min_row=4, max_col=1, values_only=True)
        if r[0] and str(r[0]).startswith("H1-")
    ]
    assert ids == [f"H1-{n:04d}" for n in range(1, 301)]
    assert len(ids) == 300
    # August: the institution closes the first 40, leaves the rest as they are.
    closing = {f"H1-{n:04d}": {"status": "已整改", "closed": "2026-08-05"} for n in range(1, 41)}
    grid = with_zeros(campaign, {"fujian2": {"T1": {"general_fixed": 40}}})
    fill_template(
        campaign,
        aug["H1"],
        campaign.inbox / "h1-8.xlsx",
        MonthData(grid=grid, registers={"hazards": RegisterFill(updates=closing)}),
    )
    done = invoke("run", "--period", "2026-08", campaign_file=campaign.path)
    assert done.exit_code == 0, done.output
    log = read_jsonl(campaign.outbox / "2026-08" / "校验日志_2026-08.jsonl")
    files = [r for r in log if r["type"] == "file" and r["period"] == "2026-08"]
    assert [f["outcome"] for f in files] == ["accepted"]
    assert not [
        r
        for r in log
        if r["type"] == "finding" and r["severity"] != "info" and r["period"] == "2026-08"
    ]
    counts = load_workbook(
        campaign.outbox / "2026-08" / "问题隐患清单汇总_2026-08.xlsx", read_only=True
    )["分类统计"]
    rows = list(counts.iter_rows(min_row=4, values_only=True))
    assert rows == [(TOPIC, "一般隐患", 0, 260, 40, 300)]


def test_a_districts_register_is_a_return_for_its_city(tmp_path: Path) -> None:
    """The district's 汇总表 goes into the city's inbox: its register rows carry the
    district's institutions' IDs, which the city keeps as the district's items."""
    district = _campaign(
        tmp_path / "district",
        "机构代码,机构名称,机构级别\nQW000,示例区卫生健康局,卫生健康行政部门\nH1,第一医院,二级医院\nH2,第二医院,二级医院\n",
    )
    july = _templates(district, JUL, tmp_path / "df")
    for code, n in (("H1", 2), ("H2", 1)):
        grid = {"fujian2": {"T1": {"general_found": n}}}
        new = [{**_item(k), "description": f"{code}第{k}处"} for k in range(1, n + 1)]
        fill_template(
            district,
            july[code],
            district.inbox / f"{code}.xlsx",
            MonthData(grid=grid, registers={"hazards": RegisterFill(new=new)}),
        )
    assert invoke("run", "--period", "2026-07", campaign_file=district.path).exit_code == 0
    summary = district.outbox / "2026-07" / "汇总表_2026-07.xlsx"

    city_text = SHIPPED.read_text(encoding="utf-8").replace('code = "QW000"', 'code = "SJ000"')
    city_text = city_text.replace('name = "示例区卫生健康局"', 'name = "示例市卫生健康委"')
    city = _campaign(
        tmp_path / "city",
        "机构代码,机构名称,机构级别\nSJ000,示例市卫生健康委,卫生健康行政部门\nQW000,示例区卫生健康局,卫生健康行政部门\n",
        city_text,
    )
    city.inbox.mkdir(parents=True)
    shutil.copy(summary, city.inbox / summary.name)
    ran = invoke("run", "--period", "2026-07", campaign_file=city.path)
    assert ran.exit_code == 0, ran.output
    log = read_jsonl(city.outbox / "2026-07" / "校验日志_2026-07.jsonl")
    (record,) = [r for r in log if r["type"] == "file"]
    assert record["outcome"] == "accepted", [r["message"] for r in log if r["type"] == "finding"]
    ledger = Ledger(city.ledger_path, city.code)
    try:
        assert ledger.item_ids("hazards") == {"QW000": {"H1-0001", "H1-0002", "H2-0001"}}
    finally:
        ledger.close()
    items = load_workbook(
        city.outbox / "2026-07" / "问题隐患清单汇总_2026-07.xlsx", read_only=True
    )["问题隐患清单汇总"]
    got = [(r[1], r[3]) for r in items.iter_rows(min_row=4, values_only=True)]
    assert got == [("QW000", "H1-0001"), ("QW000", "H1-0002"), ("QW000", "H2-0001")]
    assert dt.date(2026, 7, 2)  # the found dates read back as dates (no finding above)
