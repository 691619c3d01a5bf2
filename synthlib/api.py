"""The Python API: ``dry_run`` and ``run`` (the terminal and the notebook call these too)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .checkpoint import Checkpoint
from .config import RunConfig, WordsSource, resolve_provider
from .cost import Estimate, estimate
from .pricing import DEFAULT_MODEL
from .shards import DEFAULT_BATCH_SIZE, DEFAULT_TOKEN_BUDGET
from .state import RunState


def dry_run(
    words: WordsSource,
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    model: str = DEFAULT_MODEL,
    batch_size: int = DEFAULT_BATCH_SIZE,
    words_per_request: int = 1,
    provider: str = "auto",
    prices: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    grounding: bool = False,
    max_cost: float | None = None,
    words_name: str | None = None,
) -> Estimate:
    """Estimate a run's tokens and cost without contacting any API.

    Reads the word list (a path, bytes or an iterable of words) and, when it exists, the
    checkpoint (default ``<word file stem>.checkpoint.json``) to count words already processed.
    Token counts are exact (tiktoken, offline); output tokens use the run's measured average when
    the checkpoint has results, else the schema version's documented default.
    """
    config = RunConfig.build(
        words,
        model=model,
        provider=provider,
        checkpoint=checkpoint,
        batch_size=batch_size,
        words_per_request=words_per_request,
        prices=prices,
        token_budget=token_budget,
        grounding=grounding,
        max_cost=max_cost,
        words_name=words_name,
    )
    return estimate_config(config)


def estimate_config(
    config: RunConfig,
    state: RunState | None = None,
    reference: Mapping[str, Any] | None = None,
) -> Estimate:
    """The estimate for ``config``, counting what ``state`` (or the checkpoint on disk) has done;
    ``reference`` is the grounding material when the caller already has it."""
    provider = resolve_provider(config.provider)
    if state is None:
        state = _existing_state(config, provider)
    measured_words = measured_output = 0
    if state is not None and provider == "openai":
        measured_words = sum(b.get("words", 0) for b in state.finished)
        measured_output = state.usage.output_tokens
    if config.grounding and reference is None:
        from .grounding import references

        reference = references()
    return estimate(
        config.words,
        config.price,
        provider=provider,
        processed=state.done if state else (),
        in_flight=state.in_flight_words() if state else (),
        given_up=state.given_up if state else (),
        batch_size=config.batch_size,
        words_per_request=config.words_per_request,
        token_budget=config.token_budget,
        measured_output_per_word=measured_output / measured_words if measured_words else None,
        measured_words=measured_words,
        reference=reference if config.grounding else None,
    )


def _existing_state(config: RunConfig, provider: str) -> RunState | None:
    if config.checkpoint is None or not config.checkpoint.exists() or config.fresh:
        return None
    identity = config.identity(provider, provider_model(provider, config.model))
    return Checkpoint.load(
        config.checkpoint, identity, config.words, max_attempts=config.max_attempts
    ).state


def provider_model(provider: str, model: str) -> str:
    """The model name recorded for ``provider`` (the offline provider names its sources)."""
    if provider == "offline":
        from .backends.offline import OFFLINE_MODEL

        return OFFLINE_MODEL
    return model
