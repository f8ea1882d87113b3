"""What every kind's sheet writer shares: unlocked input cells with in-cell checks in
Chinese (a prompt on entry, a refusal on a wrong value), drop-down lists, exact number
literals in formulas."""

from __future__ import annotations

from openpyxl.styles import Protection
from openpyxl.worksheet.datavalidation import DataValidation

UNLOCKED = Protection(locked=False)
RATE_FORMAT = "0.0"
DATE_FORMAT = "yyyy-mm-dd"


def input_check(
    kind: str,
    operator: str | None,
    limits: tuple[object, ...],
    title: str,
    error: str,
    prompt: str,
    *,
    stop: bool = True,
) -> DataValidation:
    """An in-cell check with a Chinese prompt on entry and a Chinese refusal; ``stop``
    refuses the value, else Excel warns and lets it stand (the pipeline still checks)."""
    dv = DataValidation(
        type=kind,
        operator=operator,
        formula1=str(limits[0]) if limits else None,
        formula2=str(limits[1]) if len(limits) > 1 else None,
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorTitle=title,
        error=error,
        promptTitle="填写提示",
        prompt=prompt,
    )
    dv.errorStyle = "stop" if stop else "warning"
    return dv


def literal(value: float) -> str:
    """A number as a formula literal, exact (``{:g}`` would write 1.23457e+06)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
