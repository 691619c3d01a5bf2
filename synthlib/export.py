"""Export entries from any store to JSONL, CSV or Parquet, and copy a store into another (a user
who starts with the embedded file and moves to the team's MongoDB)."""

from __future__ import annotations

import json
import os
from itertools import islice
from pathlib import Path

from .errors import UsageError
from .frames import StoreLike, load_entries
from .store import open_store
from .store.records import EntryRecord, FailureRecord

FORMATS = ("jsonl", "csv", "parquet")


def export_entries(
    store: StoreLike, path: str | os.PathLike[str], *, format: str | None = None
) -> int:
    """Write every entry to ``path``; returns how many. JSONL keeps whole records (the entry
    nested); CSV and Parquet hold the :func:`~synthlib.load_entries` columns."""
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise UsageError(f"{path}: unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "jsonl":
        opened = open_store(store)
        n = 0
        try:
            with open(path, "w", encoding="utf-8") as fh:
                for record in opened.iter_entries():
                    fh.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
                    n += 1
        finally:
            if opened is not store:
                opened.close()
        return n
    frame = load_entries(store)
    if fmt == "csv":
        for column in ("syllables", "parts_of_speech", "word_forms"):
            frame[column] = frame[column].map(lambda v: json.dumps(v, ensure_ascii=False))
        frame.to_csv(path, index=False)
    else:
        frame["word_forms"] = frame["word_forms"].map(lambda v: json.dumps(v, ensure_ascii=False))
        frame.to_parquet(path, index=False)
    return len(frame)


def read_export(path: str | os.PathLike[str]) -> list[EntryRecord]:
    """The records of a JSONL export."""
    with open(path, encoding="utf-8") as fh:
        return [EntryRecord(**json.loads(line)) for line in fh if line.strip()]


def copy_entries(source: StoreLike, target: StoreLike, *, chunk: int = 1_000) -> int:
    """Copy every entry and failure of ``source`` into ``target`` (upserts: safe to repeat)."""
    src, dst = open_store(source), open_store(target)
    try:
        entries = src.iter_entries()
        n = 0
        while batch := list(islice(entries, chunk)):
            n += dst.upsert_entries(batch)
        failures: list[FailureRecord] = list(src.iter_failures())
        if failures:
            dst.record_failures(failures)
        return n
    finally:
        for opened, given in ((src, source), (dst, target)):
            if opened is not given:
                opened.close()
