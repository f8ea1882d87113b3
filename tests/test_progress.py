"""A run tells its progress while it writes the outputs, not only while it reads."""

from __future__ import annotations

from pathlib import Path

from e2e_support import campaign_in

from pipeline.config.calendar import Period
from pipeline.run import run_period


def test_each_output_written_is_told(tmp_path: Path) -> None:
    campaign = campaign_in(tmp_path)
    campaign.inbox.mkdir(parents=True)  # nobody has reported: the outputs still say so
    told: list[tuple[str, int, int]] = []
    run_period(campaign, Period(2026, 8), progress=lambda *step: told.append(step))
    writing = [step for step in told if step[0] == "写出"]
    assert writing and writing[-1][1] == writing[-1][2] == len(writing)
    assert [done for _, done, _ in writing] == list(range(1, len(writing) + 1))
