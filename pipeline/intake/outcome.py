"""What became of one inbox file in a run: the unit the validation log, the run's
summary and 报送情况 speak of."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.findings import Finding
from pipeline.ledger.store import MailOrigin

OUTCOME_ZH = {
    "accepted": "已接收",
    "rejected": "已退回",
    "duplicate": "重复文件",
    "superseded": "已被更正版本替代",
    "withdrawn": "已撤回",
    "skipped": "已跳过",
    "unpacked": "压缩包，已逐个检查其中的文件",
}


def from_mail(origin: MailOrigin | None) -> str:
    """「来源邮件」 as the outputs show it: from whom, when (empty for a file saved by hand)."""
    if origin is None:
        return ""
    who = origin.sender or "（无发件人地址）"
    if origin.sender_name and origin.sender_name != origin.sender:
        who = f"{origin.sender_name} <{who}>"
    return f"{who}，{origin.received:%Y-%m-%d %H:%M}"


@dataclass
class FileOutcome:
    """What became of one inbox file in this run."""

    name: str
    outcome: str
    sha256: str = ""
    size: int = 0
    received_at: str = ""
    institution: str = ""
    period: str = ""
    submission_id: int | None = None
    note: str = ""
    findings: list[Finding] = field(default_factory=list)
    origin: MailOrigin | None = None  # the e-mail it came in (a zip member: the zip's)
    # Refused for now (roster, period, still copying, a fault of ours): not recorded in
    # the ledger, so the file is judged afresh on the next run.
    transient: bool = False
    campaign: str = ""  # the code of the campaign it belongs to ("" when none)

    def mark_transient(self, note: str = "本次未入账，下次运行时重新检查") -> None:
        self.transient = True
        self.note = note
