"""Where entries end up: an embedded SQLite file by default, or MongoDB for a ``mongodb://`` URI.

Every store satisfies :class:`Store`: entries kept per word and purchase (word, provider, model,
prompt and schema versions, API location; re-running never duplicates, a newer entry of the same
purchase replaces the older one, another provider's never does), failures beside the entries,
and iteration for review and export (the preferred entry per word, or all of them).

Beside the entries every store keeps their audits (findings against the local lexical sources),
keyed by the entry's version (:func:`entry_key`) and the audit's version.

Every store is also the money ledger (:mod:`synthlib.store.ledger`): a run reserves each word
before sending it, and a word reserved by a live reservation of another run is never sent again.

Beside the entries every store has a pilot area: entries and failures kept by pilot, model and word,
so one word made by several models can be compared. The pilot area never touches the entries.

May import only core; never the lexicon, the providers or anything above.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..core.errors import StoreError, UsageError
from .ledger import Holder, Purchase, Reservation
from .records import AuditRecord, EntryRecord, FailureRecord, entry_key
from .uri import has_secret, mask_uri

DEFAULT_STORE = "synthlib.db"
# The store when none is given: the way to pass a URI holding a password without writing it into a
# notebook (papermill saves every ``-p`` value in its output), a command line or a shell history.
STORE_ENV = "SYNTHLIB_STORE"

__all__ = [
    "DEFAULT_STORE",
    "STORE_ENV",
    "AuditRecord",
    "EntryRecord",
    "FailureRecord",
    "RunStore",
    "Store",
    "StoreError",
    "default_store",
    "entry_key",
    "has_secret",
    "mask_uri",
    "open_store",
    "using_store",
]


class RunStore(Protocol):
    """What a run uses of a store: its entries, failures and summary, and the money ledger. Every
    :class:`Store` is one; so is a pilot's store (:class:`synthlib.jobs.pilots.PilotStore`),
    which keeps a model's entries in its base store's pilot area."""

    @property
    def location(self) -> str:
        """Where the store is, fit to display (any password masked)."""
        ...

    def upsert_entries(self, records: Iterable[EntryRecord]) -> int:
        """Insert or replace entries by word; returns how many were written. Durable on return."""
        ...

    def record_failures(self, failures: Iterable[FailureRecord]) -> int:
        """Insert or replace the failure record of each word."""
        ...

    def words_with_entries(self, words: Iterable[str] | None = None) -> set[str]:
        """Which of ``words`` (all, if None) have an entry."""
        ...

    def words_made_with(
        self,
        words: Iterable[str],
        *,
        model: str,
        prompt_version: str,
        schema_version: str,
        api_location: str | None = None,
    ) -> set[str]:
        """Which of ``words`` have an entry made with this model, prompt and schema version,
        bought at ``api_location`` (or before locations were recorded; None: anywhere): the
        words a run need not send again. Chunked lookups: fit for a million words."""
        ...

    def iter_entries(
        self,
        *,
        words: Iterable[str] | None = None,
        provider: str | None = None,
        model: str | None = None,
        prefer: str = "paid",
        every: bool = False,
    ) -> Iterator[EntryRecord]:
        """The preferred entry of each word (``prefer``: see
        :func:`~synthlib.store.records.preferred`; the latest paid one by default), or
        ``every`` entry (one per word and purchase), optionally only these words, provider or
        model, in word order."""
        ...

    def iter_failures(self) -> Iterator[FailureRecord]:
        """Failure records of words that still have no entry."""
        ...

    def count(self) -> int:
        """How many entries the store holds."""
        ...

    def record_run(self, summary: dict) -> str:
        """Keep a run's summary (keyed by ``summary["run_id"]``) for review."""
        ...

    # --- the ledger (see synthlib.store.ledger) -----------------------------------------------

    def renew(self, holder: Holder, now: float, *, ended: bool = False) -> None:
        """Renew ``holder``'s lease at ``now`` (epoch seconds), or say it ended."""
        ...

    def reserve(
        self,
        purchase: Purchase,
        holder: Holder,
        shard: str,
        positions: Mapping[str, int],
        now: float,
    ) -> set[str]:
        """Reserve the words of ``positions`` (word -> position in the holder's list) for
        ``holder``'s ``shard``, atomically per word and before anything is sent; returns the words
        now reserved by it. A word of a live reservation of another run is left to that run."""
        ...

    def attach_batch(self, run_id: str, shard: str, batch_id: str) -> None:
        """The batch of ``run_id``'s ``shard`` exists: its reservations are in flight with it."""
        ...

    def release(self, run_id: str, words: Iterable[str], state: str) -> None:
        """``run_id``'s live reservations of ``words`` end as ``state`` (done or released)."""
        ...

    def reserved_by(self, run_id: str) -> set[str]:
        """The words ``run_id`` holds (live reservations)."""
        ...

    def batch_places(self, batch_id: str) -> dict[str, int]:
        """The words batch ``batch_id`` holds (live reservations): word -> place in its list."""
        ...

    def batch_runs(self, batch_id: str) -> set[str]:
        """The runs whose reservations (in any state) name batch ``batch_id``, and the runs
        that adopted it (:meth:`take_over`)."""
        ...

    def take_over(
        self, batch_id: str, gone_run: str, holder: Holder, shard: str, now: float, lease: float
    ) -> dict[str, int]:
        """Move the live reservations of ``gone_run``'s batch ``batch_id`` to ``holder``'s
        ``shard`` if ``gone_run`` is still gone; the words taken (word -> place in the batch)."""
        ...

    def take_over_shard(
        self,
        gone_run: str,
        gone_shard: str,
        holder: Holder,
        shard: str,
        now: float,
        lease: float,
        batch_id: str | None = None,
    ) -> dict[str, int]:
        """As :meth:`take_over`, for ``gone_run``'s live reservations of ``gone_shard`` (no
        batch known to the store; ``batch_id``: the batch found for them, recorded as adopted
        for :meth:`batch_runs`): the words taken (word -> place in the gone run's list)."""
        ...

    def end_if_process(self, run_id: str, host: str, pid: int) -> bool:
        """Mark ``run_id`` ended when the store still names its process ``pid`` on ``host``
        (which the caller found gone); True if the run is marked ended."""
        ...

    def mark_creating(self, run_id: str, shard: str, at: float, requests: int) -> bool:
        """``run_id`` is about to send a create of ``shard`` at ``at`` (the API's clock) with
        ``requests`` requests; marked before every create is sent. False (and no create may be
        sent) when ``run_id`` no longer holds the shard's words: another run found it gone and
        took them."""
        ...

    def creating_of(self, run_id: str, shard: str) -> tuple[float, float, int] | None:
        """``(first, last, requests)`` of the creates ``run_id`` marked for ``shard`` (None:
        it sent none)."""
        ...

    def shard_places(self, run_id: str, shard: str) -> dict[str, int]:
        """The words ``run_id`` holds for ``shard`` (live): word -> place in its list."""
        ...

    def reservations(self, purchase: Purchase, words: Iterable[str]) -> list[Reservation]:
        """The live reservations of ``words`` for ``purchase`` (any run), with their leases."""
        ...


@runtime_checkable
class Store(RunStore, Protocol):
    """The interface every store satisfies; the engine and review code use nothing else. Beside
    a run's part (:class:`RunStore`): past runs, the pilot area and the audits."""

    def iter_runs(self) -> Iterator[dict]:
        """Run summaries, oldest first."""
        ...

    def keep_pilot_entries(self, pilot: str, records: Iterable[EntryRecord]) -> int:
        """Insert or replace each record in ``pilot``'s area, keyed by (pilot, model, word), and
        drop that key's pilot failure; returns how many were given. The record is kept whole, as
        :meth:`upsert_entries` keeps it; the entries themselves are never touched."""
        ...

    def keep_pilot_failures(self, pilot: str, model: str, failures: Iterable[FailureRecord]) -> int:
        """Insert or replace failures in ``pilot``'s area, keyed by (pilot, model, word)."""
        ...

    def iter_pilot_entries(
        self,
        pilot: str | None = None,
        model: str | None = None,
        words: Iterable[str] | None = None,
    ) -> Iterator[EntryRecord]:
        """Pilot entries (of every pilot when ``pilot`` is None), optionally only this model or
        these words, ordered by pilot, model, then word."""
        ...

    def iter_pilot_failures(
        self, pilot: str | None = None, model: str | None = None
    ) -> Iterator[tuple[str, FailureRecord]]:
        """``(model, failure)`` for each pilot failure (of ``pilot``; None: of every pilot)
        whose model has no pilot entry of the word, ordered by model, then word."""
        ...

    def pilot_words_made_with(
        self,
        pilot: str,
        model: str,
        prompt_version: str,
        schema_version: str,
        words: Iterable[str] | None = None,
        *,
        api_location: str | None = None,
    ) -> set[str]:
        """Which of ``words`` (all, if None) have a pilot entry in ``pilot`` made with this model,
        prompt and schema version, bought at ``api_location`` (or before locations were recorded;
        None: anywhere): :meth:`words_made_with` over the pilot area."""
        ...

    def keep_audits(self, audits: Iterable[AuditRecord]) -> int:
        """Insert or replace each audit, keyed by (entry key, audit version); returns how many
        were given. Durable on return, a chunk at a time (an interrupted audit resumes)."""
        ...

    def audited(self, keys: Iterable[str], audit_version: str) -> set[str]:
        """Which of the entry ``keys`` (:func:`entry_key`) have an audit by ``audit_version``."""
        ...

    def count_audits(self) -> int:
        """How many audits (entry versions audited, by any audit version) the store holds."""
        ...

    def iter_audits(
        self,
        *,
        words: Iterable[str] | None = None,
        keys: Iterable[str] | None = None,
        entries: bool = True,
    ) -> Iterator[AuditRecord]:
        """Audits of these words, or of these entry keys (all when neither), ordered by word,
        then by when they were made; without the audited entries unless ``entries``."""
        ...

    def close(self) -> None: ...


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
# options are separated by "&" or, as MongoDB's URI format also allows, by ";"


def default_store() -> str:
    """The store used when none is given: ``SYNTHLIB_STORE`` when set, else ``synthlib.db``."""
    return os.environ.get(STORE_ENV, "").strip() or DEFAULT_STORE


@contextmanager
def using_store(location: str | os.PathLike[str] | Store | None = None) -> Iterator[Store]:
    """:func:`open_store` for a block: a store opened here is closed after it; a :class:`Store`
    passed in stays open (it belongs to the caller)."""
    opened = open_store(location)
    try:
        yield opened
    finally:
        if opened is not location:
            opened.close()


@contextmanager
def reading_store(location: str | os.PathLike[str] | Store | None = None) -> Iterator[Store]:
    """:func:`using_store` for a reader: a file named that does not exist is a
    :class:`StoreError` (a mistyped path is no store to create); the default store that does
    not exist yet reads as empty."""
    if isinstance(location, str | os.PathLike):
        file = store_file(location)
        if file is not None and not file.exists():
            raise StoreError(f"no store at {os.fspath(location)}", lasting=True)
    with using_store(location) as store:
        yield store


@contextmanager
def store_if_any(location: Any) -> Iterator[Store | None]:
    """The store at ``location``, or None when it is a file that does not exist yet (an estimate
    creates nothing)."""
    if location is None or isinstance(location, str | os.PathLike):
        file = store_file(location)
        if file is not None and not file.exists():
            yield None
            return
    with using_store(location) as store:
        yield store


def store_file(location: str | os.PathLike[str] | None = None) -> Path | None:
    """The file of the embedded store at ``location`` (a path, ``sqlite://`` and a path, or None:
    :func:`default_store`), or None for a server's store (a ``mongodb://`` URI)."""
    text = (os.fspath(location) if location is not None else default_store()).strip()
    text = text.removeprefix("sqlite://")
    return None if "://" in text else Path(text)


def open_store(location: str | os.PathLike[str] | Store | None = None) -> Store:
    """Open a store: a :class:`Store` as is, a MongoDB URI, or a path (default:
    :func:`default_store`)."""
    if location is not None and not isinstance(location, str | os.PathLike):
        if isinstance(location, Store):
            return location
        raise StoreError(f"not a store or a store location: {type(location).__name__}")
    text = os.fspath(location) if location is not None else default_store()
    if text.startswith(("mongodb://", "mongodb+srv://")):
        from .mongo import MongoStore

        return MongoStore(text)
    if _SCHEME.match(text) and not text.startswith("sqlite://"):
        raise UsageError(f"unknown store {mask_uri(text)!r}: use a file path or a mongodb:// URI")
    from .sqlite import SQLiteStore

    return SQLiteStore(Path(text.removeprefix("sqlite://")))
