"""The annex's arithmetic and the checks built on it (pipeline/validate/rules.py, schema.py)."""

from __future__ import annotations

import pytest

from pipeline.forms.kinds import build_layout, load_form
from pipeline.forms.kinds.grid.arithmetic import derive_row, derive_table, rate
from pipeline.forms.kinds.grid.checks import check_return, failures
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW, GridSpec
from pipeline.forms.records import GridCell
from pipeline.forms.spec import SCHEMAS_DIR

TOPICS = ["T1", "T2", "T3", "T4", "T5"]
WHERE = {"institution": "QW001", "institution_name": "示例区人民医院", "period": "2026-10"}


@pytest.fixture(scope="module")
def spec() -> GridSpec:
    s = load_form(SCHEMAS_DIR / "fujian2_progress.toml")
    assert isinstance(s, GridSpec)
    return s


@pytest.fixture(scope="module")
def labels(spec: GridSpec) -> dict[str, str]:
    lay = build_layout(spec, spec.default_rows)
    return {key: lay.labels[(row, 1)] for key, row in lay.row_of.items()}


@pytest.fixture(scope="module")
def cell_of(spec: GridSpec):
    lay = build_layout(spec, spec.default_rows)
    return lay.cell


def value(cell_of, row: str, measure: str, v: float | None) -> GridCell:
    return GridCell("fujian2", row, measure, cell_of(row, measure), v, v)


def claim(cell_of, row: str, measure: str, v, typed: bool = True) -> GridCell:
    return GridCell("fujian2", row, measure, cell_of(row, measure), v, v, typed)


# --- derive_row / derive_table ---------------------------------------------------------


def test_rate() -> None:
    assert rate(3, 4) == 75.0
    assert rate(0, 5) == 0.0
    assert rate(5, 0) is None
    assert rate(0, 0) is None
    assert rate(6, 4) == 150.0  # a month's rate may pass 100


def test_derive_row(spec: GridSpec) -> None:
    row = derive_row(
        spec,
        {
            "general_found": 8,
            "general_fixed": 6,
            "major_found": 2,
            "major_fixed": 1,
            "problems_province": 1,
            "problems_city": 2,
            "problems_county": 4,
            "interviews": 3,
        },
    )
    assert row["hazards_total"] == 10
    assert row["problems_total"] == 7
    assert row["general_rate"] == 75.0
    assert row["major_rate"] == 50.0
    assert row["interviews"] == 3
    assert row["inspections"] == 0.0  # blank counts are 0
    assert set(row) == {m.key for m in spec.measures}


def test_derive_row_blank_and_zero(spec: GridSpec) -> None:
    row = derive_row(spec, {"general_found": None, "general_fixed": 0, "major_found": 0})
    assert row["general_found"] == 0.0
    assert row["hazards_total"] == 0
    assert row["problems_total"] == 0
    assert row["general_rate"] is None
    assert row["major_rate"] is None
    row = derive_row(spec, {"general_found": 3})
    assert row["general_rate"] == 0.0
    assert row["major_rate"] is None


def test_derive_table_month_and_cumulative(spec: GridSpec) -> None:
    counts = {
        ("T1", "general_found"): 1,
        ("T1", "general_fixed"): 1,  # topic rate 100 %
        ("T2", "general_found"): 9,
        ("T2", "general_fixed"): 0,  # topic rate 0 %
        ("T3", "major_found"): 2,
        ("T3", "major_fixed"): None,
        ("T4", "problems_city"): 5,
    }
    prev = {"general_found": 30, "general_fixed": 30, "major_found": 1, "major_fixed": 1}
    table = derive_table(spec, TOPICS, counts, prev)
    assert table[("T1", "general_rate")] == 100.0
    assert table[("T2", "general_rate")] == 0.0
    assert table[("T5", "general_rate")] is None
    assert table[("T3", "hazards_total")] == 2
    assert table[("T4", "problems_total")] == 5
    # 当月累计: sums of the topic rows, rate from the sums (1/10), not the mean (50).
    assert table[(MONTH_ROW, "general_found")] == 10
    assert table[(MONTH_ROW, "general_fixed")] == 1
    assert table[(MONTH_ROW, "general_rate")] == pytest.approx(10.0)
    assert table[(MONTH_ROW, "hazards_total")] == 12
    assert table[(MONTH_ROW, "major_rate")] == 0.0
    assert table[(MONTH_ROW, "problems_total")] == 5
    # 累计总计: last month's cumulative + this month; rate 31/40, not (100 + 10) / 2.
    assert table[(CUMULATIVE_ROW, "general_found")] == 40
    assert table[(CUMULATIVE_ROW, "general_fixed")] == 31
    assert table[(CUMULATIVE_ROW, "general_rate")] == pytest.approx(77.5)
    assert table[(CUMULATIVE_ROW, "major_found")] == 3
    assert table[(CUMULATIVE_ROW, "major_rate")] == pytest.approx(100 / 3)
    assert table[(CUMULATIVE_ROW, "hazards_total")] == 43
    assert table[(CUMULATIVE_ROW, "problems_city")] == 5


def test_derive_table_without_history(spec: GridSpec) -> None:
    table = derive_table(spec, TOPICS, {("T1", "general_found"): 4})
    assert table[(CUMULATIVE_ROW, "general_found")] == 4
    assert table[(CUMULATIVE_ROW, "general_rate")] == 0.0
    assert table[(CUMULATIVE_ROW, "major_rate")] is None
    assert len(table) == (len(TOPICS) + 2) * len(spec.measures)


# --- check_return ----------------------------------------------------------------------


def _hospital_values(cell_of) -> list[GridCell]:
    return [
        value(cell_of, "T1", "general_found", 3),
        value(cell_of, "T1", "general_fixed", 2),
        value(cell_of, "T1", "major_found", 2),
        value(cell_of, "T1", "major_fixed", 0),
    ]


def test_consistent_return_has_no_findings(spec, labels, cell_of) -> None:
    claims = [
        claim(cell_of, "T1", "hazards_total", 5, typed=False),
        claim(cell_of, "T1", "general_rate", 66.67, typed=False),  # within tolerance
        claim(cell_of, "T1", "major_rate", 0, typed=False),
        claim(cell_of, "T2", "general_rate", None, typed=False),  # "" when nothing found
        claim(cell_of, "T2", "hazards_total", None),  # blank total of a blank row
        claim(cell_of, MONTH_ROW, "general_found", 3, typed=False),
        claim(cell_of, CUMULATIVE_ROW, "general_found", 13, typed=False),
    ]
    prev = {"general_found": 10}
    out = check_return(spec, TOPICS, _hospital_values(cell_of), claims, prev, WHERE, labels)
    assert out == []


def test_typed_over_derived_cell(spec, labels, cell_of) -> None:
    claims = [claim(cell_of, "T1", "hazards_total", 10)]
    [f] = check_return(spec, TOPICS, _hospital_values(cell_of), claims, {}, WHERE, labels)
    assert f.rule == "D-OVERWRITTEN"
    assert f.severity == "error"
    assert (f.value, f.expected) == ("10", "5")
    assert (f.form, f.sheet, f.cell) == ("fujian2", "附件2", "F7")
    assert (f.institution, f.period) == ("QW001", "2026-10")
    assert f.message == (
        "1.学习宣传贯彻习近平总书记关于安全生产重要论述专题/排查隐患总数："
        "自动计算的单元格被改写为10，按所填数字应为5"
    )


def test_typed_over_rate_and_blanked_total(spec, labels, cell_of) -> None:
    claims = [
        claim(cell_of, "T1", "general_rate", 100),
        claim(cell_of, "T1", "hazards_total", None),
        claim(cell_of, "T2", "general_rate", 0),  # nothing found: the rate must be blank
    ]
    out = check_return(spec, TOPICS, _hospital_values(cell_of), claims, {}, WHERE, labels)
    assert [(f.rule, f.cell, f.value, f.expected) for f in out] == [
        ("D-OVERWRITTEN", "I7", "100", "66.7"),
        ("D-OVERWRITTEN", "F7", "空白", "5"),
        ("D-OVERWRITTEN", "I8", "0", "空白"),
    ]


def test_rate_tolerance(spec, labels, cell_of) -> None:
    values = _hospital_values(cell_of)
    near = [claim(cell_of, "T1", "general_rate", 66.7, typed=False)]
    assert check_return(spec, TOPICS, values, near, {}, WHERE, labels) == []
    off = [claim(cell_of, "T1", "general_rate", 66.6, typed=False)]
    [f] = check_return(spec, TOPICS, values, off, {}, WHERE, labels)
    assert (f.rule, f.value, f.expected) == ("D-CACHED", "66.6", "66.7")


def test_disagreeing_cached_formula_value(spec, labels, cell_of) -> None:
    claims = [claim(cell_of, MONTH_ROW, "hazards_total", 4, typed=False)]
    [f] = check_return(spec, TOPICS, _hospital_values(cell_of), claims, {}, WHERE, labels)
    assert f.rule == "D-CACHED"
    assert (f.value, f.expected, f.cell) == ("4", "5", "F12")
    assert f.message.startswith("当月累计/排查隐患总数：自动计算结果4与所填数字不符，应为5")


def test_formula_without_cached_value_is_ignored(spec, labels, cell_of) -> None:
    claims = [
        claim(cell_of, "T1", "hazards_total", None, typed=False),
        claim(cell_of, CUMULATIVE_ROW, "general_found", None, typed=False),
    ]
    prev = {"general_found": 10}
    assert check_return(spec, TOPICS, _hospital_values(cell_of), claims, prev, WHERE, labels) == []


def test_cumulative_disagreement_is_info(spec, labels, cell_of) -> None:
    claims = [
        claim(cell_of, CUMULATIVE_ROW, "general_found", 12, typed=False),
        claim(cell_of, CUMULATIVE_ROW, "hazards_total", 99),
    ]
    prev = {"general_found": 10, "major_found": 1}
    out = check_return(spec, TOPICS, _hospital_values(cell_of), claims, prev, WHERE, labels)
    assert [(f.rule, f.severity, f.cell, f.value, f.expected) for f in out] == [
        ("D-CUMULATIVE", "info", "G13", "12", "13"),
        ("D-CUMULATIVE", "info", "F13", "99", "16"),
    ]
    assert out[0].message.startswith("累计总计/一般隐患排查：表内累计总计12与台账累计13不一致")


def test_claims_of_other_forms_are_ignored(spec, labels, cell_of) -> None:
    other = GridCell("fujian9", "T1", "hazards_total", "F7", 99, 99)
    assert check_return(spec, TOPICS, _hospital_values(cell_of), [other], {}, WHERE, labels) == []


def test_a_claim_of_another_form_does_not_hide_the_ones_after_it(spec, labels, cell_of) -> None:
    other = GridCell("fujian9", "T1", "hazards_total", "F7", 99, 99)
    ours = claim(cell_of, MONTH_ROW, "hazards_total", 4, typed=False)
    [f] = check_return(spec, TOPICS, _hospital_values(cell_of), [other, ours], {}, WHERE, labels)
    assert (f.rule, f.cell) == ("D-CACHED", ours.cell)


def test_a_foreign_count_of_another_form_is_not_in_the_files_formulas(
    spec, labels, cell_of
) -> None:
    """Only this form's foreign counts (typed in a column the reporter does not fill)
    are in its formulas: one of another form changes nothing here."""
    values = _hospital_values(cell_of)
    foreign = [GridCell("fujian9", "T1", "problems_province", "C7", 2, 2.0)]
    agreeing = [claim(cell_of, "T1", "problems_total", 0, typed=False)]
    assert check_return(spec, TOPICS, values, agreeing, {}, WHERE, labels, foreign) == []


def test_all_blank_return(spec, labels, cell_of) -> None:
    values = [value(cell_of, t, m, None) for t in TOPICS for m in ("general_found", "major_found")]
    [f] = check_return(spec, TOPICS, values, [], {}, WHERE, labels)
    assert (f.rule, f.severity, f.form, f.sheet, f.cell) == (
        "A-BLANK",
        "warning",
        "fujian2",
        "附件2",
        "",
    )
    # A single zero is an answer: "nothing found" is not blank; the cells left blank
    # beside it are counted as 0 and listed (「没有请填0」).
    values[3] = value(cell_of, "T2", "major_found", 0)
    [f] = check_return(spec, TOPICS, values, [], {}, WHERE, labels)
    assert (f.rule, f.severity, f.sheet, f.cell, f.value) == (
        "A-BLANK-CELLS",
        "warning",
        "附件2",
        "G7",
        "9",
    )
    assert f.expected == "G7、J7、G8、G9、J9、G10、J10、G11、J11"
    # Every cell typed, zeros included: nothing to say.
    filled = [value(cell_of, t, m, 0) for t in TOPICS for m in ("general_found", "major_found")]
    assert check_return(spec, TOPICS, filled, [], {}, WHERE, labels) == []


def test_month_fixed_above_found_is_info(spec, labels, cell_of) -> None:
    values = [
        value(cell_of, "T1", "general_found", 1),
        value(cell_of, "T1", "general_fixed", 3),
        value(cell_of, "T2", "general_fixed", 1),
        value(cell_of, "T2", "major_found", 2),
        value(cell_of, "T2", "major_fixed", 2),
    ]
    [f] = check_return(spec, TOPICS, values, [], {}, WHERE, labels)
    assert (f.rule, f.severity, f.value, f.expected) == ("A-MONTH-RATE", "info", "4", "1")
    assert f.message == (
        "当月累计/一般隐患整改率：当月已整改4处超过当月排查1处（可能包括以前月份遗留的）"
    )


# --- pandera schema --------------------------------------------------------------------


def test_schema_failures_across_returns(spec, cell_of) -> None:
    bad_negative = value(cell_of, "T1", "general_found", -1)
    bad_fraction = value(cell_of, "T2", "major_fixed", 2.5)
    bad_max = value(cell_of, "T3", "general_fixed", 100001)
    bad_both = value(cell_of, "T4", "major_found", -1.5)
    cells = [
        (0, bad_negative),
        (0, value(cell_of, "T1", "general_fixed", 1)),
        (1, value(cell_of, "T1", "general_found", 4)),
        (1, bad_fraction),
        (1, value(cell_of, "T2", "major_found", None)),
        (2, value(cell_of, "T3", "general_found", 100000)),  # the bound itself is fine
        (2, bad_max),
        (3, value(cell_of, "T1", "problems_city", 0)),
        (3, bad_both),
        (4, GridCell("fujian1", "1.1", "progress", "G4", "x", -5.0)),  # other form
    ]
    got = failures(spec, cells)
    assert sorted((i, c.cell, rule) for i, c, rule in got) == [
        (0, "G7", "V-NEGATIVE"),
        (1, "K8", "V-INTEGER"),
        (2, "H9", "V-MAX"),
        (3, "J10", "V-INTEGER"),
        (3, "J10", "V-NEGATIVE"),
    ]
    by_rule = {(i, rule): c for i, c, rule in got}
    assert by_rule[(0, "V-NEGATIVE")] is bad_negative
    assert by_rule[(1, "V-INTEGER")] is bad_fraction
    assert by_rule[(2, "V-MAX")] is bad_max


def test_same_cell_in_two_returns_maps_to_each(spec, cell_of) -> None:
    a = value(cell_of, "T1", "general_found", -2)
    b = value(cell_of, "T1", "general_found", 7)
    c = value(cell_of, "T1", "general_found", -3)
    got = failures(spec, [(10, a), (11, b), (12, c)])
    assert sorted((i, cell.value, rule) for i, cell, rule in got) == [
        (10, -2, "V-NEGATIVE"),
        (12, -3, "V-NEGATIVE"),
    ]


def test_schema_clean_and_empty(spec, cell_of) -> None:
    assert failures(spec, []) == []
    assert failures(spec, [(0, value(cell_of, "T1", "general_found", 0))]) == []
    assert failures(spec, [(0, value(cell_of, "T1", "general_found", None))]) == []


# --- gaps mutation testing showed (make mutants) ---------------------------------------


def test_an_uncalculated_formula_does_not_hide_the_claims_after_it(spec, labels, cell_of) -> None:
    claims = [
        claim(cell_of, "T1", "hazards_total", None, typed=False),  # saved by a script
        claim(cell_of, MONTH_ROW, "hazards_total", 4),  # 4 typed over the formula (5)
    ]
    [f] = check_return(spec, TOPICS, _hospital_values(cell_of), claims, {}, WHERE, labels)
    assert (f.rule, f.cell, f.value, f.expected) == (
        "D-OVERWRITTEN",
        cell_of(MONTH_ROW, "hazards_total"),
        "4",
        "5",
    )


def test_an_unreadable_cell_is_not_a_blank(spec, labels, cell_of) -> None:
    unreadable = GridCell(
        "fujian2", "T2", "general_found", cell_of("T2", "general_found"), "约30", None
    )
    values = [*_hospital_values(cell_of), unreadable]
    assert check_return(spec, TOPICS, values, [], {}, WHERE, labels) == []


@pytest.mark.parametrize("blanks", [10, 11])
def test_blanks_past_those_named_are_counted(spec, labels, cell_of, blanks: int) -> None:
    cells = [(t, m) for t in TOPICS for m in ("general_found", "general_fixed", "major_found")]
    values = [value(cell_of, "T1", "major_fixed", 0)]
    values += [value(cell_of, t, m, None) for t, m in cells[:blanks]]
    [f] = check_return(spec, TOPICS, values, [], {}, WHERE, labels)
    named = "、".join(cell_of(t, m) for t, m in cells[:10])
    assert (f.rule, f.value) == ("A-BLANK-CELLS", str(blanks))
    assert f.expected == (named if blanks == 10 else f"{named}等{blanks}个")


def test_a_refused_count_silences_only_its_own_rate(spec, labels, cell_of) -> None:
    """排查 refused in the general columns: no rule on the general rate, which would only
    repeat the refusal; the major rate (2 closed, 1 found this month) is still noted."""
    values = [
        value(cell_of, "T1", "general_found", 1),
        value(cell_of, "T1", "general_fixed", 0),
        value(cell_of, "T1", "major_found", 1),
        value(cell_of, "T1", "major_fixed", 2),
    ]
    refused = {("T1", "general_found")}
    found = check_return(spec, TOPICS, values, [], {}, WHERE, labels, refused=refused)
    assert [(f.rule, f.value, f.expected) for f in found] == [("A-MONTH-RATE", "2", "1")]
    assert "重大隐患" in found[0].message or "重大" in found[0].message


def test_a_month_closing_hazards_where_none_were_found_is_noted(spec, labels, cell_of) -> None:
    values = [value(cell_of, "T1", "general_found", 0), value(cell_of, "T1", "general_fixed", 1)]
    [f] = check_return(spec, TOPICS, values, [], {}, WHERE, labels)
    assert (f.rule, f.severity, f.value, f.expected) == ("A-MONTH-RATE", "info", "1", "0")
