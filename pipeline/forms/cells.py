"""Column letters and numbers (A = 1 … XFD = 16384), without importing a workbook library:
the paths that only read (a rerun, the reader) start faster without one."""

from __future__ import annotations

from functools import lru_cache

MAX_COLUMN = 16384


@lru_cache(maxsize=1024)
def column_letter(index: int) -> str:
    if not 1 <= index <= MAX_COLUMN:
        raise ValueError(f"column {index} is outside A..XFD")
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@lru_cache(maxsize=1024)
def column_index(letters: str) -> int:
    if not (1 <= len(letters) <= 3 and letters.isascii() and letters.isupper()):
        raise ValueError(f"{letters!r} is not a column")
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    if index > MAX_COLUMN:
        raise ValueError(f"column {letters} is outside A..XFD")
    return index
