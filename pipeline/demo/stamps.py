"""Receipt times of the demo's returns."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path


def stamp(path: Path, when: dt.datetime) -> None:
    """Receipt time: the clerk saved the attachment when the email arrived."""
    ts = when.timestamp()
    os.utime(path, (ts, ts))
