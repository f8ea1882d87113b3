"""Read what clerks type into a number or a date, and say exactly what was changed.

Numbers. Accepted and logged: full-width digits (１２), numbers stored as text ("12"),
stray spaces, thousands separators (1,200), a trailing unit of the column ("5处" in a
column counted in 处), and a percent sign where a percentage is read ("66.7%"). Refused:
anything that is not one exact number ("约30", "三", "5-6", "无"), another column's unit,
and a percentage where a count is read ("30%" is not 30 hazards).

Dates. A cell Excel or WPS stores as a date is taken as it is. Typed as text, a date
with the year first is read and logged ("2026.7.3", "2026/7/3", "2026年7月3日",
"20260703"), as is a month and day alone ("7/3", "7月3日"), taken in the year of the
reporting period. A date whose order cannot be told ("03/07/2026": 3 July or March 7?),
a month without its day, or a two-digit year is ambiguous: a finding, never a guess.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass

UNITS = ("处", "项", "个", "次", "家")  # the units of seed 002's counts, when none is given
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


def normalise_number(
    raw: object, *, rate: bool = False, units: tuple[str, ...] = UNITS
) -> Normalised:
    """``raw`` as a number; ``rate`` when the cell holds a percentage (整改率); ``units``
    are the column's own units, accepted after the number."""
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
    for unit in (PERCENT,) if rate else tuple(u for u in units if u and u != PERCENT):
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


@dataclass(frozen=True)
class ParsedDate:
    value: dt.date | None
    changed: bool = False  # typed as text (or a number) and read as a date
    error: str = ""  # "" | "not_a_date" | "ambiguous"


_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MD = re.compile(r"^(\d{1,2})\s*[/.月]\s*(\d{1,2})\s*[日号]?$")
_AMBIGUOUS = (
    re.compile(r"^\d{1,2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{2,4}$"),  # 03/07/2026, 7.3.26
    re.compile(r"^\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*[日号]?$"),  # 26.7.3
    re.compile(r"^\d{4}\s*[-/.年]\s*\d{1,2}\s*月?$"),  # 2026-07, 2026年7月: which day?
    re.compile(r"^\d{1,2}\s*月$"),
)


def parse_date(raw: object, year: int) -> ParsedDate:
    """``raw`` as a date; a month and day alone are taken in ``year`` (the period's)."""
    if raw is None:
        return ParsedDate(None)
    if isinstance(raw, dt.datetime):
        return ParsedDate(raw.date())
    if isinstance(raw, dt.date):
        return ParsedDate(raw)
    if isinstance(raw, bool | dt.time):
        return ParsedDate(None, error="not_a_date")
    if isinstance(raw, float) and not raw.is_integer():
        return ParsedDate(None, error="ambiguous")  # 7.3 or 7.30: the cell lost the zero
    shown = str(int(raw)) if isinstance(raw, int | float) and _whole(raw) else str(raw)
    text = unicodedata.normalize("NFKC", shown).strip()
    text = _SPACES.sub(" ", text)
    if text == "":
        return ParsedDate(None, changed=True)
    for pattern, has_year in ((_YMD, True), (_COMPACT, True), (_MD, False)):
        m = pattern.match(text)
        if m is None:
            continue
        parts = [int(g) for g in m.groups()]
        y, mo, d = parts if has_year else [year, *parts]
        try:
            return ParsedDate(dt.date(y, mo, d), changed=True)
        except ValueError:
            return ParsedDate(None, error="not_a_date")
    if any(p.match(text) for p in _AMBIGUOUS):
        return ParsedDate(None, error="ambiguous")
    return ParsedDate(None, error="not_a_date")


def _whole(raw: object) -> bool:
    return isinstance(raw, int) or (isinstance(raw, float) and raw.is_integer())
