"""Words a run does not send: those already done elsewhere.

Two sources, both applied when a run (or a dry run) is prepared, through one state event
(``already_done``) so the estimate and the run skip the same words:

- the store: a word with an entry made with the same model, prompt version and schema version is
  never sent again, whatever the checkpoint says (``redo`` turns this check off);
- an imported checkpoint (``import_checkpoint``): the original script's checkpoint (a JSON object
  with ``processed_words``, ``failed_words`` {word: reason}, ``start_time``, ``total_cost``,
  ``total_tokens``, ``timestamp``), or a synthlib checkpoint; its processed words are done.

Words in flight are never touched: their batch is collected as usual.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import prompts, schema
from ..core.errors import CheckpointError, Said, WordListError
from ..core.requests import bucket_of
from ..core.schema import Failure
from ..core.words import WordList, normalise
from ..store.ledger import Reservation
from .checkpoint import FORMAT, Checkpoint, RunIdentity, read_raw
from .events import Event
from .state import RunState

log = logging.getLogger("synthlib")


@dataclass(frozen=True)
class ImportedCheckpoint:
    """What an imported checkpoint says was done (words normalised as word lists are)."""

    path: Path
    processed: tuple[str, ...]
    failed: int = 0
    total_cost: float | None = None
    total_tokens: int | None = None
    start_time: str | None = None
    synthlib: bool = False  # a synthlib checkpoint rather than the original script's


def read_imported_checkpoint(path: str | os.PathLike[str]) -> ImportedCheckpoint:
    """Read a checkpoint to import; anything unusable is a one-line :class:`CheckpointError`
    naming the file (and the line, for bad JSON)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint to import") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a directory, not a checkpoint to import") from None
    except OSError as exc:
        reason = exc.strerror or exc
        raise CheckpointError(f"{path}: cannot read the checkpoint to import: {reason}") from None
    try:
        data = json.loads(raw.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise CheckpointError(
            f"{path}:{line}: not a checkpoint to import (not UTF-8 text)"
        ) from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"{path}:{exc.lineno}: not a checkpoint to import (not valid JSON: {exc.msg})"
        ) from None
    if not isinstance(data, dict) or "processed_words" not in data:
        raise CheckpointError(
            f'{path}: not a checkpoint to import: needs a JSON object with "processed_words" '
            "(a list of words), as the original script writes"
        )
    processed = data["processed_words"]
    if not isinstance(processed, list):
        raise CheckpointError(
            f'{path}: not a checkpoint to import: "processed_words" is not a list'
        )
    for number, word in enumerate(processed, start=1):
        if not isinstance(word, str):
            raise CheckpointError(
                f'{path}: not a checkpoint to import: "processed_words" item {number} is not a '
                "string"
            )
    failed = data.get("failed_words") or {}
    if not isinstance(failed, dict | list):
        raise CheckpointError(
            f'{path}: not a checkpoint to import: "failed_words" is not an object {{word: reason}}'
        )
    words = list(processed)
    synthlib = data.get("format") == FORMAT
    if synthlib:  # steps since its last snapshot are in its journal
        words += _synthlib_done(path, data)
    return ImportedCheckpoint(
        path=path,
        processed=tuple(dict.fromkeys(w for w in map(_normal, words) if w)),
        failed=len(failed),
        total_cost=_number(data.get("total_cost")),
        total_tokens=_whole(data.get("total_tokens")),
        start_time=data.get("start_time") if isinstance(data.get("start_time"), str) else None,
        synthlib=synthlib,
    )


def _synthlib_done(path: Path, data: dict[str, Any]) -> list[str]:
    try:
        identity = RunIdentity(**data["run"])
        return list(Checkpoint.load(path, identity, ()).state.done)
    except (CheckpointError, KeyError, TypeError):
        return []  # the snapshot's processed_words only


def _normal(word: str) -> str | None:
    try:
        return normalise(word, comments=False)
    except WordListError:
        return None  # cannot be a word of any list


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def mark_already_done(
    state: RunState,
    words: WordList | Sequence[str],
    *,
    store: Any,
    model: str,
    redo: bool = False,
    imported: ImportedCheckpoint | None = None,
    record: Callable[[Event], None] | None = None,
    prompt_version: str = prompts.PROMPT_VERSION,
    api_location: str | None = None,
) -> list[str]:
    """Mark done the words of ``words`` that are done elsewhere; returns notices for the user.

    ``store`` (None: no store to ask) is asked unless ``redo``, for entries of this model,
    ``prompt_version`` (grounding is a version of its own), schema version and ``api_location``
    (an entry made against an emulator is not one bought from the real API; None: anywhere);
    ``imported`` is an imported checkpoint. Each source that adds words is one ``already_done``
    event, passed to ``record`` (a checkpoint's ``record``, so it is journalled) or applied to
    ``state``."""
    apply = record or state.apply
    notices: list[str] = []
    if store is not None and not redo:
        found = store.words_made_with(
            _open_words(state, words),
            model=model,
            prompt_version=prompt_version,
            schema_version=schema.SCHEMA_VERSION,
            api_location=api_location,
        )
        if found:
            ordered = [w for w in words if w in found]
            apply(state.event("already_done", words=ordered, source="store"))
            at = f", {api_location}" if api_location else ""
            notices.append(
                Said(
                    f"{len(ordered):,} words already in the store for {model} (prompt "
                    f"{prompt_version}, schema {schema.SCHEMA_VERSION}{at}): not sent again "
                    "({redo=True} sends them)",
                    "redo",
                )
            )
    if store is not None and not redo and hasattr(store, "iter_pilot_entries"):
        notices += _from_pilot(
            state,
            words,
            store,
            model,
            apply,
            copy=record is not None,
            prompt_version=prompt_version,
            api_location=api_location,
        )
    if imported is not None:
        open_words = set(_open_words(state, words))
        new = [w for w in imported.processed if w in open_words]
        if new:
            apply(state.event("already_done", words=new, source="import", file=str(imported.path)))
        in_list = sum(1 for w in imported.processed if w in words)
        notices.append(_import_notice(imported, len(new), in_list))
    for notice in notices:
        log.info(notice)
    return notices


def _from_pilot(
    state: RunState,
    words: WordList | Sequence[str],
    store: Any,
    model: str,
    apply: Callable[[Event], object],
    *,
    copy: bool,
    prompt_version: str,
    api_location: str | None,
) -> list[str]:
    """Words a pilot already resolved with this model and these versions (``prompt_version``:
    grounding is a version of its own) at ``api_location`` (or before locations were recorded;
    None: anywhere): its entries copied from the store's pilot area into the store's entries
    (``copy``: a run; a dry run only counts) and marked done; its final verdicts (``not_a_word``)
    recorded and given up. Neither is sent."""
    open_words = _open_words(state, words)
    versions = (prompt_version, schema.SCHEMA_VERSION)
    places = None if api_location is None else (api_location, "")
    kept: dict[str, Any] = {}
    for entry in store.iter_pilot_entries(None, model, open_words):
        if (entry.prompt_version, entry.schema_version) == versions and (
            places is None or (entry.api_location or "") in places
        ):
            kept.setdefault(entry.word, entry)
    judged: dict[str, Any] = {}
    wanted = set(open_words) - set(kept)
    for _, failure in store.iter_pilot_failures(None, model):
        if failure.word in wanted and Failure.parse(failure.reason).final:
            judged.setdefault(failure.word, failure)
    notices: list[str] = []
    if kept:
        if copy:
            store.upsert_entries(kept.values())
        ordered = [w for w in words if w in kept]
        # the pilot's answers measure this model's entries: the run's output limits start there
        measured: dict[str, int] = {}
        for entry in kept.values():
            if entry.output_tokens:
                bucket = str(bucket_of(entry.output_tokens))
                measured[bucket] = measured.get(bucket, 0) + 1
        apply(state.event("already_done", words=ordered, source="pilot", measured=measured))
        notices.append(
            Said(
                f"{len(ordered):,} words already made by a pilot with {model}: "
                f"{'copied into the store, ' if copy else ''}not sent again "
                "({redo=True} sends them)",
                "redo",
            )
        )
    if judged:
        if copy:
            store.record_failures(judged.values())
        failed = {w: judged[w].reason for w in words if w in judged}
        apply(state.event("already_given_up", failed=failed, source="pilot"))
        notices.append(
            Said(
                f"{len(failed):,} words a pilot with {model} judged for good (e.g. not a word): "
                "not sent again ({redo=True} sends them)",
                "redo",
            )
        )
    return notices


def paid_entries(store: Any, words: WordList | Sequence[str]) -> dict[str, int]:
    """How many of ``words`` have a paid entry in ``store``, by ``provider model`` (what a run
    falling back to the offline provider should tell before it makes offline entries)."""
    if store is None:
        return {}
    found: dict[str, int] = {}
    for record in store.iter_entries(words=list(words), prefer="paid"):
        if record.paid:
            name = f"{record.provider} {record.model}"
            found[name] = found.get(name, 0) + 1
    return found


def held_elsewhere(
    store: Any, purchase: Any, words: Iterable[str], checkpoint: Path | None
) -> list[Reservation]:
    """The live reservations of ``words`` (for ``purchase``) that runs other than the run of
    ``checkpoint`` (a resume) hold in the store's ledger; reads only."""
    if store is None or not hasattr(store, "reservations"):
        return []
    own = ""
    if checkpoint is not None and checkpoint.exists():
        try:
            own = str(read_raw(checkpoint).get("run_id", ""))
        except CheckpointError:
            own = ""
    return [r for r in store.reservations(purchase, words) if r.run_id != own]


def held_notice(held: int, runs: Sequence[str]) -> str | None:
    """What a run about to start says of ``held`` words to do that the batches of ``runs`` (other
    runs) hold in the store's ledger: they are not sent; the run waits for their entries, or
    adopts a batch whose run is gone. None when no word is held."""
    if not held:
        return None
    return (
        f"{held:,} of these words are reserved by the batches of {len(runs)} other run(s) "
        f"({', '.join(runs[:3])}{', ...' if len(runs) > 3 else ''}) on this store: they are not "
        "sent again; this run waits for their entries (or adopts a batch whose run is gone)"
    )


def fallback_notice(paid: Mapping[str, int], words: int) -> Said:
    """What a run that fell back to the offline provider (no API key) says when the store has
    paid entries of its words."""
    total = sum(paid.values())
    made = ", ".join(f"{n:,} by {name}" for name, n in sorted(paid.items()))
    return Said(
        f"No API key is set, so provider auto falls back to the offline provider; but the store "
        f"has paid entries for {total:,} of these {words:,} words ({made}). Offline entries are "
        "kept beside them and never replace them. Set OPENAI_API_KEY (or ANTHROPIC_API_KEY) to "
        "go on with the paid provider, or {pass provider=offline} to mean it",
        "provider",
    )


def _open_words(state: RunState, words: WordList | Sequence[str]) -> list[str]:
    """Words of the list neither done nor in flight."""
    done, busy = state.done, state.in_flight_words()
    return [w for w in words if w not in done and w not in busy]


def _import_notice(imported: ImportedCheckpoint, new: int, in_list: int) -> str:
    what = "synthlib checkpoint" if imported.synthlib else "checkpoint"
    text = (
        f"Imported {what} {imported.path}: {len(imported.processed):,} processed words, "
        f"{in_list:,} of them in this list, {new:,} newly marked done (never sent)"
    )
    if imported.failed:
        text += f"; its {imported.failed:,} failed words are tried as usual"
    spent = []
    if imported.total_cost is not None:
        spent.append(f"${imported.total_cost:,.4f}")
    if imported.total_tokens is not None:
        spent.append(f"{imported.total_tokens:,} tokens")
    if spent:
        text += f" (that run reported {', '.join(spent)}, not counted here)"
    return text
