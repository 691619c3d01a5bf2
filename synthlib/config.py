"""A run's settings, checked in one place for the terminal, the notebook and the Python API."""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import prompts, schema
from .checkpoint import RunIdentity, read_raw
from .errors import CheckpointError, UsageError
from .pricing import DEFAULT_MODEL, Price, price_for, price_table
from .shards import DEFAULT_BATCH_SIZE, DEFAULT_TOKEN_BUDGET
from .skip import ImportedCheckpoint, read_imported_checkpoint
from .store import DEFAULT_STORE
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
    redo: bool = False  # send words even when the store has their entry for this model/versions
    import_checkpoint: Path | None = None  # a checkpoint whose processed words count as done
    imported: ImportedCheckpoint | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.import_checkpoint is not None and self.imported is None:  # built without build()
            object.__setattr__(self, "imported", read_imported_checkpoint(self.import_checkpoint))

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
        redo: bool = False,
        import_checkpoint: str | os.PathLike[str] | None = None,
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
        imported = read_imported_checkpoint(import_checkpoint) if import_checkpoint else None
        if checkpoint is None:
            resolved = resolve_provider(provider)
            identity = run_identity(
                word_list, resolved, provider_model(resolved, model), words_per_request, grounding
            )
            checkpoint = default_checkpoint(words, words_name, identity, checkpoint_dir(store))
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
            redo=redo,
            import_checkpoint=imported.path if imported else None,
            imported=imported,
        )

    @property
    def price(self) -> Price:
        return price_for(self.model, self.prices or None)

    def identity(self, provider: str, model: str) -> RunIdentity:
        return run_identity(self.words, provider, model, self.words_per_request, self.grounding)


def run_identity(
    words: WordList, provider: str, model: str, words_per_request: int, grounding: bool
) -> RunIdentity:
    """What makes two runs the same run (see :class:`RunIdentity`)."""
    return RunIdentity(
        words_sha256=words.fingerprint,
        word_count=len(words),
        model=model,
        provider=provider,
        prompt_version=prompts.PROMPT_VERSION,
        schema_version=schema.SCHEMA_VERSION,
        words_per_request=words_per_request,
        grounded=grounding,
    )


def provider_model(provider: str, model: str) -> str:
    """The model name recorded for ``provider`` (the offline provider names its sources)."""
    if provider == "offline":
        from .backends.offline import OFFLINE_MODEL

        return OFFLINE_MODEL
    return model


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


CHECKPOINT_DIR = ".synthlib"


def checkpoint_dir(store: Any = None) -> Path:
    """Where default checkpoints live: a ``.synthlib`` folder beside the store file (the working
    directory's for the default store and for MongoDB), so runs keep one tidy place whatever
    folder they are started from."""
    location = store if store is not None else DEFAULT_STORE
    if not isinstance(location, str | os.PathLike):
        location = getattr(location, "location", "")  # a Store
    location = os.fspath(location).strip().removeprefix("sqlite://")
    if not location or "://" in location:
        return Path(CHECKPOINT_DIR)
    return Path(location).parent / CHECKPOINT_DIR


def default_checkpoint(
    words: Any,
    name: str | None = None,
    identity: RunIdentity | None = None,
    folder: Path = Path(CHECKPOINT_DIR),
) -> Path:
    """``<folder>/<word file stem>.<job key>.checkpoint.json`` (``folder`` is
    :func:`checkpoint_dir`): the key (8 hex digits, :func:`job_key`) stands for the job (list
    content, model, provider, versions), so the same job resumes and a new list is a new job.
    Without ``identity``, ``<stem>.checkpoint.json`` in the working directory (the name before
    job keys, still used when such a checkpoint of this very job is found)."""
    if name:
        stem = Path(name).stem
    elif isinstance(words, str | os.PathLike):
        stem = Path(words).stem
    else:
        stem = "words"
    unkeyed = Path(f"{stem}.checkpoint.json")
    if identity is None:
        return unkeyed
    keyed = folder / f"{stem}.{job_key(identity)}.checkpoint.json"
    if not keyed.exists() and unkeyed.exists() and _belongs_to(unkeyed, identity):
        return unkeyed  # a run started before checkpoints were keyed: resume it
    return keyed


def job_key(identity: RunIdentity) -> str:
    """8 hex digits standing for a run identity."""
    text = json.dumps(asdict(identity), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _belongs_to(path: Path, identity: RunIdentity) -> bool:
    try:
        return RunIdentity(**read_raw(path)["run"]) == identity
    except (CheckpointError, TypeError):
        return False


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
