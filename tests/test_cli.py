"""The command line: every command documented, the tool's own failures one line and exit 1."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_help(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert cli.commands[command].help, f"{command} has no help text"
    assert "Usage:" in result.output


def test_group_help_lists_commands() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("run", "templates", "mail", "remind", "baseline", "demo"):
        assert command in result.output


@pytest.fixture
def campaign_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "campaign"
    folder.mkdir()
    shutil.copy(EXAMPLES / "campaign.toml", folder / "campaign.toml")
    shutil.copy(EXAMPLES / "roster.csv", folder / "roster.csv")
    (tmp_path / "inbox").mkdir()
    return folder


def _paths(folder: Path) -> list[str]:
    root = folder.parent
    return [
        "--campaign",
        str(folder / "campaign.toml"),
        "--inbox",
        str(root / "inbox"),
        "--outbox",
        str(root / "outbox"),
        "--ledger",
        str(root / "ledger.sqlite"),
    ]


def test_missing_campaign_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = invoke("--campaign", str(tmp_path / "nope.toml"), "run", "--period", "2026-08")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"错误：找不到配置文件 {tmp_path / 'nope.toml'}"]


def test_broken_campaign_names_file_and_line(campaign_dir: Path) -> None:
    (campaign_dir / "campaign.toml").write_text("[campaign\nname = 1\n", encoding="utf-8")
    result = invoke(*_paths(campaign_dir), "run", "--period", "2026-08")
    assert result.exit_code == 1
    assert "campaign.toml：第1行第10列格式有误" in result.output


def test_an_inbox_that_does_not_exist_is_an_error_not_an_empty_month(
    campaign_dir: Path,
) -> None:
    argv = _paths(campaign_dir)
    argv[argv.index("--inbox") + 1] = str(campaign_dir.parent / "inbx")  # a typo
    result = invoke(*argv, "run", "--period", "2026-08")
    assert result.exit_code == 1
    assert f"错误：收件箱文件夹不存在：{campaign_dir.parent / 'inbx'}" in result.output
    assert not (campaign_dir.parent / "outbox").exists()


def test_unreadable_roster_is_exit_1(campaign_dir: Path) -> None:
    (campaign_dir / "roster.csv").write_text("名称,电话\n甲,1\n", encoding="utf-8")
    result = invoke(*_paths(campaign_dir), "run", "--period", "2026-08")
    assert result.exit_code == 1
    assert "找不到表头（应有机构代码、机构名称、机构级别等列）" in result.output


def test_bad_period_is_exit_1(campaign_dir: Path) -> None:
    result = invoke(*_paths(campaign_dir), "run", "--period", "2026-13")
    assert result.exit_code == 1
    assert "报告期“2026-13”的月份无效（1—12）" in result.output


def test_empty_inbox_run_completes_and_lists_everyone_missing(campaign_dir: Path) -> None:
    result = invoke(*_paths(campaign_dir), "run", "--period", "2026-08")
    assert result.exit_code == 0, result.output
    assert "文件 0 个" in result.output
    assert f"收件箱 {campaign_dir.parent / 'inbox'} 中没有文件" in result.output
    assert "未报送或待重报 13 家" in result.output
    out = campaign_dir.parent / "outbox" / "2026-08"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "汇总表_2026-08.xlsx",
            "异常清单_2026-08.xlsx",
            "异常清单_2026-08.csv",
            "报送情况_2026-08.xlsx",
            "校验日志_2026-08.jsonl",
            "校验日志_2026-08.xlsx",
            "汇总明细_2026-08.xlsx",
            "问题隐患清单汇总_2026-08.xlsx",
            "制度措施清单汇总_2026-08.xlsx",
            "情况通报_2026-08.docx",
            "报告_2026-08.html",
        ]
    )


def test_templates_command_writes_one_protected_form_per_institution(campaign_dir: Path) -> None:
    out = campaign_dir.parent / "forms"
    result = invoke(*_paths(campaign_dir), "templates", "--period", "2026-08", "--out", str(out))
    assert result.exit_code == 0, result.output
    files = sorted(out.glob("*.xlsx"))
    assert len(files) == 13
    assert files[0].name.startswith("2026-08_")
    wb = load_workbook(files[0])
    assert wb.sheetnames == ["填报说明", "附件1", "附件2", "问题隐患清单", "制度措施清单", "_meta"]
    assert wb["附件2"].protection.sheet
    assert wb["_meta"].sheet_state == "veryHidden"


def test_demo_refuses_a_folder_it_did_not_create(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    result = invoke("demo", "--workspace", str(tmp_path))
    assert result.exit_code == 1
    assert "已存在且不是演示用的文件夹，为免误删未作改动" in result.output
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_templates_follow_the_templates_option(campaign_dir: Path) -> None:
    """Forms go where the campaign's paths say, or where --templates says, never into
    the repository's own form_templates/."""
    elsewhere = campaign_dir.parent / "表格"
    result = invoke(
        *_paths(campaign_dir), "--templates", str(elsewhere), "templates", "--period", "2026-08"
    )
    assert result.exit_code == 0, result.output
    written = sorted((elsewhere / "2026-08").glob("*.xlsx"))
    assert len(written) == 13 and str(elsewhere / "2026-08") in result.output
    assert not (campaign_dir.parent / "form_templates").exists()
