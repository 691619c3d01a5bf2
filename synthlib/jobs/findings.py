"""Audits of a store's entries against the local lexical sources, kept in the store beside them.

    summary = synthlib.audit(store="synthlib.db")          # every entry not audited yet
    frame = synthlib.load_findings("synthlib.db", severity="error")

What a caller may rely on:

* :func:`audit` audits each entry of the store (every entry of a word, from any provider and
  model, not only the one a view prefers; of one run, or of some words) with
  :class:`synthlib.lexicon.audit.Auditor` and keeps the findings in the store, keyed by the
  entry's version (:func:`synthlib.store.entry_key`) and the audit's version. An entry version
  already audited by this audit version is not audited again, so an interrupted audit resumes
  where it stopped (audits are written a chunk at a time) and a second audit of an unchanged
  store does no work. The summary counts every entry asked for, resumed ones included.
* An entry that is made again or repaired has a new version and is audited anew; the audit of
  the old version stays, with the old entry when it had errors or warnings.
* :func:`load_findings` gives one row per finding of the entries as they are now (``current``:
  each word's preferred entry), or of every audited version; :func:`findings_by_model` the
  findings per 100 entries by model, of every entry of each model.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from ..store import AuditRecord, Store, entry_key, reading_store, using_store
from ..store.records import EntryRecord

if TYPE_CHECKING:
    import pandas as pd

    from ..lexicon import Lexicon
    from ..lexicon.audit import Auditor

__all__ = ["FINDING_COLUMNS", "AuditSummary", "audit", "findings_by_model", "load_findings"]

CHUNK = 2_000
"""Entries read, audited and written together: the unit an interrupted audit resumes from."""

FINDING_COLUMNS = [
    "word",
    "field",
    "severity",
    "reason",
    "value",
    "expected",
    "path",
    "check",
    "provider",
    "model",
    "run_id",
    "entry_key",
    "audit_version",
    "audited_at",
]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass
class AuditSummary:
    """What an audit found: counts over every entry asked for, and the most doubtful words."""

    entries: int = 0
    audited: int = 0  # audited by this call
    resumed: int = 0  # already audited by this audit version: read back, not audited again
    severities: Counter[str] = field(default_factory=Counter)
    fields: Counter[tuple[str, str]] = field(default_factory=Counter)  # (field, severity)
    by_model: dict[str, Counter[str]] = field(default_factory=dict)  # model -> entries, severities
    doubtful: list[tuple[str, int, int, str]] = field(default_factory=list)
    seconds: float = 0.0
    audit_version: str = ""

    @property
    def rate(self) -> float:
        """Entries audited per second by this call."""
        return self.audited / self.seconds if self.seconds > 0 else 0.0

    def _count(self, audit: AuditRecord) -> None:
        self.entries += 1
        model = self.by_model.setdefault(audit.model, Counter())
        model["entries"] += 1
        errors = warnings = 0
        for finding in audit.findings:
            severity = finding.get("severity", "info")
            self.severities[severity] += 1
            self.fields[(finding.get("field", ""), severity)] += 1
            model[severity] += 1
            errors += severity == "error"
            warnings += severity == "warning"
        if errors or warnings:
            first = min(audit.findings, key=lambda f: SEVERITY_ORDER.get(f.get("severity", ""), 3))
            self.doubtful.append((audit.word, errors, warnings, first.get("reason", "")))
            self.doubtful.sort(key=lambda d: (-d[1], -d[2], d[0]))
            del self.doubtful[20:]


def audit(
    store: Store | str | os.PathLike[str] | None = None,
    run: str | None = None,
    words: Iterable[str] | None = None,
    *,
    workers: int | None = None,
    lexicon: Lexicon | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditSummary:
    """Audit the store's entries (of run ``run``, of ``words``; all by default) that this audit
    version has not audited yet, and keep the findings in the store (see the module docstring).

    ``workers`` processes share the auditing (default: the machine's cores, at most 2; 1 audits
    in this process). ``lexicon`` is the loaded sources (loaded here when None). ``progress`` is
    called with (entries done, entries in all) after each chunk."""
    from ..lexicon import Lexicon
    from ..lexicon.audit import Auditor

    started = time.perf_counter()
    auditor = Auditor(lexicon if lexicon is not None else Lexicon.load())
    summary = AuditSummary(audit_version=auditor.version)
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    with using_store(store) as opened, _Pool(auditor, workers) as pool:
        wanted = sorted(opened.words_with_entries(words))
        done = 0
        for chunk in _chunks(wanted, CHUNK):
            records = [  # every entry of each word, from any provider, not the preferred one
                r
                for r in opened.iter_entries(words=chunk, every=True)
                if run is None or r.run_id == run
            ]
            by_key = {entry_key(r): r for r in records}
            already = opened.audited(by_key, auditor.version)
            for kept in opened.iter_audits(keys=already, entries=False) if already else ():
                if kept.audit_version == auditor.version:
                    summary._count(kept)
                    summary.resumed += 1
            todo = [(k, r) for k, r in by_key.items() if k not in already]
            results = pool.audit([r.entry for _, r in todo])
            audits = [
                AuditRecord(
                    entry_key=key,
                    audit_version=auditor.version,
                    word=record.word,
                    provider=record.provider,
                    model=record.model,
                    findings=tuple(found),
                    entry=record.entry if _doubtful(found) else None,
                    run_id=record.run_id,
                )
                for (key, record), found in zip(todo, results, strict=True)
            ]
            opened.keep_audits(audits)
            for one in audits:
                summary._count(one)
            summary.audited += len(audits)
            done += len(chunk)
            if progress is not None:
                progress(done, len(wanted))
    summary.seconds = time.perf_counter() - started
    return summary


def _doubtful(findings: Sequence[dict[str, str]]) -> bool:
    return any(f["severity"] in ("error", "warning") for f in findings)


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


# --- sharing the work between processes ----------------------------------------------------------

_AUDITOR: Auditor | None = None  # the worker processes' auditor, inherited when they fork


def _audit_entries(entries: list[dict[str, Any]]) -> list[list[dict[str, str]]]:
    assert _AUDITOR is not None
    return [[f.to_dict() for f in _AUDITOR.audit(e)] for e in entries]


def _single_threaded() -> bool:
    """Whether this process has one thread (native ones included: a BLAS pool counts)."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return threading.active_count() == 1


def _load_auditor() -> None:
    from ..lexicon import Lexicon
    from ..lexicon.audit import Auditor

    global _AUDITOR
    _AUDITOR = Auditor(Lexicon.load())


class _Pool:
    """Forked processes that share the auditor loaded here (nothing is loaded twice); one
    process, or a platform without fork, audits in this process."""

    def __init__(self, auditor: Auditor, workers: int) -> None:
        self.auditor = auditor
        self.pool: Any = None
        self.workers = workers
        if workers <= 1:
            return
        if _single_threaded() and "fork" in multiprocessing.get_all_start_methods():
            global _AUDITOR
            _AUDITOR = auditor
            self.pool = multiprocessing.get_context("fork").Pool(workers)
        else:  # forking a process with threads (a notebook's) may deadlock: workers load their own
            self.pool = multiprocessing.get_context("spawn").Pool(workers, _load_auditor)

    def audit(self, entries: list[dict[str, Any]]) -> list[list[dict[str, str]]]:
        if self.pool is None or len(entries) < 2 * self.workers:
            return [[f.to_dict() for f in self.auditor.audit(e)] for e in entries]
        size = -(-len(entries) // (self.workers * 4))
        parts = [entries[i : i + size] for i in range(0, len(entries), size)]
        return [found for part in self.pool.map(_audit_entries, parts) for found in part]

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        global _AUDITOR
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            _AUDITOR = None


# --- reading findings back -----------------------------------------------------------------------


def iter_findings(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    run: str | None = None,
    words: Iterable[str] | None = None,
    current: bool = True,
) -> Iterator[tuple[AuditRecord, dict[str, str]]]:
    """(audit, finding) pairs: of the entries as they are now (``current``: each word's
    preferred entry, the one a view shows and a repair replaces; its latest audit), or of every
    audited version (every entry of every provider among them)."""
    with reading_store(store) as opened:
        if not opened.count_audits():
            return  # never audited: nothing to read (a review of a large store stays quick)
        if not current:
            for kept in opened.iter_audits(words=words, entries=False):
                if run is None or kept.run_id == run:
                    for finding in kept.findings:
                        yield kept, finding
            return
        wanted = sorted(opened.words_with_entries(words))
        for chunk in _chunks(wanted, CHUNK):
            keys = {
                entry_key(r)
                for r in opened.iter_entries(words=chunk)  # the preferred entry: what a view shows
                if run is None or r.run_id == run
            }
            latest: dict[str, AuditRecord] = {}
            for kept in opened.iter_audits(keys=keys, entries=False):
                latest[kept.entry_key] = kept  # ordered by time: the last one wins
            for kept in latest.values():
                for finding in kept.findings:
                    yield kept, finding


def load_findings(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    run: str | None = None,
    words: Iterable[str] | None = None,
    severity: str | Iterable[str] | None = None,
    field: str | Iterable[str] | None = None,
    model: str | Iterable[str] | None = None,
    current: bool = True,
) -> pd.DataFrame:
    """One row per finding (columns :data:`FINDING_COLUMNS`), errors first, then by word; only
    these severities, fields or models when given. ``current`` False includes the findings of
    entry versions since replaced (before a repair)."""
    import pandas as pd

    wanted = {name: _as_set(value) for name, value in (("severity", severity), ("field", field))}
    models = _as_set(model)
    rows = []
    for kept, finding in iter_findings(store, run=run, words=words, current=current):
        if models is not None and kept.model not in models:
            continue
        if any(v is not None and finding.get(k) not in v for k, v in wanted.items()):
            continue
        rows.append(
            {
                "word": kept.word,
                **{k: finding.get(k, "") for k in FINDING_COLUMNS[1:8]},
                "provider": kept.provider,
                "model": kept.model,
                "run_id": kept.run_id,
                "entry_key": kept.entry_key,
                "audit_version": kept.audit_version,
                "audited_at": kept.audited_at,
            }
        )
    frame = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    if not frame.empty:
        order = frame["severity"].map(SEVERITY_ORDER)
        frame = frame.assign(_order=order).sort_values(["_order", "word"], kind="stable")
        frame = frame.drop(columns="_order").reset_index(drop=True)
    return frame


AUDIT_COLUMNS = ["word", "provider", "model", "errors", "warnings", "notes", "audited_at"]


def load_audits(
    store: Store | str | os.PathLike[str] | None = None, *, run: str | None = None
) -> pd.DataFrame:
    """One row per entry as it is now that has an audit (its latest): how many errors, warnings
    and notes (info) it has. Entries never audited have no row."""
    import pandas as pd

    rows = []
    with reading_store(store) as opened:
        wanted = sorted(opened.words_with_entries()) if opened.count_audits() else []
        for chunk in _chunks(wanted, CHUNK):
            keys = {
                entry_key(r)
                for r in opened.iter_entries(words=chunk)  # the preferred entry: what a view shows
                if run is None or r.run_id == run
            }
            latest: dict[str, AuditRecord] = {}
            for kept in opened.iter_audits(keys=keys, entries=False):
                latest[kept.entry_key] = kept
            rows += [
                {
                    "word": kept.word,
                    "provider": kept.provider,
                    "model": kept.model,
                    "errors": kept.count("error"),
                    "warnings": kept.count("warning"),
                    "notes": kept.count("info"),
                    "audited_at": kept.audited_at,
                }
                for kept in latest.values()
            ]
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)


def findings_by_model(
    store: Store | str | os.PathLike[str] | None = None, *, run: str | None = None
) -> pd.DataFrame:
    """Per model: entries audited, and errors, warnings and findings (both) per 100 entries."""
    import pandas as pd

    counts: dict[str, Counter[str]] = {}
    with reading_store(store) as opened:
        wanted = sorted(opened.words_with_entries())
        for chunk in _chunks(wanted, CHUNK):
            records = [  # every entry of each word, from any provider, not the preferred one
                r
                for r in opened.iter_entries(words=chunk, every=True)
                if run is None or r.run_id == run
            ]
            keys = {entry_key(r) for r in records}
            latest: dict[str, AuditRecord] = {}
            for kept in opened.iter_audits(keys=keys, entries=False):
                latest[kept.entry_key] = kept
            for kept in latest.values():
                tally = counts.setdefault(kept.model, Counter())
                tally["entries"] += 1
                tally["errors"] += kept.count("error")
                tally["warnings"] += kept.count("warning")
    rows = [
        {
            "model": name,
            "entries_audited": tally["entries"],
            "errors_per_100": 100 * tally["errors"] / tally["entries"],
            "warnings_per_100": 100 * tally["warnings"] / tally["entries"],
            "findings_per_100": 100 * (tally["errors"] + tally["warnings"]) / tally["entries"],
        }
        for name, tally in sorted(counts.items())
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "model",
            "entries_audited",
            "errors_per_100",
            "warnings_per_100",
            "findings_per_100",
        ],
    )


_SHARED: list[Auditor] = []  # one auditor for the process's pilots (its sources load once)


def findings_per_100(entries: Iterable[Mapping[str, Any]]) -> float | None:
    """Errors and warnings per 100 of ``entries`` (JSON objects), audited here; None for no
    entries or when the local sources cannot be loaded."""
    from ..core.errors import SynthlibError
    from ..lexicon import Lexicon
    from ..lexicon.audit import Auditor

    entries = list(entries)
    if not entries:
        return None
    if not _SHARED:
        try:
            _SHARED.append(Auditor(Lexicon.load()))
        except SynthlibError:
            return None
    found = sum(
        1 for e in entries for f in _SHARED[0].audit(e) if f.severity in ("error", "warning")
    )
    return round(100 * found / len(entries), 1)


def audit_records(
    records: Iterable[EntryRecord], auditor: Auditor
) -> Iterator[tuple[EntryRecord, list[dict[str, str]]]]:
    """Each record with its findings (as dicts), audited in this process: for pilots and tests."""
    for record in records:
        yield record, [f.to_dict() for f in auditor.audit(record.entry)]


def _as_set(value: str | Iterable[str] | None) -> set[str] | None:
    if value is None:
        return None
    return {value} if isinstance(value, str) else set(value)
