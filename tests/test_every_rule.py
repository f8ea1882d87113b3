"""Every rule of the registry (pipeline/findings.py RULES) is made to fire by a test.

:data:`TRIGGERS` names, for each rule, the test(s) that send real files through a run and
assert the finding: its code, severity, sheet, cell and figures. A rule added to the
registry without a line here fails :func:`test_every_rule_has_a_triggering_test`; a line
naming a test that does not exist, or one that never names the rule, fails
:func:`test_each_trigger_is_a_real_test_that_names_its_rule`. Severities are stated here
again (:data:`SEVERITY`), apart from the registry, so that a rule turned from an error into
a warning is a change someone makes twice, on purpose.

The table is also checked against what runs do: tests/conftest.py records every rule
made while each test file runs (in this process and in forked workers), and at the end
of a session fails it if a file named here as a rule's trigger ran and never made that
rule. Runs in a child process (the hostile corpus is run as a clerk would, by the CLI
in a subprocess) are not recorded: :data:`SUBPROCESS` lists those tests, which the
static check alone covers.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from pipeline.findings import RULES

TESTS = Path(__file__).resolve().parent

HOSTILE = "test_hostile.py::test_every_file_ends_as_expected_with_its_findings"
TRIGGERS: dict[str, tuple[str, ...]] = {
    # Files that are not a usable workbook: the hostile corpus (tests/hostile.py).
    "F-EMPTY": (HOSTILE,),
    "F-TOO-LARGE": ("test_hostile.py::test_a_part_inflating_past_its_budget_is_refused_naming_it",),
    "F-DAMAGED": (HOSTILE,),
    "F-COPYING": ("test_hostile.py::test_a_copied_file_is_judged_again_once_complete",),
    "F-ENCRYPTED": (HOSTILE,),
    "F-LEGACY-XLS": (HOSTILE,),
    "F-NOT-XLSX": (HOSTILE,),
    "F-MACRO": (HOSTILE,),
    "F-XML-DTD": (HOSTILE,),
    "F-CONTENT-TYPES": (HOSTILE,),
    "F-WITHDRAWN": (
        "test_withdraw.py::test_withdrawing_a_correction_falls_back_to_the_first_return",
    ),
    "F-ARCHIVE-NESTED": (
        "test_intake_zip.py::test_each_member_of_a_zip_is_judged_and_logged_under_the_zips_name",
    ),
    "F-ARCHIVE-EMPTY": (
        "test_intake_zip.py::test_a_zip_past_the_limits_on_archives_is_refused_as_a_whole",
    ),
    "F-UNREADABLE": (
        "test_rule_triggers.py::test_a_file_that_cannot_be_read_now_is_refused_for_now",
    ),
    # Identification.
    "M-NO-META": ("test_rule_triggers.py::test_a_return_of_another_month_and_a_workbook_not_ours",),
    "M-CAMPAIGN": ("test_rule_triggers.py::test_a_return_of_another_campaign",),
    "M-UNKNOWN-INST": ("test_rule_triggers.py::test_a_return_of_an_institution_not_in_the_roster",),
    "M-OUT-OF-SCOPE": (
        "test_standardization.py::test_late_targets_step_backs_and_strays_name_their_place_and_figures",
    ),
    "M-PERIOD": ("test_rule_triggers.py::test_a_return_of_another_month_and_a_workbook_not_ours",),
    "M-OWN-AGGREGATE": (
        "test_edge_cases.py::test_own_aggregate_in_the_inbox_is_rejected_and_changes_nothing",
    ),
    "M-VERSION": ("test_rule_triggers.py::test_a_return_on_an_older_version_of_the_form",),
    "M-HEADER": (HOSTILE,),
    "M-SENDER": ("test_receipts.py::test_a_sender_not_in_the_roster_is_a_warning_not_a_rejection",),
    # Layout.
    "L-FINGERPRINT": (
        "test_rule_triggers.py::test_a_return_whose_layout_mark_is_not_this_periods",
    ),
    "L-VARIANT": ("test_rollup.py::test_a_variant_that_is_not_ours_is_refused",),
    "L-SHEET-MISSING": (HOSTILE,),
    "L-SHEET-HIDDEN": (HOSTILE,),
    "L-SHEET-COPY": (HOSTILE,),
    "L-ROW-HIDDEN": (HOSTILE,),
    "L-LABEL": (HOSTILE, "test_edge_cases.py::test_inserted_row_gives_label_findings_only"),
    # Values.
    "V-PARSE": (HOSTILE,),
    "V-NEGATIVE": ("test_edge_cases.py::test_negative_fraction_and_too_large_counts",),
    "V-INTEGER": ("test_edge_cases.py::test_negative_fraction_and_too_large_counts",),
    "V-MAX": ("test_edge_cases.py::test_negative_fraction_and_too_large_counts",),
    "V-NOT-YOURS": (
        "test_end_to_end.py::test_bureau_column_typed_by_an_institution_is_warned_and_not_counted",
    ),
    "V-TEXT-LONG": (
        "test_rule_triggers.py::test_added_tasks_unmarked_or_unnamed_and_a_text_too_long",
    ),
    "V-NEW-TASK": (
        "test_rule_triggers.py::test_added_tasks_unmarked_or_unnamed_and_a_text_too_long",
    ),
    "V-NEW-TASK-EMPTY": (
        "test_rule_triggers.py::test_added_tasks_unmarked_or_unnamed_and_a_text_too_long",
    ),
    "V-STEP-BACK": (
        "test_standardization.py::test_late_targets_step_backs_and_strays_name_their_place_and_figures",
    ),
    "V-REQUIRED": ("test_rule_triggers.py::test_typed_fields_against_their_rules",),
    "V-CHOICE": ("test_rule_triggers.py::test_typed_fields_against_their_rules",),
    "V-RANGE": ("test_rule_triggers.py::test_typed_fields_against_their_rules",),
    "V-DATE": ("test_rule_triggers.py::test_typed_fields_against_their_rules",),
    "V-DATE-AMBIGUOUS": ("test_registers.py::test_findings_of_the_item_checks",),
    "V-DATE-LATE": ("test_rule_triggers.py::test_typed_fields_against_their_rules",),
    "V-DATE-ORDER": ("test_rule_triggers.py::test_a_hazard_put_right_before_it_was_found",),
    "V-DATE-AFTER": ("test_rule_triggers.py::test_typed_fields_against_their_rules",),
    "V-INST": ("test_rule_triggers.py::test_typed_fields_against_their_rules",),
    # Registers.
    "R-ITEM-MISSING": ("test_registers.py::test_findings_of_the_item_checks",),
    "R-ITEM-UNKNOWN": ("test_registers.py::test_findings_of_the_item_checks",),
    "R-ITEM-DUPLICATE": ("test_registers.py::test_findings_of_the_item_checks",),
    "R-ITEM-REOPENED": ("test_registers.py::test_findings_of_the_item_checks",),
    "R-ITEM-NEW": (
        "test_work_points.py::test_projects_behind_and_added_rows_name_their_place_and_figures",
    ),
    "R-BUREAU-FIELD": ("test_registers.py::test_findings_of_the_item_checks",),
    "X-RECONCILE": ("test_registers.py::test_the_register_against_its_annex",),
    "V-BLANK-RESEND": (
        "test_edge_cases.py::test_blank_template_after_a_filled_return_is_rejected",
    ),
    "N-NORMALISED": (HOSTILE, "test_registers.py::test_findings_of_the_item_checks"),
    # Derived cells.
    "D-OVERWRITTEN": (
        HOSTILE,
        "test_end_to_end.py::test_planted_arithmetic_error_is_rejected_with_the_cell",
    ),
    "D-CACHED": (HOSTILE,),
    "D-CUMULATIVE": (
        "test_rule_triggers.py::test_a_cumulative_typed_over_is_noted_and_the_ledger_wins",
    ),
    # Anomalies.
    "A-BLANK": (HOSTILE,),
    "A-BLANK-CELLS": (
        "test_edge_cases.py::test_blank_cells_of_a_filled_return_are_counted_as_zero_and_said",
    ),
    "A-MONTH-RATE": (
        "test_rule_triggers.py::test_cumulative_fixed_above_found_and_open_major_hazards",
    ),
    "A-CUM-FIXED": (
        "test_rule_triggers.py::test_cumulative_fixed_above_found_and_open_major_hazards",
    ),
    "A-SUM": ("test_rule_triggers.py::test_a_baseline_total_that_is_not_the_sum_of_its_terms",),
    "A-GAP": ("test_cumulative_gaps.py::test_a_month_missing_from_the_cumulative_is_listed",),
    "A-GAP-START": (
        "test_cumulative_gaps.py::test_a_district_starting_mid_campaign_gets_one_finding_not_one_per_institution",
    ),
    "A-ZSCORE": ("test_rule_triggers.py::test_a_month_far_from_four_earlier_ones_is_flagged",),
    "A-ITEM-OVERDUE": (
        "test_civilized_city.py::test_the_weeks_anomalies_name_their_place_and_figures",
    ),
    "A-TARGET-LATE": (
        "test_standardization.py::test_late_targets_step_backs_and_strays_name_their_place_and_figures",
    ),
    "A-ABOVE": ("test_civilized_city.py::test_the_weeks_anomalies_name_their_place_and_figures",),
    "A-BELOW": ("test_rule_triggers.py::test_typed_fields_against_their_rules",),
    "A-STREAK": ("test_civilized_city.py::test_the_weeks_anomalies_name_their_place_and_figures",),
    "A-RISING": ("test_civilized_city.py::test_the_weeks_anomalies_name_their_place_and_figures",),
    "A-BEHIND": (
        "test_work_points.py::test_projects_behind_and_added_rows_name_their_place_and_figures",
    ),
    "A-NOT-COVERED": (
        "test_civilized_city.py::test_the_weeks_anomalies_name_their_place_and_figures",
    ),
    "A-MAJOR-OPEN": (
        "test_rule_triggers.py::test_cumulative_fixed_above_found_and_open_major_hazards",
    ),
}

# Tests whose run is a child process (not recorded by tests/conftest.py), and where
# the rules they expect are written: the corpus of cases beside the test.
SUBPROCESS = {
    HOSTILE: "hostile.py",
    "test_hostile.py::test_a_part_inflating_past_its_budget_is_refused_naming_it": "",
    "test_hostile.py::test_a_copied_file_is_judged_again_once_complete": "",
}

# What each rule is, stated apart from the registry: refused (error), said (warning)
# or noted (info).
ERRORS = """F-EMPTY F-TOO-LARGE F-DAMAGED F-COPYING F-ENCRYPTED F-LEGACY-XLS F-NOT-XLSX F-MACRO
F-XML-DTD F-ARCHIVE-NESTED F-ARCHIVE-EMPTY F-UNREADABLE M-NO-META M-CAMPAIGN M-UNKNOWN-INST
M-OUT-OF-SCOPE M-PERIOD M-OWN-AGGREGATE M-VERSION M-HEADER L-FINGERPRINT L-VARIANT
L-SHEET-MISSING L-LABEL V-PARSE V-NEGATIVE V-INTEGER V-MAX V-REQUIRED V-CHOICE V-RANGE V-DATE
V-DATE-AMBIGUOUS V-DATE-LATE V-DATE-ORDER V-DATE-AFTER V-INST R-ITEM-MISSING R-ITEM-UNKNOWN
R-ITEM-DUPLICATE R-ITEM-NEW V-BLANK-RESEND D-OVERWRITTEN D-CACHED"""
INFOS = "N-NORMALISED D-CUMULATIVE A-MONTH-RATE"
SEVERITY = {code: "error" for code in ERRORS.split()} | {code: "info" for code in INFOS.split()}


def _severity(code: str) -> str:
    return SEVERITY.get(code, "warning")


def test_every_rule_has_a_triggering_test() -> None:
    missing = sorted(set(RULES) - set(TRIGGERS))
    stale = sorted(set(TRIGGERS) - set(RULES))
    assert missing == [], f"rules no test triggers: add a test and a line to TRIGGERS: {missing}"
    assert stale == [], f"TRIGGERS names rules the registry no longer has: {stale}"
    assert all(TRIGGERS[code] for code in TRIGGERS)


def test_every_rule_has_the_severity_stated_here() -> None:
    wrong = {c: (r.severity, _severity(c)) for c, r in RULES.items() if r.severity != _severity(c)}
    assert wrong == {}, "rule: (registry, stated here)"
    assert set(SEVERITY) <= set(RULES)


@cache
def _module(path: Path) -> tuple[str, ast.Module]:
    text = path.read_text(encoding="utf-8")
    return text, ast.parse(text)


def _source_of(test: str) -> str:
    """The test function's source, with the module-level tables it names (a scenario's
    expected outcomes are often a table beside the test) and its corpus."""
    file, _, name = test.partition("::")
    text, tree = _module(TESTS / file)
    func = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    assert func is not None, f"{test}: no such test function"
    parts = [ast.get_source_segment(text, func) or ""]
    names = {n.id for n in ast.walk(func) if isinstance(n, ast.Name)}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in names for t in targets):
                parts.append(ast.get_source_segment(text, node) or "")
    if corpus := SUBPROCESS.get(test):
        parts.append((TESTS / corpus).read_text(encoding="utf-8"))
    return "\n".join(parts)


def test_each_trigger_is_a_real_test_that_names_its_rule() -> None:
    wrong = []
    for code, tests in sorted(TRIGGERS.items()):
        for test in tests:
            if not re.search(rf"""["']{re.escape(code)}["']""", _source_of(test)):
                wrong.append(f"{code}: {test} never names it")
    assert wrong == []


def test_the_recorder_sees_rules_made_in_this_process() -> None:
    """The session check of tests/conftest.py rests on this: a finding made here (as a
    run makes them, through pipeline.findings.make) is recorded for this file."""
    import conftest

    from pipeline.extract import returns

    returns.make("M-NO-META")
    assert "M-NO-META" in conftest.RECORDED[Path(__file__).name]
