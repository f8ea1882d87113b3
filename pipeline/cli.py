"""Command line: parse options, call one library function, print a short summary.

No logic lives here; known failures of the tool become a one-line message and exit 1,
click's own usage errors a one-line message in Chinese and exit 2.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipeline.campaigns import select
from pipeline.campaigns.campaign import Campaign
from pipeline.campaigns.workspace import Workspace, load_workspace
from pipeline.cli_errors import ChineseGroup
from pipeline.config.calendar import Period, latest_period_due
from pipeline.errors import NotYetDue, PipelineError, os_failure

if TYPE_CHECKING:
    from pipeline.aggregate.result import RunResult
    from pipeline.mail.batch import BatchResult

DEFAULT_WORKSPACE = Path("examples/workspace.toml")


def _period(value: str | None, campaign: Campaign) -> Period:
    """A period of the campaign's kind; default: the last complete one."""
    if value:
        return campaign.period(value)
    return latest_period_due(dt.date.today(), campaign.kind)


def period_option(f: Callable) -> Callable:
    return click.option(
        "--period",
        metavar="PERIOD",
        help="Reporting period as the campaign reports (2026-07, 2026-W27, 2026-07a, "
        "2026-B4, 2026-Q3, 2026-H2, 2026); default: the period being collected now.",
    )(f)


def send_option(f: Callable) -> Callable:
    return click.option(
        "--send",
        is_flag=True,
        help="Deliver over SMTP ([smtp] of the campaign file); default: a dry run that "
        "only writes each message as an .eml file under outbox/YYYY-MM/mail/.",
    )(f)


class Failed(click.ClickException):
    """A failure of the tool, printed for the clerk: ``错误：…`` on stderr, exit 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"错误：{self.format_message()}", err=True)


def handle_errors(f: Callable) -> Callable:
    """Turn the tool's own failures into a one-line message and exit status 1; so too a
    file the system would not let it read or write (open in Excel, no permission, a
    full disk), which the clerk can put right."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except PipelineError as exc:
            raise Failed(str(exc)) from exc
        except OSError as exc:
            raise Failed(os_failure(exc)) from exc

    return wrapper


def _workspace(ctx: click.Context) -> Workspace:
    file = ctx.obj["file"]
    if file == DEFAULT_WORKSPACE and not file.exists():
        raise Failed(
            f"当前文件夹（{Path.cwd()}）中没有默认的工作区文件 {DEFAULT_WORKSPACE}："
            "请在项目文件夹中运行，或用 --workspace 指定工作区文件、"
            "用 --campaign 指定单项工作的配置文件"
        )
    return load_workspace(file, ctx.obj["overrides"])


def _campaign(ctx: click.Context) -> Campaign:
    """The one campaign a command works on (--campaign CODE in a workspace)."""
    return select.one(_workspace(ctx), ctx.obj["code"])


def _each(ctx: click.Context, period: str | None, work: Callable[[Campaign], None]) -> None:
    """``work`` for the campaign named, or for every campaign of the workspace (those of
    PERIOD's kind), each under its name; one campaign's failure does not stop the
    others, and makes the exit status 1 once all have been tried."""
    campaigns = select.each(_workspace(ctx), ctx.obj["code"], period)
    if len(campaigns) == 1:
        work(campaigns[0])
        return
    failed = []
    for c in campaigns:
        click.echo(f"— {c.name}（{c.code}）")
        try:
            work(c)
        except NotYetDue as exc:
            click.echo(str(exc))
        except (PipelineError, Failed) as exc:
            message = exc.message if isinstance(exc, click.ClickException) else str(exc)
            click.echo(f"错误：{message}", err=True)
            failed.append(c.name)
    if failed:
        raise Failed(f"{len(failed)}项工作未完成：{'、'.join(failed)}")


@click.group(cls=ChineseGroup)
@click.option(
    "--workspace",
    "workspace_path",
    type=click.Path(path_type=Path),
    default=DEFAULT_WORKSPACE,
    show_default=True,
    help="Workspace file (TOML) listing the campaigns, or a single campaign file.",
)
@click.option(
    "--campaign",
    metavar="CODE|FILE",
    help="One campaign of the workspace by its code, or a campaign file on its own.",
)
@click.option("--inbox", type=click.Path(path_type=Path), help="Override the inbox.")
@click.option("--outbox", type=click.Path(path_type=Path), help="Override the outbox.")
@click.option("--ledger", type=click.Path(path_type=Path), help="Override the ledger database.")
@click.option(
    "--templates",
    "templates_dir",
    type=click.Path(path_type=Path),
    help="Override the folder blank forms are written to.",
)
@click.version_option(package_name="health-returns-pipeline", prog_name="health-returns")
@click.pass_context
def cli(
    ctx: click.Context,
    workspace_path: Path,
    campaign: str | None,
    inbox: Path | None,
    outbox: Path | None,
    ledger: Path | None,
    templates_dir: Path | None,
) -> None:
    """卫生健康报表汇总：生成模板、收取报表、校验、汇总、报告。

    Returns pipeline for a health bureau's reporting campaigns.
    """
    overrides = {
        k: v.resolve()
        for k, v in (
            ("inbox", inbox),
            ("outbox", outbox),
            ("ledger", ledger),
            ("templates", templates_dir),
        )
        if v is not None
    }
    file, code = workspace_path, campaign
    if campaign and (campaign.lower().endswith(".toml") or Path(campaign).is_file()):
        file, code = Path(campaign), None  # a campaign file on its own
    ctx.obj = {"file": file, "code": code, "overrides": overrides}


@cli.command()
@period_option
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds to wait for another run holding the ledger before giving up.",
)
@click.pass_context
@handle_errors
def run(ctx: click.Context, period: str | None, wait: float) -> None:
    """汇总：检查收件箱中的报表，记入台账，写出结果。

    Judge every file in the inbox, update the ledger, write the outputs: for every
    campaign of the workspace, its period being collected now (or PERIOD).
    """
    from pipeline.run import run_workspace

    ws = _workspace(ctx)
    targets = select.for_run(ws, ctx.obj["code"], period, dt.date.today())
    if not targets:
        click.echo("没有需要汇总的报告期（各项工作尚未开始）")
        return
    for code, periods in targets.items():
        c = ws.campaign(code)
        click.echo(f"{c.name}：汇总 {'、'.join(p.label() for p in periods)}，收件箱 {ws.inbox}")
    done = run_workspace(ws, targets, progress=_progress, lock_wait=wait, notify=click.echo)
    if not any(ws.inbox.iterdir()):
        click.echo(
            f"收件箱 {ws.inbox} 中没有文件：各单位的报表保存到这里（或用 make fetch 从邮箱收取）后再运行"
        )
    for result in done.results:
        _echo_result(result, several=len(done.results) > 1)
    if done.overview is not None:
        click.echo(f"总览：{done.overview}")
    for result in done.results:
        if result.campaign is not None and result.campaign.mail.receipts == "auto":
            from pipeline.mail.receipts import send_receipts

            _report_mailing(send_receipts(result.campaign, result.period, send=True))


def _echo_result(result: RunResult, several: bool) -> None:
    if several and result.campaign is not None:
        click.echo(f"— {result.campaign.name} {result.period.label()}")
    click.echo(
        f"文件 {len(result.files)} 个：接收 {result.count('accepted')}，退回 {result.count('rejected')}，"
        f"重复 {result.count('duplicate')}，被替代 {result.count('superseded')}，"
        f"跳过 {result.count('skipped')}"
        + (f"；压缩包 {result.count('unpacked')} 个已解开" if result.count("unpacked") else "")
        + (f"；已撤回 {result.count('withdrawn')}" if result.count("withdrawn") else "")
        + (f"；往期已入账 {result.other_periods}" if result.other_periods else "")
    )
    click.echo(
        f"异常清单 {result.anomalies} 条；未报送或待重报 {len(result.missing)} 家"
        + ("：" + "、".join(i.name for i in result.missing[:10]) if result.missing else "")
        + ("等" if len(result.missing) > 10 else "")
    )
    code = result.campaign.code if result.campaign is not None else ""
    for other in result.other_month_returns:
        hint = f"make CAMPAIGN={code} PERIOD={other}" if several else f"make PERIOD={other}"
        click.echo(f"收到 {other} 的报表（补报或提前报送）：请运行 {hint}")
    if result.unchanged:
        click.echo(f"没有新情况，{result.outbox} 中的结果仍是最新的，未重写")
    else:
        click.echo(f"结果已写入 {result.outbox}")
    for path in result.outputs:
        click.echo(f"  {path.name}")


def _progress(stage: str, done: int, total: int) -> None:
    """On a terminal: every step of a short stage (the outputs), every 50th of a long one."""
    if sys.stderr.isatty() and (total < 50 or done % 50 == 0 or done == total):
        click.echo(f"\r{stage} {done}/{total}", nl=done == total, err=True)


@cli.command()
@period_option
@click.option(
    "--out", type=click.Path(path_type=Path), help="Folder; default form_templates/<period>."
)
@click.pass_context
@handle_errors
def templates(ctx: click.Context, period: str | None, out: Path | None) -> None:
    """模板：为名册中每个单位生成本期报表模板。

    Write a pre-filled, protected form for every institution of the roster, for the
    period being collected now or PERIOD (up to the next one); for every campaign of
    the workspace unless --campaign names one.
    """
    from pipeline.distribute.templates import Prefills, write_templates
    from pipeline.ledger.store import Ledger

    def write(campaign: Campaign) -> None:
        p = select.to_prepare(campaign, period, dt.date.today())
        ledger = Ledger(campaign.ledger_path, campaign.code)
        try:
            prefills = Prefills(campaign, p, ledger)
            paths = write_templates(
                campaign, p, prefills, out, progress=lambda d, t: _progress("模板", d, t)
            )
        finally:
            ledger.close()
        where = paths[0].parent if paths else out
        click.echo(f"已生成 {len(paths)} 份 {p.label()} 报表模板：{where}")

    _each(ctx, period, write)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
@handle_errors
def baseline(ctx: click.Context, file: Path) -> None:
    """基线：导入各单位截至某月的累计数（年中开始使用本工具时）。

    Import institutions' cumulative figures through a month (mid-campaign adoption).

    FILE is CSV or xlsx with columns 机构代码, 截至月份 (YYYY-MM), 专题专项, and one
    column per count of 附件2 named by its full header (e.g. 排查整治隐患/一般隐患/排查).
    """
    from pipeline.ledger.baseline import import_baseline

    campaign = _campaign(ctx)
    count, institutions = import_baseline(campaign, file)
    click.echo(f"已导入 {institutions} 家机构的基线累计数（{count} 个数值），来源 {file.name}")


@cli.command()
@click.argument("item_id")
@click.option("--off", is_flag=True, help="Take the item off the list instead.")
@click.option("--reason", default="", help="Why (kept in the ledger with the decision).")
@click.pass_context
@handle_errors
def supervise(ctx: click.Context, item_id: str, off: bool, reason: str) -> None:
    """挂牌督办：把清单中的一条列入（或撤出）本局挂牌督办。

    List a register item (e.g. QW003-0007) for supervision by the bureau, or take it
    off (--off). The next templates show the decision, locked; the 挂牌督办 list
    follows it until the item is closed.
    """
    from pipeline.ledger.supervise import supervise as decide

    d = decide(
        select.supervising(_workspace(ctx), ctx.obj["code"]), item_id, on=not off, note=reason
    )
    click.echo(f"{d.form} {d.item_id}（{d.institution}）：挂牌督办 = {d.value}")


@cli.command()
@click.argument("file")
@click.option("--reason", required=True, help="Why (kept in the ledger with who and when).")
@click.pass_context
@handle_errors
def withdraw(ctx: click.Context, file: str, reason: str) -> None:
    """撤回：撤回误放入收件箱的文件（按文件名或 sha256），不再计入。

    Withdraw a file recorded by a run (by its name, or the first 8+ characters of its
    sha256): it counts no more, and its institution falls back to its previous accepted
    return of the period, or to missing. Run the period again to update the outputs.
    """
    from pipeline.ledger.withdraw import withdraw as take_back

    ws = _workspace(ctx)
    done = take_back(ws.ledger_path, file, reason)
    sub = done.submission
    inst = ws.roster().get(sub.institution or "") if sub.institution else None
    who = f"{inst.name}（{inst.code}）" if inst else (sub.institution or "未能识别单位")
    click.echo(f"已撤回 {sub.file_name}：{who} {sub.period or ''}，原因：{reason}")
    if sub.period:
        click.echo(
            f"请重新运行 make PERIOD={sub.period}（或 make CAMPAIGN={sub.campaign} PERIOD={sub.period}）更新结果"
        )


def _report_mailing(result: BatchResult) -> None:
    from pipeline.mail.summary import summary_lines

    for line in summary_lines(result):
        click.echo(line)
    if result.stopped:
        raise Failed(result.stopped)


@cli.command()
@period_option
@send_option
@click.pass_context
@handle_errors
def mail(ctx: click.Context, period: str | None, send: bool) -> None:
    """发送模板：把本期报表模板通过邮件发给每个单位。

    E-mail every institution of the roster its blank form for the period.

    Without --send, writes the messages as .eml files to check first. A message already
    delivered is never sent again; a failed one is retried on the next run.
    """
    from pipeline.mail.monthly import mail_forms

    def send_forms(campaign: Campaign) -> None:
        p = select.to_prepare(campaign, period, dt.date.today())
        _report_mailing(mail_forms(campaign, p, send=send))

    _each(ctx, period, send_forms)


@cli.command()
@period_option
@send_option
@click.option("--force", is_flag=True, help="Write reminders even before the due date.")
@click.pass_context
@handle_errors
def remind(ctx: click.Context, period: str | None, send: bool, force: bool) -> None:
    """催报：截止日后给未报送或被退回的单位发催报邮件。

    After the due date, remind (催报) every institution that has not reported or
    whose return was rejected, with a fresh template; run the period first."""
    from pipeline.mail.reminders import send_reminders

    _each(
        ctx,
        period,
        lambda c: _report_mailing(send_reminders(c, _period(period, c), send=send, force=force)),
    )


@cli.command()
@period_option
@send_option
@click.pass_context
@handle_errors
def receipts(ctx: click.Context, period: str | None, send: bool) -> None:
    """回执：给每个通过邮件报送的文件回复一封回执。

    Reply (回执) to the sender of every return of the period that came by mail.

    Accepted (its figures read back), rejected (what to correct, with a fresh template),
    superseding an earlier return, or duplicate: one reply per file, never two. Run the
    month first; without --send, writes the replies as .eml files to check.
    """
    from pipeline.mail.receipts import send_receipts

    _each(ctx, period, lambda c: _report_mailing(send_receipts(c, _period(period, c), send=send)))


@cli.command()
@click.pass_context
@handle_errors
def fetch(ctx: click.Context) -> None:
    """收取：从本局邮箱收取各单位发回的报表附件到收件箱。

    Fetch returns from the bureau's mailbox ([imap] of the campaign file) into the inbox.

    Each new message is fetched once and recorded in the ledger with its receipt time,
    sender and subject; its attachments that could be returns are saved into the inbox
    under names that never replace a file. The mailbox is left unchanged unless
    [imap] move_to names a folder to move processed messages to.
    """
    from pipeline.intake.fetch_summary import summary_lines
    from pipeline.intake.mailbox import fetch_returns

    # One mailbox for the workspace: its [imap] and inbox are every campaign's.
    ws = _workspace(ctx)
    campaign = ws.campaign(ctx.obj["code"]) if ctx.obj["code"] else ws.campaigns[0]
    result = fetch_returns(campaign, progress=lambda d, t: _progress("邮件", d, t))
    for line in summary_lines(result):
        click.echo(line)
    if result.stopped:
        raise Failed(result.stopped)


@cli.command()
@click.option(
    "--workspace",
    type=click.Path(path_type=Path),
    default=Path("demo_workspace"),
    show_default=True,
    help="Scratch folder (recreated).",
)
@handle_errors
def demo(workspace: Path) -> None:
    """演示：用示例数据在临时文件夹中演示完整流程。

    Run the whole cycle over several periods on the shipped example, in a scratch folder."""
    from pipeline.demo.scenario import run_demo

    run_demo(workspace, echo=click.echo)


GC_THRESHOLD = 50_000  # container objects allocated between two young collections (700)


def _tune_gc() -> None:
    """The cyclic collector set for a batch program that builds millions of acyclic
    records (cells, findings, the totals' sources), which reference counting frees.

    With CPython's default (a young collection every 700 allocations, and the old ones
    re-scanned every few of those), a cold run over 2,000 returns spent over 2 s of its
    parent's 19 in some 1,900 collections; after ``gc.freeze()`` (what the imports made
    is never scanned again) and a young collection every 50,000 allocations, 0.4 s in 63
    (23 CPU s for the whole run instead of 29, the same peak memory). Worker and
    forked processes inherit it."""
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)


def main() -> None:
    _tune_gc()
    cli(prog_name="python -m pipeline")
