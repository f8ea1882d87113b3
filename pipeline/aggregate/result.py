"""What one run of one campaign's period came to: the files judged and the outputs written.

Kept below the run, so the overview and the command line can read a run's result without
importing the run itself (reports never import :mod:`pipeline.run`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.campaigns.campaign import Campaign
from pipeline.config.calendar import Period
from pipeline.config.roster import Institution
from pipeline.intake.outcome import FileOutcome


@dataclass
class RunResult:
    period: Period
    files: list[FileOutcome]
    anomalies: int  # rows of 异常清单: warnings, errors, ledger anomalies
    missing: list[Institution]
    outputs: list[Path]
    outbox: Path
    unchanged: bool = False  # nothing new: the outputs of the last run were kept
    campaign: Campaign | None = None
    overdue: int = 0  # items (or institutions) past their deadline, in 异常清单

    def count(self, outcome: str) -> int:
        """Files of this campaign's period (or unidentified) with ``outcome``."""
        return sum(
            1 for f in self.files if f.outcome == outcome and self._ours(f) and not self._earlier(f)
        )

    def _ours(self, f: FileOutcome) -> bool:
        return self.campaign is None or f.campaign in ("", self.campaign.code)

    def _earlier(self, f: FileOutcome) -> bool:
        return f.submission_id is not None and f.period not in ("", str(self.period))

    @property
    def other_month_returns(self) -> list[str]:
        """Months of returns refused in this run because they belong to another month."""
        return sorted(
            {
                f.period
                for f in self.files
                if f.transient and f.period and f.period != str(self.period) and self._ours(f)
            }
        )

    @property
    def other_periods(self) -> int:
        """Files already recorded for another period (left in the inbox from earlier runs)."""
        return sum(1 for f in self.files if self._earlier(f) and self._ours(f))
