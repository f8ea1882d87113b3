"""A zip of returns put into the inbox by hand: each member judged as a return of its own.

The members are real returns filled from the templates; the zips are written as zip
tools write them (Windows tools name members in GBK without saying so, macOS adds its
``__MACOSX`` folder). The run is read back from the validation log and the ledger; the
zip itself must come out of it untouched.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import pytest
from e2e_support import fingerprint, ledger_counts, outbox_snapshot, read_jsonl
from support import letters as L

from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.config.calendar import Period
from pipeline.demo.filler import MonthData, fill_return
from pipeline.run import run_period

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PERIOD = Period.parse("2026-10")
ZIP = "报表.zip"


def campaign_at(base: Path, limits: dict[str, str] | None = None) -> Campaign:
    """The example campaign with its inbox, outbox and ledger under ``base``."""
    folder = base / "campaign"
    folder.mkdir(parents=True, exist_ok=True)
    text = (EXAMPLES / "campaign.toml").read_text(encoding="utf-8")
    for key, value in (limits or {}).items():
        start = text.index(f"{key} = ")
        text = text[:start] + f"{key} = {value} " + text[text.index("#", start) :]
    (folder / "campaign.toml").write_text(text, encoding="utf-8")
    (folder / "roster.csv").write_text((EXAMPLES / "roster.csv").read_text("utf-8"), "utf-8")
    return load_campaign(folder / "campaign.toml")


@pytest.fixture(scope="module")
def returns(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, bytes]]:
    campaign = campaign_at(tmp_path_factory.mktemp("forms"))
    out = {}
    for code, found in (("QW001", 3), ("QW002", 4), ("QW003", 5)):
        inst = campaign.roster().get(code)
        assert inst is not None
        data = MonthData(grid={"fujian2": {"T1": {"general_found": found, "general_fixed": 1}}})
        with tempfile.TemporaryDirectory() as folder:
            path = fill_return(campaign, inst, PERIOD, Path(folder), data)
            out[code] = (path.name, path.read_bytes())
    return out


def with_gbk_name(files: dict[str, bytes], name: str, data: bytes) -> bytes:
    """A zip of ``files`` and of ``data`` under ``name`` written in GBK, without the
    UTF-8 flag, as the zip tools of Chinese Windows do (patched in after writing)."""
    raw = name.encode("gbk")
    placeholder = "x" * (len(raw) - 5) + ".xlsx"
    zipped = L.zip_of({**files, placeholder: data})
    assert zipped.count(placeholder.encode()) == 2  # the local header, the directory
    return zipped.replace(placeholder.encode(), raw)


def files_of(campaign: Campaign) -> dict[str, dict]:
    log = read_jsonl(campaign.outbox / str(PERIOD) / f"校验日志_{PERIOD}.jsonl")
    files = {r["file"]: {**r, "rules": []} for r in log if r["type"] == "file"}
    for r in log:
        if r["type"] == "finding":
            files[r["file"]]["rules"].append(r["rule"])
    return files


def put(campaign: Campaign, name: str, data: bytes, when: dt.datetime) -> Path:
    campaign.inbox.mkdir(parents=True, exist_ok=True)
    path = campaign.inbox / name
    path.write_bytes(data)
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def test_each_member_of_a_zip_is_judged_and_logged_under_the_zips_name(
    tmp_path: Path, returns: dict[str, tuple[str, bytes]]
) -> None:
    campaign = campaign_at(tmp_path)
    inner = L.zip_of(dict([returns["QW003"]]))
    members = dict([returns["QW001"], returns["QW002"]])
    members |= {"__MACOSX/._x.xlsx": b"\x00\x05\x16\x07", "内层.zip": inner}
    zipped = with_gbk_name(members, "三院报表.xlsx", returns["QW003"][1])
    received = dt.datetime(2026, 11, 1, 16, 30)
    path = put(campaign, ZIP, zipped, received)
    before = fingerprint(campaign.inbox)

    run_period(campaign, PERIOD)
    files = files_of(campaign)
    assert files[ZIP]["outcome"] == "unpacked"
    assert files[ZIP]["note"] == f"压缩包：其中 4 个文件逐个检查，见“{ZIP}/…”各行"
    for code in ("QW001", "QW002"):
        record = files[f"{ZIP}/{returns[code][0]}"]
        assert (record["outcome"], record["institution"]) == ("accepted", code)
        assert record["received_at"] == received.isoformat()  # the zip's receipt time
        assert record["mail_from"] is None and record["from_mail"] == ""  # saved by hand
    gbk_record = files[f"{ZIP}/三院报表.xlsx"]
    assert (gbk_record["outcome"], gbk_record["institution"]) == ("accepted", "QW003")
    assert files[f"{ZIP}/__MACOSX/._x.xlsx"]["outcome"] == "skipped"
    nested = files[f"{ZIP}/内层.zip"]
    assert nested["outcome"] == "rejected" and nested["rules"] == ["F-ARCHIVE-NESTED"]
    assert len(files) == 6
    assert fingerprint(campaign.inbox) == before  # the zip is only read
    assert path.read_bytes() == zipped

    # Nothing new: a rerun judges nothing again and rewrites nothing.
    counts, outputs = (
        ledger_counts(campaign.ledger_path),
        outbox_snapshot(campaign.outbox / "2026-10"),
    )
    assert counts["submissions"] == {"accepted": 3, "rejected": 1}
    assert run_period(campaign, PERIOD).unchanged
    assert ledger_counts(campaign.ledger_path) == counts
    assert outbox_snapshot(campaign.outbox / "2026-10") == outputs

    # The same return sent again alone, later: a duplicate of the member.
    put(campaign, "再发一次.xlsx", returns["QW001"][1], received + dt.timedelta(days=1))
    run_period(campaign, PERIOD)
    again = files_of(campaign)["再发一次.xlsx"]
    assert again["outcome"] == "duplicate"
    assert again["note"] == f"与“{ZIP}/{returns['QW001'][0]}”内容完全相同"


def test_a_zip_past_the_limits_on_archives_is_refused_as_a_whole(
    tmp_path: Path, returns: dict[str, tuple[str, bytes]]
) -> None:
    campaign = campaign_at(tmp_path, {"max_members": "20"})  # a return has 12
    when = dt.datetime(2026, 11, 1, 9)
    put(campaign, "太多.zip", L.zip_of({f"{i}.xlsx": returns["QW001"][1] for i in range(21)}), when)
    put(campaign, "两个.zip", L.zip_of(dict([returns["QW001"], returns["QW002"]])), when)
    put(campaign, "空的.zip", L.zip_of({"__MACOSX/._a": b"x", "~$临时.xlsx": b"x"}), when)
    run_period(campaign, PERIOD)
    files = files_of(campaign)
    assert files["太多.zip"]["outcome"] == "rejected"
    assert files["太多.zip"]["rules"] == ["F-TOO-LARGE"]
    assert files["两个.zip"]["outcome"] == "unpacked"
    assert files["空的.zip"]["rules"] == ["F-ARCHIVE-EMPTY"]
    assert files[f"两个.zip/{returns['QW002'][0]}"]["outcome"] == "accepted"
