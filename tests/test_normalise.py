"""What clerks type, read as numbers (pipeline/extract/normalise.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.forms.values import Normalised, normalise_number, normalise_text

OK = [
    # (raw, value, changed)
    (5, 5.0, False),
    (5.0, 5.0, False),
    (0, 0.0, False),
    (2.5, 2.5, False),
    ("5", 5.0, True),
    ("0", 0.0, True),
    ("５", 5.0, True),  # full-width digit
    ("１２处", 12.0, True),  # full-width digits and the column's unit
    (" 7 ", 7.0, True),
    ("\u30008\u00a0", 8.0, True),  # ideographic and no-break spaces
    ("1,200", 1200.0, True),
    ("１，２００", 1200.0, True),  # full-width comma
    ("12,345,678", 12345678.0, True),
    ("1,234.5", 1234.5, True),
    ("3个", 3.0, True),
    ("4项", 4.0, True),
    ("2次", 2.0, True),
    ("6家", 6.0, True),
    ("-3", -3.0, True),  # negativity is the schema's job
    ("+4", 4.0, True),
    ("2.5", 2.5, True),  # so is integrality
    (".5", 0.5, True),
]


@pytest.mark.parametrize(("raw", "value", "changed"), OK)
def test_accepted(raw: object, value: float, changed: bool) -> None:
    assert normalise_number(raw) == Normalised(value, changed=changed, error=False)


ERRORS = [
    "约30",
    "三",
    "5-6",
    "无",
    "abc",
    "处",  # a unit alone
    "5处处",
    "1,2",  # not a thousands pattern
    "12,34",
    "1,2345",
    "1.2.3",
    "1e3",
    "nan",
    "inf",
    "5 或 6",
    "30%",  # a percentage is not a count
    "３０％",
    True,
    False,
    dt.datetime(2026, 10, 1, 0, 0),
    dt.date(2026, 10, 1),
    dt.time(8, 30),
    float("nan"),
    float("inf"),
]


@pytest.mark.parametrize("raw", ERRORS, ids=repr)
def test_refused(raw: object) -> None:
    result = normalise_number(raw)
    assert result.error is True
    assert result.value is None


@pytest.mark.parametrize(
    ("raw", "value"), [("50%", 50.0), ("５０％", 50.0), ("66.7 %", 66.7), ("50", 50.0)]
)
def test_a_percent_sign_is_read_where_a_rate_is(raw: str, value: float) -> None:
    assert normalise_number(raw, rate=True) == Normalised(value, changed=True, error=False)
    assert normalise_number("5处", rate=True).error is True  # a count's unit on a rate


def test_digits_separated_by_a_space_are_not_joined() -> None:
    # "1 2" may be 1, 2 or 12: like "1,2" it is not one exact number.
    assert normalise_number("1 2").error is True
    assert normalise_number("3 5处").error is True


@pytest.mark.parametrize(
    ("raw", "changed"),
    [(None, False), ("", False), ("   ", True), ("\u3000", True)],
    ids=repr,
)
def test_blank_is_none(raw: object, changed: bool) -> None:
    assert normalise_number(raw) == Normalised(None, changed=changed, error=False)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (None, ""),
        ("  已完成整改 \n", "已完成整改"),
        (3.0, "3"),
        (3.5, "3.5"),
        (7, "7"),
        (dt.datetime(2026, 10, 8), "2026-10-08"),
        (dt.datetime(2026, 10, 8, 9, 30), "2026-10-08 09:30:00"),
        ("第一行\n第二行", "第一行\n第二行"),
    ],
)
def test_normalise_text(raw: object, text: str) -> None:
    assert normalise_text(raw) == text
