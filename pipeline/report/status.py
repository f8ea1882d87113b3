"""报送情况_YYYY-MM.xlsx: the roster against the period — who reported, on time or late,
who is missing, whose return was rejected or superseded, from which e-mail it came,
who was reminded (催报) and when — with counts and rates on top.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.atomic import write_atomic
from pipeline.forms.layout import FOOTER_ROW, footer_key
from pipeline.forms.printing import PrintColumns
from pipeline.forms.spec import FormSpec
from pipeline.intake.outcome import from_mail
from pipeline.report.tables import TableBook

if TYPE_CHECKING:
    from pipeline.aggregate.period import PeriodData
    from pipeline.config.roster import Institution
    from pipeline.ledger.store import Ledger, Submission

SIGNERS = "__signers"  # the names signed under the forms: a column per footer label


def signers(forms: Sequence[FormSpec]) -> list[str]:
    """The footer labels of the forms (审核人, 填表人, 填报日期, 附件1's 填表时间), each
    once, in the order the forms first have them; an institution's entry is the first
    form's that has it filled."""
    keys = [footer_key(label) for spec in forms for label in spec.footer if label]
    return list(dict.fromkeys(keys))


HEADERS = [
    "序号",
    "机构代码",
    "机构名称",
    "机构级别",
    "报送状态",
    "是否按时",
    "接收时间",
    "来源邮件",
    "采用文件",
    "退回或替代的文件",
    SIGNERS,
    "催报记录",
    "联系人",
    "联系电话",
    "电子邮箱",
]


def _printed(names: Sequence[str]) -> PrintColumns:
    """On paper: who stands where, who signed, and whom to call, in the sheet's order;
    the mail and the file taken, and e-mail addresses stay on screen, to the right."""
    return PrintColumns.of(
        {
            "序号": 5,
            "机构代码": 8,
            "机构名称": 18,
            "机构级别": 9,
            "报送状态": 12,
            "是否按时": 10,
            "接收时间": 16,
            "退回或替代的文件": 18,
            **{name: 8 for name in names},
            "催报记录": 14,
            "联系人": 7,
            "联系电话": 12,
        },
        repeat=3,
    )


MISSING = "未报送"
REJECTED = "已退回，待重报"
REPORTED = "已报送"
CORRECTED = "已报送（已更正）"


@dataclass(frozen=True)
class Standing:
    """Where one institution stands for the period, as 报送情况 shows it; the reminders
    are sent from the same judgement (``pipeline.mail.reminders``)."""

    status: str  # MISSING, REJECTED, REPORTED or CORRECTED
    timeliness: str
    received: str
    used: str  # the file taken
    others: str  # files rejected or superseded
    rejected: Submission | None = None  # the latest rejected file, while awaiting a new one
    shown: Submission | None = None  # the file whose receipt time is shown


def standing(data: PeriodData, code: str) -> Standing:
    everything = [s for s in data.submissions if s.institution == code]
    mine = [s for s in everything if not s.withdrawn]  # a withdrawn file never came
    current = next((s for s in mine if s.status == "accepted"), None)
    others = "；".join(f"{s.file_name}（{_what(s)}）" for s in everything if s is not current)
    if current is None:
        last = max(mine, key=lambda s: (s.received_at, s.id), default=None)
        return Standing(
            REJECTED if mine else MISSING,
            _timeliness(data, None),
            _when(last.received if last else None),
            "",
            others,
            rejected=last,
            shown=last,
        )
    counted = [s for s in mine if s.status != "rejected"]  # a refused file is no report
    first_received = min(s.received for s in counted)
    return Standing(
        CORRECTED if any(s.status == "superseded" for s in mine) else REPORTED,
        _timeliness(data, first_received),
        _when(current.received),
        current.file_name,
        others,
        shown=current,
    )


@dataclass(frozen=True)
class Reporting:
    """Who reported the period, on time or late, who is missing or was sent back: the
    counts on top of 报送情况, and the names the briefing and the report page give."""

    standings: dict[str, Standing]  # institution code -> its standing, roster order
    on_time: tuple[Institution, ...]
    late: tuple[Institution, ...]
    missing: tuple[Institution, ...]
    rejected: tuple[Institution, ...]  # sent back (已退回), not resent yet

    @property
    def should(self) -> int:
        return len(self.standings)

    @property
    def reported(self) -> int:
        return len(self.on_time) + len(self.late)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "应报": self.should,
            "已报送": self.reported,
            "按时": len(self.on_time),
            "逾期": len(self.late),
            "未报送": len(self.missing),
            "已退回": len(self.rejected),
        }


def reporting(data: PeriodData) -> Reporting:
    standings = {inst.code: standing(data, inst.code) for inst in data.roster}
    groups: dict[str, list[Institution]] = {"按时": [], "逾期": [], MISSING: [], REJECTED: []}
    for inst in data.roster:
        st = standings[inst.code]
        if st.status in (REPORTED, CORRECTED):
            groups["按时" if st.timeliness == "按时" else "逾期"].append(inst)
        else:
            groups[st.status].append(inst)
    return Reporting(
        standings,
        tuple(groups["按时"]),
        tuple(groups["逾期"]),
        tuple(groups[MISSING]),
        tuple(groups[REJECTED]),
    )


def _what(s: Submission) -> str:
    if s.withdrawn:
        return "已撤回"
    return "已退回" if s.status == "rejected" else "已替代"


SEND_RESULT_ZH = {"delivered": "已送达", "failed": "发送失败", "pending": "结果不明（发送中断）"}


def _reminders(ledger: Ledger, period: str) -> dict[str, str]:
    """Institution -> every reminder sent for the period: when, and what came of it."""
    shown: dict[str, list[str]] = {}
    for send in ledger.sends(period, "reminder"):
        text = f"{_when(send.attempted)} {SEND_RESULT_ZH[send.result]}"
        shown.setdefault(send.institution, []).append(text)
    return {code: "；".join(texts) for code, texts in shown.items()}


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def _timeliness(data: PeriodData, received: dt.datetime | None) -> str:
    if received is None:  # nothing counted yet
        return "已过截止日" if dt.date.today() > data.due else ""
    return (
        "按时" if received.date() <= data.due else f"逾期（{(received.date() - data.due).days}天）"
    )


def _signatures(data: PeriodData, ledger: Ledger) -> dict[str, dict[str, str]]:
    """Institution -> names typed beside the footer labels (审核人, 填表人) on its return."""
    names: dict[str, dict[str, str]] = {}
    this = str(data.period)
    for spec in data.campaign.forms:
        for inst, _p, row_key, fld, text, _cell, _file, _sha in ledger.accepted_texts(
            spec.id, this, this
        ):
            if row_key == FOOTER_ROW:
                names.setdefault(inst, {}).setdefault(fld, text)
    return names


def _mail(ledger: Ledger, st: Standing) -> str:
    """「来源邮件」 of the file shown: from whom, when ("" for a file saved by hand)."""
    sub = st.shown
    return from_mail(ledger.mail_origin(sub.sha256, sub.file_name)) if sub else ""


def write(data: PeriodData, ledger: Ledger, outbox: Path) -> Path:
    signed = _signatures(data, ledger)
    names = signers(data.campaign.forms)
    at = HEADERS.index(SIGNERS)
    headers = [*HEADERS[:at], *names, *HEADERS[at + 1 :]]
    widths = [6, 10, 30, 18, 16, 12, 17, 36, 40, 40, *([10] * len(names)), 24, 10, 14, 28]
    reminded = _reminders(ledger, str(data.period))
    rows = []
    told = reporting(data)
    counts = told.counts
    for i, inst in enumerate(data.roster, start=1):
        st = told.standings[inst.code]
        rows.append(
            [
                i,
                inst.code,
                inst.name,
                inst.level,
                st.status,
                st.timeliness,
                st.received,
                _mail(ledger, st),
                st.used,
                st.others,
                *(signed.get(inst.code, {}).get(key, "") for key in names),
                reminded.get(inst.code, ""),
                inst.contact,
                inst.phone,
                inst.email,
            ]
        )
    width = len(headers)
    due = f"报送截止：{data.due.isoformat()}"
    if not data.due_covered:
        due += (
            "（节假日数据未覆盖该年份，仅按周末顺延；可在工作配置文件 [due] 中填写当年节假日安排）"
        )
    total = counts["应报"] or 1
    summary = [
        f"应报{counts['应报']}家",
        f"已报送{counts['已报送']}家（报送率{counts['已报送'] / total:.1%}）",
        f"按时{counts['按时']}家（按时率{counts['按时'] / total:.1%}）",
        f"逾期{counts['逾期']}家",
        f"未报送{counts['未报送']}家",
        f"已退回待重报{counts['已退回']}家",
    ]

    def _write(path: Path) -> None:
        with TableBook(path, data.stage) as book:
            sheet = book.sheet("报送情况")
            title = f"{data.campaign.name} 报送情况（{data.period.label()}）"
            sheet.banner(1, title, width, title=True)
            sheet.banner(2, due, width)
            sheet.banner(3, "；".join(summary), width)
            sheet.table(headers, rows, start_row=5, widths=widths, printed=_printed(names))

    return write_atomic(outbox / f"报送情况_{data.period}.xlsx", _write)
