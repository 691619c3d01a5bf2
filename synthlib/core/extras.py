"""The optional parts of synthlib and the one-line error when one is missing.

The core (engine, CLI, SQLite store, offline provider) needs no extra. ``notebook`` brings the
workbench and review (JupyterLab, ipywidgets, papermill, matplotlib, tqdm); ``mongo`` brings the
MongoDB store (pymongo); a provider's extra (``anthropic``, ...) is declared by its spec
(:mod:`synthlib.providers.registry`), which names the modules it brings. A module that needs an
extra calls :func:`require` where it starts, so a missing extra is one
:class:`~synthlib.core.errors.MissingExtra` naming it, never a traceback deep inside a third-party
import.
"""

from __future__ import annotations

import importlib.util

from .errors import MissingExtra

__all__ = ["EXTRAS", "MissingExtra", "require"]

# extra -> the modules it provides that synthlib imports (the names in pyproject.toml differ:
# jupyterlab and papermill are used by the notebooks, not imported by synthlib)
EXTRAS: dict[str, tuple[str, ...]] = {
    "notebook": ("IPython", "ipywidgets", "matplotlib", "tqdm"),
    "mongo": ("pymongo",),
}


def require(extra: str, feature: str, modules: tuple[str, ...] | None = None) -> None:
    """Raise :class:`MissingExtra` unless every module of ``extra`` (or only ``modules``) can be
    imported. Looks the modules up without importing them: nothing heavy loads here.

    ``feature`` starts the message: ``require("mongo", "a mongodb:// store")`` ->
    "a mongodb:// store needs the mongo extra (pymongo is not installed): pip install
    'synthlib[mongo]'".
    """
    for module in modules if modules is not None else EXTRAS[extra]:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a module blocked or broken in sys.modules
            found = False
        if not found:
            raise MissingExtra(extra, feature, module)
