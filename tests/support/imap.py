"""A real IMAP server for the fetch tests: Dovecot on 127.0.0.1, TLS by a test-made CA.

``dovecot_path()`` finds Dovecot, installing Debian's ``dovecot-imapd`` when it is
missing and we run as root (as in CI; about 20 s); when it cannot be had it returns
None and ``unavailable_reason()`` says why, so the tests skip loudly.

``Dovecot`` runs one private server process group in its own folder (configuration,
maildir, logs; never the system's): one port with implicit TLS ("ssl") and one plain
port offering STARTTLS, both with a certificate issued by a ``trustme`` CA that only the
tests trust, one user with a password. Messages are put in with IMAP APPEND and an
explicit INTERNALDATE, as a mail provider's delivery would stamp them. ``kill()`` ends
the whole server with SIGKILL (the client sees its connection drop mid-command);
``start()`` again brings it back over the same maildir and ports.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import getpass
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import trustme

from support.apt import apt_install

USER = "anquan@example-qwj.gov.cn"
PASSWORD = "s3cret-Pa55"
START_SECONDS = 20.0
_problem: list[str] = []


def unavailable_reason() -> str:
    return _problem[0] if _problem else ""


@cache
def dovecot_path() -> str | None:
    """The ``dovecot`` binary, installing ``dovecot-imapd`` if missing; else None."""

    def find() -> str | None:
        return shutil.which("dovecot") or next(
            (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)),
            None,
        )

    found = find()
    if found:
        return found
    problem = apt_install("dovecot-imapd")
    found = find()
    if found is None:
        _problem.append(problem or "dovecot-imapd was installed but no dovecot binary was found")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quote(folder: str) -> str:
    """A folder name for imaplib, quoted, in modified UTF-7 (RFC 3501 5.1.3), written
    here apart from the pipeline's own encoder so that the tests check it."""
    out, pending = [], ""
    for ch in folder + "-":  # a printable sentinel flushes the last non-ASCII run
        if 0x20 <= ord(ch) <= 0x7E:
            if pending:
                b64 = base64.b64encode(pending.encode("utf-16-be")).decode()
                out.append("&" + b64.rstrip("=").replace("/", ",") + "-")
                pending = ""
            out.append("&-" if ch == "&" else ch)
        else:
            pending += ch
    return '"' + "".join(out)[:-1] + '"'


def _living(group: int) -> bool:
    """Whether a process of ``group`` still runs (a zombie, its sockets already closed,
    waiting for the container's init to reap it, does not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


class Dovecot:
    """One private Dovecot server; ``stop()`` when done (the fixture does)."""

    def __init__(self, binary: str, *, capability: str = "") -> None:
        self.binary = binary
        # Under /tmp, not pytest's tmp_path: mail processes run as an unprivileged user,
        # who must be able to reach the maildir (pytest's folders are private to root).
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
        self.root.chmod(0o755)
        self.ca = trustme.CA()
        self.ca_file = self.root / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        cert.private_key_pem.write_to_path(str(self.root / "key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(self.root / "cert.pem"))
        self.ssl_port = free_port()
        self.plain_port = free_port()
        self.capability = capability  # e.g. without MOVE, to test the fallback
        self.proc: subprocess.Popen[bytes] | None = None
        self.home = self.root / "home"
        self.home.mkdir()
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n", encoding="utf-8")
        self._write_config()

    # -- the process -------------------------------------------------------------------
    def _users(self) -> tuple[str, str, int, int]:
        """(login user, internal user, mail uid, mail gid): unprivileged ones as root."""
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            shutil.chown(self.home, nobody.pw_uid, nobody.pw_gid)
            return "dovenull", "dovecot", nobody.pw_uid, nobody.pw_gid
        me = getpass.getuser()
        return me, me, os.getuid(), os.getgid()

    def _write_config(self) -> None:
        login, internal, uid, gid = self._users()
        r = self.root
        extra = f"imap_capability = {self.capability}\n" if self.capability else ""
        (r / "dovecot.conf").write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
ssl = yes
ssl_cert = <{r}/cert.pem
ssl_key = <{r}/key.pem
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = {login}
default_internal_user = {internal}
first_valid_uid = {uid}
mail_location = maildir:~/Maildir
{extra}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={r}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.plain_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.ssl_port}
    ssl = yes
  }}
}}
""",
            encoding="utf-8",
        )

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def start(self) -> None:
        out = open(self.root / "stdout.log", "ab")  # noqa: SIM115 - the process keeps it
        self.proc = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: kill() ends every child
        )
        out.close()
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited at start:\n{self._output()}")
            if self._answers():
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"dovecot did not answer within {START_SECONDS} s:\n{self._output()}")

    def _output(self) -> str:
        stdout = (self.root / "stdout.log").read_text(errors="replace")
        return f"{stdout}\n{self.log()}"

    def _answers(self) -> bool:
        for port in (self.ssl_port, self.plain_port):
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", port)) != 0:
                    return False
        return True

    def kill(self) -> None:
        """SIGKILL to the server and all its processes (connections drop at once)."""
        if self.proc is None:
            return
        group = self.proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None
        deadline = time.monotonic() + 10  # its children end with it
        while time.monotonic() < deadline and _living(group):
            time.sleep(0.05)

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- the mailbox, as a mail client sees it ------------------------------------------
    @contextlib.contextmanager
    def client(self) -> Iterator[imaplib.IMAP4_SSL]:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.ssl_port, ssl_context=context, timeout=30)
        imap.login(USER, PASSWORD)
        try:
            yield imap
        finally:
            with contextlib.suppress(Exception):
                imap.logout()

    def append(
        self, raw: bytes, received: dt.datetime, folder: str = "INBOX", flags: str = ""
    ) -> int:
        """Deliver one message with ``received`` as its INTERNALDATE; its UID."""
        with self.client() as imap:
            return self._append(imap, raw, received, folder, flags)

    def append_many(
        self, messages: list[tuple[bytes, dt.datetime]], folder: str = "INBOX"
    ) -> list[int]:
        with self.client() as imap:
            return [self._append(imap, raw, when, folder, "") for raw, when in messages]

    @staticmethod
    def _append(
        imap: imaplib.IMAP4, raw: bytes, received: dt.datetime, folder: str, flags: str
    ) -> int:
        assert received.tzinfo is not None, "give the INTERNALDATE with its time zone"
        typ, data = imap.append(
            quote(folder), f"({flags})" if flags else None, imaplib.Time2Internaldate(received), raw
        )
        assert typ == "OK", data
        m = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
        assert m, data
        return int(m.group(1))

    def create(self, folder: str) -> None:
        with self.client() as imap:
            typ, data = imap.create(quote(folder))
            assert typ == "OK", data

    def delete(self, folder: str) -> None:
        with self.client() as imap:
            typ, data = imap.delete(quote(folder))
            assert typ == "OK", data

    def folders(self) -> list[bytes]:
        with self.client() as imap:
            typ, data = imap.list()
            assert typ == "OK"
            return sorted(d for d in data if isinstance(d, bytes))

    def state(self, folder: str = "INBOX") -> dict[int, tuple[bytes, bytes]]:
        """{uid: (flags, whole message)} of ``folder``, read without changing anything."""
        with self.client() as imap:
            typ, data = imap.select(quote(folder), readonly=True)
            assert typ == "OK", data
            typ, data = imap.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
            assert typ == "OK", data
            out = {}
            for item in data:
                if isinstance(item, tuple):
                    uid = re.search(rb"UID (\d+)", item[0])
                    flags = re.search(rb"FLAGS \(([^)]*)\)", item[0])
                    assert uid and flags, item[0]
                    out[int(uid.group(1))] = (flags.group(1), item[1])
            return out

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.client() as imap:
            typ, data = imap.status(quote(folder), "(UIDVALIDITY)")
            assert typ == "OK", data
            m = re.search(rb"UIDVALIDITY (\d+)", data[0])
            assert m, data
            return int(m.group(1))
