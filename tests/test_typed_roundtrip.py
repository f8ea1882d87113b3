"""Property: a typed field's value, written into a template's cell the way a clerk types
it, reads back as that value — or as a finding that says why not, never as a guess.

A register with one field of every type (text with a limit, integer, decimal, percent,
date, choice) is written as a template; rows of drawn values are typed into its blank
rows, each in a drawn habit (a number as text, full-width digits, a unit; a date as a
date cell, as ISO text, as 2026.7.3, as 2026年7月3日, as 7/3 in the period's year); the
file is read through the pipeline's own path (read_workbook → identify → extract). The
test decides on its own what each typed form means.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from pipeline.campaigns.campaign import Campaign, load_campaign
from pipeline.config.calendar import Period
from pipeline.distribute.templates import write_template
from pipeline.extract.reader import read_workbook
from pipeline.extract.returns import extract, identify, layouts_for, read_bounds

PERIOD = Period(2026, 7)
CHOICES = ("未整改", "整改中", "已整改")
DEFINITION = """
id = "typed"
version = 1
kind = "register"
annex = "附件"
sheet = "台账"
title = "字段测试台账"
blank_rows = 12
footer = ["填表人："]

[roles]
id = "id"
identity = "text"
status = "status"
closed = ["已整改"]

[[fields]]
key = "id"
header = "编号"
fill = "system"

[[fields]]
key = "text"
header = "描述"
fill = "institution"
max_length = 20

[[fields]]
key = "count"
header = "数量"
type = "integer"
unit = "处"
min = 0
max = 1000
fill = "institution"

[[fields]]
key = "money"
header = "金额（万元）"
type = "decimal"
places = 2
min = 0
fill = "institution"

[[fields]]
key = "share"
header = "进度（%）"
type = "percent"
fill = "institution"

[[fields]]
key = "day"
header = "日期"
type = "date"
fill = "institution"

[[fields]]
key = "status"
header = "状态"
type = "choice"
choices = ["未整改", "整改中", "已整改"]
fill = "institution"
"""
CAMPAIGN = """
[campaign]
name = "字段测试"
code = "typed-test"
start = "2026-07"
forms = ["typed"]

[bureau]
name = "测试局"
code = "B0"

[paths]
schemas = "schemas"
"""
ROSTER = "机构代码,机构名称,机构级别\nB0,测试局,卫生健康行政部门\nH1,测试医院,二级医院\n"


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Campaign:
    base = tmp_path_factory.mktemp("typed")
    (base / "schemas").mkdir()
    (base / "schemas" / "typed.toml").write_text(DEFINITION, encoding="utf-8")
    (base / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
    (base / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return load_campaign(base / "campaign.toml")


FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


def typed_number(value: float, habit: str, unit: str = "") -> object:
    """A number as a clerk types it, and the test's own reading of it."""
    text = str(int(value)) if float(value).is_integer() else repr(value)
    return {
        "number": value,
        "text": text,
        "fullwidth": text.translate(FULL_WIDTH),
        "unit": text + unit,
        "spaces": f" {text} ",
    }[habit]


def typed_date(day: dt.date, habit: str) -> object:
    return {
        "cell": day,
        "iso": day.isoformat(),
        "dots": f"{day.year}.{day.month}.{day.day}",
        "chinese": f"{day.year}年{day.month}月{day.day}日",
        "monthday": f"{day.month}/{day.day}",
    }[habit]


numbers = st.sampled_from(("number", "text", "fullwidth", "spaces"))
rows = st.lists(
    st.fixed_dictionaries(
        {
            "text": st.text(alphabet="隐患整改消防电气安全ABC123", min_size=1, max_size=30),
            "count": st.tuples(
                st.integers(0, 1000),
                st.sampled_from(("number", "text", "fullwidth", "unit", "spaces")),
            ),
            "money": st.tuples(st.integers(0, 10**7).map(lambda n: n / 100), numbers),
            "share": st.tuples(st.integers(0, 1000).map(lambda n: n / 10), numbers),
            # the period's year, so a month and day alone means the same date
            "day": st.tuples(
                st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
                st.sampled_from(("cell", "iso", "dots", "chinese", "monthday")),
            ),
            "status": st.sampled_from(CHOICES),
        }
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=rows)
def test_every_typed_value_reads_back_as_written(campaign: Campaign, drawn: list[dict]) -> None:
    roster = campaign.roster()
    inst = roster.get("H1")
    assert inst is not None
    with tempfile.TemporaryDirectory() as scratch:
        blank = write_template(campaign, inst, PERIOD, Path(scratch))
        wb = load_workbook(blank)
        ws = wb["台账"]
        for i, row in enumerate(drawn):
            r = 4 + i
            ws.cell(r, 2).value = row["text"]
            ws.cell(r, 3).value = typed_number(row["count"][0], row["count"][1], "处")
            ws.cell(r, 4).value = typed_number(row["money"][0], row["money"][1])
            ws.cell(r, 5).value = typed_number(row["share"][0], row["share"][1])
            day = typed_date(*row["day"])
            ws.cell(r, 6).value = day
            if isinstance(day, dt.date):
                ws.cell(r, 6).number_format = "yyyy-mm-dd"
            ws.cell(r, 7).value = row["status"]
        path = Path(scratch) / "filled.xlsx"
        wb.save(path)
        layouts = layouts_for(campaign)
        raw = read_workbook(path, read_bounds(campaign, layouts))
        ident = identify(raw, campaign, roster, [PERIOD], layouts)
        assert ident.institution is not None and not ident.findings
        ext = extract(raw, campaign, ident, layouts, {"file": path.name})
    refused = [f for f in ext.findings if f.severity == "error"]
    assert refused == []
    by_row: dict[int, dict[str, object]] = {}
    for t in ext.texts:
        if t.row_key.startswith("__"):
            continue
        by_row.setdefault(int(t.cell[1:]), {})[t.field] = t.value
    assert sorted(by_row) == [4 + i for i in range(len(drawn))]
    for i, row in enumerate(drawn):
        got = by_row[4 + i]
        assert got["text"] == row["text"].strip()
        assert got["count"] == row["count"][0]
        assert got["money"] == pytest.approx(row["money"][0])
        assert got["share"] == pytest.approx(row["share"][0])
        assert got["day"] == row["day"][0]
        assert got["status"] == row["status"]
    # Whatever was typed otherwise than as a value is logged, naming the cell.
    normalised = {f.cell for f in ext.findings if f.rule == "N-NORMALISED"}
    for i, row in enumerate(drawn):
        assert (f"F{4 + i}" in normalised) == (row["day"][1] != "cell")


@pytest.mark.parametrize(
    ("typed", "rule"),
    [
        ("03/07/2026", "V-DATE-AMBIGUOUS"),  # 3 July or March 7?
        ("2026年7月", "V-DATE-AMBIGUOUS"),  # which day?
        ("26.7.3", "V-DATE-AMBIGUOUS"),  # which century?
        ("下周一", "V-DATE"),
        ("2026-02-30", "V-DATE"),
    ],
)
def test_a_date_that_cannot_be_told_is_a_finding_not_a_guess(
    campaign: Campaign, tmp_path: Path, typed: str, rule: str
) -> None:
    roster = campaign.roster()
    inst = roster.get("H1")
    assert inst is not None
    blank = write_template(campaign, inst, PERIOD, tmp_path)
    wb = load_workbook(blank)
    ws = wb["台账"]
    ws["B4"], ws["F4"], ws["G4"] = "配电室", typed, "整改中"
    wb.save(tmp_path / "filled.xlsx")
    layouts = layouts_for(campaign)
    raw = read_workbook(tmp_path / "filled.xlsx", read_bounds(campaign, layouts))
    ident = identify(raw, campaign, roster, [PERIOD], layouts)
    ext = extract(raw, campaign, ident, layouts, {"file": "filled.xlsx"})
    found = [(f.rule, f.sheet, f.cell, f.value) for f in ext.findings if f.severity == "error"]
    assert found == [(rule, "台账", "F4", typed)]
    # Kept as typed, with no date read into it: nothing guessed.
    assert [(t.text, t.value) for t in ext.texts if t.field == "day"] == [(typed, None)]
