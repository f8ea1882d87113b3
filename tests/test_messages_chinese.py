"""Every error the command line prints is in Chinese first: the tool's own, click's usage
errors, and the system's (a broken TOML file, a file not found, no permission)."""

from __future__ import annotations

import ast
import errno
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import pipeline
from pipeline.cli import cli
from pipeline.errors import PipelineError, os_failure

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PACKAGE = Path(pipeline.__file__).resolve().parent
CJK = re.compile(r"[\u4e00-\u9fff]")  # Chinese characters, not just a full-width colon


# -- the tool's own errors ---------------------------------------------------------------
def _error_classes(trees: dict[Path, ast.Module]) -> set[str]:
    """Names of PipelineError and its subclasses: those importable from pipeline.errors,
    and classes anywhere in the package whose base is one of them."""
    names: set[str] = set()
    todo: list[type] = [PipelineError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    grew = True
    while grew:
        grew = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {
                        b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                        for b in node.bases
                    }
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


def _local_names(tree: ast.Module, classes: set[str]) -> set[str]:
    """The names a module calls the error classes by (``import ConfigError as Bad`` too)."""
    out = set(classes)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pipeline"):
            out |= {a.asname for a in node.names if a.asname and a.name in classes}
    return out


def _literal_text(node: ast.expr) -> str | None:
    """The written text of a message (the literal parts of an f-string); None when the
    message is passed on from elsewhere (a variable, a call), which is checked where made."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_text(node.left), _literal_text(node.right)
        return None if left is None and right is None else (left or "") + (right or "")
    return None


def test_every_error_of_the_tool_is_written_in_chinese() -> None:
    """A clerk reads these as 错误：<message>: each message made in pipeline/ has Chinese
    in it (file, table and key names stay as written, in English)."""
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.rglob("*.py"))}
    classes = _error_classes(trees)
    assert {"ConfigError", "InputError", "LedgerError", "MailboxError"} <= classes
    english = []
    for path, tree in trees.items():
        local = _local_names(tree, classes)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name not in local:
                continue
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
            if not node.args:
                english.append(f"{where}: {name}() without a message")
                continue
            text = _literal_text(node.args[0])
            if text is not None and not CJK.search(text):
                english.append(f"{where}: {name}({ast.unparse(node.args[0])[:80]})")
    assert not english, "errors without Chinese:\n" + "\n".join(english)


# -- the command line --------------------------------------------------------------------


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLES / "campaign.toml", tmp_path / "campaign.toml")
    shutil.copy(EXAMPLES / "roster.csv", tmp_path / "roster.csv")
    (tmp_path / "inbox").mkdir()
    return tmp_path / "campaign.toml"


def _argv(campaign: Path) -> list[str]:
    root = campaign.parent
    return [
        "--campaign",
        str(campaign),
        "--inbox",
        str(root / "inbox"),
        "--outbox",
        str(root / "outbox"),
        "--ledger",
        str(root / "ledger.sqlite"),
    ]


def test_unknown_option_is_said_in_chinese_exit_2() -> None:
    result = invoke("run", "--perod", "2026-08")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "错误：没有这个选项：--perod，是不是 --period？（用 cli run --help 查看用法）"
    ]


def test_unknown_command_is_said_in_chinese_exit_2() -> None:
    result = invoke("rnu")
    assert result.exit_code == 2
    assert "错误：没有这个命令：rnu，是不是 run？" in result.output
    assert "Error" not in result.output


def test_bad_option_value_keeps_clicks_detail_after_the_chinese() -> None:
    result = invoke("run", "--wait", "abc")
    assert result.exit_code == 2
    assert result.output.startswith("错误：--wait 的值无效：应为数字（'abc' is not a valid")


def test_missing_argument_and_option_are_said_in_chinese() -> None:
    result = invoke("withdraw")
    assert result.exit_code == 2
    assert result.output.startswith("错误：缺少参数 FILE（用 cli withdraw --help 查看用法）")
    result = invoke("withdraw", "a.xlsx")
    assert result.exit_code == 2
    assert result.output.startswith("错误：缺少选项 --reason")


def test_option_without_its_value_is_said_in_chinese() -> None:
    result = invoke("run", "--period")
    assert result.exit_code == 2
    assert result.output.startswith("错误：选项 --period 后面缺少值")


def test_baseline_file_not_found_is_said_in_chinese(tmp_path: Path) -> None:
    result = invoke("baseline", str(tmp_path / "基线.csv"))
    assert result.exit_code == 2
    assert result.output.startswith("错误：FILE 的值无效：找不到该文件或文件夹（")


def test_bare_command_still_shows_the_help() -> None:
    result = invoke()
    assert result.exit_code == 2
    assert "Usage:" in result.output and "错误" not in result.output


def test_bad_period_value_is_said_in_chinese(campaign: Path) -> None:
    result = invoke(*_argv(campaign), "run", "--period", "2026-13")
    assert result.exit_code == 1
    assert result.output.startswith("错误：报告期“2026-13”的月份无效（1—12），应写作如 2026-07")


def test_missing_campaign_file_is_said_in_chinese(tmp_path: Path) -> None:
    result = invoke("--campaign", str(tmp_path / "工作.toml"), "run")
    assert result.exit_code == 1
    assert result.output.strip() == f"错误：找不到配置文件 {tmp_path / '工作.toml'}"


def test_toml_syntax_error_names_line_and_column_in_chinese(campaign: Path) -> None:
    text = campaign.read_text(encoding="utf-8")
    campaign.write_text(text.replace('code = "', "code = 安全", 1), encoding="utf-8")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith('code = "'))
    result = invoke(*_argv(campaign), "run", "--period", "2026-08")
    assert result.exit_code == 1
    out = result.output.strip()
    assert out.startswith(
        f"错误：{campaign}：第{line}行第8列格式有误，无法读取（常见原因：文字未用英文双引号括起"
    )
    assert out.endswith(f"（Invalid value (at line {line}, column 8)）")


def test_a_file_the_system_refuses_is_said_in_chinese(
    campaign: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result file open in Excel on Windows cannot be replaced: exit 1, not a traceback."""
    import pipeline.run

    def refused(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", "汇总表_2026-08.xlsx")

    monkeypatch.setattr(pipeline.run, "run_workspace", refused)
    result = invoke(*_argv(campaign), "run", "--period", "2026-08")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "错误：没有权限读写 汇总表_2026-08.xlsx：若它正在 Excel 或 WPS 中打开，请关闭后重试；"
        "否则请检查文件夹的访问权限（Permission denied）"
    )


def test_an_interrupted_run_is_said_in_chinese(
    campaign: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.run

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline.run, "run_workspace", interrupted)
    result = invoke(*_argv(campaign), "run", "--period", "2026-08")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == "已中断（Aborted!）"


@pytest.mark.parametrize(
    ("exc", "said"),
    [
        (
            FileNotFoundError(errno.ENOENT, "No such file or directory", "a.csv"),
            "找不到文件或文件夹 a.csv",
        ),
        (
            IsADirectoryError(errno.EISDIR, "Is a directory", "inbox"),
            "inbox 是文件夹，这里需要一个文件",
        ),
        (OSError(errno.ENOSPC, "No space left on device", "outbox"), "磁盘已满，无法写入 outbox"),
        (OSError(errno.EIO, "Input/output error", "x"), "无法读写文件 x"),
    ],
)
def test_os_failures_in_chinese_with_the_systems_words(exc: OSError, said: str) -> None:
    text = os_failure(exc)
    assert text.startswith(said)
    assert text.endswith(f"（{exc.strerror}）")


def test_a_typo_in_smtp_is_an_error_with_the_nearest_key(campaign: Path) -> None:
    """[mail] and [smtp] were read without checking their keys: ``hots`` ran as no host."""
    from pipeline.campaigns.campaign import load_campaign
    from pipeline.errors import ConfigError

    text = campaign.read_text(encoding="utf-8") + '\n[smtp]\nhots = "smtp.example.cn"\n'
    campaign.write_text(text, encoding="utf-8")
    line = len(text.splitlines())
    with pytest.raises(ConfigError) as err:
        load_campaign(campaign)
    assert str(err.value).startswith(
        f"{campaign}：第{line}行[smtp] 中的“hots”不是可用的设置项，是不是“host”？"
    )


def test_a_typo_in_a_workspaces_shared_table_names_the_workspace_file(tmp_path: Path) -> None:
    from pipeline.campaigns.workspace import load_workspace
    from pipeline.errors import ConfigError

    shutil.copytree(EXAMPLES, tmp_path / "examples")
    path = tmp_path / "examples" / "workspace.toml"
    text = path.read_text(encoding="utf-8") + "\n[limits]\nmax_file_megabytes = 5\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_workspace(path)
    assert str(err.value).startswith(f"{path}：第{len(text.splitlines())}行[limits] 中的")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("{{ 机构 ", "：第1行格式有误（"),
        (
            "{{ no_such_name }}",
            " 无法生成邮件（模板中用了不存在的变量，请对照程序自带的模板核对变量名：",
        ),
    ],
)
def test_a_broken_mail_template_is_said_in_chinese(tmp_path: Path, text: str, said: str) -> None:
    from pipeline.errors import ConfigError
    from pipeline.mail.compose import render

    (tmp_path / "monthly_subject.txt.j2").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        render(tmp_path, "monthly_subject.txt.j2", {})
    assert str(err.value).startswith("邮件模板 ") and said in str(err.value)


def test_a_baseline_for_a_campaign_without_a_grid_is_said_in_chinese() -> None:
    from pipeline.campaigns.workspace import load_workspace
    from pipeline.errors import InputError
    from pipeline.ledger.baseline import import_baseline

    ws = load_workspace(EXAMPLES / "workspace.toml")
    no_grid = next(c for c in ws.campaigns if not any(s.kind == "grid" for s in c.forms))
    with pytest.raises(InputError, match="没有附件2这类按专题填数的报表（grid），无需导入基线"):
        import_baseline(no_grid, EXAMPLES / "roster.csv")


def test_run_outside_the_project_folder_says_how_to_name_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 1
    assert "没有默认的工作区文件 examples/workspace.toml" in result.output
    assert "--workspace" in result.output and "--campaign" in result.output
