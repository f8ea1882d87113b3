"""异常清单_YYYY-MM.xlsx and .csv: every finding of warning level or above, and every
ledger anomaly, each saying what is wrong, where, the value, the expected value and
what to do.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.atomic import write_atomic, write_text_atomic
from pipeline.findings import SEVERITY_ZH, Finding
from pipeline.forms.printing import PrintColumns

if TYPE_CHECKING:
    from pipeline.aggregate.period import PeriodData
    from pipeline.config.roster import Roster

HEADERS = [
    "序号",
    "严重程度",
    "规则",
    "机构代码",
    "机构名称",
    "文件",
    "工作表",
    "单元格",
    "问题",
    "填报值",
    "应为",
    "处理建议",
    "联系人",
    "联系电话",
]
# On paper: what is wrong, where, and whom to call; the institution's code and the file
# name stay on screen, to the right.
PRINTED = PrintColumns.of(
    {
        "序号": 5,
        "严重程度": 6,
        "规则": 9,
        "机构名称": 16,
        "工作表": 7,
        "单元格": 7,
        "问题": 32,
        "填报值": 9,
        "应为": 9,
        "处理建议": 27,
        "联系人": 7,
        "联系电话": 12,
    }
)
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def listed(data: PeriodData) -> list[Finding]:
    """Warnings and errors of this period's files, then the ledger anomalies."""
    seen: set[tuple] = set()
    out: list[Finding] = []
    # This month's findings, and those of files refused in this run whatever month they
    # belong to (a late return of an earlier month must reach the clerk).
    now = [x for o in data.files if o.transient for x in o.findings]
    for f in [x for o in data.files for x in o.findings] + data.anomalies:
        if f.severity == "info" or (f.period and f.period != str(data.period) and f not in now):
            continue
        key = (f.rule, f.file, f.sheet, f.cell, f.institution, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return sorted(
        out,
        key=lambda f: (_SEVERITY_ORDER[f.severity], f.institution, f.file, f.sheet, f.cell, f.rule),
    )


def rows(findings: list[Finding], roster: Roster) -> list[list[object]]:
    def contact(code: str) -> tuple[str, str]:
        inst = roster.get(code)
        return (inst.contact, inst.phone) if inst else ("", "")

    return [
        [
            i,
            SEVERITY_ZH[f.severity],
            f.rule,
            f.institution,
            f.institution_name,
            f.file,
            f.sheet,
            f.cell,
            f.message,
            f.value,
            f.expected,
            f.advice,
            *contact(f.institution),
        ]
        for i, f in enumerate(findings, start=1)
    ]


def csv_safe(value: object) -> str:
    """Neutralise spreadsheet formula triggers (OWASP CSV injection) in text; a number
    (-1, +3, a figure as the log states it) is left as it is."""
    text = "" if value is None else str(value)
    if isinstance(value, int | float) or _is_number(text):
        return text
    return "'" + text if text.startswith(_CSV_TRIGGERS) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text and text.lower() not in ("nan", "inf", "-inf", "+inf")


def to_csv(table: list[list[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in table:
        writer.writerow([csv_safe(v) for v in row])
    return "\ufeff" + buf.getvalue()  # BOM: Excel opens UTF-8 CSV correctly


def write(data: PeriodData, outbox: Path) -> list[Path]:
    table = rows(listed(data), data.roster)

    def _write(path: Path) -> None:
        from pipeline.report.tables import TableBook  # a rerun with nothing new writes no table

        with TableBook(path, data.stage) as book:
            book.sheet("异常清单").table(
                HEADERS,
                table,
                widths=[6, 12, 14, 10, 26, 34, 8, 8, 60, 10, 10, 40, 10, 14],
                title=f"{data.campaign.name} 异常清单（{data.period.label()}，共{len(table)}条）",
                printed=PRINTED,
            )

    stem = f"异常清单_{data.period}"
    return [
        write_atomic(outbox / f"{stem}.xlsx", _write),
        write_text_atomic(outbox / f"{stem}.csv", to_csv(table)),
    ]
