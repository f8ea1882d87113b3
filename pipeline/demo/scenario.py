"""``make demo``: the whole cycle over three months on the shipped example workspace, in a
scratch folder: two campaigns through one inbox (seed 002, monthly, with its registers;
seed 000, monthly, with its stage deadlines by tier), and a stray file of a third.

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

from pipeline.campaigns.workspace import Workspace, load_workspace
from pipeline.config.calendar import Period
from pipeline.demo import seed000, seed002
from pipeline.demo.stamps import stamp
from pipeline.distribute.metadata import META_SHEET
from pipeline.errors import ConfigError
from pipeline.run import run_workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MARKER = ".demo_workspace"
SEED = 20260701
EXAMPLE_FILES = ("workspace.toml", "campaign.toml", "standardization.toml", "roster.csv")


def _prepare(workspace: Path) -> Workspace:
    if workspace.exists():
        if Path.cwd().resolve().is_relative_to(workspace):
            raise ConfigError(f"run the demo from outside {workspace}: it is deleted and rebuilt")
        if not (workspace / MARKER).exists() and any(workspace.iterdir()):
            raise ConfigError(
                f"{workspace} exists and is not a demo workspace; choose another folder"
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
            row[1].value = "ccwm-2026"
        elif row[0].value == "campaign_name":
            row[1].value = "创建全国文明城市"
    out = ws.inbox / "创城工作周报_示例区人民医院.xlsx"
    wb.save(out)
    stamp(out, dt.datetime.combine(period.last_day(), dt.time(16, 0)))


def run_demo(workspace: Path, echo: Callable[[str], object] = print) -> Workspace:
    ws = _prepare(workspace.resolve())
    srzz, bzh = ws.campaign("srzz-2021"), ws.campaign("aqbzh-2022")
    rng = random.Random(SEED)
    echo(f"演示工作区：{workspace}（工作区文件 {ws.path}）")
    for index in range(3):
        period = srzz.start.shift(index)
        seed002.month(srzz, rng, index, period)
        seed000.month(bzh, index, period)
        if index == 1:
            _stray(ws, period)
        echo("")
        echo(f"== {period.label()}：已生成两项工作的模板，模拟各单位报送 ==")
        done = run_workspace(ws, {srzz.code: [period], bzh.code: [period]})
        for result in done.results:
            assert result.campaign is not None
            echo(
                f"{result.campaign.name}：接收 {result.count('accepted')}，"
                f"退回 {result.count('rejected')}，被替代 {result.count('superseded')}；"
                f"异常清单 {result.anomalies} 条；未报送或待重报："
                + ("、".join(i.name for i in result.missing) or "无")
            )
        if index == 1:
            seed002.supervise_one(srzz, period, "QW005", echo)
    echo("")
    echo(f"请查看 {ws.outbox}/总览.xlsx，以及 {ws.outbox}/<工作代码>/<月份>/ 下的各项结果；")
    echo(f"各单位的空白模板在 {ws.templates_dir}/<工作代码>/<月份>/。")
    echo(f"在 {workspace} 中可继续使用：python -m pipeline --workspace examples/workspace.toml run")
    return ws
