"""Errors a user can act on.

Every error raised on purpose by synthlib derives from :class:`SynthlibError`. Its ``str()`` is one
line that says what is wrong and where, fit to print without a traceback; ``exit_code`` is the
status the command line exits with (2 for bad input or usage, 1 otherwise).
"""

from __future__ import annotations


class SynthlibError(Exception):
    """Base of every error synthlib raises for a user to read."""

    exit_code = 1

    def __str__(self) -> str:
        # One line, always: multi-line messages break the "one-line error" promise.
        return " ".join(super().__str__().split())


class UsageError(SynthlibError):
    """A bad argument or parameter (batch size 0, negative cost, unknown provider, ...)."""

    exit_code = 2


class WordListError(UsageError):
    """The word list cannot be read; the message names the file and line."""

    def __init__(self, message: str, *, source: str = "<words>", line: int | None = None) -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")
        self.source = source
        self.line = line


class PricingError(UsageError):
    """An unknown model, or a price file that cannot be used."""


class CheckpointError(UsageError):
    """A checkpoint that is corrupt, foreign to this run, or from another version."""


class CheckpointBusy(UsageError):
    """Another run (another process, or another job in this one) holds the checkpoint."""


class CheckpointWriteError(SynthlibError):
    """The checkpoint could not be written (disk full, read-only, file too large); the message
    says which state is on disk."""


class StoreError(SynthlibError):
    """The store cannot be opened or written. ``lasting``: waiting will not cure it (a corrupt
    or read-only file, refused credentials), as opposed to an outage (locked, unreachable)."""

    def __init__(self, message: str, *, lasting: bool = False) -> None:
        super().__init__(message)
        self.lasting = lasting


class BackendError(SynthlibError):
    """The Batch API (or the provider standing in for it) failed in a way retries did not cure.
    ``status``: the HTTP status of the API's answer, None when there was none."""

    status: int | None = None


class ApiRefused(UsageError):
    """The API's first answer says a setting is wrong: the URL is no Batch API there (404), the
    key is refused (401) or lacks permission (403). Nothing was spent."""


class ApiUnreachable(BackendError):
    """The API did not answer (connection refused, timeouts, server errors) for as long as the
    run may wait at its start (``unreachable_after``). Nothing was spent."""


class SpendRefused(UsageError):
    """Money would be spent without the user's consent (no terminal and no ``--yes``)."""


class Interrupted(SynthlibError):
    """The run was stopped by the user; the checkpoint is saved."""

    exit_code = 130


class MissingExtra(UsageError, ImportError):
    """A feature needs an optional part of synthlib that is not installed (``pip install
    'synthlib[notebook]'`` for the workbench and review, ``'synthlib[mongo]'`` for MongoDB).
    ``extra`` names the extra, ``name`` the module that is missing. Also an :class:`ImportError`,
    so ``except ImportError`` around an optional import still catches it."""

    def __init__(self, extra: str, feature: str, module: str) -> None:
        super().__init__(
            f"{feature} needs the {extra} extra ({module} is not installed): "
            f"pip install 'synthlib[{extra}]'",
            name=module,
        )
        self.extra = extra
        self.feature = feature
