"""The console summary of a mailing, in the clerk's words: nobody is left out silently."""

from __future__ import annotations

from pathlib import Path

from pipeline.config.roster import Institution
from pipeline.mail.batch import KIND_ZH, BatchResult

SHOWN = 10  # names listed per line before "等"


def _names(insts: list[Institution]) -> str:
    shown = "、".join(f"{i.name}（{i.code}）" for i in insts[:SHOWN])
    return shown + ("等" if len(insts) > SHOWN else "")


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def summary_lines(result: BatchResult) -> list[str]:
    what = f"{result.period.label()}{KIND_ZH[result.kind]}邮件"
    lines = []
    if result.send:
        lines.append(f"{what}：已写出 {len(result.written)} 封（{_rel(result.folder)}）")
        lines.append(f"已发送 {len(result.delivered)} 封")
        for inst, note in result.delivered:
            if note:
                lines.append(f"  {inst.name}（{inst.code}）：{note}")
        if result.failed:
            lines.append(f"发送失败 {len(result.failed)} 封，再次运行时重发：")
            lines += [f"  {inst.name}（{inst.code}）：{error}" for inst, error in result.failed]
    else:
        lines.append(
            f"{what}（试运行，未发送）：已写出 {len(result.written)} 封到 {_rel(result.folder)}；"
            "核对无误后加 --send 发送"
        )
    lines += [f"  {line}" for line in result.listed]
    if result.not_attempted:
        lines.append(f"未发送 {len(result.not_attempted)} 封：{_names(result.not_attempted)}")
    if result.already:
        when = "、".join(
            f"{inst.name}（{send.attempted:%m-%d %H:%M}）" for inst, send in result.already[:SHOWN]
        )
        more = "等" if len(result.already) > SHOWN else ""
        unit = "封" if result.kind == "receipt" else "家"
        lines.append(f"此前已发送，本次不再发送 {len(result.already)} {unit}：{when}{more}")
    if result.kind == "reminder":
        lines.append(f"已报送、无需催报 {len(result.reported)} 家")
    if result.no_email:
        lines.append(f"名册中没有电子邮箱、未发邮件 {len(result.no_email)} 家，请电话联系：")
        lines += [
            f"  {i.name}（{i.code}）联系人 {i.contact or '—'} 电话 {i.phone or '—'}"
            for i in result.no_email
        ]
    if result.refused:
        lines.append(f"名册有误、未生成邮件 {len(result.refused)} 家：")
        lines += [f"  {r}" for r in result.refused]
    for inst, why in result.skipped:
        lines.append(f"{inst.name}（{inst.code}）：{why}")
    if result.waiting:
        shown = "、".join(result.waiting[:SHOWN]) + ("等" if len(result.waiting) > SHOWN else "")
        lines.append(
            f"邮件收到、尚未汇总（或暂未入账）的文件 {len(result.waiting)} 个，汇总后再发回执：{shown}"
        )
    if result.status_report is not None:
        lines.append(f"报送情况已更新：{_rel(result.status_report)}")
    return lines  # result.stopped is the caller's to report (the CLI: exit status 1)
