"""The peer: the script a bureau analyst would write instead of the pipeline.

It reads sheet 附件2 of every file of a folder with ``pandas.read_excel(path,
sheet_name="附件2", engine=ENGINE)``, the only sheet it needs, takes the topic rows
(between the header and 当月累计), sums the four hazard count columns (一般/重大隐患 排查
and 已整改) by topic and prints the sums. No validation at all: no identification, no
layout check, no formula check; a cell that is not a number counts as nothing, a file
that does not open is skipped. Two engines: ``calamine`` (compiled, what an analyst who
knows pandas uses; needs python-calamine) and ``openpyxl`` (pandas' default).
Standalone on purpose (pandas only): ``python bench/peer.py [--engine E] FOLDER``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

SHEET = "附件2"
HEADER = "专题专项"
END = "当月累计"
ENGINES = ("calamine", "openpyxl")
# Column positions on the form, as an analyst would hard-code them (A = 0).
HAZARD_COLUMNS = {
    "一般隐患排查": 6,
    "一般隐患已整改": 7,
    "重大隐患排查": 9,
    "重大隐患已整改": 10,
}


def topic_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows between the 专题专项 header and 当月累计 whose label starts with a digit."""
    labels = frame.iloc[:, 0].astype("string").str.strip()
    start = labels.index[labels == HEADER]
    end = labels.index[labels == END]
    if len(start) == 0 or len(end) == 0:
        return frame.iloc[0:0]
    rows = frame.loc[start[0] : end[0]]
    keep = labels.loc[rows.index].str.match(r"^\d+\.").fillna(False)
    return rows[keep.to_numpy(dtype=bool)]


def sums_by_topic(folder: Path, engine: str = "calamine") -> tuple[int, pd.DataFrame]:
    """(files read, topic × hazard column sums)."""
    parts: list[pd.DataFrame] = []
    files = 0
    for path in sorted(folder.iterdir()):
        try:
            frame = pd.read_excel(path, sheet_name=SHEET, engine=engine)
        except Exception:  # the analyst's script just moves on
            continue
        files += 1
        rows = topic_rows(frame)
        part = pd.DataFrame({"专题专项": rows.iloc[:, 0].astype(str).str.strip()})
        for name, col in HAZARD_COLUMNS.items():
            part[name] = pd.to_numeric(rows.iloc[:, col], errors="coerce")
        parts.append(part)
    if not parts:
        return files, pd.DataFrame(columns=["专题专项", *HAZARD_COLUMNS])
    return files, pd.concat(parts).groupby("专题专项", sort=True).sum(min_count=1)


def main(argv: list[str]) -> int:
    engine = "calamine"
    if len(argv) == 3 and argv[0] == "--engine" and argv[1] in ENGINES:
        engine, argv = argv[1], argv[2:]
    if len(argv) != 1:
        print(f"usage: python bench/peer.py [--engine {'|'.join(ENGINES)}] FOLDER", file=sys.stderr)
        return 2
    files, sums = sums_by_topic(Path(argv[0]), engine)
    print(f"{files} files read")
    print(sums.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
