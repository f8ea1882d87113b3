"""Column letters (pipeline/forms/cells.py) agree with openpyxl's over the whole range."""

from __future__ import annotations

import pytest
from openpyxl.utils import column_index_from_string, get_column_letter

from pipeline.forms.cells import column_index, column_letter


def test_every_column_round_trips_as_openpyxl_spells_it() -> None:
    for n in range(1, 16385):
        letters = column_letter(n)
        assert letters == get_column_letter(n)
        assert column_index(letters) == n == column_index_from_string(letters)


@pytest.mark.parametrize("bad", ["", "a", "XFE", "AAAA", "1", "Ａ"])
def test_not_a_column(bad: str) -> None:
    with pytest.raises(ValueError):
        column_index(bad)


@pytest.mark.parametrize("bad", [0, -1, 16385])
def test_not_a_column_number(bad: int) -> None:
    with pytest.raises(ValueError):
        column_letter(bad)
