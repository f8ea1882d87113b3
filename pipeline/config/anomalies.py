"""The campaign file's ``[anomalies]``: when a figure is far enough from an institution's
own history to be worth a call, and how far behind its plan a project may fall."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnomalyConfig:
    # A period's figure is flagged when its modified z-score against the institution's
    # own past periods exceeds this; quiet until the institution has this many.
    zscore_threshold: float = 3.5
    zscore_min_months: int = 4
    # A project (a seeded register item with a plan) is behind when its percent is
    # under the plan for the day by more than this many percentage points.
    schedule_margin: float = 0.0
