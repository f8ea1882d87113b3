"""The floor: open every file of a folder as a zip and inflate every member fully.

An xlsx file is a zip of XML parts, so no reader of the returns can do less work than
this: it reads and decompresses every byte and parses nothing. Standalone on purpose
(standard library only): ``python bench/floor.py FOLDER``.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path


def inflate_all(folder: Path) -> tuple[int, int, int]:
    """(files, members, inflated bytes) over every regular file of ``folder``."""
    files = members = total = 0
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                total += len(zf.read(info))
                members += 1
        files += 1
    return files, members, total


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python bench/floor.py FOLDER", file=sys.stderr)
        return 2
    files, members, total = inflate_all(Path(argv[0]))
    print(f"{files} files, {members} members, {total} bytes inflated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
