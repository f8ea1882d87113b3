"""``withdraw`` (撤回): a file dropped into the inbox by mistake is taken back, by name or
by sha256, with a reason; the ledger keeps who, when and why; the institution falls back
to its previous accepted return, or to missing; outputs and the log say so."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from e2e_support import (
    campaign_in,
    due_moment,
    invoke,
    read_jsonl,
    set_received,
    status_rows,
    workbook_values,
)

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import fill_return, random_month
from pipeline.ledger.store import Ledger

AUG = Period(2026, 8)


def _send(c: Campaign, code: str, name: str, seed: int, hours: int) -> Path:
    inst = c.roster().get(code)
    assert inst is not None
    data = random_month(c, inst, AUG, random.Random(seed))
    path = fill_return(c, inst, AUG, c.inbox, data)
    path = path.rename(c.inbox / name)
    set_received(path, due_moment(c, AUG, -2) + dt.timedelta(hours=hours))
    return path


def _cli(c: Campaign, *args: str):  # type: ignore[no-untyped-def]
    return invoke(*args, inbox=c.inbox, outbox=c.outbox, ledger=c.ledger_path)


def _run(c: Campaign) -> str:
    result = _cli(c, "run", "--period", str(AUG))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def campaign(tmp_path: Path) -> Campaign:
    c = campaign_in(tmp_path)
    c.inbox.mkdir(parents=True)
    return c


def test_withdrawing_a_correction_falls_back_to_the_first_return(campaign: Campaign) -> None:
    first = _send(campaign, "QW001", "人民医院8月.xlsx", seed=1, hours=0)
    _run(campaign)
    before = workbook_values(campaign.outbox / str(AUG) / f"汇总表_{AUG}.xlsx")
    wrong = _send(campaign, "QW001", "人民医院8月（误发）.xlsx", seed=2, hours=5)
    _run(campaign)
    assert workbook_values(campaign.outbox / str(AUG) / f"汇总表_{AUG}.xlsx") != before
    result = _cli(campaign, "withdraw", wrong.name, "--reason", "误发了其他月份的表")
    assert result.exit_code == 0, result.output
    assert (
        f"已撤回 {wrong.name}：示例区人民医院（QW001） 2026-08，原因：误发了其他月份的表"
        in result.output
    )
    out = _run(campaign)
    assert "已撤回 1" in out
    # The first return is current again: the same 汇总表 as before the mistake.
    assert workbook_values(campaign.outbox / str(AUG) / f"汇总表_{AUG}.xlsx") == before
    _, rows = status_rows(campaign.outbox / str(AUG) / f"报送情况_{AUG}.xlsx")
    assert rows["QW001"]["报送状态"] == "已报送"
    assert rows["QW001"]["采用文件"] == first.name
    assert f"{wrong.name}（已撤回）" in rows["QW001"]["退回或替代的文件"]
    log = read_jsonl(campaign.outbox / str(AUG) / f"校验日志_{AUG}.jsonl")
    (record,) = [r for r in log if r.get("file") == wrong.name and r["type"] == "file"]
    assert record["outcome"] == "withdrawn" and "误发了其他月份的表" in record["note"]
    (said,) = [r for r in log if r.get("rule") == "F-WITHDRAWN"]
    assert said["institution"] == "QW001" and "误发了其他月份的表" in said["message"]
    assert (said["severity"], said["file"], said["sheet"], said["cell"]) == (
        "warning",
        wrong.name,
        "",
        "",
    )
    assert said["value"].endswith("误发了其他月份的表")
    ledger = Ledger(campaign.ledger_path, campaign.code)
    try:
        (sub,) = [s for s in ledger.submissions(str(AUG)) if s.file_name == wrong.name]
    finally:
        ledger.close()
    assert sub.withdrawn.endswith("：误发了其他月份的表") and sub.status == "rejected"


def test_withdrawing_the_only_return_leaves_the_institution_missing(campaign: Campaign) -> None:
    path = _send(campaign, "QW002", "中医院.xlsx", seed=3, hours=0)
    _run(campaign)
    ledger = Ledger(campaign.ledger_path, campaign.code)
    try:
        sha = ledger.find_submissions(path.name)[0].sha256
    finally:
        ledger.close()
    result = _cli(campaign, "withdraw", sha[:10], "--reason", "不是本单位的表")
    assert result.exit_code == 0, result.output
    _run(campaign)
    _, rows = status_rows(campaign.outbox / str(AUG) / f"报送情况_{AUG}.xlsx")
    assert rows["QW002"]["报送状态"] == "未报送"  # not 已退回，待重报: it never came


def test_withdraw_refusals_are_said_in_chinese(campaign: Campaign) -> None:
    _send(campaign, "QW003", "妇幼.xlsx", seed=4, hours=0)
    _run(campaign)
    result = _cli(campaign, "withdraw", "没有这个文件.xlsx", "--reason", "x")
    assert result.exit_code == 1
    assert "错误：台账中没有名为（或 sha256 开头为）“没有这个文件.xlsx”" in result.output
    result = _cli(campaign, "withdraw", "妇幼.xlsx", "--reason", " ")
    assert result.exit_code == 1 and "请用 --reason 写明撤回原因" in result.output
    assert _cli(campaign, "withdraw", "妇幼.xlsx", "--reason", "重复").exit_code == 0
    again = _cli(campaign, "withdraw", "妇幼.xlsx", "--reason", "重复")
    assert again.exit_code == 1 and "尚未撤回的文件" in again.output
