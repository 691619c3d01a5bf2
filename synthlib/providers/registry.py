"""The providers synthlib knows, each described by one :class:`ProviderSpec`.

A provider is a package under ``synthlib/providers/<name>/`` whose ``__init__`` declares ``SPEC``
(what the rest of synthlib needs to know without loading its SDK: key variables, base-URL
variable, which models are its own, default model, token estimate, extra, capabilities) and
whose ``backend`` module adapts one API's SDK to :class:`~.base.Backend`. The spec's factory
imports the backend (and with it the SDK) only when a run needs one.

Built-in providers are listed in :data:`BUILT_IN` (name -> the module declaring ``SPEC``). An
installed package adds one the same way through the entry point group ``synthlib.providers``
(as simonw/llm's plugins do)::

    [project.entry-points."synthlib.providers"]
    mistral = "synthlib_mistral:SPEC"

Nothing is imported until a spec is asked for: listing the names (``--help``) reads the
built-in table and the installed entry points' names only.

``auto`` (:func:`auto`) is the first provider in :data:`AUTO_ORDER` (then any plugin, in name
order) whose key is set, else the offline provider.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import metadata
from pathlib import Path

from ..core.errors import UsageError
from ..core.extras import require
from ..core.tokens import EXACT, TokenScale
from .base import Backend

GROUP = "synthlib.providers"
OFFLINE = "offline"

# name -> module declaring SPEC: imported on first use only
BUILT_IN: dict[str, str] = {
    "openai": "synthlib.providers.openai",
    "anthropic": "synthlib.providers.anthropic",
    "offline": "synthlib.providers.offline",
}
# the order ``auto`` tries providers by their keys (DESIGN §2); plugins come after, by name
AUTO_ORDER = ("openai", "anthropic", "gemini")


class Refind(StrEnum):
    """How a batch whose create was not answered (or not journalled) is found again."""

    BY_METADATA = "metadata"  # its tags are in the listing from the moment it exists
    BY_ATTEMPT = "attempt"  # by the journalled attempt (time, request count), then its results


@dataclass(frozen=True)
class BackendOptions:
    """What a run tells a backend factory: where it keeps its files, and provider settings."""

    state_dir: Path
    offline_senses: int | None = 8  # the offline provider: senses per part of speech (None: all)


@dataclass(frozen=True)
class ProviderSpec:
    """One provider, as the rest of synthlib knows it (no SDK loaded).

    ``models`` are the prefixes of the model names that belong to it (``owns`` overrides them
    with a predicate); ``takes_any_model``: it also serves models no provider claims (an
    OpenAI-compatible server may serve any name). ``backend`` builds its :class:`Backend`
    (importing the SDK only then); ``sdk_modules`` are what its ``extra`` installs, checked
    before the factory runs so a missing extra is one line naming it."""

    name: str
    title: str  # "OpenAI", "Anthropic": how messages name it
    backend: Callable[[BackendOptions], Backend] = field(repr=False)
    key_variables: tuple[str, ...] = ()  # the first one set is used (GOOGLE_API_KEY, ...)
    base_url_variable: str = ""  # what points its SDK elsewhere (an emulator)
    default_base_url: str = ""  # where it buys by default (``local`` offline)
    models: tuple[str, ...] = ()  # model-name prefixes it owns
    owns: Callable[[str], bool] | None = field(default=None, repr=False)
    model_kind: str = ""  # "a Claude model": what --provider NAME takes
    takes_any_model: bool = False
    default_model: str = ""  # the model of a run that asks for none of its own
    tokens: TokenScale = EXACT  # how its input tokens are counted from o200k_base
    extra: str = ""  # pip install 'synthlib[extra]'
    sdk_modules: tuple[str, ...] = ()
    paid: bool = True  # False: costs nothing (the offline provider)
    batch_metadata: bool = True  # a batch carries the run's tags in its metadata
    refind: Refind = Refind.BY_METADATA
    first_poll_interval: float | None = None  # None: the run's default
    summary: str = ""  # a few words for the notebook's provider note ("Message Batches")

    def owns_model(self, model: str) -> bool:
        """Whether ``model`` is one of this provider's own models."""
        if self.owns is not None:
            return self.owns(model)
        return bool(self.models) and model.startswith(self.models)

    def key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The variable among :attr:`key_variables` that is set, if any."""
        env = os.environ if environ is None else environ
        return next((v for v in self.key_variables if env.get(v)), None)

    def api_location(self, environ: Mapping[str, str] | None = None) -> str:
        """Where a run of this provider will buy, read from the environment as its SDK reads
        it (nothing is contacted)."""
        env = os.environ if environ is None else environ
        given = env.get(self.base_url_variable) if self.base_url_variable else None
        return (given or self.default_base_url or self.name).rstrip("/")

    def make_backend(self, options: BackendOptions) -> Backend:
        """The backend of a run (a missing extra is one :class:`MissingExtra` line)."""
        if self.extra:
            require(self.extra, f"--provider {self.name}", self.sdk_modules)
        return self.backend(options)


_specs: dict[str, ProviderSpec] = {}
_plugins: dict[str, metadata.EntryPoint] | None = None


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
    plugins = sorted(n for n in _entry_points() if n not in BUILT_IN)
    extra = sorted(n for n in _specs if n not in BUILT_IN and n not in plugins)
    return (*BUILT_IN, *plugins, *extra)


def _load(name: str) -> ProviderSpec | None:
    if name in _specs:
        return _specs[name]
    if name in BUILT_IN:
        loaded = importlib.import_module(BUILT_IN[name]).SPEC
    elif name in _entry_points():
        loaded = _entry_points()[name].load()
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
    """Every provider's spec, in :func:`names` order (loads them)."""
    for name in names():
        found = _load(name)
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
    "BUILT_IN",
    "GROUP",
    "BackendOptions",
    "ProviderSpec",
    "Refind",
    "auto",
    "find",
    "names",
    "paid",
    "register",
    "resolve",
    "spec",
    "spec_for_model",
    "specs",
    "token_scale",
]
