"""Read what clerks type into a number, and say exactly what was changed.

Accepted and logged: full-width digits (１２), numbers stored as text ("12"), stray
spaces, thousands separators (1,200), a trailing unit of the column ("5处", "3个"), and a
percent sign where a rate is read ("66.7%"). Refused: anything that is not one exact
number ("约30", "三", "5-6", "无"), and a percentage where a count is read ("30%" is not
30 hazards).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass

UNITS = ("处", "项", "个", "次", "家")
PERCENT = "%"  # "％" folds to it
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_SPACES = re.compile(r"[\s\u00a0\u3000]+")
_SPLIT_DIGITS = re.compile(r"\d[\s\u00a0\u3000]+\d")


@dataclass(frozen=True)
class Normalised:
    value: float | None
    changed: bool = False  # the raw text was read as something else
    error: bool = False  # the raw text is not a number


def normalise_number(raw: object, *, rate: bool = False) -> Normalised:
    """``raw`` as a number; ``rate`` when the cell holds a percentage (整改率)."""
    if raw is None:
        return Normalised(None)
    if isinstance(raw, bool):
        return Normalised(None, error=True)
    if isinstance(raw, int | float):
        value = float(raw)
        if math.isnan(value) or math.isinf(value):
            return Normalised(None, error=True)
        return Normalised(value)
    if isinstance(raw, dt.datetime | dt.date | dt.time):
        return Normalised(None, error=True)
    text = str(raw)
    folded = unicodedata.normalize("NFKC", text)
    if _SPLIT_DIGITS.search(folded):
        return Normalised(None, error=True)  # "1 2" is not 12
    cleaned = _SPACES.sub("", folded)
    if cleaned == "":
        return Normalised(None, changed=text != "")
    for unit in (PERCENT,) if rate else UNITS:
        if cleaned.endswith(unit) and len(cleaned) > len(unit):
            cleaned = cleaned[: -len(unit)]
            break
    if _THOUSANDS.match(cleaned):
        cleaned = cleaned.replace(",", "")
    if not _NUMBER.match(cleaned):
        return Normalised(None, error=True)
    return Normalised(float(cleaned), changed=True)


def normalise_text(raw: object) -> str:
    """Free text as typed, trimmed; numbers and dates made readable."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat() if raw.time() == dt.time() else raw.isoformat(sep=" ")
    return str(raw).strip()
