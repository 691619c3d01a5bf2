"""A run's settings, checked in one place for the terminal, the notebook and the Python API."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import prompts, schema
from .checkpoint import RunIdentity
from .errors import UsageError
from .pricing import DEFAULT_MODEL, Price, price_for, price_table
from .shards import DEFAULT_BATCH_SIZE, DEFAULT_TOKEN_BUDGET
from .words import WordList, read_words

PROVIDERS = ("auto", "openai", "offline")
DEFAULT_POLL_INTERVAL = 10.0
OFFLINE_POLL_INTERVAL = 0.05
MAX_WORDS_PER_REQUEST = 20

WordsSource = str | os.PathLike[str] | bytes | Iterable[str] | WordList


@dataclass(frozen=True)
class RunConfig:
    """Everything a run (or a dry run) needs to know. Build with :meth:`build`, which validates."""

    words: WordList
    model: str = DEFAULT_MODEL
    provider: str = "auto"
    checkpoint: Path | None = None
    store: Any = None  # a path, a mongodb:// URI, or a Store
    batch_size: int = DEFAULT_BATCH_SIZE
    words_per_request: int = 1
    max_cost: float | None = None
    max_attempts: int = 3
    poll_interval: float | None = None  # None: 10 s for the Batch API, at once offline
    token_budget: int = DEFAULT_TOKEN_BUDGET
    grounding: bool = False
    prices: Mapping[str, Price] = field(default_factory=dict)
    cancel_on_exit: bool = False
    fresh: bool = False

    @classmethod
    def build(
        cls,
        words: WordsSource,
        *,
        model: str = DEFAULT_MODEL,
        provider: str = "auto",
        checkpoint: str | os.PathLike[str] | None = None,
        store: Any = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        words_per_request: int = 1,
        max_cost: float | None = None,
        max_attempts: int = 3,
        poll_interval: float | None = None,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        grounding: bool = False,
        prices: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        cancel_on_exit: bool = False,
        fresh: bool = False,
        words_name: str | None = None,
    ) -> RunConfig:
        """Validate every setting; a bad one is a one-line :class:`UsageError`."""
        _positive_int("batch_size", batch_size)
        _positive_int("words_per_request", words_per_request)
        _positive_int("max_attempts", max_attempts)
        _positive_int("token_budget", token_budget)
        if words_per_request > MAX_WORDS_PER_REQUEST:
            raise UsageError(f"words_per_request must be at most {MAX_WORDS_PER_REQUEST}")
        if max_cost is not None:
            _number("max_cost", max_cost)
        if poll_interval is not None:
            _number("poll_interval", poll_interval, allow_zero=False)
        if provider not in PROVIDERS:
            raise UsageError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
        table = price_table(prices)
        if provider != "offline":
            price_for(model, table)  # an unknown model is an error before anything else
        word_list = words if isinstance(words, WordList) else read_words(words, name=words_name)
        if checkpoint is None:
            checkpoint = default_checkpoint(words, words_name)
        return cls(
            words=word_list,
            model=model,
            provider=provider,
            checkpoint=Path(checkpoint),
            store=store,
            batch_size=batch_size,
            words_per_request=words_per_request,
            max_cost=max_cost,
            max_attempts=max_attempts,
            poll_interval=None if poll_interval is None else float(poll_interval),
            token_budget=token_budget,
            grounding=grounding,
            prices=table,
            cancel_on_exit=cancel_on_exit,
            fresh=fresh,
        )

    @property
    def price(self) -> Price:
        return price_for(self.model, self.prices or None)

    def identity(self, provider: str, model: str) -> RunIdentity:
        return RunIdentity(
            words_sha256=self.words.fingerprint,
            word_count=len(self.words),
            model=model,
            provider=provider,
            prompt_version=prompts.PROMPT_VERSION,
            schema_version=schema.SCHEMA_VERSION,
            words_per_request=self.words_per_request,
            grounded=self.grounding,
        )


def poll_interval_for(config: RunConfig, provider: str) -> float:
    """The first wait between status checks: the user's, else one suited to the provider (the
    offline provider finishes a batch as it is created)."""
    if config.poll_interval is not None:
        return config.poll_interval
    return OFFLINE_POLL_INTERVAL if provider == "offline" else DEFAULT_POLL_INTERVAL


def resolve_provider(provider: str) -> str:
    """``auto`` is OpenAI when ``OPENAI_API_KEY`` is set, otherwise the offline provider."""
    if provider == "auto":
        return "openai" if os.environ.get("OPENAI_API_KEY") else "offline"
    return provider


def default_checkpoint(words: Any, name: str | None = None) -> Path:
    """``<word file stem>.checkpoint.json`` in the working directory."""
    if name:
        stem = Path(name).stem
    elif isinstance(words, str | os.PathLike):
        stem = Path(words).stem
    else:
        stem = "words"
    return Path(f"{stem}.checkpoint.json")


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a whole number of at least 1, not {value!r}")


def _number(name: str, value: object, *, allow_zero: bool = True) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"{name} must be a number, not {value!r}")
    if value < 0 or (not allow_zero and value == 0):
        raise UsageError(
            f"{name} must be {'at least' if allow_zero else 'more than'} 0, not {value}"
        )
