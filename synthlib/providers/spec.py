"""What a provider declares: a :class:`ProviderSpec` (and what its backend factory is given).

Each provider package (``synthlib/providers/<name>/``) imports this module to declare its
``SPEC``; :mod:`.registry` imports it to look specs up. It imports no provider, so neither does
a provider import the registry that loads it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from ..core.extras import require
from ..core.limits import DEFAULT_LIMITS, BatchLimits
from ..core.pricing import Price
from ..core.tokens import EXACT, TokenScale
from .base import Backend


class Refind(StrEnum):
    """How a batch whose create was not answered (or not journalled) is found again."""

    BY_METADATA = "metadata"  # its tags are in the listing from the moment it exists
    BY_ATTEMPT = "attempt"  # by the journalled attempt (time, request count), then its results


@dataclass(frozen=True)
class BackendOptions:
    """What a run tells a backend factory: where it keeps its files, provider settings, and,
    when given, where the API is and the key (else the factory reads them from the environment
    as the provider's SDK does: its spec's key and base-URL variables)."""

    state_dir: Path
    offline_senses: int | None = 8  # the offline provider: senses per part of speech (None: all)
    api_key: str | None = None
    base_url: str | None = None  # the API's base URL, as its SDK takes it (see base_url_path)
    max_retries: int | None = None  # the SDK's retries of calls safe to repeat (None: ours)


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
    base_url_path: str = ""  # what its SDK's base URL adds to a server's root ("/v1" OpenAI)
    default_base_url: str = ""  # where it buys by default (``local`` offline)
    models: tuple[str, ...] = ()  # model-name prefixes it owns
    owns: Callable[[str], bool] | None = field(default=None, repr=False)
    model_kind: str = ""  # "a Claude model": what provider NAME takes
    takes_any_model: bool = False
    default_model: str = ""  # the model of a run that asks for none of its own
    tokens: TokenScale = EXACT  # how its input tokens are counted from o200k_base
    limits: BatchLimits = DEFAULT_LIMITS  # requests and bytes one batch may hold
    # its models' price rows, each with its largest output (``max_output``) and whether it is a
    # reasoning model; registry.prices() is every spec's rows (core holds none)
    prices: tuple[Price, ...] = ()
    # model-name prefixes of its reasoning models (they take max_completion_tokens and reject
    # temperature): a model a price file adds is one when its name starts with one of them
    reasoning_models: tuple[str, ...] = ()
    extra: str = ""  # pip install 'synthlib[extra]'
    sdk_modules: tuple[str, ...] = ()
    paid: bool = True  # False: costs nothing (the offline provider)
    batch_metadata: bool = True  # a batch carries the run's tags in its metadata
    refind: Refind = Refind.BY_METADATA
    # its listing of batches is newest first, so a search back to a time may stop at the first
    # older batch once the listing has shown that order; False (a plugin's default): every page
    # is read (what a lost create's batch is found by)
    lists_newest_first: bool = False
    first_poll_interval: float | None = None  # None: the run's default
    summary: str = ""  # a few words for the notebook's provider note ("Message Batches")

    def owns_model(self, model: str) -> bool:
        """Whether ``model`` is one of this provider's own models."""
        if self.owns is not None:
            return self.owns(model)
        return bool(self.models) and model.startswith(self.models)

    def reasoning_model(self, model: str) -> bool:
        """Whether ``model`` is named as one of this provider's reasoning models."""
        return bool(self.reasoning_models) and model.startswith(self.reasoning_models)

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

    def base_url_at(self, root: str) -> str:
        """The base URL its SDK takes for a server (an emulator) whose root is ``root``."""
        return root.rstrip("/") + self.base_url_path

    def make_backend(self, options: BackendOptions) -> Backend:
        """The backend of a run (a missing extra is one :class:`MissingExtra` line)."""
        if self.extra:
            require(self.extra, f"the {self.name} provider", self.sdk_modules)
        return self.backend(options)
