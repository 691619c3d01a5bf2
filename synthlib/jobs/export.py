"""Entries out of a store: files for other tools, and copies from one store into another.

* :func:`export_entries` writes JSONL (full records, ``entry`` nested, one per line), CSV or
  Parquet (the :func:`synthlib.jobs.frames.load_entries` frame).
* :func:`read_export` reads a JSONL export back into :class:`EntryRecord` objects.
* :func:`copy_entries` copies entries and failures between stores, e.g. from the embedded
  SQLite file a user started with into the team's MongoDB database.

Stores may be given as :class:`~synthlib.store.Store` objects or locations (paths, MongoDB URIs);
a store opened here from a location is closed here, a store object passed in stays open.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import batched
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.errors import UsageError
from ..store import reading_store, using_store
from ..store.records import EntryRecord
from .frames import StoreLike, load_entries

FORMATS = ("jsonl", "csv", "parquet")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
_RECORD_FIELDS = tuple(EntryRecord("", {}, "", "", "", "").to_dict())  # the exported fields


def export_entries(
    store: StoreLike,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    run_id: str | None = None,
    prefer: str = "paid",
    every: bool = False,
) -> int:
    """Write the entries of ``store`` to ``path`` in word order; returns how many were written:
    the preferred one per word (``prefer``, as :func:`synthlib.jobs.frames.load_entries` chooses
    it),
    or ``every`` one. With ``run_id`` (e.g. ``result.run_id``), only the entries that run made.

    ``format`` is ``"jsonl"``, ``"csv"`` or ``"parquet"``; when None it comes from the suffix
    (``.jsonl``/``.ndjson``, ``.csv``, ``.parquet``). Anything else raises
    :class:`~synthlib.core.errors.UsageError` before the store is opened.

    * JSONL: one :class:`EntryRecord` per line, every field, ``entry`` as a nested object
      (UTF-8, not ASCII-escaped); :func:`read_export` reads it back.
    * CSV: the columns of :func:`synthlib.jobs.frames.load_entries`; list and dict cells as JSON
    text.
      Read it with ``pd.read_csv(path, keep_default_na=False)`` or words such as "null" and "NA"
      turn into missing values.
    * Parquet: the same frame; list cells stay lists, dict cells (``word_forms``) are JSON text.

    The file appears complete or not at all: it is written beside ``path`` and renamed.
    """
    target = Path(path)
    kind = _format(target, format)
    with reading_store(store) as opened:
        if kind == "jsonl":
            from tqdm.auto import tqdm

            # a bar on a terminal or in a notebook (nothing in a pipe), for a big store
            records = tqdm(
                opened.iter_entries(prefer=prefer, every=every),
                total=opened.count(),
                desc="Exporting",
                unit=" entries",
                unit_scale=True,
                mininterval=1.0,
                leave=False,
                disable=None,
            )
            with _replacing(target, "w") as out, records:
                written = 0
                for record in records:
                    if run_id is not None and record.run_id != run_id:
                        continue
                    out.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
                    written += 1
            return written
        frame = load_entries(opened, run_id=run_id, prefer=prefer, every=every)
    if kind == "csv":
        frame = _json_cells(frame, lists=True)
        with _replacing(target, "w", newline="") as out:
            frame.to_csv(out, index=False)
    else:
        frame = _json_cells(frame, lists=False)
        with _replacing(target, "wb") as out:
            frame.to_parquet(out, index=False, engine="pyarrow")
    return len(frame)


def read_export(path: str | os.PathLike[str]) -> list[EntryRecord]:
    """The records of a JSONL export, in file order.

    Raises :class:`~synthlib.core.errors.UsageError` for a CSV or Parquet file (they hold the review
    frame, not whole records) and for a line that is not a record (the message names the line).
    Fields this version does not know are ignored.
    """
    source = Path(path)
    if _format(source, None) != "jsonl":
        raise UsageError(f"{source}: read_export reads JSONL exports only")
    records: list[EntryRecord] = []
    with source.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                records.append(EntryRecord(**{k: data[k] for k in _RECORD_FIELDS if k in data}))
            except (json.JSONDecodeError, TypeError) as exc:
                problem = str(exc)
            else:
                continue
            raise UsageError(f"{source}:{number}: not an exported entry record: {problem}")
    return records


def copy_entries(source_store: StoreLike, target_store: StoreLike, *, chunk: int = 1000) -> int:
    """Copy every entry, then every failure, of ``source_store`` into ``target_store``.

    Every entry (one per word and purchase) is upserted in chunks of ``chunk`` (so copying twice
    never duplicates, and a copied entry replaces the target's entry of the same purchase). A
    failure is copied only for a word the target has no entry for. Returns how many entries
    were copied.
    """
    if chunk < 1:
        raise UsageError(f"chunk must be at least 1, not {chunk}")
    with reading_store(source_store) as source, using_store(target_store) as target:
        copied = 0
        for batch in batched(source.iter_entries(every=True), chunk):
            copied += target.upsert_entries(batch)
        for failures in batched(source.iter_failures(), chunk):
            have = target.words_with_entries(f.word for f in failures)
            target.record_failures(f for f in failures if f.word not in have)
        return copied


def _format(path: Path, format: str | None) -> str:
    if format is not None:
        kind = format.lower().lstrip(".")
        if kind in FORMATS:
            return kind
        raise UsageError(f"unknown export format {format!r}: use one of {', '.join(FORMATS)}")
    by_suffix = _SUFFIXES.get(path.suffix.lower())
    if by_suffix is None:
        raise UsageError(
            f"{path}: cannot tell the export format from the suffix {path.suffix!r}; "
            f"use .jsonl, .csv or .parquet, or pass format= ({', '.join(FORMATS)})"
        )
    return by_suffix


def _json_cells(frame: pd.DataFrame, *, lists: bool) -> pd.DataFrame:
    """``frame`` with dict cells (and list cells, if ``lists``) as JSON text."""
    kinds = (dict, list) if lists else (dict,)
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype != object:
            continue  # text, numbers, dates: no list or dict in them
        if any(isinstance(v, kinds) for v in out[column]):
            out[column] = out[column].map(
                lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, kinds) else v
            )
    return out


@contextmanager
def _replacing(target: Path, mode: str, **kwargs: Any) -> Iterator[Any]:
    """A file object whose content replaces ``target`` only if the block completes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    encoding = None if "b" in mode else "utf-8"
    try:
        # "x": a new file with the usual permissions (umask), never one that already exists
        with temporary.open(mode.replace("w", "x"), encoding=encoding, **kwargs) as out:
            yield out
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


__all__ = ["FORMATS", "copy_entries", "export_entries", "read_export"]
