"""click's own usage errors (an unknown option, a missing argument, a bad value), said in
Chinese for the clerk, with click's words kept where they name the option or the value.

click prints these itself, in English, before any command runs; the command group of
:mod:`pipeline.cli` hands each to :func:`in_chinese` and click prints the result, with
exit status 2 as before.
"""

from __future__ import annotations

import re
from typing import IO, Any

import click
from click.exceptions import NoArgsIsHelpError

# click's messages about a value, by what they say: the Chinese said before them.
_VALUE_PROBLEMS = (
    (re.compile(r"does not exist"), "找不到该文件或文件夹"),
    (re.compile(r"is a directory"), "是文件夹，这里需要一个文件"),
    (re.compile(r"is a file"), "是文件，这里需要一个文件夹"),
    (re.compile(r"is not readable|is not writable"), "没有读写权限"),
    (re.compile(r"is not a valid (float|integer)"), "应为数字"),
    (re.compile(r"is not in the range"), "超出允许的范围"),
    (re.compile(r"is not one of|is not a valid choice"), "不是可选的值之一"),
)


class UsageInChinese(click.UsageError):
    """A usage error printed as one line for the clerk: ``错误：…（用 … --help 查看用法）``."""

    def show(self, file: IO[Any] | None = None) -> None:
        command = f"{self.ctx.command_path} " if self.ctx is not None else ""
        hint = f"（用 {command}--help 查看用法）"
        click.echo(f"错误：{self.format_message()}{hint}", err=True)


def in_chinese(exc: click.UsageError) -> click.UsageError:
    """``exc`` said in Chinese; the help shown for a bare command passes unchanged."""
    if isinstance(exc, NoArgsIsHelpError | UsageInChinese):
        return exc
    return UsageInChinese(_said(exc), exc.ctx)


def _said(exc: click.UsageError) -> str:
    detail = exc.format_message()
    if isinstance(exc, click.NoSuchOption):
        return f"没有这个选项：{exc.option_name}{_did_you_mean(exc.possibilities)}"
    command = getattr(exc, "command_name", None)  # click.NoSuchCommand, click 8.4 and later
    if command is not None or detail.startswith("No such command"):
        name = command or detail.removeprefix("No such command").strip(" '.")
        return f"没有这个命令：{name}{_did_you_mean(getattr(exc, 'possibilities', None))}"
    if isinstance(exc, click.MissingParameter):
        what = "参数" if _param_type(exc) == "argument" else "选项"
        return f"缺少{what} {_param_hint(exc)}"
    if isinstance(exc, click.BadParameter):
        problem = next((zh for pattern, zh in _VALUE_PROBLEMS if pattern.search(exc.message)), "")
        return f"{_param_hint(exc)} 的值无效{'：' + problem if problem else ''}（{exc.message}）"
    if isinstance(exc, click.BadOptionUsage):
        if "requires an argument" in detail:
            return f"选项 {exc.option_name} 后面缺少值（{detail}）"
        if "does not take a value" in detail:
            return f"选项 {exc.option_name} 后面不能跟值（{detail}）"
        return f"选项 {exc.option_name} 用法有误（{detail}）"
    extra = re.match(r"Got unexpected extra arguments? \((.*)\)", detail)
    if extra:
        return f"多余的参数：{extra.group(1)}（若其中有空格，请用英文引号括起）"
    if detail.startswith("Missing command"):
        return "缺少命令（如 run、templates、mail）"
    return f"命令行用法有误（{detail}）"


def _did_you_mean(possibilities: list[str] | None) -> str:
    return f"，是不是 {' 或 '.join(possibilities)}？" if possibilities else ""


def _param_type(exc: click.MissingParameter) -> str | None:
    if exc.param_type is not None:
        return exc.param_type
    return exc.param.param_type_name if exc.param is not None else None


def _param_hint(exc: click.BadParameter) -> str:
    if exc.param_hint is not None:
        hint = exc.param_hint
        text = hint if isinstance(hint, str) else " / ".join(hint)
    elif exc.param is not None:
        text = exc.param.get_error_hint(exc.ctx)  # type: ignore[arg-type]
    else:
        return "参数"
    return text.replace("'", "")


class ChineseGroup(click.Group):
    """The command group: its usage errors, and its commands', said in Chinese; so too
    an interruption (Ctrl+C), exit status 1 as click gives it."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise in_chinese(exc) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise in_chinese(exc) from exc
        except (KeyboardInterrupt, EOFError) as exc:  # Ctrl+C: click would say "Aborted!"
            click.echo("\n已中断（Aborted!）", err=True)
            raise click.exceptions.Exit(1) from exc
