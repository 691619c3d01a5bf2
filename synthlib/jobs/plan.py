"""The Python API: ``dry_run`` and ``run`` (the terminal and the notebook call these too)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core.cost import Estimate, estimate
from ..core.pricing import price_for
from ..core.prompts import prompt_version
from ..core.schema import SCHEMA_VERSION
from ..engine.checkpoint import Checkpoint
from ..engine.ledger import expected_api_location
from ..engine.skip import held_elsewhere, mark_already_done, refuse_fresh_over_flights
from ..engine.state import RunState
from ..providers import registry
from ..store import Store, default_store, using_store
from ..store.ledger import Purchase
from .config import RunConfig, WordsSource, provider_model, resolve_provider, with_settings

__all__ = ["dry_run", "estimate_config", "prepared_state", "provider_model"]


@with_settings
def dry_run(words: WordsSource, *, words_name: str | None = None, **settings: Any) -> Estimate:
    """Estimate a run's tokens and cost without contacting any API.

    Reads the word list (a path, bytes or an iterable of words) and, when they exist, the
    checkpoint (default ``<word file stem>.<job key>.checkpoint.json``, see
    :func:`synthlib.jobs.config.default_checkpoint`), the store (unless ``redo``) and
    ``import_checkpoint`` to count words already processed, as the run will. Token counts are
    exact (tiktoken, offline); output tokens use the run's measured average when the checkpoint
    has results, else the schema version's documented default.
    """
    return estimate_config(RunConfig.build(words, words_name=words_name, **settings))


def estimate_config(
    config: RunConfig,
    state: RunState | None = None,
    reference: Mapping[str, Any] | None = None,
    api_location: str | None = None,
) -> Estimate:
    """The estimate for ``config``, counting what ``state`` has done; without ``state``, what the
    checkpoint on disk, the store and an imported checkpoint say is done (as a run would count
    it; nothing is written). ``reference`` is the grounding material when the caller has it;
    ``api_location`` where the run buys, when its backend is known (else the environment's)."""
    provider = resolve_provider(config.provider)
    notes: list[str] = []
    held: set[str] = set()
    if state is None:
        state, notes = prepared_state(config, provider, api_location=api_location)
        held = _held_by_other_runs(config, provider, state, api_location)
    measured_words = measured_output = 0
    retry_share = 0.0
    spec = registry.spec(provider)
    if state is not None and spec.paid:
        measured_words = sum(b.get("words", 0) for b in state.finished)
        measured_output = state.usage.output_tokens
        if state.usage.cost_usd > 0:
            retry_share = state.failed_cost / state.usage.cost_usd
    if config.grounding and reference is None:
        from ..lexicon.grounding import references

        reference = references()
    # the provider's model (Anthropic's default is a Claude model); offline: what the model
    # asked for would cost
    price = config.price
    if spec.paid:
        price = price_for(
            provider_model(provider, config.model), config.prices or registry.prices()
        )
    est = estimate(
        config.words,
        price,
        provider=provider,
        tokens=spec.tokens,
        limits=spec.limits,
        free=not spec.paid,
        processed=state.done if state else (),
        in_flight=state.in_flight_words() if state else (),
        given_up=state.given_up if state else (),
        held=held,
        batch_size=config.batch_size,
        words_per_request=config.words_per_request,
        token_budget=config.token_budget,
        measured_output_per_word=measured_output / measured_words if measured_words else None,
        measured_words=measured_words,
        retry_share=retry_share,
        reference=reference if config.grounding else None,
        track=_counting_bar,
    )
    return replace(
        est,
        checkpoint=str(config.checkpoint) if config.checkpoint is not None else None,
        notes=tuple(notes),
    )


def prepared_state(
    config: RunConfig, provider: str, store: Any = None, *, api_location: str | None = None
) -> tuple[RunState, list[str]]:
    """The state a run of ``config`` would start from (its checkpoint, then the words done
    elsewhere), and the notices it would show; reads only. ``store`` is the store the run will
    use (a pilot's own view of it); by default the one at ``config.store``, when it exists."""
    model = provider_model(provider, config.model)
    state = None
    if config.checkpoint is not None and config.fresh:
        refuse_fresh_over_flights(config.checkpoint)
    elif config.checkpoint is not None and config.checkpoint.exists():
        identity = config.identity(provider, model)
        state = Checkpoint.load(
            config.checkpoint, identity, config.words, max_attempts=config.max_attempts
        ).state
    if state is None:
        state = RunState(words=tuple(config.words), max_attempts=config.max_attempts)
    if store is not None:
        return state, _mark_done(state, config, provider, model, store, api_location)
    with store_if_any(config.store) as opened:
        return state, _mark_done(state, config, provider, model, opened, api_location)


def _mark_done(
    state: RunState,
    config: RunConfig,
    provider: str,
    model: str,
    store: Any,
    api_location: str | None,
) -> list[str]:
    return mark_already_done(
        state,
        config.words,
        store=store,
        model=model,
        redo=config.redo,
        imported=config.imported,
        prompt_version=prompt_version(config.grounding),
        api_location=api_location or expected_api_location(provider),
    )


def _held_by_other_runs(
    config: RunConfig, provider: str, state: RunState, api_location: str | None
) -> set[str]:
    """The words still to do that other runs' live batches hold in the store's ledger: a run
    waits for them (or adopts a gone run's batch) instead of buying them. Reads only."""
    busy = state.in_flight_words()
    todo = [w for w in config.words if w not in state.done and w not in busy]
    if not todo:
        return set()
    purchase = Purchase(
        provider,
        provider_model(provider, config.model),
        prompt_version(config.grounding),
        SCHEMA_VERSION,
        api_location or expected_api_location(provider),
    )
    with store_if_any(config.store) as store:
        return {r.word for r in held_elsewhere(store, purchase, todo, config.checkpoint)}


LONG_LIST = 200_000  # words: below this a dry run is done before a bar would be worth drawing


def _counting_bar(sizes: Iterator[Any], words: int) -> Iterable[Any]:
    """A tqdm bar (a widget in a notebook, text on a terminal, nothing in a pipe) while the
    tokens of a long list are counted."""
    if words < LONG_LIST:
        return sizes
    from tqdm.auto import tqdm

    bar = tqdm(
        total=words,
        desc="Counting tokens",
        unit=" words",
        unit_scale=True,
        mininterval=0.5,
        leave=False,
        disable=None,
    )
    if bar.disable:  # not a terminal nor a notebook: no bar, and no cost per word
        return sizes

    def counted() -> Iterator[Any]:
        with bar:
            for size in sizes:  # (items, words, tokens, bytes)
                bar.update(size[1])
                yield size

    return counted()


@contextmanager
def store_if_any(location: Any) -> Iterator[Store | None]:
    """The store at ``location``, or None when it is a file that does not exist yet (an estimate
    creates nothing)."""
    if location is None or isinstance(location, str | os.PathLike):
        path = (os.fspath(location) if location is not None else default_store()).strip()
        path = path.removeprefix("sqlite://")
        if "://" not in path and not Path(path).exists():
            yield None
            return
    with using_store(location) as store:
        yield store
