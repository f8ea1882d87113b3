"""Taking back a file that reached the inbox by mistake (撤回).

Deleting the file changes nothing: the ledger remembers every file it judged. The clerk
withdraws it by its name or its sha256, with a reason; the ledger keeps the withdrawal
(when, who, why) and stops counting the file: the institution falls back to its latest
other accepted return of the period, or to missing. The next run's outputs and
validation log show the file as withdrawn.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError
from pipeline.ledger.lock import run_lock
from pipeline.ledger.store import Ledger, Submission


@dataclass(frozen=True)
class Withdrawn:
    submission: Submission
    was: str  # its status before (accepted, superseded, rejected)


def withdraw(ledger_path: Path, which: str, reason: str, who: str = "") -> Withdrawn:
    if not reason.strip():
        raise InputError("请用 --reason 写明撤回原因 / a reason is required")
    with run_lock(ledger_path, wait=60.0):
        ledger = Ledger(ledger_path)
        try:
            found = [s for s in ledger.find_submissions(which) if not s.withdrawn]
            if not found:
                raise InputError(
                    f"台账中没有名为（或 sha256 开头为）“{which}”、尚未撤回的文件"
                    " / no such file recorded"
                )
            if len(found) > 1:
                listed = "；".join(f"{s.file_name}（sha256 {s.sha256[:12]}）" for s in found)
                raise InputError(
                    f"“{which}”对应多个文件，请用 sha256 指定其中一个：{listed} / several files match"
                )
            sub = found[0]
            done = ledger.withdraw(sub.id, who or getpass.getuser(), reason.strip())
        finally:
            ledger.close()
    return Withdrawn(done, sub.status)
