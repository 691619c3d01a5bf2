"""Where a run starts, read without writing: its checkpoint's state, then the words done
elsewhere (the store, its pilot area, an imported checkpoint) and the words other runs' batches
hold in the store's ledger. A dry run and a run count alike because both start here."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.words import WordList
from ..store import store_if_any
from ..store.ledger import Purchase
from .checkpoint import Checkpoint, RunIdentity, refuse_fresh_over_flights
from .skip import (
    ImportedCheckpoint,
    held_elsewhere,
    held_notice,
    mark_already_done,
    paid_entries,
)
from .state import RunState


@dataclass(frozen=True)
class Start:
    """What a run starts from: its state, the notices it shows, the words others hold."""

    state: RunState
    notes: tuple[str, ...] = ()
    held: frozenset[str] = field(default_factory=frozenset)
    holders: tuple[str, ...] = ()  # the runs whose batches hold them
    paid: Mapping[str, int] = field(default_factory=dict)  # paid entries of the words, by model

    @property
    def held_notice(self) -> str | None:
        """What a run about to start says of the words other runs' batches hold, or None."""
        return held_notice(len(self.held), self.holders)


def starting_point(
    words: WordList | Sequence[str],
    purchase: Purchase,
    *,
    checkpoint: Path | None,
    identity: RunIdentity,
    fresh: bool = False,
    max_attempts: int = 3,
    store: Any = None,
    redo: bool = False,
    imported: ImportedCheckpoint | None = None,
    count_paid: bool = False,
) -> Start:
    """The state a run of ``words`` bought as ``purchase`` starts from: the checkpoint's (unless
    ``fresh``, which must not set aside batches in flight), then the words the store (at
    ``store``: a location, or an open store such as a pilot's own view) or ``imported`` have
    done, and the words still to do that other runs hold; with ``count_paid``, the words' paid
    entries in the store (what a run falling back to the offline provider says). Reads only."""
    state = None
    if checkpoint is not None and fresh:
        refuse_fresh_over_flights(checkpoint)
    elif checkpoint is not None and checkpoint.exists():
        state = Checkpoint.load(checkpoint, identity, words, max_attempts=max_attempts).state
    if state is None:
        state = RunState(words=tuple(words), max_attempts=max_attempts)
    given = store is None or isinstance(store, str | os.PathLike)
    with store_if_any(store) if given else nullcontext(store) as opened:
        notes = mark_already_done(
            state,
            words,
            store=opened,
            model=purchase.model,
            redo=redo,
            imported=imported,
            prompt_version=purchase.prompt_version,
            api_location=purchase.api_location,
        )
        busy = state.in_flight_words()
        todo = [w for w in words if w not in state.done and w not in busy]
        held = held_elsewhere(opened, purchase, todo, checkpoint) if todo else []
        paid = paid_entries(opened, words) if count_paid else {}
    return Start(
        state,
        tuple(notes),
        frozenset(r.word for r in held),
        tuple(sorted({r.run_id for r in held})),
        paid,
    )
