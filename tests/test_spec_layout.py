"""Form definitions and their sheet geometry (pipeline/forms/spec.py, layout.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.forms.kinds import build_layout, load_form, load_forms
from pipeline.forms.kinds.grid.spec import CUMULATIVE_ROW, MONTH_ROW, GridSpec
from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.rows import Row as Topic
from pipeline.forms.spec import SCHEMAS_DIR

FUJIAN1 = SCHEMAS_DIR / "fujian1_tasks.toml"
FUJIAN2 = SCHEMAS_DIR / "fujian2_progress.toml"


@pytest.fixture(scope="module")
def grid() -> GridSpec:
    spec = load_form(FUJIAN2)
    assert isinstance(spec, GridSpec)
    return spec


@pytest.fixture(scope="module")
def tasks() -> ListSpec:
    spec = load_form(FUJIAN1)
    assert isinstance(spec, ListSpec)
    return spec


# --- spec ------------------------------------------------------------------------------


def test_schemas_load(grid: GridSpec, tasks: ListSpec) -> None:
    assert (grid.id, grid.annex, grid.sheet, grid.version) == ("fujian2", "附件2", "附件2", 1)
    assert grid.title == "安全生产专项整治三年行动工作进展情况"
    assert (grid.month_total_label, grid.cumulative_label) == ("当月累计", "累计总计")
    assert grid.footer == ("审核人：", "填表人：", "填报日期：")
    assert grid.max_count == 100000
    assert (tasks.id, tasks.annex, tasks.spare_rows, tasks.new_task_marker) == (
        "fujian1",
        "附件1",
        10,
        "新增",
    )
    assert [f.header for f in tasks.fields][:6] == [
        "序号",
        "任务事项",
        "主要内容",
        "重点措施",
        "牵头部门/责任单位",
        "完成时限",
    ]
    assert "progress" in [f.key for f in tasks.inputs]
    assert len(tasks.default_rows) == 13
    assert [s.id for s in load_forms(["fujian1_tasks", "fujian2_progress"])] == [
        "fujian1",
        "fujian2",
    ]


def test_grid_measures_in_annex_order_with_units(grid: GridSpec) -> None:
    assert [m.key for m in grid.measures] == [
        "problems_total",
        "problems_province",
        "problems_city",
        "problems_county",
        "hazards_total",
        "general_found",
        "general_fixed",
        "general_rate",
        "major_found",
        "major_fixed",
        "major_rate",
        "groups_formed",
        "inspections",
        "units_inspected",
        "inspection_problems",
        "interviews",
    ]
    assert [m.unit for m in grid.measures] == list("项项项项处处处%处处%个次家个家")
    assert grid.measure("general_rate").label == "排查整治隐患/一般隐患/整改率"
    assert grid.measure("general_rate").short_label == "一般隐患整改率"
    assert grid.measure("interviews").short_label == "约谈警示"
    assert grid.measure("hazards_total").terms == ("general_found", "major_found")
    assert grid.measure("problems_total").terms == (
        "problems_province",
        "problems_city",
        "problems_county",
    )
    major = grid.measure("major_rate")
    assert (major.numerator, major.denominator, major.flag_open) == (
        "major_fixed",
        "major_found",
        True,
    )
    assert grid.measure("general_rate").flag_open is False
    assert grid.header_depth == 3
    with pytest.raises(KeyError):
        grid.measure("nope")


def test_inputs_by_role(grid: GridSpec) -> None:
    assert [m.key for m in grid.inputs_for("institution")] == [
        "general_found",
        "general_fixed",
        "major_found",
        "major_fixed",
    ]
    assert [m.key for m in grid.inputs_for("bureau")] == [
        "problems_province",
        "problems_city",
        "problems_county",
        "groups_formed",
        "inspections",
        "units_inspected",
        "inspection_problems",
        "interviews",
    ]
    # a subordinate administration (a district bureau in a city's roster) fills all
    assert [m.key for m in grid.inputs_for("administration")] == [
        "problems_province",
        "problems_city",
        "problems_county",
        "general_found",
        "general_fixed",
        "major_found",
        "major_fixed",
        "groups_formed",
        "inspections",
        "units_inspected",
        "inspection_problems",
        "interviews",
    ]
    assert grid.inputs_for("administration") == grid.inputs


def test_default_topics_and_misprint_alias(grid: GridSpec) -> None:
    assert [t.key for t in grid.default_rows] == ["T1", "T2", "T3", "T4", "T5"]
    t3 = grid.default_rows[2]
    assert t3.matches("3.危险化学品安全整治")
    assert t3.matches("3.危险化品安全整治")
    assert not t3.matches("3.危险化学品")


# --- layout ----------------------------------------------------------------------------


def test_grid_header_merges(grid: GridSpec) -> None:
    lay = build_layout(grid, grid.default_rows)
    refs = {m.ref for m in lay.merges}
    for ref in ("A3:A5", "B3:E3", "F3:L3", "G4:I4", "J4:L4", "M3:P3", "Q3:Q5", "B4:B5", "F4:F5"):
        assert ref in refs, ref
    assert len(refs) == len(lay.merges) == 16
    assert lay.header_rows == (3, 4, 5)
    assert lay.width == 17
    assert lay.labels[(3, 1)] == "专题专项"
    assert lay.labels[(3, 2)] == "发现突出问题（卫生健康行政部门层面）"
    assert lay.labels[(3, 6)] == "排查整治隐患"
    assert lay.labels[(4, 7)] == "一般隐患"
    assert lay.labels[(5, 9)] == "整改率"
    assert lay.labels[(3, 17)] == "约谈警示"
    assert lay.labels[(6, 9)] == "（%）"
    assert lay.labels[(6, 17)] == "（家）"


def test_grid_rows(grid: GridSpec) -> None:
    lay = build_layout(grid, grid.default_rows)
    assert lay.row_of == {
        "T1": 7,
        "T2": 8,
        "T3": 9,
        "T4": 10,
        "T5": 11,
        MONTH_ROW: 12,
        CUMULATIVE_ROW: 13,
    }
    assert (lay.first_data_row, lay.last_data_row, lay.footer_row) == (7, 13, 15)
    assert lay.labels[(7, 1)] == "1.学习宣传贯彻习近平总书记关于安全生产重要论述专题"
    assert lay.labels[(12, 1)] == "当月累计"
    assert lay.labels[(13, 1)] == "累计总计"
    assert lay.cell("T1", "general_found") == "G7"
    assert lay.cell("T5", "major_rate") == "L11"
    assert lay.cell(CUMULATIVE_ROW, "interviews") == "Q13"
    assert lay.coords(MONTH_ROW, "hazards_total") == (12, 6)


def test_local_topic_adds_a_row_before_the_totals(grid: GridSpec) -> None:
    topics = (*grid.default_rows, Topic("L1", "6.城镇燃气安全专项整治"))
    lay = build_layout(grid, topics)
    assert lay.row_of["L1"] == 12
    assert (lay.row_of[MONTH_ROW], lay.row_of[CUMULATIVE_ROW]) == (13, 14)
    assert lay.labels[(12, 1)] == "6.城镇燃气安全专项整治"


def test_fingerprint(grid: GridSpec) -> None:
    a = build_layout(grid, grid.default_rows).fingerprint
    b = build_layout(load_form(FUJIAN2), tuple(grid.default_rows)).fingerprint
    assert a == b
    assert len(a) == 16
    int(a, 16)
    local = build_layout(grid, (*grid.default_rows, Topic("L1", "6.城镇燃气安全专项整治")))
    assert local.fingerprint != a
    renamed = (*grid.default_rows[:4], Topic("T5", "5.后勤安全"))
    assert build_layout(grid, renamed).fingerprint != a


def test_list_layout(tasks: ListSpec) -> None:
    lay = build_layout(tasks, tasks.default_rows)
    assert lay.header_rows == (3,)
    assert lay.labels[(3, 1)] == "序号"
    assert lay.row_of["1.1"] == 4
    assert lay.row_of["5.1"] == 16
    assert lay.spare_rows == tuple(range(17, 27))
    assert lay.row_of["new1"] == 17
    assert lay.last_data_row == 26
    # Task group 1 (tasks 1.1-1.4) shares its 序号 and 任务事项 cells.
    assert {m.ref for m in lay.merges} >= {"A4:A7", "B4:B7"}


# --- malformed definitions ------------------------------------------------------------

GRID_HEAD = """
id = "g"
version = 1
kind = "grid"
annex = "附件9"
sheet = "附件9"
title = "测试表"
month_total_label = "当月累计"
cumulative_label = "累计总计"
"""

COUNT_A = '\n[[measures]]\nkey = "a"\nheader = ["甲"]\nunit = "处"\nkind = "count"\nrole = "institution"\n'
COUNT_B = (
    '\n[[measures]]\nkey = "b"\nheader = ["乙"]\nunit = "处"\nkind = "count"\nrole = "bureau"\n'
)


def _form(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "form.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_small_valid_grid(tmp_path: Path) -> None:
    total = '\n[[measures]]\nkey = "t"\nheader = ["合计"]\nkind = "sum"\nterms = ["a", "b"]\n'
    rate = '\n[[measures]]\nkey = "r"\nheader = ["率"]\nkind = "rate"\nnumerator = "b"\ndenominator = "a"\n'
    spec = load_form(_form(tmp_path, GRID_HEAD + COUNT_A + COUNT_B + total + rate))
    assert isinstance(spec, GridSpec)
    assert [m.key for m in spec.inputs_for("institution")] == ["a"]
    assert spec.max_count == 100000
    assert spec.default_rows == ()


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (
            '\n[[measures]]\nkey = "x"\nheader = ["x"]\nkind = "average"\n',
            '第2个 \\[\\[measures\\]\\]：kind 须为 count、sum 或 rate 之一，现为 "average"',
        ),
        ('\n[[measures]]\nkey = "x"\nheader = ["x"]\nkind = "sum"\n', "须写明由哪些栏相加：terms"),
        (
            '\n[[measures]]\nkey = "x"\nheader = ["x"]\nkind = "sum"\nterms = ["a", "zz"]\n',
            "栏 x 引用了 zz，它不是本表的计数栏",
        ),
        (
            '\n[[measures]]\nkey = "x"\nheader = ["x"]\nkind = "rate"\nnumerator = "a"\n',
            "须写明分子和分母",
        ),
        (
            '\n[[measures]]\nkey = "x"\nheader = ["x"]\nkind = "rate"\nnumerator = "a"\ndenominator = "nope"\n',
            "引用了 nope，它不是本表的计数栏",
        ),
        ('\n[[measures]]\nkey = "x"\nheader = ["x"]\nkind = "count"\n', "须写明由谁填报：role"),
        (
            '\n[[measures]]\nkey = "x"\nkind = "count"\nrole = "bureau"\n',
            "第2个 \\[\\[measures\\]\\]：缺少必填的键 header",
        ),
        ('\n[[default_rows]]\nkey = "T1"\nlabel = "一"\n' * 2, "行的 key 重复：T1"),
    ],
)
def test_malformed_grid_names_the_file(tmp_path: Path, extra: str, match: str) -> None:
    path = _form(tmp_path, GRID_HEAD + COUNT_A + extra)
    with pytest.raises(ConfigError, match=match) as err:
        load_form(path)
    assert str(path) in str(err.value)


def test_a_sum_of_a_sum_is_refused(tmp_path: Path) -> None:
    # Terms must be counts: a sum over another derived cell would be computed in order.
    t1 = '\n[[measures]]\nkey = "t1"\nheader = ["t1"]\nkind = "sum"\nterms = ["a"]\n'
    t2 = '\n[[measures]]\nkey = "t2"\nheader = ["t2"]\nkind = "sum"\nterms = ["t1"]\n'
    with pytest.raises(ConfigError, match="引用了 t1，它不是本表的计数栏"):
        load_form(_form(tmp_path, GRID_HEAD + COUNT_A + t1 + t2))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            GRID_HEAD.replace('kind = "grid"', 'kind = "table"') + COUNT_A,
            'kind 须为 grid、list、register 之一，现为 "table"',
        ),
        (GRID_HEAD.replace('title = "测试表"\n', "") + COUNT_A, "form.toml：缺少必填的键 title"),
        (GRID_HEAD, "缺少必填的键 measures"),
        (GRID_HEAD.replace('cumulative_label = "累计总计"\n', "") + COUNT_A, "cumulative_label"),
        (GRID_HEAD + "measures = [\n", "form.toml"),
    ],
)
def test_malformed_definition_top_level(tmp_path: Path, text: str, match: str) -> None:
    path = _form(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as err:
        load_form(path)
    assert str(path) in str(err.value)


def test_definition_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="找不到报表定义文件"):
        load_form(tmp_path / "missing.toml")


def test_non_numeric_version_is_a_config_error(tmp_path: Path) -> None:
    # A definition is edited by hand ("a new campaign is a new declarative definition");
    # a bad value must come back as a ConfigError naming the file, not a ValueError.
    path = _form(tmp_path, GRID_HEAD.replace("version = 1", 'version = "v1"') + COUNT_A)
    with pytest.raises(ConfigError) as err:
        load_form(path)
    assert str(path) in str(err.value)
