"""The ledger's record of e-mail sent: one row per attempt, committed before and after."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.ledger.store import SCHEMA_VERSION, Ledger


def _attempt(ledger: Ledger, institution: str, at: str, kind: str = "monthly") -> int:
    return ledger.begin_send(
        institution=institution,
        period="2026-08",
        kind=kind,
        message_id=f"<{institution}.{at}@example.cn>",
        recipients=f"{institution.lower()}@example.cn",
        subject="主题",
        attachment="2026-08_甲_QW001.xlsx",
        attachment_sha256="0" * 64,
        attempted_at=at,
    )


def test_attempts_are_pending_until_their_outcome_is_recorded(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        first = _attempt(ledger, "QW001", "2026-08-25T09:00:00")
        _attempt(ledger, "QW002", "2026-08-25T09:01:00")
        third = _attempt(ledger, "QW001", "2026-09-03T10:00:00", kind="reminder")
        ledger.end_send(first, delivered=True)
        ledger.end_send(third, delivered=False, error="收件人被拒绝：550")
        assert [(s.institution, s.result) for s in ledger.sends("2026-08", "monthly")] == [
            ("QW001", "delivered"),
            ("QW002", "pending"),  # killed mid-transaction: its fate unknown
        ]
        (reminder,) = ledger.sends("2026-08", "reminder")
        assert (reminder.id, reminder.result, reminder.error) == (
            third,
            "failed",
            "收件人被拒绝：550",
        )
        assert reminder.attempted.isoformat() == "2026-09-03T10:00:00"
        assert len(ledger.sends("2026-08")) == 3 and ledger.sends("2026-09") == []
    finally:
        ledger.close()


def test_an_older_ledger_gains_the_sends_table_and_keeps_its_version(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE sends")  # as written before e-mail existed
    db.commit()
    db.close()
    ledger = Ledger(path)
    try:
        assert ledger.sends("2026-08") == []
        version = ledger.db.execute("SELECT value FROM meta WHERE key = 'schema_version'")
        assert int(version.fetchone()[0]) == SCHEMA_VERSION == 1
    finally:
        ledger.close()


def test_result_and_kind_are_constrained(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            _attempt(ledger, "QW001", "2026-08-25T09:00:00", kind="newsletter")
    finally:
        ledger.close()


OLD_SENDS = """CREATE TABLE sends (
    id INTEGER PRIMARY KEY, institution TEXT NOT NULL, period TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('monthly', 'reminder')),
    message_id TEXT NOT NULL, recipients TEXT NOT NULL, subject TEXT NOT NULL,
    attachment TEXT NOT NULL, attachment_sha256 TEXT NOT NULL, attempted_at TEXT NOT NULL,
    result TEXT NOT NULL CHECK (result IN ('pending', 'delivered', 'failed')),
    error TEXT NOT NULL DEFAULT '')"""


def test_a_ledger_from_before_receipts_takes_them_and_keeps_its_sends(tmp_path: Path) -> None:
    """SQLite cannot widen a CHECK: the sends table is rebuilt once, every row kept."""
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE sends")
    db.execute(OLD_SENDS)
    db.execute("CREATE INDEX sends_by_message ON sends (period, institution, kind)")
    db.execute(
        "INSERT INTO sends VALUES (7, 'QW001', '2026-08', 'reminder', '<r@x>', 'a@x.cn',"
        " '催报', '', '', '2026-09-03T10:00:00', 'delivered', '')"
    )
    db.commit()
    db.close()
    ledger = Ledger(path)
    try:
        (old,) = ledger.sends("2026-08")
        assert (old.id, old.kind, old.result, old.regarding) == (7, "reminder", "delivered", "")
        receipt = ledger.begin_send(
            institution="QW001",
            period="2026-08",
            kind="receipt",
            message_id="<k@x>",
            recipients="a@x.cn",
            subject="回执",
            attachment="",
            attachment_sha256="",
            attempted_at="2026-09-04T10:00:00",
            regarding="12/一院.xlsx",
        )
        (sent,) = ledger.sends("2026-08", "receipt")
        assert (sent.id, sent.regarding) == (receipt, "12/一院.xlsx")
        indexes = ledger.db.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'sends'")
        assert {name for (name,) in indexes} == {"sends", "sends_by_message"}
    finally:
        ledger.close()
    Ledger(path).close()  # opened again: nothing left to upgrade
