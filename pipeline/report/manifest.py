"""Whether a period's outputs already are what this run would write.

Outputs are a function of the ledger's records, of the files found in the inbox, of the
campaign's configuration and roster, of the program's version and of the day (报送情况
judges a missing return against today). A digest of those is kept in the ledger with
each output's size and modification time; a rerun that finds the same digest and the
outputs untouched writes nothing, so checking an unchanged inbox costs a directory
listing, a hash per file and a few queries. Any difference, or an output opened and
saved, deleted, or left half-written by a killed run, and everything is written afresh.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.ledger.store import Ledger


def digest(parts: object) -> str:
    """sha256 of a JSON-able description of the inputs."""
    text = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def current(
    ledger: Ledger, period: str, folder: Path, inputs: str
) -> tuple[list[Path], int, dict[str, int]] | None:
    """(outputs, anomaly rows, counts) of the period if made from ``inputs`` and intact;
    the counts are those :func:`record` was given (the overview's)."""
    known = ledger.output_set(period)
    if known is None or known[0] != inputs:
        return None
    try:
        kept = json.loads(known[1])
        files, counts = kept["files"], kept["counts"]
        paths = [folder / name for name in files]
        if any(_stamp(path) != files[path.name] for path in paths):
            return None
    except (OSError, ValueError, TypeError, AttributeError, KeyError):
        return None
    return paths, known[2], dict(counts)


def record(
    ledger: Ledger,
    period: str,
    inputs: str,
    outputs: list[Path],
    anomalies: int,
    counts: dict[str, int] | None = None,
) -> None:
    kept = {"files": {p.name: _stamp(p) for p in outputs}, "counts": counts or {}}
    ledger.record_output_set(period, inputs, json.dumps(kept, ensure_ascii=False), anomalies)
