"""The ledger: an SQLite database that is the store of record.

Every distinct file (by sha256) the pipeline has judged is a *submission* with its status:
accepted, rejected or superseded. Accepted submissions carry their figures and texts;
every submission carries its findings. Every e-mail sent (or tried) is a row of *sends*;
every message fetched from the bureau's mailbox one of *mail_messages*, every
attachment saved from it into the inbox one of *mail_files* (its receipt time and sender),
and every member of a zip of returns so saved one of *mail_members*.
Cumulative totals are always computed from here
(plus imported baselines), so they survive a cleaned inbox; a resubmission supersedes the
earlier one, which stays on record; a file seen again changes nothing.

A register's items (a hazard, a measure) live across periods: each is a row of *items*
with the ID the pipeline gave it (``QW003-0007``) when the return that first brought it
was accepted; its state in each period is the fields of that period's current return,
in *text_values* under its ID. The bureau's own decisions on items (挂牌督办) are rows of
*decisions*.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.errors import LedgerError
from pipeline.faults import checkpoint
from pipeline.findings import Finding
from pipeline.forms.records import GridCell, NewItem, TextCell

SCHEMA_VERSION = 1  # tables added since (sends, items, decisions) are created on open
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, period TEXT NOT NULL, started_at TEXT NOT NULL,
    finished_at TEXT, summary TEXT, campaign TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS run_files (
    run_id INTEGER NOT NULL REFERENCES runs(id), file_name TEXT NOT NULL, sha256 TEXT,
    outcome TEXT NOT NULL, PRIMARY KEY (run_id, file_name));
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, file_name TEXT NOT NULL,
    size INTEGER NOT NULL, received_at TEXT NOT NULL, first_seen_run INTEGER,
    institution TEXT, period TEXT,
    status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected', 'superseded')),
    superseded_by INTEGER REFERENCES submissions(id), campaign TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS submissions_by_return ON submissions (period, institution, status);
CREATE TABLE IF NOT EXISTS grid_values (
    submission_id INTEGER NOT NULL REFERENCES submissions(id), form TEXT NOT NULL,
    row_key TEXT NOT NULL, measure TEXT NOT NULL, value REAL, cell TEXT NOT NULL, raw TEXT,
    PRIMARY KEY (submission_id, form, row_key, measure));
CREATE TABLE IF NOT EXISTS text_values (
    submission_id INTEGER NOT NULL REFERENCES submissions(id), form TEXT NOT NULL,
    row_key TEXT NOT NULL, field TEXT NOT NULL, text TEXT NOT NULL, cell TEXT NOT NULL,
    PRIMARY KEY (submission_id, form, row_key, field));
CREATE TABLE IF NOT EXISTS findings (
    id INTEGER PRIMARY KEY, submission_id INTEGER NOT NULL REFERENCES submissions(id),
    rule TEXT NOT NULL, severity TEXT NOT NULL, form TEXT, sheet TEXT, cell TEXT,
    value TEXT, expected TEXT, message TEXT NOT NULL, advice TEXT);
CREATE TABLE IF NOT EXISTS output_sets (
    campaign TEXT NOT NULL DEFAULT '', period TEXT NOT NULL, inputs TEXT NOT NULL,
    files TEXT NOT NULL, anomalies INTEGER NOT NULL, PRIMARY KEY (campaign, period));
CREATE TABLE IF NOT EXISTS baselines (
    institution TEXT NOT NULL, through TEXT NOT NULL, form TEXT NOT NULL,
    row_key TEXT NOT NULL, measure TEXT NOT NULL, value REAL NOT NULL,
    source TEXT NOT NULL, cell TEXT NOT NULL, imported_at TEXT NOT NULL,
    PRIMARY KEY (institution, form, row_key, measure));
CREATE TABLE IF NOT EXISTS sends (
    id INTEGER PRIMARY KEY, institution TEXT NOT NULL, period TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('monthly', 'reminder', 'receipt')),
    message_id TEXT NOT NULL, recipients TEXT NOT NULL, subject TEXT NOT NULL,
    attachment TEXT NOT NULL, attachment_sha256 TEXT NOT NULL, attempted_at TEXT NOT NULL,
    result TEXT NOT NULL CHECK (result IN ('pending', 'delivered', 'failed')),
    error TEXT NOT NULL DEFAULT '', regarding TEXT NOT NULL DEFAULT '',
    campaign TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS sends_by_message ON sends (period, institution, kind);
CREATE TABLE IF NOT EXISTS items (
    institution TEXT NOT NULL, form TEXT NOT NULL, item_id TEXT NOT NULL,
    seq INTEGER, submission_id INTEGER NOT NULL REFERENCES submissions(id),
    identity TEXT NOT NULL DEFAULT '', PRIMARY KEY (institution, form, item_id));
CREATE TABLE IF NOT EXISTS withdrawals (
    submission_id INTEGER PRIMARY KEY REFERENCES submissions(id), withdrawn_at TEXT NOT NULL,
    who TEXT NOT NULL, reason TEXT NOT NULL, status_before TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    institution TEXT NOT NULL, form TEXT NOT NULL, item_id TEXT NOT NULL,
    field TEXT NOT NULL, value TEXT NOT NULL, decided_at TEXT NOT NULL, note TEXT NOT NULL,
    PRIMARY KEY (institution, form, item_id, field));
CREATE TABLE IF NOT EXISTS mail_messages (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL, folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL, message_id TEXT NOT NULL,
    raw_sha256 TEXT NOT NULL, internaldate TEXT NOT NULL, sender TEXT NOT NULL,
    sender_name TEXT NOT NULL, subject TEXT NOT NULL, size INTEGER NOT NULL,
    fetched_at TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('saved', 'no_attachment', 'refused', 'duplicate')),
    note TEXT NOT NULL DEFAULT '', UNIQUE (account, folder, uidvalidity, uid));
CREATE INDEX IF NOT EXISTS mail_messages_by_id ON mail_messages (message_id);
CREATE INDEX IF NOT EXISTS mail_messages_by_sha ON mail_messages (raw_sha256);
CREATE TABLE IF NOT EXISTS mail_files (
    id INTEGER PRIMARY KEY, message INTEGER NOT NULL REFERENCES mail_messages(id),
    saved_name TEXT NOT NULL, original_name TEXT NOT NULL, sha256 TEXT NOT NULL,
    size INTEGER NOT NULL, kind TEXT NOT NULL, received_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS mail_files_by_sha ON mail_files (sha256);
CREATE TABLE IF NOT EXISTS mail_members (
    mail_file INTEGER NOT NULL REFERENCES mail_files(id), member TEXT NOT NULL,
    sha256 TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (mail_file, member));
CREATE INDEX IF NOT EXISTS mail_members_by_sha ON mail_members (sha256);
"""
# Ledgers written before receipts have a sends table whose kinds stop at 'reminder' and
# no ``regarding``; SQLite cannot alter a CHECK, so the table is rebuilt once, rows kept.
_SENDS_COPY = (
    "id, institution, period, kind, message_id, recipients, subject, attachment,"
    " attachment_sha256, attempted_at, result, error"
)


@dataclass(frozen=True)
class Submission:
    id: int
    sha256: str
    file_name: str
    size: int
    received_at: str
    institution: str | None
    period: str | None
    status: str
    superseded_by: int | None
    campaign: str = ""
    withdrawn: str = ""  # the clerk's withdrawal (撤回): "when, who: why"; "" when not

    @property
    def received(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.received_at)


def damaged(path: Path, exc: BaseException) -> LedgerError:
    return LedgerError(
        f"台账 {path} 已损坏或不是本程序的台账（{exc}），未作任何修改；请从备份恢复，"
        f"或把它移走后重新导入往月数据。 / ledger damaged or not a ledger; left untouched"
    )


@dataclass(frozen=True)
class Send:
    """One attempt to deliver a form or a reminder by e-mail.

    ``result`` is "pending" from just before the SMTP transaction until its outcome is
    recorded; a row still pending was interrupted (a crash), so its fate is unknown.
    ``regarding`` says which returned file a receipt answers (:attr:`MailOrigin.key`).
    """

    id: int
    institution: str
    period: str
    kind: str  # "monthly", "reminder" or "receipt"
    message_id: str
    recipients: str
    subject: str
    attachment: str
    attachment_sha256: str
    attempted_at: str
    result: str  # "pending", "delivered" or "failed"
    error: str
    regarding: str = ""

    @property
    def attempted(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.attempted_at)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class MailMessage:
    """One message of the bureau's mailbox as ``fetch`` saw it.

    ``internaldate`` is the server's receipt time (IMAP INTERNALDATE) as ISO local time:
    the receipt time of every file saved from the message. ``outcome`` is "saved" (at
    least one attachment saved), "no_attachment", "refused" (attachments or the message
    itself over the limits, or unreadable; ``note`` says why) or "duplicate" (the same
    message, by Message-ID, was fetched before under another UID).
    """

    account: str  # user@host
    folder: str
    uidvalidity: int
    uid: int
    message_id: str  # the Message-ID header, "" when it has none
    raw_sha256: str  # of the whole message as fetched ("" when not fetched)
    internaldate: str
    sender: str  # the From address
    sender_name: str
    subject: str
    size: int
    outcome: str
    note: str = ""


@dataclass(frozen=True)
class MailFile:
    """An attachment ``fetch`` saved into the inbox (``saved_name``, as named there)."""

    saved_name: str
    original_name: str
    sha256: str
    size: int
    kind: str = ""  # "zip" for an archive (its members are judged by the intake)


@dataclass(frozen=True)
class MailOrigin:
    """Where an inbox file came from by e-mail: its receipt time and its sender.

    A member of a zip of returns that came by mail has the zip's origin, with ``member``
    its name in the zip and ``sha256`` its own bytes'.
    """

    saved_name: str  # the inbox file (a member's zip)
    original_name: str
    sha256: str
    received_at: str  # the message's INTERNALDATE, ISO local time
    sender: str
    sender_name: str
    subject: str
    message_id: str
    file_id: int = 0  # the row of mail_files
    member: str = ""

    @property
    def received(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.received_at)

    @property
    def name(self) -> str:
        """The file as the intake names it: ``报表.xlsx``, or ``各院.zip/一院.xlsx``."""
        return f"{self.saved_name}/{self.member}" if self.member else self.saved_name

    @property
    def key(self) -> str:
        """This file of this message, once: what a receipt is recorded against."""
        return f"{self.file_id}/{self.member}" if self.member else str(self.file_id)


def now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


class Ledger:
    """The store of record, seen by one campaign (``campaign``, its code) of a workspace:
    submissions, runs, outputs and e-mail are that campaign's; a file's sha256 is known
    across the workspace (a file is judged once, whatever campaign it belongs to)."""

    def __init__(self, path: Path, campaign: str = "") -> None:
        self.path = path
        self.campaign = campaign
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists() and path.stat().st_size > 0
        try:
            self.db = sqlite3.connect(path, timeout=60, isolation_level=None)
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL stays atomic and consistent through any crash of the
            # process; only a power cut may lose the last returns recorded (judged again).
            self.db.execute("PRAGMA synchronous = NORMAL")
            if existed:
                self._check_version()
            self.db.executescript(SCHEMA)  # idempotent: CREATE ... IF NOT EXISTS
            self.db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
            self._upgrade_sends()
            self._upgrade_campaigns()
        except sqlite3.DatabaseError as exc:
            raise damaged(path, exc) from exc

    def scoped(self, campaign: str) -> Ledger:
        """The same ledger (one connection) seen by another campaign of the workspace."""
        other = object.__new__(Ledger)
        other.__dict__.update(self.__dict__)
        other.campaign = campaign
        return other

    def _upgrade_campaigns(self) -> None:
        """A ledger from before workspaces served one campaign: its rows carry no campaign
        code, and belong to the first campaign that opens it (when no other has rows)."""
        changed = False
        with self.transaction(changes_records=False) as db:
            for table in ("submissions", "runs", "sends"):
                cols = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
                if "campaign" not in cols:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN campaign TEXT NOT NULL DEFAULT ''")
                    changed = True
            cols = {r[1] for r in db.execute("PRAGMA table_info(output_sets)")}
            if "campaign" not in cols:  # a cache of what the outputs were made from
                db.execute("DROP TABLE output_sets")
                changed = True
        if changed:
            self.db.executescript(SCHEMA)
        if not self.campaign:
            return
        others = self.db.execute(
            "SELECT 1 FROM submissions WHERE campaign NOT IN ('', ?) LIMIT 1", (self.campaign,)
        ).fetchone()
        unowned = self.db.execute(
            "SELECT 1 FROM submissions WHERE campaign = '' LIMIT 1"
        ).fetchone()
        if unowned and not others:
            with self.transaction(changes_records=False) as db:
                for table in ("submissions", "runs", "sends"):
                    db.execute(
                        f"UPDATE {table} SET campaign = ? WHERE campaign = ''", (self.campaign,)
                    )

    def _upgrade_sends(self) -> None:
        (sql,) = self.db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'sends'"
        ).fetchone()
        if "'receipt'" in sql:
            return
        start = SCHEMA.index("CREATE TABLE IF NOT EXISTS sends")
        create = SCHEMA[start : SCHEMA.index(";", start) + 1]
        index = "CREATE INDEX sends_by_message ON sends (period, institution, kind)"
        with self.transaction(changes_records=False) as db:
            db.execute("ALTER TABLE sends RENAME TO sends_before_receipts")
            db.execute(create)
            db.execute(
                f"INSERT INTO sends ({_SENDS_COPY}) SELECT {_SENDS_COPY} FROM sends_before_receipts"
            )
            db.execute("DROP TABLE sends_before_receipts")
            db.execute(index)

    def _check_version(self) -> None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, exc) from exc
        if row and (not str(row[0]).isdigit() or int(row[0]) > SCHEMA_VERSION):
            raise LedgerError(
                f"台账 {self.path} 由更新版本的程序写入（格式版本 {row[0]}，本程序为"
                f" {SCHEMA_VERSION}），未作任何修改；请先升级本程序。"
                f" / ledger written by a newer version (schema {row[0]}); left untouched"
            )

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self, changes_records: bool = True) -> Iterator[sqlite3.Connection]:
        """One atomic write. A write that changes the records outputs are made from
        (not the run journal) advances :meth:`generation`."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            if changes_records:
                self.db.execute(
                    "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'"
                )
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def generation(self) -> int:
        """A counter of changes to the records: equal counters, equal records."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    # -- runs ------------------------------------------------------------------------
    def start_run(self, period: str) -> int:
        with self.transaction(changes_records=False) as db:
            cur = db.execute(
                "INSERT INTO runs (period, started_at, campaign) VALUES (?, ?, ?)",
                (period, now(), self.campaign),
            )
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, summary: str, files: Iterable[tuple[str, str, str]]) -> None:
        with self.transaction(changes_records=False) as db:
            db.executemany(
                "INSERT OR REPLACE INTO run_files VALUES (?, ?, ?, ?)",
                ((run_id, name, sha, outcome) for name, sha, outcome in files),
            )
            db.execute(
                "UPDATE runs SET finished_at = ?, summary = ? WHERE id = ?",
                (now(), summary, run_id),
            )

    def finished_runs(self) -> list[tuple[str, str, str]]:
        """(campaign, period, summary JSON) of the latest finished run of each campaign
        and period, every campaign's (the overview across a workspace)."""
        return self.db.execute(
            "SELECT campaign, period, summary FROM runs WHERE id IN (SELECT MAX(id) FROM runs"
            " WHERE finished_at IS NOT NULL GROUP BY campaign, period) ORDER BY id"
        ).fetchall()

    # -- outputs written ---------------------------------------------------------------
    def output_set(self, period: str) -> tuple[str, str, int] | None:
        """(inputs digest, files JSON, anomaly rows) of the period's last outputs."""
        row = self.db.execute(
            "SELECT inputs, files, anomalies FROM output_sets WHERE campaign = ? AND period = ?",
            (self.campaign, period),
        ).fetchone()
        return (str(row[0]), str(row[1]), int(row[2])) if row else None

    def record_output_set(self, period: str, inputs: str, files: str, anomalies: int) -> None:
        with self.transaction(changes_records=False) as db:
            db.execute(
                "INSERT OR REPLACE INTO output_sets VALUES (?, ?, ?, ?, ?)",
                (self.campaign, period, inputs, files, anomalies),
            )

    def last_run_files(self, period: str) -> set[str] | None:
        """Names of the inbox files the last completed run of ``period`` saw (None: the
        period was never run)."""
        row = self.db.execute(
            "SELECT id FROM runs WHERE period = ? AND campaign = ? AND finished_at IS NOT NULL"
            " ORDER BY id DESC LIMIT 1",
            (period, self.campaign),
        ).fetchone()
        if row is None:
            return None
        rows = self.db.execute("SELECT file_name FROM run_files WHERE run_id = ?", (row[0],))
        return {name for (name,) in rows}

    # -- submissions -----------------------------------------------------------------
    def _submission(self, row: tuple | None) -> Submission | None:
        return Submission(*row) if row else None

    _COLS = (
        "id, sha256, file_name, size, received_at, institution, period, status, superseded_by,"
        " campaign, COALESCE((SELECT w.withdrawn_at || ' ' || w.who || '：' || w.reason"
        " FROM withdrawals w WHERE w.submission_id = submissions.id), '')"
    )

    def known(self, sha256: str) -> Submission | None:
        row = self.db.execute(
            f"SELECT {self._COLS} FROM submissions WHERE sha256 = ?", (sha256,)
        ).fetchone()
        return self._submission(row)

    def submission(self, sub_id: int) -> Submission:
        row = self.db.execute(f"SELECT {self._COLS} FROM submissions WHERE id = ?", (sub_id,))
        sub = self._submission(row.fetchone())
        assert sub is not None
        return sub

    def returned(self, first: str, last: str) -> set[tuple[str, str]]:
        """(institution, period) of every return refused in ``first``..``last`` and
        never replaced by an accepted one (rejected, not resent)."""
        rows = self.db.execute(
            "SELECT institution, period, MAX(status = 'accepted') FROM submissions"
            " WHERE campaign = ? AND period BETWEEN ? AND ? AND institution IS NOT NULL"
            " AND id NOT IN (SELECT submission_id FROM withdrawals)"
            " GROUP BY institution, period",
            (self.campaign, first, last),
        )
        return {(str(i), str(p)) for i, p, ok in rows if not ok}

    def submissions(self, period: str) -> list[Submission]:
        rows = self.db.execute(
            f"SELECT {self._COLS} FROM submissions WHERE period = ? AND campaign = ?"
            " ORDER BY received_at, id",
            (period, self.campaign),
        )
        return [Submission(*r) for r in rows]

    def record(
        self,
        *,
        sha256: str,
        file_name: str,
        size: int,
        received_at: str,
        run_id: int,
        institution: str | None,
        period: str | None,
        accepted: bool,
        values: Iterable[GridCell] = (),
        texts: Iterable[TextCell] = (),
        new_items: Iterable[NewItem] = (),
        findings: Iterable[Finding] = (),
    ) -> Submission:
        """Store one judged file in a single transaction, superseding as needed; an
        accepted return's new register items get their IDs here."""
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO submissions (sha256, file_name, size, received_at, first_seen_run,"
                " institution, period, status, campaign) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sha256,
                    file_name,
                    size,
                    received_at,
                    run_id,
                    institution,
                    period,
                    "accepted" if accepted else "rejected",
                    self.campaign,
                ),
            )
            sub_id = int(cur.lastrowid or 0)
            checkpoint("ledger")  # a crash here must leave no trace of this return
            texts = list(texts)
            if accepted and institution:
                ids = self._assign_ids(db, sub_id, institution, period or "", list(new_items))
                texts = [replace(t, row_key=ids.get((t.form, t.row_key), t.row_key)) for t in texts]
            db.executemany(
                "INSERT INTO grid_values VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        sub_id,
                        v.form,
                        v.row_key,
                        v.measure,
                        v.value,
                        v.cell,
                        None if v.raw is None else str(v.raw),
                    )
                    for v in values
                ),
            )
            db.executemany(
                "INSERT INTO text_values VALUES (?, ?, ?, ?, ?, ?)",
                ((sub_id, t.form, t.row_key, t.field, t.text, t.cell) for t in texts),
            )
            db.executemany(
                "INSERT INTO findings (submission_id, rule, severity, form, sheet, cell, value,"
                " expected, message, advice) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        sub_id,
                        f.rule,
                        f.severity,
                        f.form,
                        f.sheet,
                        f.cell,
                        f.value,
                        f.expected,
                        f.message,
                        f.advice,
                    )
                    for f in findings
                ),
            )
            if accepted and institution and period:
                self._supersede(db, sub_id, institution, period, received_at)
        return self.submission(sub_id)

    def _assign_ids(
        self,
        db: sqlite3.Connection,
        sub_id: int,
        institution: str,
        period: str,
        new_items: list[NewItem],
    ) -> dict[tuple[str, str], str]:
        """(form, row key) -> the ID of each new item: ``<institution>-<prefix><n>``, n
        running per institution and form. An item that a return of the same period
        (being superseded now) already brought, with the same description, keeps the ID
        it was given then, so a corrected resubmission does not renumber the register."""
        ids: dict[tuple[str, str], str] = {}
        for item in new_items:
            if item.given_id:  # brought by an aggregated return: its own ID, as it is
                db.execute(
                    "INSERT OR IGNORE INTO items VALUES (?, ?, ?, NULL, ?, ?)",
                    (institution, item.form, item.given_id, sub_id, item.identity),
                )
                ids[(item.form, item.row_key)] = item.given_id
                continue
            row = db.execute(
                "SELECT i.item_id FROM items i JOIN submissions s ON s.id = i.submission_id"
                " WHERE i.institution = ? AND i.form = ? AND i.identity = ? AND s.period = ?"
                " AND s.campaign = ?"
                " AND s.status = 'accepted' AND i.item_id NOT IN (SELECT value FROM json_each(?))"
                " ORDER BY i.seq LIMIT 1",
                (
                    institution,
                    item.form,
                    item.identity,
                    period,
                    self.campaign,
                    _json(list(ids.values())),
                ),
            ).fetchone()
            if row is not None and item.identity:
                ids[(item.form, item.row_key)] = str(row[0])
                continue
            (last,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM items WHERE institution = ? AND form = ?",
                (institution, item.form),
            ).fetchone()
            item_id = f"{institution}-{item.prefix}{int(last) + 1:04d}"
            db.execute(
                "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)",
                (institution, item.form, item_id, int(last) + 1, sub_id, item.identity),
            )
            ids[(item.form, item.row_key)] = item_id
        return ids

    def item_states(
        self, form: str, through: str
    ) -> list[tuple[str, str, str, str, str, str, str, str, str]]:
        """(institution, period, first period, item, field, text, cell, file, sha256):
        each register item's latest state in a current return up to ``through``, and
        the first period a current return brought it."""
        return self.db.execute(
            "WITH cur AS (SELECT id, institution, period, file_name, sha256 FROM submissions"
            "  WHERE status = 'accepted' AND period <= ? AND campaign = ?),"
            " span AS (SELECT c.institution, t.row_key, MIN(c.period) AS first,"
            "  MAX(c.period) AS last FROM text_values t JOIN cur c ON c.id = t.submission_id"
            "  WHERE t.form = ? AND t.row_key != '__footer'"
            "  GROUP BY c.institution, t.row_key)"
            " SELECT c.institution, c.period, p.first, t.row_key, t.field, t.text, t.cell,"
            " c.file_name, c.sha256 FROM text_values t JOIN cur c ON c.id = t.submission_id"
            " JOIN span p ON p.institution = c.institution AND p.row_key = t.row_key"
            " AND p.last = c.period WHERE t.form = ?"
            " ORDER BY c.institution, t.row_key, t.field",
            (through, self.campaign, form, form),
        ).fetchall()

    def item_ids(self, form: str) -> dict[str, set[str]]:
        """Institution -> every item ID it was given (or brought, one level up)."""
        out: dict[str, set[str]] = {}
        for inst, item in self.db.execute(
            "SELECT institution, item_id FROM items WHERE form = ?", (form,)
        ):
            out.setdefault(inst, set()).add(item)
        return out

    def decide(
        self, institution: str, form: str, item_id: str, field: str, value: str, note: str
    ) -> None:
        """The bureau's decision on an item (挂牌督办), replacing an earlier one."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (institution, form, item_id, field, value, now(), note),
            )

    def decisions(self, form: str) -> dict[tuple[str, str], tuple[str, str, str]]:
        """(institution, item ID) -> (field, value, decided at)."""
        return {
            (inst, item): (fld, value, at)
            for inst, item, fld, value, at in self.db.execute(
                "SELECT institution, item_id, field, value, decided_at FROM decisions"
                " WHERE form = ?",
                (form,),
            )
        }

    def find_submissions(self, text: str) -> list[Submission]:
        """Recorded files by name, or by sha256 (its first 8 characters or more)."""
        key = text.strip()
        rows = self.db.execute(
            f"SELECT {self._COLS} FROM submissions WHERE file_name = ?"
            " OR (length(?) >= 8 AND sha256 LIKE ? || '%') ORDER BY id",
            (key, key, key.lower()),
        ).fetchall()
        return [Submission(*r) for r in rows]

    def withdraw(self, sub_id: int, who: str, reason: str) -> Submission:
        """Take a recorded file back (撤回): it counts no more, and the institution falls
        back to its latest other accepted return of the period, or to missing."""
        with self.transaction() as db:
            sub = self.submission(sub_id)
            db.execute(
                "INSERT INTO withdrawals VALUES (?, ?, ?, ?, ?)",
                (sub_id, now(), who, reason, sub.status),
            )
            db.execute(
                "UPDATE submissions SET status = 'rejected', superseded_by = NULL WHERE id = ?",
                (sub_id,),
            )
            if sub.status == "accepted" and sub.institution and sub.period:
                back = db.execute(
                    "SELECT id FROM submissions WHERE institution = ? AND period = ?"
                    " AND campaign = ? AND status = 'superseded'"
                    " AND id NOT IN (SELECT submission_id FROM withdrawals)"
                    " ORDER BY received_at DESC, id DESC LIMIT 1",
                    (sub.institution, sub.period, sub.campaign),
                ).fetchone()
                if back is not None:
                    db.execute(
                        "UPDATE submissions SET status = 'accepted', superseded_by = NULL"
                        " WHERE id = ?",
                        (back[0],),
                    )
        return self.submission(sub_id)

    def _supersede(
        self, db: sqlite3.Connection, new_id: int, institution: str, period: str, received_at: str
    ) -> None:
        """Of two accepted returns for one institution and period, the later received wins."""
        row = db.execute(
            "SELECT id, received_at FROM submissions WHERE institution = ? AND period = ?"
            " AND status = 'accepted' AND id != ? AND campaign = ?",
            (institution, period, new_id, self.campaign),
        ).fetchone()
        if row is None:
            return
        old_id, old_received = row
        loser, winner = (old_id, new_id) if old_received <= received_at else (new_id, old_id)
        db.execute(
            "UPDATE submissions SET status = 'superseded', superseded_by = ? WHERE id = ?",
            (winner, loser),
        )

    def has_figures(self, institution: str, period: str) -> bool:
        """Whether the current return of an institution and month has any figure."""
        row = self.db.execute(
            "SELECT 1 FROM grid_values v JOIN submissions s ON s.id = v.submission_id"
            " WHERE s.status = 'accepted' AND s.institution = ? AND s.period = ?"
            " AND s.campaign = ? AND v.value IS NOT NULL LIMIT 1",
            (institution, period, self.campaign),
        ).fetchone()
        return row is not None

    def findings_of(self, sub_id: int) -> list[dict]:
        rows = self.db.execute(
            "SELECT rule, severity, form, sheet, cell, value, expected, message, advice"
            " FROM findings WHERE submission_id = ? ORDER BY id",
            (sub_id,),
        )
        keys = (
            "rule",
            "severity",
            "form",
            "sheet",
            "cell",
            "value",
            "expected",
            "message",
            "advice",
        )
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # -- figures ---------------------------------------------------------------------
    def accepted_values(
        self, form: str, first: str, last: str
    ) -> Iterator[tuple[str, str, str, str, float | None, str, str, str]]:
        """(institution, period, row key, measure, value, cell, file, sha) of current
        returns, streamed (see :func:`_sharing`)."""
        return _sharing(
            self.db.execute(
                "SELECT s.institution, s.period, v.row_key, v.measure, v.value, v.cell,"
                " s.file_name, s.sha256 FROM grid_values v"
                " JOIN submissions s ON s.id = v.submission_id"
                " WHERE s.status = 'accepted' AND v.form = ? AND s.period BETWEEN ? AND ?"
                " AND s.campaign = ? ORDER BY s.institution, s.period, v.row_key, v.measure",
                (form, first, last, self.campaign),
            ),
            unique=4,
        )

    def accepted_texts(
        self, form: str, first: str, last: str
    ) -> Iterator[tuple[str, str, str, str, str, str, str, str]]:
        """(institution, period, row key, field, text, cell, file, sha256) of the current
        returns of the periods ``first``..``last``, streamed (see :func:`_sharing`)."""
        return _sharing(
            self.db.execute(
                "SELECT s.institution, s.period, t.row_key, t.field, t.text, t.cell,"
                " s.file_name, s.sha256 FROM text_values t"
                " JOIN submissions s ON s.id = t.submission_id"
                " WHERE s.status = 'accepted' AND t.form = ? AND s.period BETWEEN ? AND ?"
                " AND s.campaign = ? ORDER BY s.institution, s.period, t.row_key, t.field",
                (form, first, last, self.campaign),
            ),
            unique=4,
        )

    def baselines(self, form: str) -> list[tuple[str, str, str, str, float, str, str]]:
        """(institution, through, row key, measure, value, source, cell)."""
        return self.db.execute(
            "SELECT institution, through, row_key, measure, value, source, cell FROM baselines"
            " WHERE form = ? ORDER BY institution, row_key, measure",
            (form,),
        ).fetchall()

    def replace_baseline(
        self, rows: Iterable[tuple[str, str, str, str, str, float, str, str]]
    ) -> int:
        """Store (institution, through, form, row key, measure, value, source, cell) rows."""
        stamp = now()
        rows = list(rows)
        with self.transaction() as db:
            for inst in {r[0] for r in rows}:
                db.execute("DELETE FROM baselines WHERE institution = ?", (inst,))
            db.executemany(
                "INSERT INTO baselines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((*r, stamp) for r in rows),
            )
        return len(rows)

    # -- e-mail sent ---------------------------------------------------------------------
    _SEND_COLS = _SENDS_COPY + ", regarding"

    def begin_send(
        self,
        *,
        institution: str,
        period: str,
        kind: str,
        message_id: str,
        recipients: str,
        subject: str,
        attachment: str,
        attachment_sha256: str,
        attempted_at: str,
        regarding: str = "",
    ) -> int:
        """Record an attempt as pending, committed before the SMTP transaction starts."""
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO sends (institution, period, kind, message_id, recipients, subject,"
                " attachment, attachment_sha256, attempted_at, result, regarding, campaign)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                (
                    institution,
                    period,
                    kind,
                    message_id,
                    recipients,
                    subject,
                    attachment,
                    attachment_sha256,
                    attempted_at,
                    regarding,
                    self.campaign,
                ),
            )
        return int(cur.lastrowid or 0)

    def end_send(self, send_id: int, delivered: bool, error: str = "") -> None:
        """The outcome of an attempt, committed at once (a crash later loses nothing)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sends SET result = ?, error = ? WHERE id = ?",
                ("delivered" if delivered else "failed", error, send_id),
            )

    def sends(self, period: str, kind: str | None = None) -> list[Send]:
        """Every attempt for ``period`` (of ``kind``), oldest first."""
        sql = f"SELECT {self._SEND_COLS} FROM sends WHERE period = ? AND campaign = ?"
        args: tuple[str, ...] = (period, self.campaign)
        if kind is not None:
            sql += " AND kind = ?"
            args += (kind,)
        return [Send(*r) for r in self.db.execute(sql + " ORDER BY attempted_at, id", args)]

    # -- mail fetched --------------------------------------------------------------------
    def mail_uids(self, account: str, folder: str, uidvalidity: int) -> set[int]:
        """UIDs of the folder already recorded under this UIDVALIDITY."""
        rows = self.db.execute(
            "SELECT uid FROM mail_messages WHERE account = ? AND folder = ? AND uidvalidity = ?",
            (account, folder, uidvalidity),
        )
        return {int(uid) for (uid,) in rows}

    def mail_seen(self, message_id: str = "", raw_sha256: str = "") -> MailMessage | None:
        """The first record of a message by its Message-ID (or, for a message without
        one, by its bytes), under whatever folder or UIDVALIDITY it was fetched."""
        key, value = ("message_id", message_id) if message_id else ("raw_sha256", raw_sha256)
        if not value:
            return None
        row = self.db.execute(
            f"SELECT {self._MAIL_COLS} FROM mail_messages WHERE {key} = ?"
            " AND outcome != 'duplicate' ORDER BY id LIMIT 1",
            (value,),
        ).fetchone()
        return MailMessage(*row) if row else None

    _MAIL_COLS = (
        "account, folder, uidvalidity, uid, message_id, raw_sha256, internaldate, sender,"
        " sender_name, subject, size, outcome, note"
    )

    def record_mail(self, message: MailMessage, files: Iterable[MailFile] = ()) -> int:
        """One message and the files saved from it, in one transaction."""
        m = message
        with self.transaction() as db:
            cur = db.execute(
                f"INSERT INTO mail_messages ({self._MAIL_COLS}, fetched_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    m.account,
                    m.folder,
                    m.uidvalidity,
                    m.uid,
                    m.message_id,
                    m.raw_sha256,
                    m.internaldate,
                    m.sender,
                    m.sender_name,
                    m.subject,
                    m.size,
                    m.outcome,
                    m.note,
                    now(),
                ),
            )
            row_id = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO mail_files (message, saved_name, original_name, sha256, size,"
                " kind, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        row_id,
                        f.saved_name,
                        f.original_name,
                        f.sha256,
                        f.size,
                        f.kind,
                        m.internaldate,
                    )
                    for f in files
                ),
            )
        return row_id

    # Every file that came by mail: each attachment saved, and each member of a zip saved.
    _ORIGINS = (
        "SELECT f.saved_name, f.original_name, f.sha256, f.received_at, m.sender,"
        " m.sender_name, m.subject, m.message_id, f.id, '' AS member"
        " FROM mail_files f JOIN mail_messages m ON m.id = f.message"
        " UNION ALL"
        " SELECT f.saved_name, f.original_name, z.sha256, f.received_at, m.sender,"
        " m.sender_name, m.subject, m.message_id, f.id, z.member"
        " FROM mail_members z JOIN mail_files f ON f.id = z.mail_file"
        " JOIN mail_messages m ON m.id = f.message"
    )

    def mail_origin(self, sha256: str, file_name: str | None = None) -> MailOrigin | None:
        """The e-mail an inbox file (or a member of a zip) came from, by its content hash:
        None when no message brought these bytes. Of several messages that carried the
        same bytes, the one saved under ``file_name`` if any, else the first received."""
        row = self.db.execute(
            f"SELECT * FROM ({self._ORIGINS}) WHERE sha256 = ?"
            " ORDER BY CASE WHEN member = '' THEN saved_name ELSE saved_name || '/' || member"
            " END != ?, received_at, id, member LIMIT 1",
            (sha256, file_name or ""),
        ).fetchone()
        return MailOrigin(*row) if row else None

    def mail_returns(self) -> list[MailOrigin]:
        """Every file that came by mail, in order of receipt (a zip of returns: its
        members, once the intake has listed them, and the zip itself)."""
        rows = self.db.execute(f"{self._ORIGINS} ORDER BY received_at, 9, member")
        return [MailOrigin(*r) for r in rows]

    def record_members(self, zip_sha256: str, members: Iterable[tuple[str, str, int]]) -> None:
        """The (name, sha256, size) of each member of a zip, for every message that
        brought the zip (none: it was put into the inbox by hand), once: the members
        inherit the zip's origin (:meth:`mail_origin`)."""
        files = [
            int(i)
            for (i,) in self.db.execute("SELECT id FROM mail_files WHERE sha256 = ?", (zip_sha256,))
        ]
        if not files:
            return
        known = set(
            self.db.execute(
                "SELECT mail_file, member FROM mail_members WHERE mail_file IN"
                " (SELECT id FROM mail_files WHERE sha256 = ?)",
                (zip_sha256,),
            )
        )
        new = [(f, *m) for f in files for m in members if (f, m[0]) not in known]
        if new:
            with self.transaction() as db:
                db.executemany("INSERT OR IGNORE INTO mail_members VALUES (?, ?, ?, ?)", new)


def _sharing(cursor: sqlite3.Cursor, unique: int) -> Iterator[Any]:
    """The cursor's rows one at a time, every column but ``unique`` (the value or text
    itself) one object for all the rows that repeat it.

    sqlite3 makes a new string for every field of every row; an institution, a period, a
    file name and a sha256 repeat in each cell of a return, a row key and a cell
    reference in every return, and the totals of a period keep one record per cell (its
    source, for the trace). Shared, they cost their rows a pointer each, so memory grows
    with the cells, not with the bytes of their names."""
    same: dict[str, str] = {}
    share = same.setdefault
    for row in cursor:
        yield tuple(v if i == unique or v is None else share(v, v) for i, v in enumerate(row))
