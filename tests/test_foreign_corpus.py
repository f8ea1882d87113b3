"""Spreadsheets nobody on this project wrote (shared/corpus/foreign), all in one inbox.

~130 real files — legacy .xls, .xlsb, .ods, macro workbooks, password-protected ones and
files that crashed or exhausted other readers — beside two valid returns, run once
through the CLI as a child process. None is a valid return: each must end rejected with
a rule and a reason in Chinese (or as a duplicate of an identical file), the two valid
returns must be accepted, and the run must finish quickly in bounded memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest
from e2e_support import ROOT, read_jsonl
from hostile import PERIOD, Case, Corpus, cli_argv, hostile_campaign, run_measured

# The shared/ folder beside the checkout; FOREIGN_CORPUS names another place, and the
# team machines keep it at /work/shared wherever the clone is.
_PLACES = [
    Path(os.environ["FOREIGN_CORPUS"]) if os.environ.get("FOREIGN_CORPUS") else None,
    Path(__file__).resolve().parents[2] / "shared" / "corpus" / "foreign",
    Path("/work/shared/corpus/foreign"),
]
CORPUS = next((p for p in _PLACES if p is not None and p.is_dir()), _PLACES[1])
CJK = re.compile(r"[\u4e00-\u9fff]")
GiB = 1 << 30

# The rule each kind of file is refused with; by extension, then the files that differ.
BY_SUFFIX = {
    ".xls": "F-LEGACY-XLS",
    ".xlsb": "F-NOT-XLSX",
    ".ods": "F-NOT-XLSX",
    ".xlsm": "F-MACRO",
    ".xlsx": "M-NO-META",  # a workbook, but not one of our forms
    ".jpg": "F-NOT-XLSX",
    ".png": "F-NOT-XLSX",
    ".md": "F-NOT-XLSX",
}
EXCEPTIONS = {
    "too_small.xls": "F-NOT-XLSX",  # 68 bytes of text: "Attachment ... not found!"
    "issue_182.xlsb": "F-MACRO",  # an .xlsb holding xl/vbaProject.bin
    "issues.xlsb": "F-MACRO",  # likewise
    "pass_protected.xlsb": "F-ENCRYPTED",  # an encrypted package, whatever inside
    "pass_protected.xlsx": "F-ENCRYPTED",
    "issue252.xlsx": "F-DAMAGED",  # a member's CRC-32 does not match its data
}


@pytest.fixture(scope="module")
def foreign_files() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.skip(
            f"FOREIGN CORPUS NOT FOUND at {CORPUS}: the shared/ folder beside the checkout "
            "holds it; without it these robustness tests do not run"
        )
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "README.md")
    assert len(files) > 100, f"only {len(files)} files in {CORPUS}"
    return files


def test_every_foreign_file_is_refused_with_a_reason(
    tmp_path: Path, foreign_files: list[Path]
) -> None:
    campaign = hostile_campaign(tmp_path, institutions=2)
    campaign.inbox.mkdir(parents=True)
    names: dict[str, Path] = {}
    for path in foreign_files:
        name = path.name if path.name not in names else f"{path.parent.name}-{path.name}"
        shutil.copy2(path, campaign.inbox / name)
        names[name] = path
    corpus = Corpus(campaign, tmp_path / "scratch", dt.datetime(2026, 8, 30, 9))
    valid = [f"正常报表{n}.xlsx" for n in (1, 2)]
    for name in valid:
        corpus.put(Case(name, name, "accepted"), corpus.filled(corpus.institution()))

    run = run_measured(cli_argv(campaign, "run", "--period", str(PERIOD)), ROOT, 120)

    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert run.seconds < 60, f"{run.seconds:.1f} s"
    assert run.peak_rss < GiB, f"peak RSS {run.peak_rss / GiB:.2f} GiB"
    log = read_jsonl(campaign.outbox / str(PERIOD) / f"校验日志_{PERIOD}.jsonl")
    records = {r["file"]: r for r in log if r["type"] == "file"}
    rules: dict[str, list[str]] = {}
    for r in log:
        if r["type"] == "finding":
            rules.setdefault(r["file"], []).append(r["rule"])
            assert CJK.search(r["message"]) and CJK.search(r["advice"]), r
            assert "程序内部错误" not in r["value"], r  # a fault of ours, caught
    assert set(records) == set(names) | set(valid)
    assert [records[n]["outcome"] for n in valid] == ["accepted", "accepted"]

    digest = {n: hashlib.sha256(p.read_bytes()).hexdigest() for n, p in names.items()}
    wrong = {}
    for name, path in names.items():
        record = records[name]
        if record["outcome"] == "duplicate":  # the same bytes as another foreign file
            same = [n for n in names if n != name and digest[n] == digest[name]]
            if not same or records[same[0]]["outcome"] != "rejected":
                wrong[name] = f"duplicate of {same}"
            continue
        want = EXCEPTIONS.get(path.name) or BY_SUFFIX.get(path.suffix.lower())
        got = rules.get(name, [])
        if record["outcome"] not in ("rejected", "skipped") or not (got or record["note"]):
            wrong[name] = f"{record['outcome']} {got} {record['note']!r}"
        elif want is not None and got != [want]:
            wrong[name] = f"{got}, expected [{want!r}]"
    assert wrong == {}
