"""Review: entries, senses and failures from a store as pandas DataFrames."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd
from pandas.api.types import pandas_dtype

from ..lexicon.suggest import suggestions_in
from ..store import Store, reading_store
from ..store.records import GIVEN_UP_WORDS, EntryRecord, FailureRecord

# One missing-value convention: pandas' nullable dtypes (pd.NA in text, whole-number, yes/no and
# amount columns), datetimes in UTC, lists and dicts always present (empty, never None); the same
# dtypes whether a frame holds rows or not.
TEXT, WHOLE, FLAG, AMOUNT, WHEN = "string", "Int64", "boolean", "Float64", "datetime64[ns, UTC]"
LIST, MAPPING = "list", "dict"  # object columns whose cells are always a list / a dict
ENTRY_DTYPES = {
    **dict.fromkeys(["word", "lemma", "ipa", "respelling"], TEXT),
    "syllables": LIST,
    "parts_of_speech": LIST,
    "sense_count": WHOLE,
    "frequency_band": WHOLE,
    **dict.fromkeys(["cefr_level", "etymology", "origin_language"], TEXT),
    "word_forms": MAPPING,
    **dict.fromkeys(["provider", "model", "prompt_version", "schema_version", "batch_id"], TEXT),
    **dict.fromkeys(["input_tokens", "cached_tokens", "output_tokens"], WHOLE),
    "cost_usd": AMOUNT,
    "grounded": FLAG,
    "run_id": TEXT,
    "created_at": WHEN,
    "api_location": TEXT,  # where it was bought (the API's base URL; "local" offline)
}
SENSE_DTYPES = {
    "word": TEXT,
    "part_of_speech": TEXT,
    "sense": WHOLE,
    "definition": TEXT,
    **dict.fromkeys(["examples", "synonyms", "antonyms"], LIST),
    **dict.fromkeys(["register", "domain", "region", "cefr_level", "usage_notes"], TEXT),
}
FAILURE_DTYPES = {
    **dict.fromkeys(["word", "code", "reason"], TEXT),
    "attempts": WHOLE,
    "given_up": FLAG,
    **dict.fromkeys(["batch_id", "run_id"], TEXT),
    "updated_at": WHEN,
    "suggestions": LIST,  # "did you mean" for a word no source has (from its reason)
}

ENTRY_COLUMNS = list(ENTRY_DTYPES)
SENSE_COLUMNS = list(SENSE_DTYPES)
FAILURE_COLUMNS = list(FAILURE_DTYPES)

StoreLike = Store | str | os.PathLike[str] | None


def typed_frame(rows: list[dict[str, Any]], dtypes: dict[str, str]) -> pd.DataFrame:
    """``rows`` as a frame with exactly ``dtypes``' columns and dtypes (empty or not)."""
    frame = pd.DataFrame(rows, columns=list(dtypes))
    for column, dtype in dtypes.items():
        values = frame[column]
        if dtype == LIST:
            frame[column] = pd.Series(
                [list(v) if isinstance(v, (list, tuple)) else [] for v in values],
                index=frame.index,
                dtype=object,
            )
        elif dtype == MAPPING:
            frame[column] = pd.Series(
                [dict(v) if isinstance(v, dict) else {} for v in values],
                index=frame.index,
                dtype=object,
            )
        elif dtype == WHEN:
            frame[column] = pd.to_datetime(
                values.astype(object).where(values.notna(), None), utc=True, format="ISO8601"
            ).astype(pandas_dtype(WHEN))
        else:  # TEXT and the other nullable dtypes
            frame[column] = (
                values.astype(object).where(values.notna(), None).astype(pandas_dtype(dtype))
            )
    return frame


def _records(
    store: StoreLike,
    *,
    words: Iterable[str] | None,
    part_of_speech: str | None,
    cefr_level: str | None,
    provider: str | None,
    model: str | None,
    run_id: str | None = None,
    prefer: str = "paid",
    every: bool = False,
) -> Iterator[EntryRecord]:
    with reading_store(store) as opened:
        records = opened.iter_entries(
            words=words, provider=provider, model=model, prefer=prefer, every=every
        )
        for record in records:
            if run_id is not None and record.run_id != run_id:
                continue
            groups = record.entry.get("parts_of_speech") or []
            if part_of_speech and not any(g["part_of_speech"] == part_of_speech for g in groups):
                continue
            if cefr_level and record.entry.get("cefr_level") != cefr_level:
                continue
            yield record


def load_entries(
    store: StoreLike = None,
    *,
    words: Iterable[str] | None = None,
    part_of_speech: str | None = None,
    cefr_level: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    run_id: str | None = None,
    prefer: str = "paid",
    every: bool = False,
) -> pd.DataFrame:
    """One row per word with the entry's headline fields and its provenance and cost.

    ``store`` is a :class:`~synthlib.store.Store`, a path or a MongoDB URI (default: the embedded
    store in the working directory). The filters keep words that have a sense of that part of
    speech, that overall CEFR level, that provider or model, or that were made by one run
    (``run_id``, e.g. ``result.run_id``).

    The store keeps one entry per word and purchase (provider, model, versions, API location);
    the frame shows the preferred one per word: ``prefer="paid"`` (the default) the latest paid
    entry (an offline entry never hides a paid one), ``"latest"`` the latest of any, or a
    provider or model name. ``every=True`` gives every entry, one row each.
    """
    rows = [
        _entry_row(r)
        for r in _records(
            store,
            words=words,
            part_of_speech=part_of_speech,
            cefr_level=cefr_level,
            provider=provider,
            model=model,
            run_id=run_id,
            prefer=prefer,
            every=every,
        )
    ]
    return typed_frame(rows, ENTRY_DTYPES)


def load_senses(
    store: StoreLike = None,
    *,
    words: Iterable[str] | None = None,
    part_of_speech: str | None = None,
    cefr_level: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    run_id: str | None = None,
) -> pd.DataFrame:
    """One row per sense (word, part of speech, sense number, definition, examples, ...)."""
    rows: list[dict[str, Any]] = []
    for record in _records(
        store,
        words=words,
        part_of_speech=None,
        cefr_level=None,
        provider=provider,
        model=model,
        run_id=run_id,
    ):
        for group in record.entry.get("parts_of_speech") or []:
            if part_of_speech and group["part_of_speech"] != part_of_speech:
                continue
            for number, sense in enumerate(group["senses"], start=1):
                if cefr_level and sense.get("cefr_level") != cefr_level:
                    continue
                rows.append(
                    {
                        "word": record.word,
                        "part_of_speech": group["part_of_speech"],
                        "sense": number,
                        **{k: sense.get(k) for k in SENSE_COLUMNS[3:]},
                    }
                )
    return typed_frame(rows, SENSE_DTYPES)


def load_failures(
    store: StoreLike = None, *, run_id: str | None = None, run: Any = None
) -> pd.DataFrame:
    """One row per failed word, with its last reason and attempts.

    Of one run (``run_id``, or ``run``: a run id or a :class:`~synthlib.RunResult`): the words
    that run gave up, whatever the store holds for them from other runs or models (the count is
    the run summary's ``given_up``). Without a run: the store's words that have no entry at all.
    """
    if run is not None and run_id is None:
        run_id = str(getattr(run, "run_id", run))
    with reading_store(store) as opened:
        whole = run_id is None
        records = list(opened.iter_failures()) if whole else _run_failures(opened, str(run_id))
    rows = [
        {**f.to_dict(), "code": f.code, "suggestions": suggestions_in(f.reason)} for f in records
    ]
    return typed_frame(rows, FAILURE_DTYPES)


def _run_failures(store: Store, run_id: str) -> list[FailureRecord]:
    """The words ``run_id`` gave up, from its summary (the failure records add batch ids); runs
    recorded before summaries listed them: their failure records."""
    stored = {f.word: f for f in store.iter_failures() if f.run_id == run_id}
    summary = next((s for s in store.iter_runs() if s.get("run_id") == run_id), None)
    listed = (summary or {}).get(GIVEN_UP_WORDS)
    if not isinstance(listed, dict):
        return [f for f in stored.values() if f.given_up]
    when = str((summary or {}).get("recorded_at") or "")
    records = []
    for word in sorted(listed):
        given = listed[word] or {}
        record = stored.get(word)
        records.append(
            FailureRecord(
                word=word,
                reason=str(given.get("reason") or (record.reason if record else "")),
                attempts=int(given.get("attempts") or (record.attempts if record else 0)),
                given_up=True,
                batch_id=record.batch_id if record else None,
                run_id=run_id,
                updated_at=record.updated_at if record else when,
            )
        )
    return records


def _entry_row(r: EntryRecord) -> dict[str, Any]:
    e = r.entry
    pron = e.get("pronunciation") or {}
    ety = e.get("etymology") or {}
    groups = e.get("parts_of_speech") or []
    return {
        "word": r.word,
        "lemma": e.get("lemma"),
        "ipa": pron.get("ipa"),
        "respelling": pron.get("respelling"),
        "syllables": pron.get("syllables"),
        "parts_of_speech": [g["part_of_speech"] for g in groups],
        "sense_count": sum(len(g["senses"]) for g in groups),
        "frequency_band": e.get("frequency_band"),
        "cefr_level": e.get("cefr_level"),
        "etymology": ety.get("text"),
        "origin_language": ety.get("origin_language"),
        "word_forms": {k: v for k, v in (e.get("word_forms") or {}).items() if v},
        "provider": r.provider,
        "model": r.model,
        "prompt_version": r.prompt_version,
        "schema_version": r.schema_version,
        "batch_id": r.batch_id,
        "input_tokens": r.input_tokens,
        "cached_tokens": r.cached_tokens,
        "output_tokens": r.output_tokens,
        "cost_usd": r.cost_usd,
        "grounded": r.grounded,
        "run_id": r.run_id,
        "created_at": r.created_at,
        "api_location": r.api_location,
    }
