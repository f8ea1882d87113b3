"""The demo's mail loop on its own local servers (aiosmtpd and pymap, test dependencies):
forms out by SMTP, returns back into the bureau's IMAP mailbox, fetched, run, receipts."""

from __future__ import annotations

from pathlib import Path

from e2e_support import example_workspace

from pipeline.campaigns.workspace import load_workspace
from pipeline.demo.mailloop import run_loop


def test_the_loop_runs_on_local_servers(tmp_path: Path) -> None:
    ws = load_workspace(example_workspace(tmp_path))
    said: list[str] = []
    run_loop(ws, said.append)
    text = "\n".join(said)
    assert "未能" not in text and "跳过" not in text, text
    # 13 institutions: the bureau is not mailed, 示例区安泰护理院 has no address.
    assert "本局发出报表邮件 11 封（SMTP 127.0.0.1，本机演示服务器收到 11 封）" in text
    assert "新邮件 6 封，保存附件 6 个" in text
    assert "接收 5，退回 1" in text  # the formula typed over
    assert "回执：已发送 6 封" in text
    saved = sorted(p.name for p in ws.inbox.iterdir())
    assert len(saved) == 6 and all(name.startswith("2026-10_srzz-2021_") for name in saved)
