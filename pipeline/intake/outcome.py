"""What became of one inbox file in a run: the unit the validation log, the run's
summary and 报送情况 speak of."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.findings import Finding

OUTCOME_ZH = {
    "accepted": "已接收",
    "rejected": "已退回",
    "duplicate": "重复文件",
    "superseded": "已被更正版本替代",
    "skipped": "已跳过",
}


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
    # Refused for now (roster, period, still copying, a fault of ours): not recorded in
    # the ledger, so the file is judged afresh on the next run.
    transient: bool = False

    def mark_transient(self, note: str = "本次未入账，下次运行时重新检查") -> None:
        self.transient = True
        self.note = note
