"""What every notebook face shares (:mod:`.workbench`, :mod:`.pilot_view`, :mod:`.review`):
whether widgets show (:func:`interactive_session`), a synthlib error as one line in a cell, the
``store`` parameter refused when it holds a password, the word list a typed path or an upload
chooses, and money and status as text. (Each face names the settings a library message names in
its own words: :mod:`.wording`.)

The lowest of the notebook faces: it imports no other face, and every notebook face may import it.
"""

from __future__ import annotations

import html
import os
from importlib import resources
from pathlib import Path
from typing import Any

from ..core.errors import SynthlibError, UsageError
from ..core.words import read_words
from ..store import STORE_ENV, has_secret, mask_uri

# package data, so the example list is there in any install (examples/words.txt is for the README)
EXAMPLE_WORDS = Path(str(resources.files("synthlib").joinpath("data", "example_words.txt")))


def interactive_session() -> bool:
    """True in a kernel started by a Jupyter server (JupyterLab, Notebook), where widgets show;
    False under papermill, nbmake or a plain Python process."""
    return bool(os.environ.get("JPY_SESSION_NAME"))


def show_errors_in_one_line() -> None:
    """Make a synthlib error in a notebook cell show as one line, not a traceback (the cell still
    fails, so papermill still fails the notebook)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def handler(
        shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None
    ) -> list[str]:
        # published as the cell's error (name, value, a one-line traceback): papermill and
        # nbmake print it on the terminal, where a bare stderr stream would stay in the notebook
        stb = [f"{etype.__name__}: {value}"]  # str(): its settings named as the parameters
        shell._showtraceback(etype, value, stb)
        return stb

    shell.set_custom_exc((SynthlibError,), handler)


def notebook_store(store: Any) -> Any:
    """A notebook's ``store`` parameter, refused (one line) when it holds a password: papermill
    writes every parameter into the output notebook (its injected cell and its metadata) before
    the notebook's own code runs, and saves it again at the end from its own copy, so no code in
    the notebook can mask it there; IPython's history keeps the cell too. A URI with a password
    belongs in ``SYNTHLIB_STORE``, which no notebook records."""
    if has_secret(store):
        show_errors_in_one_line()
        raise UsageError(
            f"the store parameter holds a password ({mask_uri(store)}), and papermill keeps "
            f"parameters in the notebook it writes (delete that file): leave store unset and "
            f"pass the URI in the {STORE_ENV} environment variable, e.g. "
            f"{STORE_ENV}='mongodb://user:PASSWORD@host/db' papermill ..."
        )
    return store


def project_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``pyproject.toml`` or ``.git``."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return None


def find_words_file(text: str, here: Path | None = None) -> Path:
    """The word list a typed path means: as is when absolute, else relative to ``here`` (the
    notebook's folder, where its kernel runs) or to the project root above it, so the README's
    ``examples/words.txt`` works from ``notebooks/``. Raises :class:`UsageError` naming the
    folders it looked in."""
    path = Path(text.strip()).expanduser()
    if path.is_absolute():
        return path  # the word reader says what is wrong with it, if anything
    here = (here or Path.cwd()).resolve()
    folders = [here]
    root = project_root(here)
    if root is not None and root != here:
        folders.append(root)
    for folder in folders:
        if (folder / path).exists():
            return folder / path
    looked = " and ".join(str(f) for f in folders)
    raise UsageError(f"{text.strip()}: no such file (looked in {looked})")


def money(value: float) -> str:
    return f"${value:,.2f}" if value >= 1 else f"${value:,.4f}"


def status_html(rows: list[tuple[str, str]], per_line: int = 4) -> str:
    """The status table with ``per_line`` (label, value) pairs a line, to keep it short."""
    lines = []
    for start in range(0, len(rows), per_line):
        cells = "".join(
            f"<th>{html.escape(k)}</th><td>{html.escape(v)}</td>"
            for k, v in rows[start : start + per_line]
        )
        lines.append(f"<tr>{cells}</tr>")
    return f"<table class='sl-status-table'><tbody>{''.join(lines)}</tbody></table>"


def chosen_words(
    typed: str, uploaded: tuple[str, bytes] | None, given: Any
) -> tuple[Any, str | None]:
    """The word list a notebook's fields choose, and its file name when uploaded: the typed path
    (see :func:`find_words_file`), else the upload (name, bytes), else the notebook's list."""
    if typed.strip():
        return find_words_file(typed), None
    if uploaded is not None:
        name, data = uploaded
        return data, name
    return given, None


def words_html(
    typed: str, uploaded: tuple[str, bytes] | None, given: Any, *, compact: bool = False
) -> str:
    """The line beside a word list's fields: which list is in use and how many words it has, or
    why it cannot be read. ``compact``: a file named without its folder, the line muted (the
    pilot's row, beside its fields); else the path as typed or given, in bold."""
    try:
        source, name = chosen_words(typed, uploaded, given)
        count = len(read_words(source, name=name))
    except SynthlibError as exc:
        return f"<span class='sl-error'>{html.escape(str(exc))}</span>"
    bold = (lambda text: text) if compact else (lambda text: f"<b>{text}</b>")
    if name is not None:
        what = f"{bold(html.escape(name))} (uploaded)"
    elif source == EXAMPLE_WORDS:
        what = "the bundled example list"
    elif isinstance(source, str | Path):
        what = bold(html.escape(Path(source).name if compact else str(source)))
    else:
        what = "the words given" if compact else "the words given to the workbench"
    if compact:
        return f"<span class='sl-muted'>{what}: <b>{count:,}</b> words</span>"
    return f"Word list: {what}: <b>{count:,}</b> words"
