"""A rerun with nothing new keeps the outputs; anything new or touched rewrites them."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from pathlib import Path

from e2e_support import campaign_in, invoke, set_received

from pipeline.config.calendar import Period
from pipeline.demo.filler import fill_return, random_month

JUL = Period(2026, 7)


def _stamps(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.iterdir())}


def _line(output: str, start: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(start))


def _run(campaign) -> str:  # type: ignore[no-untyped-def]
    result = invoke(
        "run",
        "--period",
        str(JUL),
        inbox=campaign.inbox,
        outbox=campaign.outbox,
        ledger=campaign.ledger_path,
    )
    assert result.exit_code == 0, result.output
    return result.output


def _put(campaign, code: str, seed: str, name: str) -> Path:  # type: ignore[no-untyped-def]
    inst = campaign.roster().get(code)
    scratch = campaign.inbox.parent / "scratch"
    scratch.mkdir(exist_ok=True)
    data = random_month(campaign, inst, JUL, random.Random(seed))
    made = fill_return(campaign, inst, JUL, scratch, data)
    path = campaign.inbox / name
    shutil.move(made, path)
    set_received(path, dt.datetime(2026, 7, 30, 9) + dt.timedelta(minutes=len(seed)))
    return path


def test_outputs_are_kept_until_something_changes(tmp_path: Path) -> None:
    campaign = campaign_in(tmp_path)
    campaign.inbox.mkdir(parents=True)
    _put(campaign, "QW001", "a", "a.xlsx")
    first = _run(campaign)
    assert "结果已写入" in first
    out = campaign.outbox / str(JUL)
    written = _stamps(out)
    assert len(written) == 9  # with 情况通报 and 报告

    again = _run(campaign)
    assert "没有新情况" in again and "未重写" in again
    assert _stamps(out) == written
    assert _line(again, "异常清单") == _line(first, "异常清单")  # the summary still holds
    assert _line(again, "文件") == _line(first, "文件")

    # An output opened and saved (or deleted) by someone: all are written again.
    status = next(out.glob("报送情况_*.xlsx"))
    status.write_bytes(status.read_bytes())
    assert "结果已写入" in _run(campaign)
    status.unlink()
    assert "结果已写入" in _run(campaign)
    assert status.exists()

    # A new return: written again, and it is in them.
    written = _stamps(out)
    _put(campaign, "QW002", "bb", "b.xlsx")
    assert "结果已写入" in _run(campaign)
    assert all(_stamps(out)[name] != stamp for name, stamp in written.items())

    # A file that is not a return changes the log: written again too.
    written = _stamps(out)
    (campaign.inbox / "notes.xlsx").write_text("not a workbook", encoding="utf-8")
    assert "结果已写入" in _run(campaign)
    assert _stamps(out) != written
