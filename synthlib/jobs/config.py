"""A run's settings, checked in one place for the terminal, the notebook and the Python API."""

from __future__ import annotations

import inspect
import math
import os
from argparse import ArgumentTypeError
from collections.abc import Callable, Iterable, Mapping
from dataclasses import Field, dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from ..core import prompts, schema
from ..core.errors import UsageError
from ..core.limits import DEFAULT_BATCH_SIZE, MAX_WORDS_PER_REQUEST
from ..core.pricing import Price, price_for
from ..core.shards import DEFAULT_TOKEN_BUDGET
from ..core.words import WordList, read_words
from ..engine.checkpoint import (
    RunIdentity,
    checkpoint_dir,
    default_checkpoint,
    real_path,
    run_identity,
)
from ..engine.skip import ImportedCheckpoint, read_imported_checkpoint
from ..providers import registry
from ..providers.registry import DEFAULT_MODEL
from ..providers.spec import ProviderSpec
from ..store.ledger import Purchase

DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_UNREACHABLE_AFTER = 60.0
LOST_RESULTS = ("retry", "give_up")


def providers() -> tuple[str, ...]:
    """What ``provider`` may be: ``auto`` and every registered provider."""
    return ("auto", *registry.names())


WordsSource = str | os.PathLike[str] | bytes | Iterable[str] | WordList


# --- the kinds of setting: each checks a Python value and parses a command-line text ----------


@dataclass(frozen=True)
class Whole:
    """A whole number from ``least`` to ``most``, and at most what ``limit`` says given the other
    settings (a provider's per-batch limit), checked once they are all known."""

    least: int = 1
    most: int | None = None
    limit: Callable[[Mapping[str, Any]], Limit] | None = None

    def check(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not self._fits(value):
            raise UsageError(f"{{{name}}} must be {self._range()}, not {value!r}", settings=name)
        return value

    def check_limit(self, name: str, value: int, values: Mapping[str, Any]) -> None:
        """A one-line :class:`UsageError` when ``value`` passes the ``limit`` of ``values``."""
        if self.limit is None:
            return
        limit = self.limit(values)
        if value > limit.most:
            raise UsageError(
                f"{{{name}={value}}} is more than {limit.why}: "
                f"give {{{name}}} of at most {limit.most:,}",
                settings=name,
            )

    def parse(self, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if not self._fits(value):
            raise ArgumentTypeError(f"must be {self._range()}, not {value}")
        return value

    def _fits(self, value: int) -> bool:
        return value >= self.least and (self.most is None or value <= self.most)

    def _range(self) -> str:
        if self.most is not None:
            return f"a whole number from {self.least} to {self.most}"
        return f"a whole number of at least {self.least}"


@dataclass(frozen=True)
class Amount:
    """A finite number, at least 0 (``zero``) or more than 0."""

    zero: bool = True

    def check(self, name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageError(f"{{{name}}} must be a number, not {value!r}", settings=name)
        if not self._fits(value):
            raise UsageError(f"{{{name}}} must be {self._range()}, not {value}", settings=name)
        return float(value)

    def parse(self, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ArgumentTypeError(f"expected a number, not {text!r}") from None
        if not self._fits(value):
            raise ArgumentTypeError(f"must be {self._range()}, not {text}")
        return value

    def _fits(self, value: float) -> bool:
        return math.isfinite(value) and (value > 0 or (self.zero and value == 0))

    def _range(self) -> str:
        return "a number of at least 0" if self.zero else "a number above 0"


@dataclass(frozen=True)
class Choice:
    """One of ``given`` (or of what it returns, asked each time: the providers, which plugins
    add to)."""

    given: tuple[str, ...] | Callable[[], tuple[str, ...]]

    @property
    def options(self) -> tuple[str, ...]:
        return self.given() if callable(self.given) else self.given

    def check(self, name: str, value: Any) -> str:
        if value not in self.options:
            raise UsageError(
                f"unknown {{{name}}} {value!r}; choose one of {', '.join(self.options)}",
                settings=name,
            )
        return value

    def parse(self, text: str) -> str:
        if text not in self.options:
            raise ArgumentTypeError(f"choose one of {', '.join(self.options)}, not {text!r}")
        return text


@dataclass(frozen=True)
class Switch:
    """On or off (a command-line flag that takes no value)."""

    def check(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise UsageError(f"{{{name}}} must be True or False, not {value!r}", settings=name)
        return value


@dataclass(frozen=True)
class Text:
    """A name, a path or a URI (the run checks what it names); some settings also take an object
    (a Store, a price mapping)."""

    def check(self, name: str, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise UsageError(f"{{{name}}} must not be empty", settings=name)
        return value

    def parse(self, text: str) -> str:
        return text


Kind = Whole | Amount | Choice | Switch | Text


@dataclass(frozen=True)
class Limit:
    """The most a setting may be given the others, and why (a phrase naming the limit)."""

    most: int
    why: str


def batch_size_limit(values: Mapping[str, Any]) -> Limit:
    """``batch_size`` (words) within the provider's requests a batch (its spec's limits),
    ``words_per_request`` words a request."""
    provider = resolve_provider(values["provider"])
    per_request = values["words_per_request"]
    limits = registry.batch_limits(provider)
    words = f" of {per_request} words" if per_request > 1 else ""
    return Limit(
        limits.most_batch_size(per_request),
        f"one {provider} batch holds ({limits.requests:,} requests{words})",
    )


def _limits_help() -> str:
    """The built-in paid providers' requests a batch (the help text is made at import: plugins
    are not loaded for it)."""
    paid = [s for s in map(registry.spec, registry.built_in()) if s.paid]
    return ", ".join(f"{s.limits.requests:,} on {s.title}" for s in paid)


def _model_help() -> str:
    """The model's help: left at its default, each built-in paid provider runs its own (named
    from the registry, made at import like :func:`_limits_help`)."""
    paid = [s for s in map(registry.spec, registry.built_in()) if s.paid]
    own = ", ".join(f"{s.default_model} on {s.title}" for s in paid)
    return (
        f"model; left at its default, each provider runs its own ({own}); a model the "
        "provider does not serve is refused"
    )


def setting(default: Any, kind: Kind, help: str, metavar: str | None = None) -> Any:
    """A :class:`RunConfig` field that is a user setting: a CLI flag, a notebook parameter, a
    workbench field and a keyword of the Python API, all made from this one declaration."""
    return field(default=default, metadata={"kind": kind, "help": help, "metavar": metavar})


@dataclass(frozen=True)
class RunConfig:
    """Everything a run (or a dry run) needs to know. Build with :meth:`build`, which validates.

    Every field declared with :func:`setting` is a user setting: :func:`settings` lists them for
    the command line, the notebook and the Python API."""

    words: WordList
    checkpoint: Path | None = setting(
        None,
        Text(),
        "checkpoint file (default: .synthlib/<WORDS stem>.<job key>.checkpoint.json "
        "beside the store: one per list, model, provider and versions)",
        "PATH",
    )
    batch_size: int = setting(
        DEFAULT_BATCH_SIZE,
        Whole(1, limit=batch_size_limit),
        f"words per batch job (a batch holds at most the provider's requests: {_limits_help()}; "
        "more is refused)",
        "N",
    )
    model: str = setting(
        DEFAULT_MODEL,
        Text(),
        _model_help(),
        "NAME",
    )
    store: Any = setting(  # a path, a mongodb:// URI, or a Store
        None,
        Text(),
        "entry store: a file path or a mongodb:// URI (default: $SYNTHLIB_STORE, else "
        "synthlib.db; a URI with a password is best given there)",
        "URI",
    )
    max_cost: float | None = setting(
        None,
        Amount(zero=True),
        "stop submitting before the projected spend would pass this (default: no limit)",
        "USD",
    )
    provider: str = setting(
        "auto",
        Choice(providers),
        "auto: the first provider whose API key is set (openai, anthropic, then gemini), "
        "else offline",
    )
    poll_interval: float | None = setting(  # None: 10 s for the Batch API, at once offline
        None,
        Amount(zero=False),
        f"first wait between status checks (default "
        f"{DEFAULT_POLL_INTERVAL:g}; offline: none); later waits grow to a few minutes",
        "SECONDS",
    )
    words_per_request: int = setting(
        1, Whole(1, MAX_WORDS_PER_REQUEST), "words packed into one request", "N"
    )
    max_attempts: int = setting(3, Whole(), "attempts per word before it is given up", "N")
    offline_senses: int = setting(
        8, Whole(0), "offline provider: senses per part of speech (0: all of them)", "N"
    )
    token_budget: int = setting(
        DEFAULT_TOKEN_BUDGET,
        Whole(),
        "input tokens allowed in flight (the model's enqueued-token limit)",
        "TOKENS",
    )
    prices: Mapping[str, Price] = setting(
        None, Text(), "JSON file overriding or adding model prices", "FILE"
    )
    unreachable_after: float = setting(
        DEFAULT_UNREACHABLE_AFTER,
        Amount(zero=False),
        "seconds a run keeps trying an API that does not answer its first call (server down, "
        "wrong port), or whose uploads, creates and listings keep failing while no batch is in "
        "flight, before it stops and says why",
        "SECONDS",
    )
    lost_results: str = setting(
        "retry",
        Choice(LOST_RESULTS),
        "a batch that ended but whose results file is gone (expired, deleted): retry its words "
        "(sent and paid again) or give_up (listed as results_lost); its spend is counted either "
        "way",
    )
    grounding: bool = setting(
        False, Switch(), "send each word's local dictionary senses with its request"
    )
    cancel_on_exit: bool = setting(
        False, Switch(), "on Ctrl+C, cancel batches in flight instead of leaving them to finish"
    )
    fresh: bool = setting(
        False,
        Switch(),
        "set an existing checkpoint aside and start a new run (refused while "
        "its batches are in flight and readable)",
    )
    redo: bool = setting(
        False,
        Switch(),
        "send words even when the store has their entry for this model and versions",
    )
    import_checkpoint: Path | None = setting(
        None,
        Text(),
        "the original script's checkpoint: its processed words are not sent again",
        "FILE",
    )
    imported: ImportedCheckpoint | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.import_checkpoint is not None and self.imported is None:  # built without build()
            object.__setattr__(self, "imported", read_imported_checkpoint(self.import_checkpoint))

    @classmethod
    def build(cls, words: WordsSource, *, words_name: str | None = None, **given: Any) -> RunConfig:
        """Validate every setting (None means its default; a bad or unknown one is a one-line
        :class:`UsageError`), settle what the run buys, then read the words and name the
        job's checkpoint (:func:`synthlib.engine.checkpoint.default_checkpoint`)."""
        known = settings()
        check_names(given)
        values: dict[str, Any] = {name: f.default for name, f in known.items()}
        for name, value in given.items():
            if value is not None:
                values[name] = known[name].metadata["kind"].check(name, value)
        for name, f in known.items():  # limits that depend on other settings (the provider's)
            kind = f.metadata["kind"]
            if isinstance(kind, Whole):
                kind.check_limit(name, values[name], values)
        table = registry.price_table(values["prices"])
        if registry.spec(registry.resolve(values["provider"])).paid:
            price_for(values["model"], table)  # an unknown model is an error before anything else
        source = values["import_checkpoint"]
        imported = read_imported_checkpoint(source) if source else None
        buying = _buying(values["provider"], values["model"], values["grounding"], table)
        folder = checkpoint_dir(values["store"])
        # the words last: read, then the job they make is named (its identity, its checkpoint)
        listed = words if isinstance(words, WordList) else read_words(words, name=words_name)
        identity = run_identity(
            listed, buying.provider, buying.model, values["words_per_request"], values["grounding"]
        )
        checkpoint = real_path(
            values["checkpoint"] or default_checkpoint(words, words_name, identity, folder)
        )
        config = cls(
            words=listed,
            **{
                **values,
                "checkpoint": checkpoint,
                "prices": table,
                "import_checkpoint": imported.path if imported else None,
            },
            imported=imported,
        )
        config.__dict__["bought"] = buying.bought(identity)  # (what `bought` would work out)
        return config

    @property
    def price(self) -> Price:
        return price_for(self.model, self.prices or registry.prices())

    @property
    def checkpoint_file(self) -> Path:
        """:attr:`checkpoint`, which :meth:`build` always sets (a run needs one)."""
        if self.checkpoint is None:
            raise UsageError("this RunConfig has no checkpoint: make it with RunConfig.build()")
        return self.checkpoint

    def identity(self, provider: str, model: str) -> RunIdentity:
        return run_identity(self.words, provider, model, self.words_per_request, self.grounding)

    @cached_property
    def bought(self) -> Bought:
        """What a run of these settings buys where the environment points the provider's SDK
        (see :meth:`bought_at`); :meth:`build` works it out once, reading the environment (the
        keys ``auto`` goes by, the base URL) when the settings are built, as the job's
        checkpoint is named then."""
        return self.bought_at()

    def bought_at(self, api_location: str | None = None, *, provider: str | None = None) -> Bought:
        """What a run of these settings buys: its provider (``auto`` resolved, unless
        ``provider`` is given), model, price, the purchase each word is reserved and stored
        as (at ``api_location``, else where the environment points the provider's SDK) and the
        run's identity."""
        buying = _buying(
            self.provider if provider is None else provider,
            self.model,
            self.grounding,
            self.prices or registry.prices(),
            api_location,
        )
        return buying.bought(self.identity(buying.provider, buying.model))


@dataclass(frozen=True)
class _Buying:
    """What a run buys, known before its words are read (see :class:`Bought`)."""

    provider: str
    spec: ProviderSpec
    model: str
    price: Price
    purchase: Purchase

    def bought(self, identity: RunIdentity) -> Bought:
        return Bought(self.provider, self.spec, self.model, self.price, self.purchase, identity)


def _buying(
    provider: str,
    model: str,
    grounding: bool,
    table: Mapping[str, Price],
    api_location: str | None = None,
) -> _Buying:
    """``provider`` (``auto`` resolved) and ``model`` as bought: its price in ``table`` and the
    purchase each word is reserved and stored as, at ``api_location`` (else where the
    environment points the provider's SDK)."""
    name = resolve_provider(provider)
    spec = registry.spec(name)
    bought_model = provider_model(name, model)
    # a free provider is priced as the model asked for would cost
    price = price_for(bought_model if spec.paid else model, table)
    purchase = Purchase(
        name,
        bought_model,
        prompts.prompt_version(grounding),
        schema.SCHEMA_VERSION,
        api_location or spec.api_location(),
    )
    return _Buying(name, spec, bought_model, price, purchase)


@dataclass(frozen=True)
class Bought:
    """What a run buys (see :attr:`RunConfig.bought` and :meth:`RunConfig.bought_at`)."""

    provider: str
    spec: ProviderSpec
    model: str
    price: Price
    purchase: Purchase
    identity: RunIdentity


def settings() -> dict[str, Field[Any]]:
    """The user settings, in the order the command line lists them: name -> field (its default,
    ``metadata["kind"]`` that checks and parses it, ``metadata["help"]``)."""
    return _SETTINGS


def check_names(given: Iterable[str]) -> None:
    """A one-line :class:`UsageError` for a name that is no setting (a typo)."""
    unknown = sorted(set(given) - set(_SETTINGS))
    if unknown:
        raise UsageError(
            f"unknown setting {unknown[0]!r}; the settings are: {', '.join(_SETTINGS)}"
        )


def with_settings(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``func(..., **settings)`` a signature listing every setting as a keyword with its
    default, so ``help()`` and editors show them (the settings stay declared once)."""
    signature = inspect.signature(func)
    own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    listed = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=f.default)
        for name, f in settings().items()
    ]
    func.__signature__ = signature.replace(parameters=own + listed)  # type: ignore[attr-defined]
    lines = [f"    {name}: {f.metadata['help']}" for name, f in settings().items()]
    doc = inspect.cleandoc(func.__doc__ or "")
    func.__doc__ = f"{doc}\n\nSettings (None: the default):\n" + "\n".join(lines)
    return func


def provider_model(provider: str, model: str) -> str:
    """The model name recorded for ``provider``: ``model``, or the provider's default model
    when ``model`` is the run's default (:data:`DEFAULT_MODEL`) and not one of its own; a free
    provider (offline) always records its own (it names its sources). A model of another
    provider is a :class:`UsageError`."""
    spec = registry.spec(provider)
    if not spec.paid:
        return spec.default_model
    if spec.owns_model(model):
        return model
    owner = next((s for s in registry.specs() if s.owns_model(model)), None)
    if spec.takes_any_model:
        if owner is None:
            return model  # a model only a compatible server knows
        raise UsageError(
            f"{model} is {owner.model_kind}: {{pass provider={owner.name}}}", settings="provider"
        )
    if model == DEFAULT_MODEL and spec.default_model:
        return spec.default_model
    raise UsageError(
        f"{{provider={spec.name}}} takes {spec.model_kind}, not {model!r}", settings="provider"
    )


def poll_interval_for(config: RunConfig, provider: str) -> float:
    """The first wait between status checks: the user's, else one suited to the provider (the
    offline provider finishes a batch as it is created)."""
    if config.poll_interval is not None:
        return config.poll_interval
    first = registry.spec(provider).first_poll_interval
    return DEFAULT_POLL_INTERVAL if first is None else first


def resolve_provider(provider: str) -> str:
    """``auto`` is the first provider whose API key is set (OpenAI, Anthropic, then Gemini;
    see :func:`synthlib.providers.registry.auto`), otherwise the offline provider."""
    return registry.resolve(provider)


_SETTINGS: dict[str, Field[Any]] = {f.name: f for f in fields(RunConfig) if "kind" in f.metadata}
