"""The Python API: ``dry_run`` and ``run`` (the terminal and the notebook call these too)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from ..core.cost import Estimate, estimate
from ..engine.start import Start, starting_point
from .config import Bought, RunConfig, WordsSource, provider_model, with_settings

__all__ = ["dry_run", "estimate_config", "provider_model", "starting_point_of"]


@with_settings
def dry_run(words: WordsSource, *, words_name: str | None = None, **settings: Any) -> Estimate:
    """Estimate a run's tokens and cost without contacting any API.

    Reads the word list (a path, bytes or an iterable of words) and, when they exist, the
    checkpoint (default ``<word file stem>.<job key>.checkpoint.json``, see
    :func:`synthlib.engine.checkpoint.default_checkpoint`), the store (unless ``redo``) and
    ``import_checkpoint`` to count words already processed, as the run will. Token counts are
    exact (tiktoken, offline); output tokens use the run's measured average when the checkpoint
    has results, else the schema version's documented default.
    """
    config = RunConfig.build(words, words_name=words_name, **settings)
    return estimate_config(config)


def estimate_config(
    config: RunConfig,
    *,
    bought: Bought | None = None,
    start: Start | None = None,
    reference: Mapping[str, Any] | None = None,
) -> Estimate:
    """The estimate for ``config`` bought as ``bought`` (by default :attr:`RunConfig.bought`),
    counting what ``start`` says is done and held; by default what the checkpoint on disk, the
    store and an imported checkpoint say (:func:`starting_point_of`: as a run would count it;
    nothing is written). ``reference`` is the grounding material when the caller has it."""
    bought = bought or config.bought
    start = start or starting_point_of(config, bought)
    state = start.state
    measured_words = measured_output = 0
    retry_share = 0.0
    if bought.spec.paid:
        measured_words = sum(b.get("words", 0) for b in state.finished)
        measured_output = state.usage.output_tokens
        if state.usage.cost_usd > 0:
            retry_share = state.failed_cost / state.usage.cost_usd
    if config.grounding and reference is None:
        from ..lexicon.grounding import references

        reference = references()
    est = estimate(
        config.words,
        bought.price,
        provider=bought.provider,
        tokens=bought.spec.tokens,
        limits=bought.spec.limits,
        free=not bought.spec.paid,
        processed=state.done,
        in_flight=state.in_flight_words(),
        given_up=state.given_up,
        held=start.held,
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
        notes=start.notes,
    )


def starting_point_of(
    config: RunConfig, bought: Bought, store: Any = None, *, count_paid: bool = False
) -> Start:
    """Where a run of ``config`` bought as ``bought`` starts
    (:func:`synthlib.engine.start.starting_point`): its checkpoint, the words done elsewhere and
    held by others (and, with ``count_paid``, the store's paid entries of its words); reads
    only. ``store`` is the store the run will use (a pilot's own view of it, a job's open
    store); by default the one at ``config.store``."""
    return starting_point(
        config.words,
        bought.purchase,
        checkpoint=config.checkpoint,
        identity=bought.identity,
        fresh=config.fresh,
        max_attempts=config.max_attempts,
        store=store if store is not None else config.store,
        redo=config.redo,
        imported=config.imported,
        count_paid=count_paid,
    )


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
