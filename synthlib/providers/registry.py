"""The providers synthlib knows, each described by one :class:`ProviderSpec`.

A provider is a package under ``synthlib/providers/<name>/`` whose ``__init__`` declares ``SPEC``,
a :class:`~.spec.ProviderSpec` (what the rest of synthlib needs to know without loading its SDK:
key variables, base-URL variable, which models are its own, default model, token estimate,
extra, capabilities), and whose ``backend`` module adapts one API's SDK to
:class:`~.base.Backend`. The spec's factory imports the backend (and with it the SDK) only when
a run needs one.

Built-in providers are the packages found under ``synthlib/providers/`` (:func:`built_in`:
name -> the module declaring ``SPEC``, found without importing them), so adding one is adding
its package. An installed package adds one the same way through the entry point group
``synthlib.providers`` (as simonw/llm's plugins do)::

    [project.entry-points."synthlib.providers"]
    mistral = "synthlib_mistral:SPEC"

Nothing is imported until a spec is asked for (but OpenAI's, whose default model is the run's,
:data:`DEFAULT_MODEL`): listing the names (``--help``) reads the built-in table and the installed
entry points' names only.

Prices are the specs' (:func:`prices`: every spec's rows, each with its model's largest output;
:func:`price_table`: those with the user's overrides, whose added models are reasoning models by
the specs' naming rules): core holds no provider's rows.

``auto`` (:func:`auto`) is the first provider in :data:`AUTO_ORDER` (then any plugin, in name
order) whose key is set, else the offline provider.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from ..core import pricing
from ..core.errors import UsageError
from ..core.limits import DEFAULT_LIMITS, BatchLimits
from ..core.pricing import Price
from ..core.tokens import EXACT, TokenScale
from .openai import DEFAULT_MODEL as OPENAI_DEFAULT_MODEL
from .spec import BackendOptions, ProviderSpec, Refind

GROUP = "synthlib.providers"
OFFLINE = "offline"

# the order ``auto`` tries providers by their keys (DESIGN §2), and the order they are listed
# in; other built-in ones come after by name, then the offline provider, then plugins by name
AUTO_ORDER = ("openai", "anthropic", "gemini")

# a run's model when it asks for none: OpenAI's default (the first provider ``auto`` tries); a
# run on a provider whose spec names a default model of its own buys that one instead
DEFAULT_MODEL = OPENAI_DEFAULT_MODEL


_specs: dict[str, ProviderSpec] = {}
_plugins: dict[str, metadata.EntryPoint] | None = None
_built_in: dict[str, str] | None = None


def built_in() -> dict[str, str]:
    """The providers shipped with synthlib: each package under ``synthlib/providers/`` (name ->
    the module declaring its ``SPEC``), listed without importing them."""
    global _built_in
    if _built_in is None:
        folder = str(Path(__file__).parent)
        found = sorted(m.name for m in pkgutil.iter_modules([folder]) if m.ispkg)
        first = [n for n in AUTO_ORDER if n in found]
        rest = sorted(n for n in found if n not in first and n != OFFLINE)
        last = [OFFLINE] if OFFLINE in found else []
        _built_in = {n: f"{__package__}.{n}" for n in (*first, *rest, *last)}
    return _built_in


def register(spec: ProviderSpec) -> ProviderSpec:
    """Make ``spec`` known under its name (replacing one of the same name)."""
    _specs[spec.name] = spec
    return spec


def _entry_points() -> dict[str, metadata.EntryPoint]:
    global _plugins
    if _plugins is None:
        _plugins = {ep.name: ep for ep in metadata.entry_points(group=GROUP)}
    return _plugins


def names() -> tuple[str, ...]:
    """Every provider name, built in, plugged in or registered (nothing is imported)."""
    shipped = built_in()
    plugins = sorted(n for n in _entry_points() if n not in shipped)
    extra = sorted(n for n in _specs if n not in shipped and n not in plugins)
    return (*shipped, *plugins, *extra)


def _load(name: str) -> ProviderSpec | None:
    if name in _specs:
        return _specs[name]
    if name in built_in():
        loaded = importlib.import_module(built_in()[name]).SPEC
    elif name in _entry_points():
        point = _entry_points()[name]
        try:
            loaded = point.load()
        except Exception as exc:  # a broken plugin: said when it is asked for, in one line
            raise UsageError(
                f"provider plugin {name!r} ({point.value}) failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from None
    else:
        return None
    if not isinstance(loaded, ProviderSpec) or loaded.name != name:
        raise UsageError(
            f"provider {name!r} is not declared by a ProviderSpec named {name!r} "
            f"(entry point group {GROUP})"
        )
    return register(loaded)


def find(name: str) -> ProviderSpec | None:
    """The spec of ``name``, or None when no provider has that name."""
    return _load(name)


def spec(name: str) -> ProviderSpec:
    """The spec of ``name``; an unknown name is a one-line :class:`UsageError`."""
    found = _load(name)
    if found is None:
        raise UsageError(f"unknown provider {name!r}; the providers are: {', '.join(names())}")
    return found


def specs() -> Iterator[ProviderSpec]:
    """Every provider's spec, in :func:`names` order (loads them; a plugin that fails to load is
    left out here and named when it is asked for by :func:`spec`)."""
    for name in names():
        try:
            found = _load(name)
        except UsageError:
            if name in built_in():
                raise
            continue
        if found is not None:
            yield found


def spec_for_model(model: str) -> ProviderSpec:
    """The provider whose models include ``model`` (one that takes any model when none claims
    it); a model no provider takes is a one-line :class:`UsageError`."""
    every = list(specs())
    for candidate in every:
        if candidate.owns_model(model):
            return candidate
    for candidate in every:
        if candidate.takes_any_model:
            return candidate
    raise UsageError(f"no provider serves model {model!r}; the providers are: {', '.join(names())}")


def auto(environ: Mapping[str, str] | None = None) -> ProviderSpec:
    """The provider ``auto`` means: the first, in :data:`AUTO_ORDER` then plugins by name, whose
    key is set; else the offline provider."""
    ordered = [n for n in AUTO_ORDER if n in names()]
    ordered += [n for n in names() if n not in ordered]
    for name in ordered:
        candidate = _load(name)
        if candidate is not None and candidate.paid and candidate.key(environ):
            return candidate
    return spec(OFFLINE)


def resolve(provider: str) -> str:
    """``auto`` resolved (:func:`auto`); any other name checked and returned."""
    return auto().name if provider == "auto" else spec(provider).name


def paid(provider: str) -> bool:
    """Whether ``provider``'s batches cost money (True for an unknown name: a test's backend
    is treated as paid)."""
    found = _load(provider)
    return found.paid if found is not None else True


def prices() -> dict[str, Price]:
    """The price table: every provider spec's rows, in :func:`names` order (loads the specs)."""
    table: dict[str, Price] = {}
    for found in specs():
        table.update((p.model, p) for p in found.prices)
    return table


def reasoning_model(model: str) -> bool:
    """Whether some provider names ``model`` as one of its reasoning models."""
    return any(found.reasoning_model(model) for found in specs())


def price_table(overrides: str | os.PathLike[str] | Mapping[str, Any] | None) -> dict[str, Price]:
    """:func:`prices` with ``overrides`` (a JSON price file's path or a mapping, as the user gives
    ``prices``) applied (see :func:`synthlib.core.pricing.price_table`)."""
    return pricing.price_table(overrides, prices(), reasoning_model)


def batch_limits(provider: str) -> BatchLimits:
    """What one batch of ``provider`` may hold (OpenAI's for an unknown name: a test's
    backend)."""
    found = _load(provider)
    return found.limits if found is not None else DEFAULT_LIMITS


def token_scale(provider: str) -> TokenScale:
    """How ``provider``'s input tokens are counted (exact for an unknown name: a test's
    backend)."""
    found = _load(provider)
    return found.tokens if found is not None else EXACT


def _reset_for_tests() -> None:
    """Forget loaded specs and entry points (tests that install a fake plugin)."""
    global _plugins
    _specs.clear()
    _plugins = None


__all__ = [
    "AUTO_ORDER",
    "DEFAULT_MODEL",
    "GROUP",
    "BackendOptions",
    "ProviderSpec",
    "Refind",
    "auto",
    "batch_limits",
    "built_in",
    "find",
    "names",
    "paid",
    "price_table",
    "prices",
    "reasoning_model",
    "register",
    "resolve",
    "spec",
    "spec_for_model",
    "specs",
    "token_scale",
]
