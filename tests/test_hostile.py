"""Hostile and broken returns: every case of tests/hostile.py at once, in one inbox.

The inbox holds each case beside valid returns, plus a file a writer thread keeps
growing while the run reads it; the CLI runs once as a child process, measured with
os.wait4. Each file's outcome and every finding (rule, sheet, cell) is then checked
exactly in the validation log; the counts must add up, the valid and harmless files must
be summed into 汇总表 with the right figures, formula-like text must stay text in every
output, and the inbox must be left as it was. Two cases need a run of their own: the
copied file judged again once complete, and a part that inflates past a small budget.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import sqlite3
import struct
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_support import (
    ROOT,
    expected_table,
    fingerprint,
    grid_layout,
    invoke,
    mismatches,
    read_jsonl,
    read_table,
)
from hostile import (
    ANY,
    GRID_SHEET,
    INJECTIONS,
    LIST_SHEET,
    NEW_TASK,
    PADDING_MB,
    PERIOD,
    Case,
    Corpus,
    Expect,
    Measured,
    build_corpus,
    cli_argv,
    hostile_campaign,
    run_measured,
)
from hostile_bytes import MB, GrowingFile, cfb, sheet_part, streaming_bomb
from openpyxl import load_workbook

from pipeline.campaigns.campaign import Campaign
from pipeline.intake.sniff import SETTLE_SECONDS, sha256_of

RECEIVED = dt.datetime(2026, 8, 30, 9, 0)  # before the due date of 2026-08
COPYING = "复制中.xlsx"
HAZARDS = (
    "general_found",
    "general_fixed",
    "major_found",
    "major_fixed",
    "hazards_total",
    "general_rate",
    "major_rate",
)
GiB = 1 << 30
CJK = re.compile(r"[\u4e00-\u9fff]")
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class HostileRun:
    campaign: Campaign
    cases: list[Case]
    run: Measured
    records: dict[str, dict]  # file name -> the log's file record
    findings: dict[str, list[dict]]  # file name -> the log's findings of the file
    log: list[dict]
    inbox_before: dict
    inbox_after: dict

    def output(self, stem: str, suffix: str = ".xlsx") -> Path:
        return self.campaign.outbox / str(PERIOD) / f"{stem}_{PERIOD}{suffix}"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileRun:
    base = tmp_path_factory.mktemp("hostile")
    campaign = hostile_campaign(base)
    cases = build_corpus(campaign, base / "scratch", RECEIVED)
    copying = Corpus(campaign, base / "scratch", RECEIVED)
    content = copying.filled(copying.institution())
    cases.append(Case("still-copying", COPYING, "rejected", (Expect("F-COPYING"),)))
    before = fingerprint(campaign.inbox)
    with GrowingFile(campaign.inbox / COPYING, content):
        before[COPYING] = fingerprint(campaign.inbox)[COPYING]
        run = run_measured(cli_argv(campaign, "run", "--period", str(PERIOD)), ROOT, 300)
    assert run.returncode == 0, run.stderr
    log = read_jsonl(campaign.outbox / str(PERIOD) / f"校验日志_{PERIOD}.jsonl")
    records = {r["file"]: r for r in log if r["type"] == "file"}
    findings: dict[str, list[dict]] = {}
    for r in log:
        if r["type"] == "finding":
            findings.setdefault(r["file"], []).append(r)
    after = fingerprint(campaign.inbox)
    return HostileRun(campaign, cases, run, records, findings, log, before, after)


Located = tuple[str, str, str, str]  # rule, severity, sheet, cell


def _located(f: dict, expected: list[Located]) -> Located:
    """A finding's (rule, severity, sheet, cell); the cell reads ANY where that is what
    is expected (the finding must name a cell, but which one is the reader's business)."""
    rule, severity, sheet, cell = f["rule"], f["severity"], f["sheet"], f["cell"]
    if cell and (rule, severity, sheet, ANY) in expected:
        return (rule, severity, sheet, ANY)
    return (rule, severity, sheet, cell)


def _mismatch(case: Case, record: dict | None, found: list[dict]) -> str:
    """What differs between the case's expectation and the log, or ""."""
    if record is None:
        return "not in the log"
    problems = []
    if record["outcome"] != case.outcome:
        problems.append(f"outcome {record['outcome']} (expected {case.outcome})")
    want = sorted((e.rule, e.severity, e.sheet, e.cell) for e in case.findings)
    got = sorted(_located(f, want) for f in found)
    if got != want:
        problems.append(f"findings {got} (expected {want})")
    for e in case.findings:
        shows = [f for f in found if f["rule"] == e.rule and e.value in f["value"]]
        if e.value and not [f for f in shows if e.cell in (ANY, f["cell"])]:
            problems.append(f"no {e.rule} at {e.cell or 'file level'} showing {e.value!r}")
    for f in found:
        if f["file"] != case.name or not CJK.search(f["message"]) or not f["advice"]:
            problems.append(f"finding without file, Chinese message or advice: {f}")
    return "; ".join(problems)


def test_every_file_ends_as_expected_with_its_findings(hostile: HostileRun) -> None:
    wrong = {}
    for case in hostile.cases:
        found = hostile.findings.get(case.name, [])
        if problem := _mismatch(case, hostile.records.get(case.name), found):
            wrong[case.about] = problem
    assert wrong == {}


def test_counts_add_up_to_the_files_seen(hostile: HostileRun) -> None:
    header = next(r for r in hostile.log if r["type"] == "run")
    inbox = set(hostile.inbox_after)
    assert set(hostile.records) == inbox == {c.name for c in hostile.cases}
    assert header["files_seen"] == len(inbox) == len(hostile.records)
    outcomes = Counter(r["outcome"] for r in hostile.records.values())
    assert outcomes == Counter(c.outcome for c in hostile.cases)
    assert sum(outcomes.values()) == len(inbox)
    line = (
        f"文件 {len(inbox)} 个：接收 {outcomes['accepted']}，退回 {outcomes['rejected']}，"
        f"重复 {outcomes['duplicate']}，被替代 {outcomes['superseded']}，跳过 {outcomes['skipped']}"
    )
    assert line in hostile.run.stdout
    for case in hostile.cases:
        record = hostile.records[case.name]
        assert record["findings"] == len(hostile.findings.get(case.name, [])), case.about
        if case.outcome == "skipped":
            assert record["note"] and CJK.search(record["note"]), case.about


def test_valid_and_harmless_returns_are_summed(hostile: HostileRun) -> None:
    current = [c for c in hostile.cases if c.outcome == "accepted"]
    assert len(current) >= 15
    grids = [c.counts for c in current if c.counts is not None]
    lay = grid_layout(hostile.campaign)
    want = {k: v for k, v in expected_table(grids, grids).items() if k[1] in HAZARDS}
    assert mismatches(read_table(hostile.output("汇总表"), lay), want, lay) == []


def test_each_accepted_file_gives_its_own_figures_and_nothing_past_the_form(
    hostile: HostileRun,
) -> None:
    """Per file, the cells the log traces into 汇总表 are the counts it was filled
    with: a stray value at XFD1048576, a lying dimension or a shared-strings count of two
    billion change nothing, and the superseded and rejected files contribute nothing."""
    lay = grid_layout(hostile.campaign)
    traced: dict[str, dict[str, float]] = {}
    for r in hostile.log:
        if r["type"] == "trace" and r["value"]:
            traced.setdefault(r["source_file"], {})[r["source_cell"]] = r["value"]
    want = {
        c.name: {
            lay.cell(topic, m): v for topic, row in c.counts.items() for m, v in row.items() if v
        }
        for c in hostile.cases
        if c.outcome == "accepted" and c.counts
    }
    assert traced == want


def test_the_inbox_is_left_as_it_was(hostile: HostileRun) -> None:
    before = dict(hostile.inbox_before)
    after = dict(hostile.inbox_after)
    # The file being copied grew by the writer's hand alone.
    grown = after.pop(COPYING)
    assert grown[1] > before.pop(COPYING)[1]
    assert after == before


def test_a_file_still_being_copied_is_not_recorded(hostile: HostileRun) -> None:
    record = hostile.records[COPYING]
    assert record["note"] == "本次未入账，下次运行时重新检查"
    db = sqlite3.connect(hostile.campaign.ledger_path)
    try:
        names = {row[0] for row in db.execute("SELECT file_name FROM submissions")}
    finally:
        db.close()
    assert COPYING not in names
    assert names == {c.name for c in hostile.cases if c.outcome not in ("skipped", "duplicate")} - {
        COPYING
    }


def test_files_in_another_format_are_told_to_save_as_xlsx(hostile: HostileRun) -> None:
    for about in ("legacy-xls", "wps-et", "html", "csv"):
        case = next(c for c in hostile.cases if c.about == about)
        [finding] = hostile.findings[case.name]
        assert "保存为 .xlsx" in finding["advice"], (about, finding["advice"])


def test_memory_and_time_are_bounded(hostile: HostileRun) -> None:
    assert hostile.run.peak_rss < GiB, f"peak RSS {hostile.run.peak_rss / GiB:.2f} GiB"
    assert hostile.run.seconds < 60, f"{hostile.run.seconds:.1f} s"


# -- text that looks like a formula -----------------------------------------------------
def _sheet_xml(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/")}


def _string_cells(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(sheet, cell) -> (value, data_type) of every cell holding text or a formula."""
    wb = load_workbook(path)
    try:
        for ws in wb.worksheets:
            assert not ws._hyperlinks, (path.name, ws.title)
        return {
            (ws.title, c.coordinate): (c.value, c.data_type)
            for ws in wb.worksheets
            for row in ws.iter_rows()
            for c in row
            if isinstance(c.value, str)
        }
    finally:
        wb.close()


def test_formula_like_text_is_stored_as_text_in_every_output(hostile: HostileRun) -> None:
    """The 附件1 texts and the added task of 公式样文字.xlsx reach 汇总表 as strings, and
    the counts typed as "=1+1" and so on reach 异常清单 and 校验日志 as strings: no
    output cell is a formula or a hyperlink made of what a return said."""
    injected = [t.strip() for t in INJECTIONS] + list(NEW_TASK.values()) + ["=1+1", "@1"]
    outputs = sorted(hostile.campaign.outbox.glob(f"{PERIOD}/*.xlsx"))
    cells = {path.name: _string_cells(path) for path in outputs}
    summary = cells[hostile.output("汇总表").name]
    for text in [t.strip() for t in INJECTIONS] + list(NEW_TASK.values()):
        assert [v for v, _ in summary.values() if text in v], f"{text!r} not in 汇总表"
    added = [v for (sheet, _), (v, _) in summary.items() if sheet == LIST_SHEET]
    assert NEW_TASK["item"] in added  # verbatim
    for name, found in cells.items():
        for where, (value, kind) in found.items():
            if any(text in value for text in injected):
                assert kind == "s", (name, where, value)
    for path in outputs:
        for part, xml in _sheet_xml(path).items():
            assert b"<hyperlink" not in xml, (path.name, part)
            for formula in re.findall(rb"<f>(.*?)</f>", xml):
                text = formula.decode("utf-8")
                assert not any(t.lstrip("=+-@") in text for t in injected), (path.name, text)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text == text.strip()


def test_csv_outputs_neutralise_formula_triggers(hostile: HostileRun) -> None:
    paths = sorted(hostile.campaign.outbox.glob(f"{PERIOD}/*.csv"))
    assert paths
    values: list[str] = []
    for path in paths:
        with open(path, encoding="utf-8-sig", newline="") as fh:  # "\r" kept as it is
            rows = list(csv.reader(fh))
        for row in rows:
            for field in row:
                if not _number(field):  # -3 is a number, not a formula
                    assert not field.startswith(TRIGGERS), (path.name, field)
                values.append(field)
    for shown in ("'=注入数字.xlsx", "'=1+1", "'+1+1", "'-1-1", "'@1", "'\t1x", "'\r1x"):
        assert shown in values, shown


def test_dates_and_escaped_characters_read_back_as_written(hostile: HostileRun) -> None:
    """A date in 附件1 of a 1904-date-system workbook is the calendar date typed, and
    Excel's _x000D_ escape is a carriage return again, in the institution's row of
    汇总表's 附件1 (named in its last column, 填报单位)."""
    owners = {c.about: c.institution for c in hostile.cases}
    roster = hostile.campaign.roster()
    wb = load_workbook(hostile.output("汇总表"))
    try:
        ws = wb[LIST_SHEET]
        unit = next(c for c in range(1, ws.max_column + 1) if ws.cell(3, c).value == "填报单位")
        rows: dict[str, list[str]] = {}
        for row in ws.iter_rows(min_row=4):
            name = row[unit - 1].value
            if isinstance(name, str):
                rows.setdefault(name, []).extend(
                    line
                    for c in row[: unit - 1]
                    if isinstance(c.value, str)
                    for line in c.value.split("\n")
                )
    finally:
        wb.close()
    name_1904 = roster.get(owners["date1904-text"]).name  # type: ignore[union-attr]
    assert "2026-07-05" in rows[name_1904]
    name_cr = roster.get(owners["excel-escaped-cr"]).name  # type: ignore[union-attr]
    assert "第一行\r" in rows[name_cr]
    assert not [line for lines in rows.values() for line in lines if "_x000D_" in line]


# -- cases that need a run of their own -------------------------------------------------
def test_a_copied_file_is_judged_again_once_complete(tmp_path: Path) -> None:
    campaign = hostile_campaign(tmp_path, institutions=2)
    campaign.inbox.mkdir(parents=True)
    corpus = Corpus(campaign, tmp_path, RECEIVED)
    inst = corpus.institution()
    content = corpus.filled(inst)
    paths = {"inbox": campaign.inbox, "outbox": campaign.outbox, "ledger": campaign.ledger_path}
    with GrowingFile(campaign.inbox / COPYING, content) as growing:
        first = invoke("run", "--period", str(PERIOD), campaign_file=campaign.path, **paths)
    assert first.exit_code == 0, first.output
    log = read_jsonl(campaign.outbox / str(PERIOD) / f"校验日志_{PERIOD}.jsonl")
    assert [(r["type"], r.get("outcome"), r.get("rule")) for r in log[1:3]] == [
        ("file", "rejected", None),
        ("finding", None, "F-COPYING"),
    ]
    growing.finish()
    second = invoke("run", "--period", str(PERIOD), campaign_file=campaign.path, **paths)
    assert second.exit_code == 0, second.output
    log = read_jsonl(campaign.outbox / str(PERIOD) / f"校验日志_{PERIOD}.jsonl")
    record = next(r for r in log if r["type"] == "file")
    assert (record["file"], record["outcome"], record["institution"]) == (
        COPYING,
        "accepted",
        inst.code,
    )


def test_a_part_inflating_past_its_budget_is_refused_naming_it(tmp_path: Path) -> None:
    """The directory checks pass (declared sizes and ratio within a generous limit);
    the streaming reader trips the 1 MB part budget while inflating, and says where."""
    campaign = hostile_campaign(tmp_path, 2, {"max_ratio": 1_000_000, "max_part_mb": 1})
    assert campaign.limits.max_part_mb == 1 < PADDING_MB
    campaign.inbox.mkdir(parents=True)
    corpus = Corpus(campaign, tmp_path, RECEIVED)
    valid = corpus.filled(corpus.institution())
    padded = corpus.filled(corpus.institution())
    part = sheet_part(padded, GRID_SHEET)
    corpus.put(Case("valid", "正常.xlsx", "accepted"), valid)
    corpus.put(Case("padded", "填充.xlsx", "rejected"), streaming_bomb(padded, part, PADDING_MB))
    paths = {"inbox": campaign.inbox, "outbox": campaign.outbox, "ledger": campaign.ledger_path}
    result = invoke("run", "--period", str(PERIOD), campaign_file=campaign.path, **paths)
    assert result.exit_code == 0, result.output
    log = read_jsonl(campaign.outbox / str(PERIOD) / f"校验日志_{PERIOD}.jsonl")
    assert {r["file"]: r["outcome"] for r in log if r["type"] == "file"} == {
        "正常.xlsx": "accepted",
        "填充.xlsx": "rejected",
    }
    found = [r for r in log if r["type"] == "finding"]
    assert [(f["file"], f["rule"]) for f in found] == [("填充.xlsx", "F-TOO-LARGE")]
    assert part in found[0]["value"] and "1 MB" in found[0]["value"]
    assert part in found[0]["message"]
    assert (found[0]["sheet"], found[0]["cell"]) == (GRID_SHEET, "")


def test_the_compound_files_made_here_are_what_a_real_reader_sees() -> None:
    """The corpus's hand-made CFB files (legacy .xls, .et, .doc, encrypted packages) are
    valid compound files, with the directory where it is said to be."""
    olefile = pytest.importorskip("olefile")  # installed with msoffcrypto-tool
    streams = {"EncryptionInfo": b"\x04\x00", "EncryptedPackage": b"\x01" * 1_500_001}
    for last in (False, True):
        data = cfb(streams, directory_last=last)
        ole = olefile.OleFileIO(io.BytesIO(data))
        assert sorted(ole.listdir()) == [["EncryptedPackage"], ["EncryptionInfo"]]
        assert ole.openstream("EncryptedPackage").read() == streams["EncryptedPackage"]
        where = data.find("EncryptionInfo".encode("utf-16-le"))
        assert (where > MB) is last


def test_only_an_unfinished_fresh_zip_is_waited_for(tmp_path: Path) -> None:
    """Hashing waits (up to SETTLE_SECONDS) only for a zip changed moments ago that does
    not end with its end record: a complete workbook, even one just saved, costs nothing."""
    corpus = Corpus(hostile_campaign(tmp_path, 1), tmp_path / "scratch", RECEIVED)
    whole = corpus.filled(corpus.institution())
    commented = whole[:-2] + struct.pack("<H", 7) + b"comment"  # an archive comment
    for name, data, waits in (
        ("whole.xlsx", whole, False),
        ("comment.xlsx", commented, False),
        ("half.xlsx", whole[: len(whole) // 2], True),
        ("text.csv", b"a,b\n", False),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        start = time.monotonic()
        assert sha256_of(path) == (hashlib.sha256(data).hexdigest(), len(data))
        waited = time.monotonic() - start
        assert (waited > SETTLE_SECONDS / 2) is waits, (name, waited)
