"""``fetch``: returns straight from the bureau's mailbox into the inbox, each on record.

Every message of the folder not fetched before is fetched once: its attachments that
could be returns are saved into the inbox (see :mod:`pipeline.intake.attachments` and
:mod:`pipeline.intake.landing`), and the message is recorded in the ledger with the files
saved from it, in one transaction. The ledger, not the file's modification time, is the
record of when a file was received: the message's INTERNALDATE, the time the bureau's
server accepted it (:meth:`pipeline.ledger.store.Ledger.mail_origin`).

What "fetched before" means: the folder's UIDVALIDITY and the message's UID are
recorded, so a message is looked at once; a message seen again under a new UIDVALIDITY
(the folder rebuilt or recreated by the provider) is recognised by its Message-ID (by
its bytes when it has none) and recorded as a duplicate, nothing saved twice. Each
message is recorded as soon as its files are saved, so a connection lost halfway keeps
what was done and the next fetch takes the rest; a fetch killed between saving and
recording finds the same bytes under the same name next time and does not copy them
again. With ``move_to`` a message is moved there once recorded (a message recorded but
not yet moved is moved by the next fetch); without it the mailbox is never modified.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.campaigns.campaign import Campaign
from pipeline.config.imap import ImapConfig
from pipeline.config.limits import MB
from pipeline.errors import MailboxError
from pipeline.faults import checkpoint
from pipeline.intake.attachments import Envelope, archive_kind, envelope_of, parse, read_letter
from pipeline.intake.imap_session import Dropped, Head, Session
from pipeline.intake.landing import clean_name, land, remove_leftovers
from pipeline.ledger.lock import holding_ledger_lock
from pipeline.ledger.store import Ledger, MailFile, MailMessage, now

# A message is downloaded only up to this many times the largest file accepted: base64
# makes a file a third larger, and one message may carry a few returns.
MESSAGE_FACTOR = 4
CHUNK = 100  # messages whose headers are asked for in one command
Progress = Callable[[int, int], None]  # (messages done, messages to do)


@dataclass(frozen=True)
class Seen:
    """One message this fetch looked at, for the clerk's list."""

    message: MailMessage
    files: tuple[MailFile, ...] = ()


@dataclass
class FetchResult:
    account: str
    folder: str
    inbox: Path
    move_to: str = ""
    seen: list[Seen] = field(default_factory=list)
    moved: int = 0
    created_folder: bool = False
    stopped: str = ""  # why the fetch stopped before the end (connection lost)

    def count(self, outcome: str) -> int:
        return sum(1 for s in self.seen if s.message.outcome == outcome)

    @property
    def files(self) -> list[MailFile]:
        return [f for s in self.seen for f in s.files]


def _config(campaign: Campaign) -> tuple[ImapConfig, str]:
    config = campaign.imap
    if config is None:
        raise MailboxError(
            f"{campaign.path}：未设置收件邮箱（[imap]），无法收取报表；"
            "请按 README《从邮箱收取报表》在工作配置文件中填写 [imap]"
        )
    password = os.environ.get(config.password_env)
    if not password:
        raise MailboxError(
            f"未设置环境变量 {config.password_env}：请把收件邮箱的密码（或授权码）放在该环境变量中再收取"
        )
    return config, password


@holding_ledger_lock
def fetch_returns(campaign: Campaign, *, progress: Progress | None = None) -> FetchResult:
    """Fetch every new message of the campaign's mailbox folder into its inbox."""
    config, password = _config(campaign)
    result = FetchResult(config.account, config.folder, campaign.inbox, config.move_to)
    ledger = Ledger(campaign.ledger_path)
    session = Session(config, password)
    try:
        remove_leftovers(campaign.inbox)
        session.open()
        Fetcher(campaign, config, ledger, session, result).run(progress)
    finally:
        session.close()
        ledger.close()
    return result


class Fetcher:
    """One fetch over one open session."""

    def __init__(
        self,
        campaign: Campaign,
        config: ImapConfig,
        ledger: Ledger,
        session: Session,
        result: FetchResult,
    ) -> None:
        self.campaign = campaign
        self.config = config
        self.ledger = ledger
        self.session = session
        self.result = result
        self.max_file = campaign.limits.file_bytes
        self.max_message = self.max_file * MESSAGE_FACTOR
        self.uidvalidity = 0

    def run(self, progress: Progress | None) -> None:
        cfg = self.config
        try:
            if cfg.move_to:
                if not self.session.can_move():
                    raise MailboxError(
                        f"收件服务器不支持移动邮件（MOVE 或 UIDPLUS），无法移到“{cfg.move_to}”；"
                        "请删去工作配置文件 [imap] move_to"
                    )
                self.result.created_folder = self.session.ensure_folder(cfg.move_to)
            self.uidvalidity = self.session.select(cfg.folder, readonly=not cfg.move_to)
            uids = self.session.uids()
            known = self.ledger.mail_uids(cfg.account, cfg.folder, self.uidvalidity)
            if cfg.move_to:  # recorded by a fetch that stopped before moving them
                self._move([u for u in uids if u in known])
            todo = [u for u in uids if u not in known]
            done = 0
            for start in range(0, len(todo), CHUNK):
                heads = self.session.heads(todo[start : start + CHUNK])
                for uid in todo[start : start + CHUNK]:
                    if uid in heads:  # else deleted meanwhile
                        self._one(heads[uid])
                    done += 1
                    if progress is not None:
                        progress(done, len(todo))
        except Dropped as exc:
            kept = len(self.result.seen)
            self.result.stopped = (
                f"与收件服务器 {self.session.where} 的连接中断（{exc}）；"
                f"已收取的 {kept} 封已保存并记录，请稍后再运行 fetch 收取其余邮件"
            )
        except MailboxError as exc:
            if not self.result.seen:
                raise
            # The server refused a command halfway: what was done stays done, and listed.
            self.result.stopped = f"{exc}；已收取的 {len(self.result.seen)} 封已保存并记录"

    def _move(self, uids: list[int]) -> None:
        if uids:
            self.session.move(uids, self.config.move_to)
            self.result.moved += len(uids)

    def _message(
        self, head: Head, env: Envelope, outcome: str, note: str = "", raw: bytes = b""
    ) -> MailMessage:
        return MailMessage(
            account=self.config.account,
            folder=self.config.folder,
            uidvalidity=self.uidvalidity,
            uid=head.uid,
            message_id=env.message_id,
            raw_sha256=hashlib.sha256(raw).hexdigest() if raw else "",
            internaldate=head.internaldate or now(),  # a server that gives none
            sender=env.sender,
            sender_name=env.sender_name,
            subject=env.subject,
            size=head.size,
            outcome=outcome,
            note=note,
        )

    def _record(self, message: MailMessage, files: list[MailFile]) -> None:
        checkpoint("fetch-saved")  # a crash here: files saved, message not recorded
        self.ledger.record_mail(message, files)
        self.result.seen.append(Seen(message, tuple(files)))
        checkpoint("fetch-recorded")  # a crash here: recorded, not yet moved
        if self.config.move_to:
            self._move([message.uid])

    def _one(self, head: Head) -> None:
        env = _envelope(head.header)
        earlier = self.ledger.mail_seen(message_id=env.message_id)
        if earlier is not None:
            self._record(self._message(head, env, "duplicate", _earlier(earlier)), [])
            return
        if head.size > self.max_message:
            note = (
                f"邮件大小 {_size(head.size)}，超过可收取的上限 {_size(self.max_message)}"
                f"（[limits] max_file_mb 的 {MESSAGE_FACTOR} 倍），"
                "未下载；请联系发件单位只发送报表文件"
            )
            self._record(self._message(head, env, "refused", note), [])
            return
        raw = self.session.body(head.uid)
        if raw is None:
            return  # deleted while we were fetching: nothing to record
        if not env.message_id:
            earlier = self.ledger.mail_seen(raw_sha256=hashlib.sha256(raw).hexdigest())
            if earlier is not None:
                self._record(self._message(head, env, "duplicate", _earlier(earlier), raw), [])
                return
        files, refusals = self._save(raw)
        outcome = "saved" if files else ("refused" if refusals else "no_attachment")
        self._record(self._message(head, env, outcome, "；".join(refusals), raw), files)

    def _save(self, raw: bytes) -> tuple[list[MailFile], list[str]]:
        """Save the message's possible returns; (files saved, why others were not)."""
        try:
            letter = read_letter(raw)
        except Exception as exc:  # a message no parser can read is listed, never a crash
            return [], [f"邮件无法解析（{type(exc).__name__}），附件未保存；请联系发件单位重发"]
        files: list[MailFile] = []
        refusals = list(letter.notes)
        for part in letter.parts:
            shown = part.name or "（无名附件）"
            if len(part.data) > self.max_file:
                refusals.append(
                    f"附件“{shown}”大小 {_size(len(part.data))}，超过上限"
                    f" {self.campaign.limits.max_file_mb:g} MB（[limits] max_file_mb），未保存"
                )
                continue
            sha = hashlib.sha256(part.data).hexdigest()
            name = clean_name(part.name, part.content_type)
            saved, _ = land(self.campaign.inbox, name, part.data, sha)
            files.append(MailFile(saved, part.name, sha, len(part.data), archive_kind(part.data)))
        return files, refusals


def _envelope(header: bytes) -> Envelope:
    """Who sent it and about what; a header no parser reads leaves them blank."""
    try:
        return envelope_of(parse(header))
    except Exception:  # hostile bytes must not stop the fetch
        return Envelope("", "", "", "")


def _size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.0f} KB"


def _earlier(message: MailMessage) -> str:
    return f"同一邮件已于 {message.internaldate.replace('T', ' ')} 收取（文件夹“{message.folder}”），未重复保存"
