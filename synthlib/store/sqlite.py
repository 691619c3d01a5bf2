"""The embedded store: one SQLite file, with numbered migrations (user_version is the number)."""

from __future__ import annotations

import json
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path

from ..core.errors import StoreError
from .ledger import IN_FLIGHT, LIVE, RESERVED, Holder, Purchase, Reservation
from .records import (
    AuditRecord,
    EntryRecord,
    FailureRecord,
    now_iso,
    preferred_per_word,
    readable_entries,
)

_ENTRY_COLUMNS = (
    "word",
    "entry",
    "provider",
    "model",
    "prompt_version",
    "schema_version",
    "batch_id",
    "custom_id",
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "cost_usd",
    "grounded",
    "run_id",
    "created_at",
    "api_location",
)
_FAILURE_COLUMNS = (
    "word",
    "reason",
    "attempts",
    "given_up",
    "batch_id",
    "run_id",
    "updated_at",
)
# where a ``SELECT pilot, <entry columns>`` row holds the model and the word
_PILOT_MODEL = 1 + _ENTRY_COLUMNS.index("model")
_PILOT_WORD = 1 + _ENTRY_COLUMNS.index("word")
_CHUNK = 5_000
_PAGE_SIZE = 16_384


def _m1_initial(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE entries (
            word TEXT PRIMARY KEY,
            entry TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            schema_version TEXT NOT NULL,
            batch_id TEXT,
            custom_id TEXT,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            cached_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            grounded INTEGER NOT NULL DEFAULT 0,
            run_id TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE failures (
            word TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            given_up INTEGER NOT NULL,
            batch_id TEXT,
            run_id TEXT,
            updated_at TEXT NOT NULL
        )"""
    )


def _m2_provenance_indexes(db: sqlite3.Connection) -> None:
    db.execute("CREATE INDEX entries_model ON entries (provider, model)")
    db.execute("CREATE INDEX entries_batch ON entries (batch_id)")


def _m3_runs(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, recorded_at TEXT NOT NULL, summary TEXT)"
    )


def _m4_made_with_index(db: sqlite3.Connection) -> None:
    # covers words_made_with: the lookup never reads the (large) entry rows
    db.execute(
        "CREATE INDEX entries_made_with ON entries (model, prompt_version, schema_version, word)"
    )


def _m5_pilot_area(db: sqlite3.Connection) -> None:
    # A pilot keeps one word from several models, so its rows are keyed by (pilot, model, word);
    # ``entries`` keeps its one row per word.
    db.execute(
        """CREATE TABLE pilot_entries (
            pilot TEXT NOT NULL,
            word TEXT NOT NULL,
            entry TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            schema_version TEXT NOT NULL,
            batch_id TEXT,
            custom_id TEXT,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            cached_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            grounded INTEGER NOT NULL DEFAULT 0,
            run_id TEXT,
            created_at TEXT NOT NULL,
            PRIMARY KEY (pilot, model, word)
        )"""
    )
    db.execute(
        """CREATE TABLE pilot_failures (
            pilot TEXT NOT NULL,
            model TEXT NOT NULL,
            word TEXT NOT NULL,
            reason TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            given_up INTEGER NOT NULL,
            batch_id TEXT,
            run_id TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (pilot, model, word)
        )"""
    )


def _m6_audits(db: sqlite3.Connection) -> None:
    # One row per audited version of an entry (entry_key, see records.entry_key) and audit
    # version; the entry as audited is kept only when it has errors or warnings.
    db.execute(
        """CREATE TABLE audits (
            entry_key TEXT NOT NULL,
            audit_version TEXT NOT NULL,
            word TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            errors INTEGER NOT NULL,
            warnings INTEGER NOT NULL,
            findings TEXT NOT NULL,
            entry TEXT,
            run_id TEXT,
            audited_at TEXT NOT NULL,
            PRIMARY KEY (entry_key, audit_version)
        )"""
    )
    db.execute("CREATE INDEX audits_word ON audits (word)")


def _m7_ledger(db: sqlite3.Connection) -> None:
    # The money ledger (see synthlib.store.ledger): one reservation per word and purchase, and
    # the lease of each run holding reservations.
    db.execute(
        """CREATE TABLE holders (
            run_id TEXT PRIMARY KEY,
            checkpoint TEXT NOT NULL DEFAULT '',
            host TEXT NOT NULL DEFAULT '',
            pid INTEGER NOT NULL DEFAULT 0,
            account TEXT NOT NULL DEFAULT '',
            renewed_at REAL NOT NULL,
            ended INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute(
        """CREATE TABLE reservations (
            word TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            schema_version TEXT NOT NULL,
            api_location TEXT NOT NULL,
            run_id TEXT NOT NULL,
            shard TEXT NOT NULL,
            position INTEGER NOT NULL,
            batch_id TEXT,
            state TEXT NOT NULL,
            reserved_at REAL NOT NULL,
            PRIMARY KEY (word, provider, model, prompt_version, schema_version, api_location)
        )"""
    )
    db.execute("CREATE INDEX reservations_run ON reservations (run_id, shard)")
    db.execute("CREATE INDEX reservations_batch ON reservations (batch_id)")


def _m8_entries_per_purchase(db: sqlite3.Connection) -> None:
    # One entry per (word, provider, model, versions, API location): another provider's entry,
    # or one bought elsewhere, is kept beside it instead of replacing it. Entries made before
    # this step have no API location (""); grounded ones get their prompt version.
    db.execute(
        """CREATE TABLE entries_by_purchase (
            word TEXT NOT NULL,
            entry TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            schema_version TEXT NOT NULL,
            batch_id TEXT,
            custom_id TEXT,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            cached_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            grounded INTEGER NOT NULL DEFAULT 0,
            run_id TEXT,
            created_at TEXT NOT NULL,
            api_location TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (word, provider, model, prompt_version, schema_version, api_location)
        )"""
    )
    old = (
        "word, entry, provider, model, prompt_version, schema_version, batch_id, custom_id, "
        "input_tokens, cached_tokens, output_tokens, cost_usd, grounded, run_id, created_at"
    )
    db.execute(
        f"INSERT INTO entries_by_purchase ({old}, api_location) SELECT {old}, '' FROM entries"
    )
    db.execute(
        "UPDATE entries_by_purchase SET prompt_version = prompt_version || '+grounding' "
        "WHERE grounded = 1 AND prompt_version NOT LIKE '%+grounding'"
    )
    db.execute("DROP TABLE entries")
    db.execute("ALTER TABLE entries_by_purchase RENAME TO entries")
    db.execute("CREATE INDEX entries_model ON entries (provider, model)")
    db.execute("CREATE INDEX entries_batch ON entries (batch_id)")
    db.execute(
        "CREATE INDEX entries_made_with "
        "ON entries (model, prompt_version, schema_version, word, api_location)"
    )
    db.execute("ALTER TABLE pilot_entries ADD COLUMN api_location TEXT NOT NULL DEFAULT ''")


def _m9_create_marks(db: sqlite3.Connection) -> None:
    # A run's create calls, marked before each is sent (see synthlib.store.ledger): a gone run's
    # shard without a batch id sent none when it has no mark here.
    db.execute(
        """CREATE TABLE creates (
            run_id TEXT NOT NULL,
            shard TEXT NOT NULL,
            since REAL NOT NULL,
            until REAL NOT NULL,
            requests INTEGER NOT NULL,
            PRIMARY KEY (run_id, shard)
        )"""
    )
    # Which run adopted which batch of a gone run: kept apart from the reservations, whose rows
    # a later reservation of the same words rewrites, so the batch's owner never takes it back.
    db.execute(
        """CREATE TABLE adoptions (
            batch_id TEXT NOT NULL,
            run_id TEXT NOT NULL,
            PRIMARY KEY (batch_id, run_id)
        )"""
    )


# Append only: a released store file may be at any of these steps; each runs once, in order.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _m1_initial,
    _m2_provenance_indexes,
    _m3_runs,
    _m4_made_with_index,
    _m5_pilot_area,
    _m6_audits,
    _m7_ledger,
    _m8_entries_per_purchase,
    _m9_create_marks,
]


class SQLiteStore:
    """Entries in one SQLite file (WAL journal, one transaction per write call)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()  # one connection, shared by the engine and a notebook
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            # a new file only (an existing one keeps its own): an entry is a few KB of JSON, and
            # larger pages write a batch's entries with a quarter less work
            self._db.execute(f"PRAGMA page_size={_PAGE_SIZE}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._migrate()
            # closed at the latest when the process exits, so SQLite folds its -wal and -shm
            # files back into the store instead of leaving them beside it
            self._closer = weakref.finalize(self, self._db.close)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open the store: {exc}") from None

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path}: store format {version} is newer than this synthlib "
                f"(knows up to {len(MIGRATIONS)}); upgrade synthlib"
            )
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._transaction():
                migration(self._db)
                self._db.execute(f"PRAGMA user_version = {number}")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self._lock)

    def upsert_entries(self, records: Iterable[EntryRecord]) -> int:
        sql = (
            f"INSERT OR REPLACE INTO entries ({', '.join(_ENTRY_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_ENTRY_COLUMNS))})"
        )
        written = 0
        it = iter(records)
        while chunk := list(islice(it, _CHUNK)):
            try:
                with self._transaction():
                    # rows made as SQLite takes them: no list of them to build and collect
                    self._db.executemany(sql, map(_entry_row, chunk))
                    if self._db.execute("SELECT EXISTS (SELECT 1 FROM failures)").fetchone()[0]:
                        self._db.executemany(
                            "DELETE FROM failures WHERE word = ?", [(r.word,) for r in chunk]
                        )
            except sqlite3.Error as exc:
                raise StoreError(
                    f"{self.path}: cannot write entries: {exc}", lasting=_lasting(exc)
                ) from None
            written += len(chunk)
        return written

    def record_failures(self, failures: Iterable[FailureRecord]) -> int:
        sql = (
            f"INSERT OR REPLACE INTO failures ({', '.join(_FAILURE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_FAILURE_COLUMNS))})"
        )
        rows = [_failure_row(f) for f in failures]
        try:
            with self._transaction():
                self._db.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot write failures: {exc}") from None
        return len(rows)

    def words_with_entries(self, words: Iterable[str] | None = None) -> set[str]:
        if words is None:
            return {w for (w,) in self._db.execute("SELECT word FROM entries")}
        found: set[str] = set()
        it = iter(words)
        while chunk := list(islice(it, 900)):  # under SQLite's bound-parameter limit
            marks = ",".join("?" * len(chunk))
            found.update(
                w
                for (w,) in self._db.execute(
                    f"SELECT word FROM entries WHERE word IN ({marks})", chunk
                )
            )
        return found

    def words_made_with(
        self,
        words: Iterable[str],
        *,
        model: str,
        prompt_version: str,
        schema_version: str,
        api_location: str | None = None,
    ) -> set[str]:
        """Which of ``words`` have an entry made with this model, prompt and schema version (and
        bought at ``api_location``, or before locations were recorded; None: anywhere)."""
        found: set[str] = set()
        key = [model, prompt_version, schema_version]
        where = ""
        if api_location is not None:
            where = "AND api_location IN (?, '') "
            key.append(api_location)
        it = iter(words)
        with self._lock:
            while chunk := list(islice(it, 900)):  # under SQLite's bound-parameter limit
                sql = (
                    "SELECT DISTINCT word FROM entries WHERE model = ? AND prompt_version = ? "
                    f"AND schema_version = ? {where}AND word IN ({','.join('?' * len(chunk))})"
                )
                try:
                    found.update(w for (w,) in self._db.execute(sql, key + chunk))
                except sqlite3.Error as exc:
                    raise StoreError(f"{self.path}: cannot read entries: {exc}") from None
        return found

    def iter_entries(
        self,
        *,
        words: Iterable[str] | None = None,
        provider: str | None = None,
        model: str | None = None,
        prefer: str = "paid",
        every: bool = False,
    ) -> Iterator[EntryRecord]:
        """The preferred entry of each word (:func:`~synthlib.store.records.preferred`), or
        ``every`` entry, in word order."""
        records = self._entries_in_order(words=words, provider=provider, model=model)
        yield from records if every else preferred_per_word(records, prefer)

    def _entries_in_order(
        self,
        *,
        words: Iterable[str] | None,
        provider: str | None,
        model: str | None,
    ) -> Iterator[EntryRecord]:
        clauses, params = [], []
        if provider is not None:
            clauses.append("provider = ?")
            params.append(provider)
        if model is not None:
            clauses.append("model = ?")
            params.append(model)
        select = f"SELECT {', '.join(_ENTRY_COLUMNS)} FROM entries"
        if words is None:
            where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
            with self._lock:
                rows = self._db.execute(
                    f"{select}{where} ORDER BY word, created_at, rowid", params
                ).fetchall()
        else:  # by primary key, a chunk at a time: a few words never read the whole store
            rows = []
            wanted = sorted(set(words))
            for start in range(0, len(wanted), 900):  # under SQLite's bound-parameter limit
                chunk = wanted[start : start + 900]
                marks = ",".join("?" * len(chunk))
                sql = (
                    f"{select} WHERE {' AND '.join([*clauses, f'word IN ({marks})'])} "
                    "ORDER BY word, created_at, rowid"
                )
                with self._lock:
                    rows.extend(self._db.execute(sql, [*params, *chunk]).fetchall())
            rows.sort(key=lambda row: row[0])  # stable: each word's rows keep their order
        yield from readable_entries(rows, _entry_record, str(self.path))

    def iter_failures(self) -> Iterator[FailureRecord]:
        sql = (
            f"SELECT {', '.join(_FAILURE_COLUMNS)} FROM failures "
            "WHERE word NOT IN (SELECT word FROM entries) ORDER BY word"
        )
        with self._lock:
            rows = self._db.execute(sql).fetchall()
        for row in rows:
            yield _failure_record(row)

    def record_run(self, summary: dict) -> str:
        """Keep one run's summary (by its ``run_id``; recording a run again replaces it)."""
        run_id = str(summary["run_id"])
        recorded = summary.get("recorded_at") or now_iso()
        row = (run_id, recorded, json.dumps({**summary, "recorded_at": recorded}, default=str))
        try:
            with self._transaction():
                self._db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?)", row)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot record the run: {exc}") from None
        return run_id

    def iter_runs(self) -> Iterator[dict]:
        """Run summaries, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT summary FROM runs ORDER BY recorded_at").fetchall()
        for (summary,) in rows:
            yield json.loads(summary)

    # --- the pilot area ----------------------------------------------------------------------

    def keep_pilot_entries(self, pilot: str, records: Iterable[EntryRecord]) -> int:
        """Insert or replace records by (pilot, model, word) and drop those keys' pilot failures."""
        sql = (
            f"INSERT OR REPLACE INTO pilot_entries (pilot, {', '.join(_ENTRY_COLUMNS)}) "
            f"VALUES ({', '.join('?' * (len(_ENTRY_COLUMNS) + 1))})"
        )
        clear = "DELETE FROM pilot_failures WHERE pilot = ? AND model = ? AND word = ?"
        written = 0
        it = iter(records)
        while chunk := list(islice(it, _CHUNK)):
            try:
                with self._transaction():
                    self._db.executemany(sql, ((pilot, *_entry_row(r)) for r in chunk))
                    self._db.executemany(clear, [(pilot, r.model, r.word) for r in chunk])
            except sqlite3.Error as exc:
                raise StoreError(
                    f"{self.path}: cannot write pilot entries: {exc}", lasting=_lasting(exc)
                ) from None
            written += len(chunk)
        return written

    def keep_pilot_failures(self, pilot: str, model: str, failures: Iterable[FailureRecord]) -> int:
        """Insert or replace failures by (pilot, model, word)."""
        sql = (
            f"INSERT OR REPLACE INTO pilot_failures (pilot, model, {', '.join(_FAILURE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * (len(_FAILURE_COLUMNS) + 2))})"
        )
        rows = [(pilot, model, *_failure_row(f)) for f in failures]
        try:
            with self._transaction():
                self._db.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self.path}: cannot write pilot failures: {exc}", lasting=_lasting(exc)
            ) from None
        return len(rows)

    def iter_pilot_entries(
        self,
        pilot: str | None = None,
        model: str | None = None,
        words: Iterable[str] | None = None,
    ) -> Iterator[EntryRecord]:
        """Pilot entries ordered by pilot, model, then word."""
        clauses, params = [], []
        if pilot is not None:
            clauses.append("pilot = ?")
            params.append(pilot)
        if model is not None:
            clauses.append("model = ?")
            params.append(model)
        # pilot first, for the order; the record is made from the columns after it
        select = f"SELECT pilot, {', '.join(_ENTRY_COLUMNS)} FROM pilot_entries"
        queries: list[tuple[str, list]] = []
        if words is None:
            where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
            queries.append((f"{select}{where} ORDER BY pilot, model, word", params))
        else:
            wanted = sorted(set(words))
            for start in range(0, len(wanted), 900):  # under SQLite's bound-parameter limit
                chunk = wanted[start : start + 900]
                marks = ",".join("?" * len(chunk))
                where = " AND ".join([*clauses, f"word IN ({marks})"])
                queries.append((f"{select} WHERE {where}", [*params, *chunk]))
        rows: list[tuple] = []
        try:
            with self._lock:
                for sql, values in queries:
                    rows.extend(self._db.execute(sql, values).fetchall())
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read pilot entries: {exc}") from None
        if words is not None:
            rows.sort(key=lambda row: (row[0], row[_PILOT_MODEL], row[_PILOT_WORD]))
        yield from readable_entries(rows, lambda row: _entry_record(row[1:]), str(self.path))

    def iter_pilot_failures(
        self, pilot: str | None = None, model: str | None = None
    ) -> Iterator[tuple[str, FailureRecord]]:
        """``(model, failure)`` of keys without a pilot entry (of ``pilot``, None: of every
        pilot), ordered by model, then word."""
        sql = (
            f"SELECT model, {', '.join(_FAILURE_COLUMNS)} FROM pilot_failures AS f "
            "WHERE NOT EXISTS (SELECT 1 FROM pilot_entries AS e "
            "WHERE e.pilot = f.pilot AND e.model = f.model AND e.word = f.word)"
        )
        params: list[str] = []
        if pilot is not None:
            sql += " AND pilot = ?"
            params.append(pilot)
        if model is not None:
            sql += " AND model = ?"
            params.append(model)
        try:
            with self._lock:
                rows = self._db.execute(f"{sql} ORDER BY model, word", params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read pilot failures: {exc}") from None
        for made_by, *failure in rows:
            yield made_by, _failure_record(failure)

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
        """Which of ``words`` (all, if None) have a pilot entry made with this model, prompt and
        schema version at ``api_location`` (or before locations were recorded; None: anywhere)."""
        sql = (
            "SELECT word FROM pilot_entries WHERE pilot = ? AND model = ? "
            "AND prompt_version = ? AND schema_version = ?"
        )
        key = [pilot, model, prompt_version, schema_version]
        if api_location is not None:
            sql += " AND api_location IN (?, '')"
            key.append(api_location)
        queries: list[tuple[str, list]] = []
        if words is None:
            queries.append((sql, key))
        else:
            it = iter(words)
            while chunk := list(islice(it, 900)):  # under SQLite's bound-parameter limit
                queries.append((f"{sql} AND word IN ({','.join('?' * len(chunk))})", key + chunk))
        found: set[str] = set()
        try:
            with self._lock:
                for query, values in queries:
                    found.update(w for (w,) in self._db.execute(query, values))
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read pilot entries: {exc}") from None
        return found

    def count(self) -> int:
        """How many words have an entry."""
        with self._lock:
            return self._db.execute("SELECT COUNT(DISTINCT word) FROM entries").fetchone()[0]

    # --- audits ------------------------------------------------------------------------------

    def keep_audits(self, audits: Iterable[AuditRecord]) -> int:
        """Insert or replace audits by (entry key, audit version); one transaction a chunk."""
        sql = f"INSERT OR REPLACE INTO audits VALUES ({', '.join('?' * 11)})"
        written = 0
        it = iter(audits)
        while chunk := list(islice(it, _CHUNK)):
            try:
                with self._transaction():
                    self._db.executemany(sql, map(_audit_row, chunk))
            except sqlite3.Error as exc:
                raise StoreError(
                    f"{self.path}: cannot write audits: {exc}", lasting=_lasting(exc)
                ) from None
            written += len(chunk)
        return written

    def audited(self, keys: Iterable[str], audit_version: str) -> set[str]:
        """Which of the entry ``keys`` have an audit by ``audit_version``."""
        found: set[str] = set()
        it = iter(keys)
        try:
            with self._lock:
                while chunk := list(islice(it, 900)):  # under SQLite's bound-parameter limit
                    sql = (
                        "SELECT entry_key FROM audits WHERE audit_version = ? "
                        f"AND entry_key IN ({','.join('?' * len(chunk))})"
                    )
                    found.update(k for (k,) in self._db.execute(sql, [audit_version, *chunk]))
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read audits: {exc}") from None
        return found

    def count_audits(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM audits").fetchone()[0]

    def iter_audits(
        self,
        *,
        words: Iterable[str] | None = None,
        keys: Iterable[str] | None = None,
        entries: bool = True,
    ) -> Iterator[AuditRecord]:
        """Audits (of these words, or these entry keys; all if neither), by word then time;
        the audited entries only when ``entries`` (they are the large part)."""
        columns = [c if entries or c != "entry" else "NULL" for c in _AUDIT_COLUMNS]
        select = f"SELECT {', '.join(columns)} FROM audits"
        queries: list[tuple[str, list]] = []
        for column, wanted in (("word", words), ("entry_key", keys)):
            if wanted is None:
                continue
            values = sorted(set(wanted))
            for start in range(0, len(values), 900):
                chunk = values[start : start + 900]
                marks = ",".join("?" * len(chunk))
                queries.append((f"{select} WHERE {column} IN ({marks})", chunk))
            break
        else:
            queries.append((select, []))
        rows: list[tuple] = []
        try:
            with self._lock:
                for sql, values in queries:
                    rows.extend(self._db.execute(sql, values).fetchall())
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read audits: {exc}") from None
        rows.sort(key=lambda row: (row[2], row[-1]))
        for row in rows:
            yield _audit_record(row)

    # --- the ledger (see synthlib.store.ledger) ------------------------------------------------

    def renew(self, holder: Holder, now: float, *, ended: bool = False) -> None:
        """Renew ``holder``'s lease (or say it ended)."""
        with self._ledger_write("cannot renew the run's lease"):
            self._renew(holder, now, ended)

    def _renew(self, holder: Holder, now: float, ended: bool) -> None:
        self._db.execute(
            "INSERT INTO holders VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET "
            "checkpoint = excluded.checkpoint, host = excluded.host, pid = excluded.pid, "
            "account = excluded.account, renewed_at = excluded.renewed_at, ended = excluded.ended",
            (
                holder.run_id,
                holder.checkpoint,
                holder.host,
                holder.pid,
                holder.account,
                now,
                int(ended),
            ),
        )

    def reserve(
        self,
        purchase: Purchase,
        holder: Holder,
        shard: str,
        positions: Mapping[str, int],
        now: float,
    ) -> set[str]:
        """Reserve the words of ``positions`` (word -> its position in the holder's list) for
        ``holder``'s ``shard`` in one transaction (``BEGIN IMMEDIATE``: one writer at a time,
        whatever the process); returns the words now reserved by it. A word reserved by a live
        reservation of another run is left to that run."""
        sql = (
            f"INSERT INTO reservations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '{RESERVED}', ?) "
            "ON CONFLICT (word, provider, model, prompt_version, schema_version, api_location) "
            "DO UPDATE SET run_id = excluded.run_id, shard = excluded.shard, "
            "position = excluded.position, batch_id = NULL, state = excluded.state, "
            "reserved_at = excluded.reserved_at "
            f"WHERE reservations.state NOT IN {LIVE!r} OR reservations.run_id = excluded.run_id"
        )
        rows = [
            (*purchase.key(word), holder.run_id, shard, position, now)
            for word, position in positions.items()
        ]
        got: set[str] = set()
        with self._ledger_write("cannot reserve words"):
            self._renew(holder, now, False)
            self._db.executemany(sql, rows)
            words = list(positions)
            for start in range(0, len(words), 900):
                chunk = words[start : start + 900]
                got.update(
                    w
                    for (w,) in self._db.execute(
                        f"SELECT word FROM reservations WHERE {_PURCHASE} AND run_id = ? "
                        f"AND shard = ? AND word IN ({','.join('?' * len(chunk))})",
                        [*_purchase_values(purchase), holder.run_id, shard, *chunk],
                    )
                )
        return got

    def attach_batch(self, run_id: str, shard: str, batch_id: str) -> None:
        """The batch of ``run_id``'s ``shard`` exists: its reservations are in flight with it."""
        with self._ledger_write("cannot record the batch of reserved words"):
            self._db.execute(
                f"UPDATE reservations SET batch_id = ?, state = '{IN_FLIGHT}' "
                f"WHERE run_id = ? AND shard = ? AND state IN {LIVE!r}",
                (batch_id, run_id, shard),
            )

    def release(self, run_id: str, words: Iterable[str], state: str) -> None:
        """``run_id``'s live reservations of ``words`` end as ``state`` (done or released)."""
        listed = list(words)
        with self._ledger_write("cannot release reserved words"):
            for start in range(0, len(listed), 900):
                chunk = listed[start : start + 900]
                self._db.execute(
                    f"UPDATE reservations SET state = ? WHERE run_id = ? AND state IN {LIVE!r} "
                    f"AND word IN ({','.join('?' * len(chunk))})",
                    [state, run_id, *chunk],
                )

    def reserved_by(self, run_id: str) -> set[str]:
        """The words ``run_id`` holds (live reservations)."""
        try:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT word FROM reservations WHERE run_id = ? AND state IN {LIVE!r}",
                    (run_id,),
                ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read reservations: {exc}") from None
        return {w for (w,) in rows}

    def reservations(self, purchase: Purchase, words: Iterable[str]) -> list[Reservation]:
        """The live reservations of ``words`` for ``purchase`` (any run), with their leases."""
        listed = list(words)
        found: list[Reservation] = []
        try:
            with self._lock:
                for start in range(0, len(listed), 900):
                    chunk = listed[start : start + 900]
                    rows = self._db.execute(
                        f"SELECT {_RESERVATION_COLUMNS} FROM reservations AS r "
                        "LEFT JOIN holders AS h ON h.run_id = r.run_id "
                        f"WHERE {_PURCHASE} AND r.state IN {LIVE!r} "
                        f"AND r.word IN ({','.join('?' * len(chunk))})",
                        [*_purchase_values(purchase), *chunk],
                    ).fetchall()
                    found.extend(_reservation(purchase, row) for row in rows)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read reservations: {exc}") from None
        return found

    def batch_places(self, batch_id: str) -> dict[str, int]:
        """The words a batch holds (live reservations): word -> its place in the batch's list."""
        try:
            with self._lock:
                rows = self._db.execute(
                    "SELECT word, position FROM reservations WHERE batch_id = ? "
                    f"AND state IN {LIVE!r}",
                    (batch_id,),
                ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read reservations: {exc}") from None
        return {w: int(p) for w, p in rows}

    def batch_runs(self, batch_id: str) -> set[str]:
        """The runs whose reservations (in any state) name batch ``batch_id``, and those that
        adopted it."""
        try:
            with self._lock:
                rows = self._db.execute(
                    "SELECT run_id FROM reservations WHERE batch_id = ? "
                    "UNION SELECT run_id FROM adoptions WHERE batch_id = ?",
                    (batch_id, batch_id),
                ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read reservations: {exc}") from None
        return {r for (r,) in rows}

    def take_over(
        self, batch_id: str, gone_run: str, holder: Holder, shard: str, now: float, lease: float
    ) -> dict[str, int]:
        """Move the live reservations of ``gone_run``'s batch to ``holder``'s ``shard``, in one
        transaction that first checks the gone run is still gone (said it ended, or silent
        past ``lease``); returns the words taken (word -> its place in the batch), or nothing."""
        with self._ledger_write("cannot take over reservations"):
            if not self._still_gone(gone_run, now, lease):
                return {}
            self._renew(holder, now, False)
            self._db.execute(
                "UPDATE reservations SET run_id = ?, shard = ? WHERE batch_id = ? AND run_id = ? "
                f"AND state IN {LIVE!r}",
                (holder.run_id, shard, batch_id, gone_run),
            )
            self._db.execute(
                "INSERT OR IGNORE INTO adoptions VALUES (?, ?)", (batch_id, holder.run_id)
            )
            rows = self._db.execute(
                "SELECT word, position FROM reservations WHERE run_id = ? AND shard = ? "
                f"AND state IN {LIVE!r}",
                (holder.run_id, shard),
            ).fetchall()
        return {w: int(p) for w, p in rows}

    def mark_creating(self, run_id: str, shard: str, at: float, requests: int) -> bool:
        """``run_id`` is about to send a create for ``shard`` at ``at`` (the API's clock) with
        ``requests`` requests: kept as the shard's create window (first and last attempt). In
        the same transaction as a takeover's check, so a run another found gone either marks
        its create first (the taker then looks for its batch) or learns its words were taken
        (False: nothing marked, no create may be sent)."""
        with self._ledger_write("cannot mark a create"):
            (held,) = self._db.execute(
                "SELECT COUNT(*) FROM reservations WHERE run_id = ? AND shard = ? "
                f"AND state IN {LIVE!r}",
                (run_id, shard),
            ).fetchone()
            if not held:
                return False
            self._db.execute(
                "INSERT INTO creates VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, shard) DO UPDATE "
                "SET since = MIN(since, excluded.since), until = MAX(until, excluded.until), "
                "requests = excluded.requests",
                (run_id, shard, at, at, requests),
            )
        return True

    def creating_of(self, run_id: str, shard: str) -> tuple[float, float, int] | None:
        """``(first, last, requests)`` of the creates ``run_id`` marked for ``shard``, or None
        when it marked none (it sent no create for it)."""
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT since, until, requests FROM creates WHERE run_id = ? AND shard = ?",
                    (run_id, shard),
                ).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read create marks: {exc}") from None
        return None if row is None else (float(row[0]), float(row[1]), int(row[2]))

    def shard_places(self, run_id: str, shard: str) -> dict[str, int]:
        """The words ``run_id`` holds for ``shard`` (live): word -> its place in its list."""
        try:
            with self._lock:
                rows = self._db.execute(
                    "SELECT word, position FROM reservations WHERE run_id = ? AND shard = ? "
                    f"AND state IN {LIVE!r}",
                    (run_id, shard),
                ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read reservations: {exc}") from None
        return {w: int(p) for w, p in rows}

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
        """As :meth:`take_over`, for the live reservations of ``gone_run``'s ``gone_shard``
        (reserved, their batch unknown to the store; ``batch_id``: the batch found for them,
        recorded as adopted)."""
        with self._ledger_write("cannot take over reservations"):
            if not self._still_gone(gone_run, now, lease):
                return {}
            self._renew(holder, now, False)
            if batch_id is not None:
                self._db.execute(
                    "INSERT OR IGNORE INTO adoptions VALUES (?, ?)", (batch_id, holder.run_id)
                )
            self._db.execute(
                "UPDATE reservations SET run_id = ?, shard = ? WHERE run_id = ? AND shard = ? "
                f"AND state IN {LIVE!r}",
                (holder.run_id, shard, gone_run, gone_shard),
            )
            rows = self._db.execute(
                "SELECT word, position FROM reservations WHERE run_id = ? AND shard = ? "
                f"AND state IN {LIVE!r}",
                (holder.run_id, shard),
            ).fetchall()
        return {w: int(p) for w, p in rows}

    def end_if_process(self, run_id: str, host: str, pid: int) -> bool:
        """``run_id``'s process ``pid`` on ``host`` no longer exists: mark the run ended,
        unless the store names another process of it now (it came back). True if it is
        marked ended."""
        with self._ledger_write("cannot mark a run ended"):
            self._db.execute(
                "UPDATE holders SET ended = 1 WHERE run_id = ? AND host = ? AND pid = ?",
                (run_id, host, pid),
            )
            row = self._db.execute(
                "SELECT ended FROM holders WHERE run_id = ?", (run_id,)
            ).fetchone()
        return row is not None and bool(row[0])

    def _still_gone(self, run_id: str, now: float, lease: float) -> bool:
        row = self._db.execute(
            "SELECT renewed_at, ended FROM holders WHERE run_id = ?", (run_id,)
        ).fetchone()
        return row is None or bool(row[1]) or now - row[0] > lease

    def _ledger_write(self, action: str) -> _LedgerWrite:
        return _LedgerWrite(self, action)

    def close(self) -> None:
        self._closer()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _LedgerWrite:
    """One ledger transaction; an SQLite error becomes a one-line StoreError."""

    def __init__(self, store: SQLiteStore, action: str) -> None:
        self._store, self._action = store, action
        self._transaction = store._transaction()

    def __enter__(self) -> None:
        try:
            self._transaction.__enter__()
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self._store.path}: {self._action}: {exc}", lasting=_lasting(exc)
            ) from None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self._transaction.__exit__(exc_type, exc, tb)
        except sqlite3.Error as error:
            raise StoreError(
                f"{self._store.path}: {self._action}: {error}", lasting=_lasting(error)
            ) from None
        if isinstance(exc, sqlite3.Error):
            raise StoreError(
                f"{self._store.path}: {self._action}: {exc}", lasting=_lasting(exc)
            ) from None


_PURCHASE = (
    "provider = ? AND model = ? AND prompt_version = ? AND schema_version = ? AND api_location = ?"
)
_RESERVATION_COLUMNS = (
    "r.word, r.run_id, r.shard, r.position, r.batch_id, r.state, r.reserved_at, "
    "h.renewed_at, h.ended, h.checkpoint, h.account, h.host, h.pid"
)


def _purchase_values(purchase: Purchase) -> list[str]:
    return list(purchase.key("")[1:])


def _reservation(purchase: Purchase, row: Sequence) -> Reservation:
    word, run_id, shard, position, batch_id, state, reserved_at, renewed, ended, cp, account = row[
        :11
    ]
    host, pid = row[11:13] if len(row) > 11 else ("", 0)
    return Reservation(
        word,
        purchase,
        run_id,
        shard,
        int(position),
        batch_id,
        state,
        float(reserved_at),
        float(renewed or 0.0),
        bool(ended),
        cp or "",
        account or "",
        host or "",
        int(pid or 0),
    )


class _Transaction:
    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            self._db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self._lock.release()


def _entry_row(r: EntryRecord) -> tuple:
    return (
        r.word,
        r.entry_json or json.dumps(r.entry, ensure_ascii=False, separators=(",", ":")),
        r.provider,
        r.model,
        r.prompt_version,
        r.schema_version,
        r.batch_id,
        r.custom_id,
        r.input_tokens,
        r.cached_tokens,
        r.output_tokens,
        r.cost_usd,
        int(r.grounded),
        r.run_id,
        r.created_at,
        r.api_location,
    )


def _entry_record(row: tuple) -> EntryRecord:
    """A row of ``entries`` (columns in :class:`EntryRecord`'s order) as a record."""
    word, entry, *provenance_and_usage, grounded, run_id, created, location = row
    # the fields in order (provenance_and_usage: provider ... cost_usd)
    fields = [word, json.loads(entry), *provenance_and_usage]
    fields += [bool(grounded), run_id, created, location or ""]
    return EntryRecord(*fields)


def _failure_row(f: FailureRecord) -> tuple:
    return (f.word, f.reason, f.attempts, int(f.given_up), f.batch_id, f.run_id, f.updated_at)


def _failure_record(row: Sequence) -> FailureRecord:
    """A row of ``failures`` (columns in :class:`FailureRecord`'s order) as a record."""
    word, reason, attempts, given_up, batch_id, run_id, updated_at = row
    return FailureRecord(word, reason, attempts, bool(given_up), batch_id, run_id, updated_at)


_AUDIT_COLUMNS = (
    "entry_key",
    "audit_version",
    "word",
    "provider",
    "model",
    "errors",
    "warnings",
    "findings",
    "entry",
    "run_id",
    "audited_at",
)


def _audit_row(a: AuditRecord) -> tuple:
    return (
        a.entry_key,
        a.audit_version,
        a.word,
        a.provider,
        a.model,
        a.count("error"),
        a.count("warning"),
        json.dumps(list(a.findings), ensure_ascii=False, separators=(",", ":")),
        json.dumps(a.entry, ensure_ascii=False, separators=(",", ":")) if a.entry else None,
        a.run_id,
        a.audited_at,
    )


def _audit_record(row: Sequence) -> AuditRecord:
    key, version, word, provider, model, _, _, findings, entry, run_id, audited_at = row
    return AuditRecord(
        key,
        version,
        word,
        provider,
        model,
        tuple(json.loads(findings)),
        json.loads(entry) if entry else None,
        run_id,
        audited_at,
    )


def _lasting(exc: sqlite3.Error) -> bool:
    """Whether waiting cannot cure ``exc``: only a locked or busy database is an outage."""
    text = str(exc).lower()
    return not ("locked" in text or "busy" in text)
