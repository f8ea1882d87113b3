"""The roster (CSV/xlsx) and the campaign file (pipeline/config/roster.py, campaign.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline.campaigns.campaign import load_campaign
from pipeline.config.calendar import DueRule, Period
from pipeline.config.roster import Institution, load_roster
from pipeline.errors import ConfigError, RosterError
from pipeline.forms.kinds.grid.spec import GridSpec
from pipeline.forms.kinds.register.spec import RegisterSpec
from pipeline.forms.kinds.tasklist.spec import ListSpec
from pipeline.forms.spec import SCHEMAS_DIR

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ROSTER = EXAMPLES / "roster.csv"
CAMPAIGN = EXAMPLES / "campaign.toml"

HEADER = "机构代码,机构名称,机构级别,经济类型,电子邮箱,联系人,联系电话"
ROWS = [
    "QW000,示例区卫生健康局,卫生健康行政部门,公立,anquan@example.gov.cn,尹铁柱,0432-1",
    "QW001,示例区人民医院,二级医院,公立,rmyy@example.gov.cn,王建国,0432-2",
    "QW002,示例区中医院,二级医院,公立,,李秀兰,",
]


def _csv(tmp_path: Path, lines: list[str], encoding: str = "utf-8", name: str = "r.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


# --- roster ----------------------------------------------------------------------------


def test_shipped_roster_loads() -> None:
    roster = load_roster(ROSTER, "QW000")
    assert len(roster) == 13
    codes = [i.code for i in roster]
    assert codes == [f"QW{n:03d}" for n in range(13)]
    assert roster.get("QW000").role == "bureau"
    assert roster.get("QW000").name == "示例区卫生健康局"
    assert [i.code for i in roster if i.role == "bureau"] == ["QW000"]
    assert all(i.role == "institution" for i in roster if i.code != "QW000")
    assert roster.get("QW011").email == ""  # a blank optional column stays blank
    assert roster.get("QW001") == Institution(
        code="QW001",
        name="示例区人民医院",
        level="二级医院",
        ownership="公立",
        email="rmyy@example-qwj.gov.cn",
        contact="王建国",
        phone="0432-63500001",
    )
    assert roster.get("QW999") is None


def test_xlsx_roster_equals_csv(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    for line in [HEADER, *ROWS]:
        ws.append(line.split(","))
    path = tmp_path / "roster.xlsx"
    wb.save(path)
    from_xlsx = load_roster(path, "QW000")
    from_csv = load_roster(_csv(tmp_path, [HEADER, *ROWS]), "QW000")
    assert from_xlsx.institutions == from_csv.institutions
    assert len(from_xlsx) == 3
    assert from_xlsx.get("QW000").role == "bureau"


def test_gb18030_csv(tmp_path: Path) -> None:
    path = _csv(tmp_path, [HEADER, *ROWS], encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    roster = load_roster(path)
    assert [i.name for i in roster] == ["示例区卫生健康局", "示例区人民医院", "示例区中医院"]
    assert roster.get("QW001").contact == "王建国"


def test_utf8_bom_csv_and_column_order_and_blank_lines(tmp_path: Path) -> None:
    lines = [
        "机构名称,机构级别,机构代码",
        "示例区人民医院,二级医院,QW001",
        ",,",
        "",
        "乙院,卫生院,QW002",
    ]
    path = _csv(tmp_path, lines, encoding="utf-8-sig")
    roster = load_roster(path)
    assert [(i.code, i.name, i.level) for i in roster] == [
        ("QW001", "示例区人民医院", "二级医院"),
        ("QW002", "乙院", "卫生院"),
    ]


def test_missing_required_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, ["机构代码,机构名称", "QW001,示例区人民医院"])
    with pytest.raises(RosterError, match="第1行：缺少列 机构级别") as err:
        load_roster(path)
    assert str(path) in str(err.value)


def test_a_title_row_above_the_headers_is_passed_over(tmp_path: Path) -> None:
    """A roster saved from Excel often has its title (and a blank row) above the table;
    rows are then counted as the worksheet counts them."""
    wb = Workbook()
    ws = wb.active
    ws.append(["示例区卫生健康系统机构名册（2026年）"])
    ws.append([])
    ws.append(HEADER.split(","))
    ws.append(["QW001", "示例区人民医院", "二级医院", "公立", "", "", ""])
    ws.append(["QW001", "又一医院", "一级医院", "民营", "", "", ""])
    path = tmp_path / "roster.xlsx"
    wb.save(path)
    with pytest.raises(RosterError, match="第5行（工作表）：机构代码 QW001 与第4行（工作表）重复"):
        load_roster(path)
    ws.delete_rows(5)
    wb.save(path)
    (inst,) = load_roster(path)
    assert (inst.code, inst.line) == ("QW001", 4)


def test_no_header_in_the_first_rows_says_what_it_looked_for(tmp_path: Path) -> None:
    path = _csv(tmp_path, ["名称,电话", "甲,1"])
    with pytest.raises(
        RosterError, match="前2行中找不到表头（应有机构代码、机构名称、机构级别等列）"
    ):
        load_roster(path)


def test_duplicate_code_names_both_lines(tmp_path: Path) -> None:
    path = _csv(tmp_path, [HEADER, *ROWS, "QW001,另一医院,一级医院,民营,,,"])
    with pytest.raises(RosterError, match="第5行：机构代码 QW001 与第3行重复"):
        load_roster(path)


def test_blank_code(tmp_path: Path) -> None:
    path = _csv(tmp_path, [HEADER, ROWS[0], " ,无代码医院,一级医院,民营,,,"])
    with pytest.raises(RosterError, match="第3行：机构代码和机构名称必须填写"):
        load_roster(path)


def test_line_break_inside_a_field_is_refused(tmp_path: Path) -> None:
    # A quoted field with a line break could inject a header into the e-mails written.
    lines = [HEADER, ROWS[0], 'QW001,"示例区人民医院\nBcc: x@evil.example",二级医院,公立,,,']
    path = _csv(tmp_path, lines)
    with pytest.raises(RosterError, match="第3行：“机构名称”中有换行"):
        load_roster(path)


def test_line_break_in_xlsx_cell_is_refused(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    ws.append(["QW001", "示例区人民医院", "二级医院", "公立", "a@b.cn\r\nBcc: c@d.cn", "", ""])
    path = tmp_path / "roster.xlsx"
    wb.save(path)
    with pytest.raises(RosterError, match="第2行（工作表）：“电子邮箱”中有换行"):
        load_roster(path)


def test_roster_file_problems(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="找不到名册"):
        load_roster(tmp_path / "none.csv")
    txt = tmp_path / "roster.txt"
    txt.write_text(HEADER)
    with pytest.raises(RosterError, match=r"名册应为 \.csv 或 \.xlsx"):
        load_roster(txt)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(RosterError, match="名册是空的"):
        load_roster(empty)
    with pytest.raises(RosterError, match="名册中没有单位"):
        load_roster(_csv(tmp_path, [HEADER], name="header.csv"))
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"not a workbook")
    with pytest.raises(RosterError, match="无法作为 xlsx 打开"):
        load_roster(fake)


# --- campaign --------------------------------------------------------------------------


def test_shipped_campaign_loads() -> None:
    camp = load_campaign(CAMPAIGN)
    assert camp.path == CAMPAIGN.resolve()
    assert camp.name == "安全生产专项整治三年行动"
    assert camp.code == "srzz-2021"
    assert camp.start == Period(2026, 7)
    assert camp.bureau.name == "示例区卫生健康局"
    assert camp.bureau.code == "QW000"
    assert camp.due == DueRule(day=1, months_after=1, roll_to_working_day=True)
    assert [f.id for f in camp.forms] == ["fujian1", "fujian2", "hazards", "measures"]
    assert [type(f) for f in camp.forms] == [ListSpec, GridSpec, RegisterSpec, RegisterSpec]
    # 所属专题 of both registers offers the campaign's topics: 附件2's rows.
    topic_labels = tuple(r.label for r in camp.rows_for(camp.form("fujian2")))
    for register in ("hazards", "measures"):
        spec = camp.form(register)
        assert isinstance(spec, RegisterSpec)
        assert spec.field("topic").choices == topic_labels
    topics = camp.rows_for(camp.form("fujian2"))
    tasks = camp.rows_for(camp.form("fujian1"))
    assert [t.key for t in topics] == ["T1", "T2", "T3", "T4", "T5"]
    assert topics[2].aliases == ("3.危险化品安全整治",)
    assert len(tasks) == 13
    assert tasks[0].key == "1.1"
    # Paths are relative to the campaign file, not the working directory.
    base = CAMPAIGN.resolve().parent
    assert camp.roster_path.resolve() == base / "roster.csv"
    assert camp.ledger_path.resolve() == base.parent / "ledger.sqlite"
    assert camp.inbox.resolve() == base.parent / "inbox"
    assert camp.outbox.resolve() == base.parent / "outbox"
    assert camp.templates_dir.resolve() == base.parent / "form_templates"
    assert camp.anomalies.zscore_threshold == 3.5
    assert camp.anomalies.zscore_min_months == 4
    assert len(camp.roster()) == 13


def test_campaign_paths_do_not_depend_on_cwd(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(CAMPAIGN.parents[1])
    camp = load_campaign(Path("examples/campaign.toml"))
    assert camp.roster_path.is_absolute()
    monkeypatch.chdir(tmp_path)
    assert camp.roster_path.resolve() == ROSTER.resolve()
    assert len(camp.roster()) == 13


MINIMAL = """
[campaign]
name = "测试工作"
code = "t-1"
start = "2026-07"

[bureau]
name = "测试区卫生健康局"
code = "QW000"
"""


def _campaign(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "campaign.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_campaign_defaults(tmp_path: Path) -> None:
    camp = load_campaign(_campaign(tmp_path, MINIMAL))
    assert camp.due == DueRule()
    assert camp.roster_path == tmp_path / "roster.csv"
    assert camp.ledger_path == tmp_path / "ledger.sqlite"
    assert camp.inbox == tmp_path / "inbox"
    assert [t.key for t in camp.rows_for(camp.form("fujian2"))] == ["T1", "T2", "T3", "T4", "T5"]
    override = tmp_path / "elsewhere" / "inbox"
    assert load_campaign(camp.path, {"inbox": override}).inbox == override


def test_local_topics_are_appended(tmp_path: Path) -> None:
    text = MINIMAL + (
        '\n[[local_topics]]\nkey = "L1"\nlabel = "6.城镇燃气安全专项整治"\n'
        '\n[[local_topics]]\nkey = "L2"\nlabel = "7.电动自行车安全隐患整治"\n'
    )
    camp = load_campaign(_campaign(tmp_path, text))
    assert [t.key for t in camp.rows_for(camp.form("fujian2"))] == [
        "T1",
        "T2",
        "T3",
        "T4",
        "T5",
        "L1",
        "L2",
    ]
    assert camp.rows_for(camp.form("fujian2"))[5].label == "6.城镇燃气安全专项整治"


def test_topics_replace_the_defaults(tmp_path: Path) -> None:
    text = MINIMAL + '\n[[topics]]\nkey = "X"\nlabel = "1.唯一专题"\n'
    camp = load_campaign(_campaign(tmp_path, text))
    assert [(t.key, t.label) for t in camp.rows_for(camp.form("fujian2"))] == [("X", "1.唯一专题")]


def test_local_topic_repeating_a_default_key(tmp_path: Path) -> None:
    path = _campaign(tmp_path, MINIMAL + '\n[[local_topics]]\nkey = "T3"\nlabel = "重复"\n')
    with pytest.raises(ConfigError, match="本地行（local_rows）与已有的行重复使用了 key T3") as err:
        load_campaign(path)
    assert str(path) in str(err.value)


def test_local_topics_repeating_each_other(tmp_path: Path) -> None:
    text = MINIMAL + '\n[[local_topics]]\nkey = "L1"\nlabel = "a"\n' * 2
    with pytest.raises(ConfigError, match=r"\[\[local_topics\]\]：行的 key 重复：L1"):
        load_campaign(_campaign(tmp_path, text))


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = _campaign(tmp_path, MINIMAL + "\n[due\nday = 1\n")
    with pytest.raises(ConfigError) as err:
        load_campaign(path)
    assert str(path) in str(err.value)


def test_missing_campaign_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="找不到配置文件"):
        load_campaign(tmp_path / "nope.toml")


def test_missing_bureau_name(tmp_path: Path) -> None:
    path = _campaign(tmp_path, MINIMAL.replace('name = "测试区卫生健康局"\n', ""))
    with pytest.raises(ConfigError, match=r"\[bureau\]：缺少必填的键 name") as err:
        load_campaign(path)
    assert str(path) in str(err.value)


def test_missing_bureau_table(tmp_path: Path) -> None:
    text = MINIMAL.split("[bureau]")[0]
    with pytest.raises(ConfigError, match=r"\[bureau\]：缺少必填的键 name"):
        load_campaign(_campaign(tmp_path, text))


@pytest.mark.parametrize(
    ("replace", "by", "match"),
    [
        ('start = "2026-07"', 'start = "2026-7"', "无法识别"),
        ('start = "2026-07"\n', "", r"\[campaign\]：缺少必填的键 start"),
        ('code = "t-1"\n', 'code = ""\n', r"\[campaign\]：缺少必填的键 code（或它是空的）"),
    ],
)
def test_bad_campaign_values(tmp_path: Path, replace: str, by: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_campaign(_campaign(tmp_path, MINIMAL.replace(replace, by, 1)))


@pytest.mark.parametrize("due", ["day = 0", "day = 32", 'day = "first"'])
def test_bad_due_day(tmp_path: Path, due: str) -> None:
    with pytest.raises(ConfigError, match=r"\[due\]"):
        load_campaign(_campaign(tmp_path, MINIMAL + f"\n[due]\n{due}\n"))


def test_unknown_form_name(tmp_path: Path) -> None:
    text = MINIMAL.replace('start = "2026-07"', 'start = "2026-07"\nforms = ["fujian9"]')
    with pytest.raises(ConfigError, match="找不到报表定义文件") as err:
        load_campaign(_campaign(tmp_path, text))
    assert str(SCHEMAS_DIR / "fujian9.toml") in str(err.value)


def test_campaign_saved_in_gbk_is_a_config_error(tmp_path: Path) -> None:
    # Notepad on a Chinese Windows saves "ANSI" (GBK) by default: the clerk must get a
    # one-line ConfigError naming the file, not a UnicodeDecodeError traceback.
    path = tmp_path / "campaign.toml"
    path.write_bytes(MINIMAL.encode("gb18030"))
    with pytest.raises(ConfigError) as err:
        load_campaign(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("text", "line", "said"),
    [
        ("\n[anomalies]\nzscore_treshold = 2\n", "zscore_treshold", "是不是“zscore_threshold”"),
        (
            "\n[due]\nroll_to_workingday = false\n",
            "roll_to_workingday",
            "是不是“roll_to_working_day”",
        ),
        ("\n[due]\ndya = 5\n", "dya = 5", "是不是“day”"),
        ("\n[anomaly]\nzscore_threshold = 2\n", "[anomaly]", "是不是“anomalies”"),
    ],
)
def test_a_typo_in_the_campaign_file_names_its_line_and_the_nearest_name(
    tmp_path: Path, text: str, line: str, said: str
) -> None:
    path = _campaign(tmp_path, MINIMAL + text)
    with pytest.raises(ConfigError) as err:
        load_campaign(path)
    number = next(
        i for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line in t
    )
    assert f"第{number}行" in str(err.value) and said in str(err.value), str(err.value)
    assert str(path) in str(err.value)
