"""``make demo``: the whole cycle over three months on the shipped example workspace, in a
scratch folder: four campaigns through one inbox (seed 002, monthly, with its registers;
seed 000, monthly, with its stage deadlines by tier; seeds 001/004, weekly, with the
bureau's supervision; seed 003, every two months, the year's projects against their
plan), and a stray file of a campaign the workspace does not run.

The example's files are copied into the workspace (``<workspace>/examples/``) so the
README's commands work there too. Each month: each campaign's templates are written
from the ledger, institutions fill them as people do (:mod:`pipeline.demo.seed002`,
:mod:`pipeline.demo.seed000`), the files land in the one inbox with their receipt
times, and one run routes every file to its campaign and writes both campaigns'
outputs and the overview. Nothing outside the workspace is touched.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook

from pipeline.campaigns.campaign import Campaign
from pipeline.campaigns.workspace import Workspace, load_workspace
from pipeline.config.calendar import Period
from pipeline.demo import mailloop, seed000, seed001, seed002, seed003
from pipeline.demo.stamps import stamp
from pipeline.distribute.metadata import META_SHEET
from pipeline.errors import ConfigError
from pipeline.run import WorkspaceRun, run_workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MARKER = ".demo_workspace"
SEED = 20260701
EXAMPLE_FILES = (
    "workspace.toml",
    "campaign.toml",
    "standardization.toml",
    "civilized_city.toml",
    "work_points.toml",
    "roster.csv",
)


def _prepare(workspace: Path) -> Workspace:
    if workspace.exists():
        if Path.cwd().resolve().is_relative_to(workspace):
            raise ConfigError(
                f"演示会删除并重建 {workspace}，请在该文件夹之外运行（先 cd 到别的文件夹）"
            )
        if not (workspace / MARKER).exists() and any(workspace.iterdir()):
            raise ConfigError(
                f"{workspace} 已存在且不是演示用的文件夹，为免误删未作改动；"
                "请用 --workspace 另选一个文件夹"
            )
        shutil.rmtree(workspace)
    workspace.mkdir(parents=True)
    (workspace / MARKER).write_text("created by `python -m pipeline demo`; safe to delete\n")
    config = workspace / "examples"
    config.mkdir()
    for name in EXAMPLE_FILES:  # their relative paths land in the workspace
        shutil.copy(EXAMPLES / name, config / name)
    for folder in ("inbox", "outbox", "form_templates"):
        (workspace / folder).mkdir()
    return load_workspace(config / "workspace.toml")


def _stray(ws: Workspace, period: Period) -> None:
    """A return of a campaign this workspace does not run, saved into the inbox."""
    srzz = ws.campaign("srzz-2021")
    template = next((srzz.templates_dir / str(period)).glob("*.xlsx"))
    wb = load_workbook(template)
    meta = wb[META_SHEET]
    for row in meta.iter_rows(min_col=1, max_col=2):
        if row[0].value == "campaign":
            row[1].value = "gwcs-2026"
        elif row[0].value == "campaign_name":
            row[1].value = "国家卫生城市复审"
    out = ws.inbox / "创卫工作月报_示例区人民医院.xlsx"
    wb.save(out)
    stamp(out, dt.datetime.combine(period.last_day(), dt.time(16, 0)))


def run_demo(workspace: Path, echo: Callable[[str], object] = print) -> Workspace:
    ws = _prepare(workspace.resolve())
    srzz, bzh = ws.campaign("srzz-2021"), ws.campaign("aqbzh-2022")
    ccwm, gdyd = ws.campaign("ccwm-2026"), ws.campaign("gdyd-2026")
    rng = random.Random(SEED)
    echo(f"演示工作区：{workspace}（工作区文件 {ws.path}）")
    for index in range(3):
        period = srzz.start.shift(index)
        echo("")
        echo(f"== {period.label()}：各项工作生成模板，模拟各单位报送，汇总 ==")
        if index > 0:  # 创建文明城市 reports weekly from August: the month's weeks
            weeks = [w for w in _weeks(ccwm, period) if w >= ccwm.start]
            for week in weeks:
                seed001.week(ccwm, week.steps_since(ccwm.start), week)
                _echo(echo, run_workspace(ws, {ccwm.code: [week]}))
        seed002.month(srzz, rng, index, period)
        seed000.month(bzh, index, period)
        targets = {srzz.code: [period], bzh.code: [period]}
        two_months = gdyd.start.shift(index) if index < 2 else None
        if two_months is not None:  # 年度重点项目: May–June, then July–August
            seed003.period_returns(gdyd, index, two_months)
            targets[gdyd.code] = [two_months]
        if index == 1:
            _stray(ws, period)
        _echo(echo, run_workspace(ws, targets))
        if index == 1:
            seed002.supervise_one(srzz, period, "QW005", echo)
    mailloop.run_loop(ws, echo)
    echo("")
    echo(f"请查看 {ws.outbox}/总览.xlsx，以及 {ws.outbox}/<工作代码>/<报告期>/ 下的各项结果；")
    echo(f"领导阅读的情况通报（.docx）和报告页面（.html）：{ws.outbox}/<工作代码>/报告索引.html。")
    echo(f"各单位的空白模板在 {ws.templates_dir}/<工作代码>/<报告期>/。")
    echo(f"在 {workspace} 中可继续使用：python -m pipeline --workspace examples/workspace.toml run")
    return ws


def _weeks(campaign: Campaign, month: Period) -> list[Period]:
    """The weeks whose Friday (their due date) falls in ``month``."""
    first = Period.containing(month.first_day(), campaign.kind)
    out = []
    week = first
    while week.first_day() <= month.last_day():
        if month.first_day() <= campaign.due.nominal(week) <= month.last_day():
            out.append(week)
        week = week.shift(1)
    return out


def _echo(echo: Callable[[str], object], done: WorkspaceRun) -> None:
    for result in done.results:
        assert result.campaign is not None
        echo(
            f"{result.campaign.name} {result.period.label()}：接收 {result.count('accepted')}，"
            f"退回 {result.count('rejected')}，被替代 {result.count('superseded')}；"
            f"异常清单 {result.anomalies} 条；未报送或待重报："
            + ("、".join(i.name for i in result.missing) or "无")
        )
