"""Failures of the tool itself, as opposed to findings about a returned form.

A bad return is data (a :class:`~pipeline.findings.Finding`); these exceptions
are for the cases where the pipeline cannot run at all. The CLI turns each into a
one-line message and a non-zero exit status.
"""


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
