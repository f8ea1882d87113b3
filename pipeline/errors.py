"""Failures of the tool itself, as opposed to findings about a returned form.

A bad return is data (a :class:`~pipeline.findings.Finding`); these exceptions
are for the cases where the pipeline cannot run at all. The CLI turns each into a
one-line message and a non-zero exit status.
"""

import errno


class PipelineError(Exception):
    """Base class: the tool cannot do what was asked."""


class ConfigError(PipelineError):
    """A configuration file (campaign, form definition) is missing or malformed."""


class RosterError(PipelineError):
    """The roster cannot be read or has unusable rows."""


class LedgerError(PipelineError):
    """The ledger database is unusable (damaged, locked, or from a newer version)."""


class InputError(PipelineError):
    """A file given on the command line (e.g. a baseline) cannot be used."""


class BusyError(PipelineError):
    """Another run holds the ledger's lock and did not finish within the wait."""


class MailError(PipelineError):
    """Mail cannot be written or sent as asked (no sender, no server, not due yet)."""


class NotYetDue(MailError):
    """Reminders asked for before the due date has passed: nothing to chase yet."""


class MailboxError(PipelineError):
    """The mailbox cannot be read: unreachable, untrusted, login or folder refused."""


def shown(value: object) -> str:
    """A configuration value as the clerk wrote it in TOML (``"tls"``, ``true``, ``5``), for
    messages that quote what was found."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    return str(value)


def os_failure(exc: OSError) -> str:
    """A failure to read or write a file, said in Chinese with the system's own words after
    it (the IT helper searches for those)."""
    where = f" {exc.filename}" if exc.filename else ""
    detail = exc.strerror or str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"找不到文件或文件夹{where}（{detail}）"
    if isinstance(exc, PermissionError):
        return (
            f"没有权限读写{where or '文件'}：若它正在 Excel 或 WPS 中打开，请关闭后重试；"
            f"否则请检查文件夹的访问权限（{detail}）"
        )
    if isinstance(exc, IsADirectoryError):
        return f"{where.strip() or '该路径'} 是文件夹，这里需要一个文件（{detail}）"
    if isinstance(exc, NotADirectoryError):
        return f"{where.strip() or '该路径'} 不是文件夹（{detail}）"
    if exc.errno == errno.ENOSPC:
        return f"磁盘已满，无法写入{where}；请清理磁盘空间后重试（{detail}）"
    return f"无法读写文件{where}（{detail}）"
