"""The console summary of a fetch, in the clerk's words: every message listed that needs
a look (no attachment, refused), every file saved named with its sender."""

from __future__ import annotations

from pipeline.intake.mailbox import FetchResult, Seen
from pipeline.ledger.store import MailFile

SHOWN = 50  # files listed one per line before "等"
KIND_ZH = {"zip": "压缩包", "rar": "RAR压缩包", "7z": "7z压缩包"}


def _who(seen: Seen) -> str:
    m = seen.message
    sender = f"{m.sender_name} <{m.sender}>" if m.sender_name else (m.sender or "（无发件人）")
    when = m.internaldate.replace("T", " ")[:16]
    return f"{when} {sender}《{m.subject or '（无主题）'}》"


def _file(f: MailFile) -> str:
    text = f.saved_name
    if f.original_name and f.original_name != f.saved_name:
        text += f"（原名 {f.original_name}）"
    if f.kind:
        text += f"［{KIND_ZH.get(f.kind, f.kind)}，汇总时检查其中的文件］"
    return text


def summary_lines(result: FetchResult) -> list[str]:
    lines = [
        f"收件邮箱 {result.account} 文件夹“{result.folder}”：新邮件 {len(result.seen)} 封，"
        f"保存附件 {len(result.files)} 个，无附件 {result.count('no_attachment')} 封，"
        f"拒收 {result.count('refused')} 封"
        + (f"，此前已收取 {result.count('duplicate')} 封" if result.count("duplicate") else "")
    ]
    saved = [(s, f) for s in result.seen for f in s.files]
    if saved:
        lines.append(f"已保存到 {result.inbox}：")
        lines += [f"  {_file(f)} ← {_who(s)}" for s, f in saved[:SHOWN]]
        if len(saved) > SHOWN:
            lines.append(f"  等 {len(saved)} 个")
    for s in result.seen:
        if s.message.outcome == "no_attachment":
            lines.append(f"无附件：{_who(s)}")
        elif s.message.outcome == "refused":
            lines.append(f"拒收：{_who(s)}：{s.message.note}")
        elif s.message.outcome == "saved" and s.message.note:
            lines.append(f"部分未保存：{_who(s)}：{s.message.note}")
    if result.move_to:
        made = "（新建的文件夹）" if result.created_folder else ""
        lines.append(f"已移到文件夹“{result.move_to}”{made}：{result.moved} 封")
    return lines
