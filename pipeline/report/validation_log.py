"""校验日志_YYYY-MM.jsonl and .xlsx: the auditable record of the run.

Every inbox file seen (by its name; a zip's members as ``<zip>/<member>``), its hash,
outcome and, when it came by e-mail, the message (sender, time received, subject,
Message-ID); every finding; and for every figure of the aggregated return, the returns
and cells it was summed from. The JSONL is for machines (one object per line, ``type``
says which); the xlsx is the same for people.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.atomic import open_atomic, write_atomic
from pipeline.findings import SEVERITY_ZH
from pipeline.forms.kinds import kind_of
from pipeline.forms.printing import PrintColumns
from pipeline.intake.outcome import OUTCOME_ZH, FileOutcome, from_mail
from pipeline.report import summary
from pipeline.report.tables import TableBook

if TYPE_CHECKING:
    from pipeline.aggregate.period import PeriodData

MAX_XLSX_TRACE_ROWS = 20_000  # a district needs a few thousand; the JSONL always has every row

# On paper each sheet prints these columns, this wide (see pipeline.forms.printing); a
# sha256 prints as its first 12 hex digits, the whole hash stays on screen and in the JSONL.
PRINTED_FILES = PrintColumns.of(
    {
        "文件名": 30,
        "SHA-256": 14,
        "大小（字节）": 9,
        "结果": 9,
        "机构代码": 9,
        "报告期": 8,
        "接收时间": 21,
        "说明": 31,
        "问题数": 6,
    },
    short={"SHA-256": 12},
)
PRINTED_FINDINGS = PrintColumns.of(
    {
        "文件名": 26,
        "机构代码": 9,
        "严重程度": 6,
        "规则": 12,
        "工作表": 7,
        "单元格": 7,
        "问题": 44,
        "填报值": 10,
        "应为": 10,
    }
)
PRINTED_DERIVED = PrintColumns.of(
    {"汇总表工作表": 8, "汇总表单元格": 8, "栏目": 30, "汇总数": 9, "计算方法": 56, "说明": 24}
)
PRINTED_TRACE = PrintColumns.of(
    {
        "汇总表工作表": 6,
        "汇总表单元格": 6,
        "行": 30,
        "栏目": 26,
        "汇总数": 7,
        "来源文件": 40,
        "来源单元格": 11,
        "来源期间": 8,
        "来源数值": 7,
    }
)


def _trace(data: PeriodData) -> Iterator[dict[str, object]]:
    """(output cell, figure, contribution) for every summed figure of the outputs."""
    target = summary.filename(data.period)
    for spec in data.campaign.forms:
        yield from kind_of(spec).trace(data.totals[spec.id], data.layouts[spec.id], target)


def _derived_notes(data: PeriodData) -> Iterator[dict[str, object]]:
    """How each derived figure is computed from the traced ones."""
    target = summary.filename(data.period)
    for spec in data.campaign.forms:
        yield from kind_of(spec).derivations(data.totals[spec.id], data.layouts[spec.id], target)


def _mail(o: FileOutcome) -> dict[str, object]:
    """The message a file came in, or None for each field when it was saved by hand."""
    m = o.origin
    return {
        "mail_from": m.sender if m else None,
        "mail_from_name": m.sender_name if m else None,
        "mail_received_at": m.received_at if m else None,
        "mail_subject": m.subject if m else None,
        "mail_message_id": m.message_id if m else None,
        "from_mail": from_mail(m),
    }


def write(data: PeriodData, outbox: Path) -> list[Path]:
    stem = f"校验日志_{data.period}"
    files = [
        {
            "type": "file",
            "file": o.name,
            "sha256": o.sha256,
            "size": o.size,
            "outcome": o.outcome,
            "outcome_zh": OUTCOME_ZH[o.outcome],
            "institution": o.institution,
            "period": o.period,
            "received_at": o.received_at,
            "note": o.note,
            "findings": len(o.findings),
            # judged for this period (or naming none); a file of another period lying in
            # the inbox is listed apart
            "this_period": o.period in ("", str(data.period)),
            **_mail(o),
        }
        for o in data.files
    ]
    mine = [f for f in files if f["this_period"]]
    others = [f for f in files if not f["this_period"]]
    mine_names = {f["file"] for f in mine}
    findings = [{"type": "finding", **f.to_dict()} for o in data.files for f in o.findings]
    anomalies = [{"type": "anomaly", **f.to_dict()} for f in data.anomalies]
    with open_atomic(outbox / f"{stem}.jsonl", "w", encoding="utf-8") as fh:
        header = {
            "type": "run",
            "campaign": data.campaign.name,
            "period": str(data.period),
            "due": data.due.isoformat(),
            "files_seen": len(mine),
            "other_periods_files": len(others),
        }
        records = (header, *files, *findings, *anomalies, *_derived_notes(data))
        for record in itertools.chain(records, _trace(data)):  # the trace streams
            fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")

    def _write(tmp: Path) -> None:
        book = TableBook(tmp, data.stage)
        book.sheet("文件").table(
            [
                "文件名",
                "SHA-256",
                "大小（字节）",
                "结果",
                "机构代码",
                "报告期",
                "接收时间",
                "来源邮件",
                "说明",
                "问题数",
            ],
            [
                [
                    f["file"],
                    f["sha256"],
                    f["size"],
                    f["outcome_zh"],
                    f["institution"],
                    f["period"],
                    f["received_at"],
                    f["from_mail"],
                    f["note"],
                    f["findings"],
                ]
                for f in mine
            ],
            widths=[40, 66, 12, 16, 10, 10, 20, 36, 40, 8],
            printed=PRINTED_FILES,
            title=f"校验日志 {data.period.label()}：本期共检查{len(mine)}个文件",
        )
        book.sheet("其他报告期的文件").table(
            ["文件名", "报告期", "结果", "机构代码", "接收时间", "说明"],
            [
                [
                    f["file"],
                    f["period"],
                    f["outcome_zh"],
                    f["institution"],
                    f["received_at"],
                    f["note"],
                ]
                for f in others
            ],
            widths=[40, 10, 16, 10, 20, 40],
            title=f"收件箱中属于其他报告期的文件（共{len(others)}个，见各自报告期的校验日志）",
        )
        book.sheet("问题").table(
            [
                "文件名",
                "机构代码",
                "严重程度",
                "规则",
                "工作表",
                "单元格",
                "问题",
                "填报值",
                "应为",
            ],
            [
                [
                    f["file"],
                    f["institution"],
                    SEVERITY_ZH[f["severity"]],
                    f["rule"],
                    f["sheet"],
                    f["cell"],
                    f["message"],
                    f["value"],
                    f["expected"],
                ]
                for f in findings + anomalies
                if f["type"] == "anomaly" or f["file"] in mine_names
            ],
            widths=[40, 10, 12, 14, 8, 8, 60, 10, 10],
            printed=PRINTED_FINDINGS,
        )
        book.sheet("计算方法").table(
            ["汇总表工作表", "汇总表单元格", "栏目", "汇总数", "计算方法", "说明"],
            [
                [d["sheet"], d["cell"], d["measure"], d["figure"], d["computed_as"], d["note"]]
                for d in _derived_notes(data)
            ],
            widths=[10, 12, 30, 10, 60, 24],
            printed=PRINTED_DERIVED,
            title="汇总表中计算得出的数字（合计、整改率等）如何由汇总后的数量算出",
        )
        trace_rows: list[list[object]] = []
        cut = False
        for t in _trace(data):
            if len(trace_rows) >= MAX_XLSX_TRACE_ROWS:
                cut = True
                break
            trace_rows.append(
                [
                    t["sheet"],
                    t["cell"],
                    t["row"],
                    t["measure"],
                    t["figure"],
                    t["source_file"],
                    f"{t['source_sheet']}!{t['source_cell']}",
                    t["source_period"],
                    t["value"],
                ]
            )
        book.sheet("数据溯源").table(
            [
                "汇总表工作表",
                "汇总表单元格",
                "行",
                "栏目",
                "汇总数",
                "来源文件",
                "来源单元格",
                "来源期间",
                "来源数值",
            ],
            trace_rows,
            widths=[10, 10, 40, 30, 10, 40, 14, 10, 10],
            printed=PRINTED_TRACE,
            title="汇总表每个数字的来源（整改率、合计等按汇总后的数量重新计算）"
            + (f"；此处只列前{MAX_XLSX_TRACE_ROWS}行，完整溯源见同名 .jsonl 文件" if cut else ""),
        )
        book.close()

    return [outbox / f"{stem}.jsonl", write_atomic(outbox / f"{stem}.xlsx", _write)]
