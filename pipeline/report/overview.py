"""总览.xlsx: the clerk's page across the campaigns of a workspace, rewritten every run.

One row per campaign and period of the campaign's latest run (a run of one campaign
leaves the others' rows as their own last runs left them, from the ledger): its stage,
what is due and when, how many should report and have, who is missing, whose return was
rejected and not replaced, how many items are overdue or behind, how many rows the
anomaly list has, and where the outputs are. A second sheet lists, once, the files of no
campaign of the workspace.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.atomic import write_atomic

if TYPE_CHECKING:
    from pipeline.aggregate.result import RunResult
    from pipeline.campaigns.workspace import Workspace
    from pipeline.intake.outcome import FileOutcome
    from pipeline.ledger.store import Ledger

FILENAME = "总览.xlsx"
HEADERS = [
    "工作",
    "工作代码",
    "报告期",
    "阶段",
    "报送截止",
    "应报",
    "已报送",
    "未报送",
    "已退回待重报",
    "逾期未完成",
    "异常清单（条）",
    "结果文件夹",
]


def row(r: RunResult, ledger: Ledger) -> list[object]:
    """The overview's line for one campaign's period, as this run leaves it."""
    c = r.campaign
    assert c is not None
    scoped = ledger.scoped(c.code)
    subs = scoped.submissions(str(r.period))
    accepted = {s.institution for s in subs if s.status == "accepted"}
    rejected = {s.institution for s in subs if s.status == "rejected"} - accepted
    missing = [i for i in r.missing if i.code not in rejected]
    returned = [i for i in r.missing if i.code in rejected]
    due, _ = c.due.due_date(r.period)
    return [
        c.name,
        c.code,
        r.period.label(),
        c.stage(r.period),
        due.isoformat(),
        len(r.missing) + len(accepted),
        len(accepted),
        _names(missing),
        _names(returned),
        r.overdue,
        r.anomalies,
        str(r.outbox),
    ]


def rows(ws: Workspace, ledger: Ledger) -> list[list[object]]:
    """Every campaign's lines from its latest run (recorded with the run in the ledger),
    in the workspace's order; a campaign never run says so."""
    latest: dict[str, list[tuple[int, str, list[object]]]] = {}
    for code, period, summary in ledger.finished_runs():
        try:
            kept = json.loads(summary or "{}")
            line, batch = kept["overview"], int(kept["batch"])
        except (ValueError, KeyError, TypeError):
            continue  # a run of an earlier version: no line kept
        latest.setdefault(code, []).append((batch, period, line))
    out: list[list[object]] = []
    for c in ws.campaigns:
        runs = latest.get(c.code, [])
        if not runs:
            out.append([c.name, c.code, "尚未汇总", "", "", "", "", "", "", "", "", ""])
            continue
        last = max(batch for batch, _, _ in runs)
        out += [line for batch, _, line in sorted(runs, key=lambda x: x[1]) if batch == last]
    return out


def _names(insts: Sequence[object]) -> str:
    names = [getattr(i, "name", str(i)) for i in insts]
    return f"{len(names)}家：" + "、".join(names) if names else "无"


def foreign(files: Sequence[FileOutcome]) -> list[list[object]]:
    """Files of no campaign of the workspace, each once."""
    return [
        [f.name, f.findings[0].message if f.findings else "", f.received_at]
        for f in files
        if f.outcome == "rejected" and not f.campaign
    ]


def write(ws: Workspace, ledger: Ledger, files: Sequence[FileOutcome]) -> Path:
    table = rows(ws, ledger)
    strays = foreign(files)
    today = dt.date.today().isoformat()

    def _write(path: Path) -> None:
        from pipeline.report.tables import TableBook  # a rerun with nothing new writes no table

        with TableBook(path) as book:
            book.sheet("总览").table(
                HEADERS,
                table,
                widths=[28, 12, 20, 12, 12, 6, 8, 40, 30, 10, 12, 36],
                title=f"{ws.name} 总览（{today}）",
            )
            book.sheet("不属于任何工作的文件").table(
                ["文件", "原因", "接收时间"],
                strays,
                widths=[40, 60, 20],
                title=f"收件箱中不属于本工作区任何工作的文件（共{len(strays)}个）",
            )

    return write_atomic(ws.outbox / FILENAME, _write)
