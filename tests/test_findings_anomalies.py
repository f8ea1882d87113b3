"""The finding record and the anomaly statistics (validate/findings.py, aggregate/anomalies.py)."""

from __future__ import annotations

import math
import re

import pytest

from pipeline.findings import RULES, SEVERITY_ZH, Finding, is_blocking, make
from pipeline.forms.kinds.grid.anomalies import modified_zscore

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_rule_formats_in_chinese(code: str) -> None:
    rule = RULES[code]
    assert rule.severity in SEVERITY_ZH
    words = {"num": "已整改", "den": "排查", "unit": "处", "fixed": "3", "found": "2"}
    words.update(
        fills="“排查整治隐患”",
        register="问题隐患清单",
        when="发现日期在本期内",
        items="类别为一般隐患",
        deadline="整改时限",
        item="配电室",
        group="二级医院",
        date="2023-06-30",
        stage="已自评",
        days="30",
        plan="40",
        missed="",
        window="2026年9月上半月",
        first="2026-07",
        last="2026-08",
    )
    f = make(code, value="VAL", expected="EXP", what="附件2/当月累计", words=words)
    assert f.rule == code
    assert f.severity == rule.severity
    assert "{" not in f.message and "}" not in f.message
    assert "{" not in f.advice and "}" not in f.advice
    assert CJK.search(rule.message.format(value="", expected="", **words))
    assert CJK.search(f.advice)
    assert f.message.startswith("附件2/当月累计：")
    for placeholder, text in (("{value}", "VAL"), ("{expected}", "EXP")):
        if placeholder in rule.message:
            assert text in f.message
        if placeholder in rule.advice:
            assert text in f.advice


def test_rule_codes_follow_the_families() -> None:
    assert all(re.fullmatch(r"[FMLVNDARX]-[A-Z0-9-]+", code) for code in RULES)
    # Files that cannot be read are always refused; one that we read but Excel cannot
    # open (F-CONTENT-TYPES) is only a warning, and so is a return the clerk withdrew
    # (F-WITHDRAWN), which was read and is set aside by hand.
    refused = [
        c for c in RULES if c.startswith("F-") and c not in {"F-CONTENT-TYPES", "F-WITHDRAWN"}
    ]
    assert all(RULES[c].severity == "error" for c in refused)
    assert RULES["F-CONTENT-TYPES"].severity == "warning"
    assert RULES["N-NORMALISED"].severity == "info"


def test_unknown_rule_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        make("X-NOPE")


def test_make_fills_value_expected_and_location() -> None:
    f = make(
        "V-MAX",
        value=123456.0,
        expected=100000,
        what="2.落实企业安全生产主体责任专题/一般隐患排查",
        file="甲.xlsx",
        sha256="ab" * 32,
        institution="QW001",
        institution_name="示例区人民医院",
        form="fujian2",
        period="2026-10",
        sheet="附件2",
        cell="G8",
    )
    assert f == Finding(
        rule="V-MAX",
        severity="error",
        message="2.落实企业安全生产主体责任专题/一般隐患排查：数值123456超过上限100000",
        advice="请核对是否多输入了数字。",
        file="甲.xlsx",
        sha256="ab" * 32,
        institution="QW001",
        institution_name="示例区人民医院",
        form="fujian2",
        period="2026-10",
        sheet="附件2",
        cell="G8",
        value="123456",
        expected="100000",
    )
    assert f.where == "附件2!G8"
    d = f.to_dict()
    assert "extra" not in d
    assert d["cell"] == "G8" and d["value"] == "123456"


@pytest.mark.parametrize(
    ("raw", "text"),
    # fractions keep up to 4 decimals: "2.04 不是整数" must not read "2.0 不是整数";
    # rates are rounded to the sheet's one decimal where the rate findings are made
    [
        (None, ""),
        (3.0, "3"),
        (66.666, "66.666"),
        (2.04, "2.04"),
        (0.01, "0.01"),
        (1 / 3, "0.3333"),
        (1e300, "1e+300"),
        (12, "12"),
        ("五", "五"),
        (0.0, "0"),
    ],
)
def test_values_are_rendered_for_people(raw: object, text: str) -> None:
    assert make("V-PARSE", value=raw).value == text


def test_where_and_blocking() -> None:
    assert make("A-BLANK", sheet="附件2").where == "附件2"
    assert make("F-EMPTY").where == ""
    assert make("M-PERIOD", value="2026-09", expected="2026-10").advice == (
        "如为补报，请运行 make PERIOD=2026-09（即 run --period 2026-09）；否则请报送单位使用本期模板。"
    )
    info = make("N-NORMALISED", value="５", expected=5.0)
    assert info.message == "“５”按 5 读取"
    warning = make("A-BLANK")
    assert not is_blocking([info, warning])
    assert is_blocking([info, make("V-PARSE", value="约30")])
    assert not is_blocking([])


# --- modified z-score ------------------------------------------------------------------

PAST = [10, 12, 11, 13, 12]  # median 12, MAD 1


def test_zscore_outlier() -> None:
    assert modified_zscore(40, PAST) == pytest.approx(0.6745 * 28)
    assert modified_zscore(40, PAST) > 3.5


def test_zscore_at_median_is_zero() -> None:
    assert modified_zscore(12, PAST) == 0.0


def test_zscore_below() -> None:
    assert modified_zscore(0, PAST) == pytest.approx(-0.6745 * 12)
    assert modified_zscore(13, PAST) == pytest.approx(0.6745)


def test_zscore_mad_zero_uses_mean_absolute_deviation() -> None:
    # MAD is 0 (most months equal); the mean absolute deviation (1.0) takes its place.
    assert modified_zscore(10, [5, 5, 5, 9]) == pytest.approx(5 / 1.253314)


def test_zscore_constant_history() -> None:
    assert modified_zscore(6, [5, 5, 5, 5]) == math.inf
    assert modified_zscore(4, [5, 5, 5, 5]) == -math.inf
    assert modified_zscore(5, [5, 5, 5, 5]) == 0.0
    assert modified_zscore(0, [0, 0, 0, 0]) == 0.0


def test_zscore_is_scaled_by_the_deviation_not_multiplied() -> None:
    """A MAD or mean deviation other than 1, so that dividing by it is told from
    multiplying by it (PAST above has a MAD of exactly 1)."""
    wide = [10, 12, 14, 16, 18]  # median 14, MAD 2
    assert modified_zscore(40, wide) == pytest.approx(0.6745 * 26 / 2)
    flat = [5, 5, 5, 5, 9]  # median 5, MAD 0, mean absolute deviation 0.8
    assert modified_zscore(9, flat) == pytest.approx(4 / (1.253314 * 0.8))
