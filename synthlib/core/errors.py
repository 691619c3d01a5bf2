"""Errors a user can act on.

Every error raised on purpose by synthlib derives from :class:`SynthlibError`. Its ``str()`` is one
line that says what is wrong and where, fit to print without a traceback; ``exit_code`` is the
status the command line exits with (2 for bad input or usage, 1 otherwise).

A message that names a setting marks it (``settings=``, :class:`Said`): ``str()`` names it as the
Python API and the notebooks' parameters do (``batch_size``), and each face words it its own way
(``worded(COMMAND_LINE)``: ``--batch-size``; the workbench: its field, ``Batch size``), so no
face rewrites another's text.
"""

from __future__ import annotations

from typing import Any, Protocol


class Wording(Protocol):
    """How a face names a setting: the command line by its flag (``--batch-size``), Python and
    papermill by its keyword (``batch_size``), the workbench by its field (``Batch size``).

    ``value``: the setting given that value (a text; ``"True"`` turns a switch on)."""

    def name(self, setting: str) -> str:
        """The setting itself: ``--max-cost``, ``max_cost``, ``Max cost``."""
        ...

    def given(self, setting: str, value: str) -> str:
        """The setting with a value: ``--provider offline``, ``provider='offline'``."""
        ...

    def advice(self, setting: str, value: str) -> str:
        """How to give it: ``pass --fresh``, ``pass fresh=True``, ``click Start over``."""
        ...


class PythonWording:
    """Settings as keywords of the Python API and parameters of the notebooks (papermill's
    ``-p``): what ``str()`` of a message says."""

    def name(self, setting: str) -> str:
        return setting

    def given(self, setting: str, value: str) -> str:
        return f"{setting}={_python_value(value)}"

    def advice(self, setting: str, value: str) -> str:
        return f"pass {self.given(setting, value)}"


def _python_value(value: str) -> str:
    if value in ("True", "False", "None"):
        return value
    try:
        float(value)
    except ValueError:
        return repr(value)
    return value


PYTHON = PythonWording()


class Said(str):
    """A message that names settings, worded by the face that shows it (:meth:`worded`); as a
    ``str``, in Python's words.

    ``template`` marks each setting it names, for the settings listed in ``settings`` only (any
    other brace is text): ``{max_cost}`` is the setting (``--max-cost``), ``{provider=offline}``
    the setting given a value (``--provider offline``; ``{fresh=True}`` turns a switch on), and
    ``{pass fresh=True}`` the advice to give it (``pass --fresh``; ``click Start over`` in the
    workbench)."""

    template: str
    settings: tuple[str, ...]

    def __new__(cls, template: str, *settings: str) -> Said:
        said = super().__new__(cls, render(template, settings, PYTHON))
        said.template, said.settings = template, settings
        return said

    def worded(self, wording: Wording) -> str:
        return render(self.template, self.settings, wording)


def worded(text: object, wording: Wording) -> str:
    """``text`` as ``wording`` names its settings (a plain text as it is): what a face shows for a
    message, a notice or an error of the library."""
    if isinstance(text, SynthlibError):
        return text.worded(wording)
    if isinstance(text, Said):
        return text.worded(wording)
    return str(text)


def render(template: str, settings: tuple[str, ...], wording: Wording) -> str:
    """``template`` with the settings it marks (see :class:`Said`) named by ``wording``."""
    out: list[str] = []
    at = 0
    while (start := template.find("{", at)) != -1:
        end = template.find("}", start)
        if end == -1:
            break
        said = _placeholder(template[start + 1 : end], settings, wording)
        if said is None:  # a brace of the text itself (a path, a repr)
            out.append(template[at : start + 1])
            at = start + 1
            continue
        out += [template[at:start], said]
        at = end + 1
    out.append(template[at:])
    return "".join(out)


def _placeholder(inner: str, settings: tuple[str, ...], wording: Wording) -> str | None:
    advise = inner.startswith("pass ")
    setting, equals, value = inner.removeprefix("pass ").partition("=")
    if setting not in settings:
        return None
    if advise:
        return wording.advice(setting, value if equals else "True")
    return wording.given(setting, value) if equals else wording.name(setting)


class SynthlibError(Exception):
    """Base of every error synthlib raises for a user to read.

    ``settings``: the settings its message names, marked in it as :class:`Said` explains (so
    every face names them in its own words: :meth:`worded`); ``str()`` names them as Python
    does."""

    exit_code = 1
    settings: tuple[str, ...] = ()

    def __init__(self, *args: object, settings: tuple[str, ...] | str = (), **more: Any) -> None:
        if isinstance(settings, str):
            settings = (settings,)
        if args and isinstance(args[0], Said):
            settings = (*args[0].settings, *settings)
            self._template = args[0].template
        elif args:
            self._template = str(args[0])
        if settings:
            self.settings = settings
            args = (render(self._template, settings, PYTHON), *args[1:])
        super().__init__(*args, **more)  # ``more``: ImportError's name= (MissingExtra)

    def __str__(self) -> str:
        # One line, always: multi-line messages break the "one-line error" promise.
        return " ".join(super().__str__().split())

    def worded(self, wording: Wording) -> str:
        """The message (one line) with its settings named by ``wording``."""
        if not self.settings:
            return str(self)
        return " ".join(render(self._template, self.settings, wording).split())


class UsageError(SynthlibError):
    """A bad argument or parameter (batch size 0, negative cost, unknown provider, ...)."""

    exit_code = 2


class MissingKey(UsageError):
    """A provider's API key is not in the environment. ``provider``: its name; ``needs``: the
    variable(s) to set, as the message names them (``GOOGLE_API_KEY (or GEMINI_API_KEY)``), so a
    face that chose the provider itself (the pilot) can give its own advice."""

    def __init__(self, provider: str, needs: str) -> None:
        super().__init__(
            f"{{provider={provider}}} needs {needs} in the environment "
            "(or {pass provider=offline})",
            settings="provider",
        )
        self.provider, self.needs = provider, needs


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

    def __init__(
        self, message: str, *, lasting: bool = False, settings: tuple[str, ...] | str = ()
    ) -> None:
        super().__init__(message, settings=settings)
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
