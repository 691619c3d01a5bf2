"""The team store: entries in a MongoDB database, for a ``mongodb://`` or ``mongodb+srv://`` URI.

Layout (one database; its name comes from the URI path, ``synthlib`` when the URI names none):

``entries``
    One document per word and purchase: ``_id`` is the purchase key (word, provider, model,
    prompt and schema versions, API location) joined by ``\x1f`` (so ``_id`` order is word
    order), then every :class:`EntryRecord` field flat, with ``entry`` kept as a sub-document so
    it can be queried in place (for example ``{"entry.cefr_level": "B2"}``). Indexes on
    ``word``, ``(provider, model)`` and ``(model, prompt_version, schema_version)``. Documents
    of a store written before (``_id`` the word, no ``api_location``) are rekeyed on opening.
``failures``
    One document per word without an entry: ``_id`` is the word, then the
    :class:`FailureRecord` fields. Unique index on ``word``.
``runs``
    One document per run summary (:meth:`MongoStore.record_run`).
``pilot_entries``
    One document per (pilot, model, word): ``pilot``, then the :class:`EntryRecord` fields as in
    ``entries``; the server chooses ``_id``. Unique index on ``(pilot, model, word)``.
``pilot_failures``
    One document per (pilot, model, word): ``pilot``, ``model``, then the :class:`FailureRecord`
    fields. Unique index on ``(pilot, model, word)``.
``reservations``
    The money ledger (:mod:`synthlib.store.ledger`): one document per word and purchase, its
    ``_id`` the purchase key (word, provider, model, versions, API location) joined by ``\x1f``;
    a word is reserved by an atomic upsert that matches only a reservation nobody holds (or the
    same run's), so a live one of another run makes the upsert a duplicate key, and the word is
    left to that run. Indexes on ``(run_id, shard)`` and ``batch_id``.
``holders``
    One document per run holding reservations (``_id`` its run id): its lease.

Writes are unordered bulk upserts in chunks of 1,000; the last write of a word wins, so a re-run
never duplicates. The constructor pings the server, so an unreachable server or refused
credentials surface as :class:`~synthlib.core.errors.StoreError` before any money is spent. No
message, ``repr`` or :attr:`MongoStore.location` ever shows the URI's password.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from itertools import batched, islice
from typing import Any
from urllib.parse import unquote, unquote_plus

from ..core.errors import MissingExtra, StoreError
from .ledger import IN_FLIGHT, LIVE, RESERVED, Holder, Purchase, Reservation
from .records import (
    AuditRecord,
    EntryRecord,
    FailureRecord,
    preferred_per_word,
    readable_entries,
)
from .uri import mask_uri

try:
    from bson.errors import BSONError
    from pymongo import ASCENDING, MongoClient, ReplaceOne, ReturnDocument, UpdateOne
    from pymongo.errors import (
        BulkWriteError,
        ConfigurationError,
        ConnectionFailure,
        OperationFailure,
        PyMongoError,
        ServerSelectionTimeoutError,
    )
except ImportError:  # bson ships with pymongo; one line naming the extra, no traceback
    raise MissingExtra("mongo", "a mongodb:// store", "pymongo") from None

DEFAULT_DATABASE = "synthlib"
CHUNK = 1_000  # documents per bulk write and words per ``$in`` query

# Client settings used unless the URI sets the same option (URI options win over these).
CLIENT_DEFAULTS: dict[str, Any] = {
    "serverSelectionTimeoutMS": 5_000,
    "connectTimeoutMS": 5_000,
    "socketTimeoutMS": 60_000,
    "retryWrites": True,
    "appname": "synthlib",
}

# The stored fields are what ``to_dict`` gives (helpers such as ``entry_json`` are left out).
_ENTRY_FIELDS = tuple(EntryRecord("", {}, "", "", "", "").to_dict())
_FAILURE_FIELDS = tuple(FailureRecord("", "").to_dict())
_PILOT_KEY_INDEX = [("pilot", ASCENDING), ("model", ASCENDING), ("word", ASCENDING)]
_AUTH_FAILED = 18
_DUPLICATE_KEY = 11000
_UNAUTHORIZED = (13, 8000)  # 8000: Atlas "user is not allowed to do action"
_SECRET_OPTIONS = re.compile(r"(?i)([?&;]tlsCertificateKeyFilePassword=)[^&;]*")
_SESSION_TOKEN = re.compile(r"(?i)(AWS_SESSION_TOKEN(?::|%3A))[^,&;]*")


class MongoStore:
    """Entries, failures and run summaries in one MongoDB database.

    ``uri`` is a ``mongodb://`` or ``mongodb+srv://`` URI. The database is, in this order,
    ``database``, the URI path (``mongodb://host/dictionary`` -> ``dictionary``), or
    ``synthlib``. ``client`` is an already made client (tests pass ``mongomock.MongoClient()``);
    the URI then only names the store and its database. A client the store made itself is closed
    by :meth:`close`; a client passed in stays open and is the caller's to close.

    Raises :class:`~synthlib.core.errors.StoreError` (one line, password masked) when the URI is not
    usable, the server cannot be reached within the server selection timeout (5 s unless the URI
    sets ``serverSelectionTimeoutMS``), the credentials are refused, or the indexes cannot be
    made. A user allowed to read but not to write may open the store for review; writes then
    raise :class:`~synthlib.core.errors.StoreError`. Durability of a write is the server's write
    concern (``majority`` on replica sets since MongoDB 5.0; set ``w``/``journal`` in the URI to
    change it).
    """

    def __init__(
        self,
        uri: str,
        *,
        client: MongoClient[Any] | None = None,
        database: str | None = None,
    ) -> None:
        self._location = _display_uri(uri)
        self._secrets = _uri_secrets(uri)
        self._closed = False
        self._owns_client = client is None
        self.database_name = database or database_from_uri(uri) or DEFAULT_DATABASE
        problem: str | None = None
        if client is None:
            try:
                client = MongoClient(uri, **_client_options(uri))
            except (PyMongoError, ValueError, TypeError) as exc:
                problem = f"not a usable MongoDB URI: {self._scrub(exc)}"
        if client is None:  # ``problem`` says why; raised outside ``except``: no chained error
            raise StoreError(f"{self._location}: {problem}")
        self._client = client
        try:
            self._db = client.get_database(self.database_name)
        except (PyMongoError, ValueError, TypeError) as exc:
            problem = f"bad database name {self.database_name!r}: {self._scrub(exc)}"
        if problem is not None:
            self._drop_client()
            raise StoreError(f"{self._location}: {problem}")
        self._entries = self._db["entries"]
        self._failures = self._db["failures"]
        self._runs = self._db["runs"]
        self._pilot_entries = self._db["pilot_entries"]
        self._pilot_failures = self._db["pilot_failures"]
        self._audits = self._db["audits"]
        self._reservations = self._db["reservations"]
        self._holders = self._db["holders"]
        self._creates = self._db["creates"]
        self._adoptions = self._db["adoptions"]
        problem = self._connect()
        if problem is not None:
            self._drop_client()
            raise StoreError(f"{self._location}: {problem}")

    # --- opening ---------------------------------------------------------------------------

    def _connect(self) -> str | None:
        """Ping, then make the indexes; the reason the store cannot be used, or None."""
        try:
            self._client.admin.command("ping")
        except PyMongoError as exc:
            return self._describe(exc, "cannot reach the MongoDB server")
        try:
            self._drop_unique_word_index()
            self._entries.create_index([("word", ASCENDING)])
            self._entries.create_index([("provider", ASCENDING), ("model", ASCENDING)])
            self._entries.create_index(
                [("model", ASCENDING), ("prompt_version", ASCENDING), ("schema_version", ASCENDING)]
            )
            self._failures.create_index([("word", ASCENDING)], unique=True)
            self._pilot_entries.create_index(_PILOT_KEY_INDEX, unique=True)
            self._pilot_failures.create_index(_PILOT_KEY_INDEX, unique=True)
            self._reservations.create_index([("run_id", ASCENDING), ("shard", ASCENDING)])
            self._reservations.create_index([("batch_id", ASCENDING)])
            self._rekey_old_entries()
            return None
        except OperationFailure as exc:
            if exc.code not in _UNAUTHORIZED:
                return self._describe(exc, "cannot make the store's indexes")
        except PyMongoError as exc:
            return self._describe(exc, "cannot make the store's indexes")
        # Not allowed to make indexes: fine for a reader, if it may read.
        try:
            self._entries.find_one({}, {"_id": 1})
        except PyMongoError as exc:
            return self._describe(exc, f"not allowed to use database {self.database_name!r}")
        return None

    def _drop_unique_word_index(self) -> None:
        """A store written before entries were kept per purchase has a unique index on word."""
        for name, spec in self._entries.index_information().items():
            if spec.get("unique") and [k for k, _ in spec.get("key", [])] == ["word"]:
                self._entries.drop_index(name)

    def _rekey_old_entries(self) -> None:
        """Documents keyed by word alone (written before entries were kept per purchase) get
        their purchase key, with no API location, and grounded ones their prompt version."""
        while True:
            old = list(self._entries.find({"api_location": {"$exists": False}}).limit(CHUNK))
            if not old:
                return
            ops = []
            for doc in old:
                record = _entry_record(doc)
                if record.grounded and not record.prompt_version.endswith("+grounding"):
                    record = replace(record, prompt_version=record.prompt_version + "+grounding")
                ops.append(ReplaceOne({"_id": _entry_id(record)}, _entry_document(record), True))
            self._entries.bulk_write(ops, ordered=False)
            self._entries.delete_many({"_id": {"$in": [d["_id"] for d in old]}})

    def _drop_client(self) -> None:
        if self._owns_client:
            self._client.close()

    # --- Store protocol --------------------------------------------------------------------

    @property
    def location(self) -> str:
        """The URI, password masked (fit to display and log)."""
        return self._location

    def upsert_entries(self, records: Iterable[EntryRecord]) -> int:
        """Insert or replace entries by word and purchase (another provider's, model's or API
        location's entry of the word is kept beside) and drop those words' failure records.

        Returns how many records were given (as the SQLite store does). Within one call the
        last record of a word wins. Each chunk of 1,000 is acknowledged before the next is sent.
        """
        written = 0
        it = iter(records)
        while chunk := list(islice(it, CHUNK)):
            latest = {_entry_id(r): r for r in chunk}  # unordered bulk: one operation per key
            ops = [
                ReplaceOne({"_id": key}, _entry_document(r), upsert=True)
                for key, r in latest.items()
            ]
            self._call("cannot write entries", self._entries.bulk_write, ops, ordered=False)
            self._call(
                "cannot clear failures",
                self._failures.delete_many,
                {"_id": {"$in": sorted({r.word for r in chunk})}},
            )
            written += len(chunk)
        return written

    def record_failures(self, failures: Iterable[FailureRecord]) -> int:
        """Insert or replace the failure record of each word; returns how many were given."""
        written = 0
        it = iter(failures)
        while chunk := list(islice(it, CHUNK)):
            latest = {f.word: f for f in chunk}
            ops = [
                ReplaceOne({"_id": word}, {"_id": word, **f.to_dict()}, upsert=True)
                for word, f in latest.items()
            ]
            self._call("cannot write failures", self._failures.bulk_write, ops, ordered=False)
            written += len(chunk)
        return written

    def words_with_entries(self, words: Iterable[str] | None = None) -> set[str]:
        """Which of ``words`` (all, if None) have an entry."""
        if words is None:
            return set(self._call("cannot read entries", self._entries.distinct, "word"))
        found: set[str] = set()
        it = iter(set(words))
        while chunk := list(islice(it, CHUNK)):
            found |= self._present(self._entries, chunk, "word")
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
        bought at ``api_location``, or before locations were recorded; None: anywhere), in
        ``$in`` queries of 1,000 words."""
        key: dict[str, Any] = {
            "model": model,
            "prompt_version": prompt_version,
            "schema_version": schema_version,
        }
        if api_location is not None:
            key["api_location"] = {"$in": [api_location, ""]}
        found: set[str] = set()
        it = iter(words)
        while chunk := list(islice(it, CHUNK)):
            query = {"word": {"$in": chunk}, **key}
            cursor = self._call("cannot read entries", self._entries.find, query, {"word": 1})
            found.update(doc["word"] for doc in self._drain(cursor))
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
        ``every`` entry, in word order (code point order, as the SQLite store), optionally
        filtered.

        Pages of 1,000 are fetched as the caller iterates, so no server cursor is left open
        while a slow consumer works.
        """
        records = self._entries_in_order(words, provider, model)
        yield from records if every else preferred_per_word(records, prefer)

    def _entries_in_order(
        self, words: Iterable[str] | None, provider: str | None, model: str | None
    ) -> Iterator[EntryRecord]:
        where = self._location
        query: dict[str, Any] = {}
        if provider is not None:
            query["provider"] = provider
        if model is not None:
            query["model"] = model
        if words is None:
            yield from readable_entries(self._pages(self._entries, query), _entry_record, where)
            return
        wanted = sorted(set(words))
        for start in range(0, len(wanted), CHUNK):  # sorted chunks keep the overall word order
            page = {**query, "word": {"$in": wanted[start : start + CHUNK]}}
            cursor = self._call(
                "cannot read entries", lambda q=page: self._entries.find(q).sort("_id", 1)
            )
            yield from readable_entries(self._drain(cursor), _entry_record, where)

    def iter_failures(self) -> Iterator[FailureRecord]:
        """Failure records of words that still have no entry, in word order."""
        for page in batched(self._pages(self._failures, {}), CHUNK):
            done = self._present(self._entries, [doc["_id"] for doc in page], "word")
            for doc in page:
                if doc["_id"] not in done:
                    yield _failure_record(doc)

    def count(self) -> int:
        """How many words have an entry."""
        return len(self._call("cannot count entries", self._entries.distinct, "word"))

    # --- the pilot area ----------------------------------------------------------------------

    def keep_pilot_entries(self, pilot: str, records: Iterable[EntryRecord]) -> int:
        """Insert or replace records by (pilot, model, word) and drop those keys' pilot failures.

        Returns how many records were given; within one call the last record of a key wins.
        """
        written = 0
        it = iter(records)
        while chunk := list(islice(it, CHUNK)):
            latest = {(r.model, r.word): r for r in chunk}  # unordered bulk: one op per key
            ops = [
                ReplaceOne(_pilot_key(pilot, *key), _pilot_entry_document(pilot, r), upsert=True)
                for key, r in latest.items()
            ]
            self._call(
                "cannot write pilot entries", self._pilot_entries.bulk_write, ops, ordered=False
            )
            self._call(
                "cannot clear pilot failures",
                self._pilot_failures.delete_many,
                {"$or": [_pilot_key(pilot, *key) for key in latest]},
            )
            written += len(chunk)
        return written

    def keep_pilot_failures(self, pilot: str, model: str, failures: Iterable[FailureRecord]) -> int:
        """Insert or replace failures by (pilot, model, word); returns how many were given."""
        written = 0
        it = iter(failures)
        while chunk := list(islice(it, CHUNK)):
            latest = {f.word: f for f in chunk}
            ops = [
                ReplaceOne(
                    _pilot_key(pilot, model, word),
                    {"pilot": pilot, "model": model, **f.to_dict()},
                    upsert=True,
                )
                for word, f in latest.items()
            ]
            self._call(
                "cannot write pilot failures", self._pilot_failures.bulk_write, ops, ordered=False
            )
            written += len(chunk)
        return written

    def iter_pilot_entries(
        self,
        pilot: str | None = None,
        model: str | None = None,
        words: Iterable[str] | None = None,
    ) -> Iterator[EntryRecord]:
        """Pilot entries ordered by pilot, model, then word (code point order), fetched in pages
        of 1,000 as the caller iterates."""
        query: dict[str, Any] = {}
        if pilot is not None:
            query["pilot"] = pilot
        if model is not None:
            query["model"] = model
        if words is None:
            documents: Iterable[dict[str, Any]] = self._pilot_pages(self._pilot_entries, query)
        else:  # the words asked bound what is read: gathered, then put in order
            found: list[dict[str, Any]] = []
            it = iter(set(words))
            while chunk := list(islice(it, CHUNK)):
                page = {**query, "word": {"$in": chunk}}
                cursor = self._call("cannot read pilot entries", self._pilot_entries.find, page)
                found.extend(self._drain(cursor))
            documents = sorted(found, key=_pilot_order)
        yield from readable_entries(documents, _entry_record, self._location)

    def iter_pilot_failures(
        self, pilot: str | None = None, model: str | None = None
    ) -> Iterator[tuple[str, FailureRecord]]:
        """``(model, failure)`` of keys without a pilot entry (of ``pilot``, None: of every
        pilot), ordered by model, then word."""
        query: dict[str, Any] = {}
        if pilot is not None:
            query["pilot"] = pilot
        if model is not None:
            query["model"] = model
        for page in batched(self._pilot_pages(self._pilot_failures, query), CHUNK):
            cursor = self._call(
                "cannot read pilot entries",
                self._pilot_entries.find,
                {**query, "word": {"$in": sorted({doc["word"] for doc in page})}},
                {"pilot": 1, "model": 1, "word": 1},
            )
            kept = {(doc["pilot"], doc["model"], doc["word"]) for doc in self._drain(cursor)}
            for doc in page:
                if (doc["pilot"], doc["model"], doc["word"]) not in kept:
                    yield doc["model"], _failure_record(doc)

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
        """Which of ``words`` (all, if None) have a pilot entry made with this model and versions
        at ``api_location`` (or before locations were recorded; None: anywhere), in ``$in``
        queries of 1,000 words."""
        key: dict[str, Any] = {
            "pilot": pilot,
            "model": model,
            "prompt_version": prompt_version,
            "schema_version": schema_version,
        }
        if api_location is not None:  # None: a document written before locations were kept
            key["api_location"] = {"$in": [api_location, "", None]}
        queries: list[dict[str, Any]] = []
        if words is None:
            queries.append(key)
        else:
            it = iter(words)
            while chunk := list(islice(it, CHUNK)):
                queries.append({**key, "word": {"$in": chunk}})
        found: set[str] = set()
        for query in queries:
            cursor = self._call(
                "cannot read pilot entries", self._pilot_entries.find, query, {"word": 1}
            )
            found.update(doc["word"] for doc in self._drain(cursor))
        return found

    # --- audits ---------------------------------------------------------------------------

    def keep_audits(self, audits: Iterable[AuditRecord]) -> int:
        """Insert or replace audits by (entry key, audit version); returns how many were given."""
        written = 0
        it = iter(audits)
        while chunk := list(islice(it, CHUNK)):
            ops = [
                ReplaceOne(
                    {"_id": _audit_id(a)}, {"_id": _audit_id(a), **_audit_fields(a)}, upsert=True
                )
                for a in chunk
            ]
            self._call("cannot write audits", self._audits.bulk_write, ops, ordered=False)
            written += len(chunk)
        return written

    def audited(self, keys: Iterable[str], audit_version: str) -> set[str]:
        """Which of the entry ``keys`` have an audit by ``audit_version``."""
        found: set[str] = set()
        it = iter(keys)
        while chunk := list(islice(it, CHUNK)):
            ids = [f"{audit_version}:{k}" for k in chunk]
            found.update(
                doc["entry_key"]
                for doc in self._drain(
                    self._call(
                        "cannot read audits",
                        self._audits.find,
                        {"_id": {"$in": ids}},
                        {"entry_key": 1},
                    )
                )
            )
        return found

    def count_audits(self) -> int:
        return self._call("cannot count audits", self._audits.count_documents, {})

    def iter_audits(
        self,
        *,
        words: Iterable[str] | None = None,
        keys: Iterable[str] | None = None,
        entries: bool = True,
    ) -> Iterator[AuditRecord]:
        """Audits (of these words, or these entry keys; all if neither), by word then time."""
        queries: list[dict[str, Any]] = []
        for column, wanted in (("word", words), ("entry_key", keys)):
            if wanted is None:
                continue
            values = sorted(set(wanted))
            queries += [
                {column: {"$in": values[i : i + CHUNK]}} for i in range(0, len(values), CHUNK)
            ]
            break
        else:
            queries.append({})
        docs: list[dict[str, Any]] = []
        for query in queries:
            projection = None if entries else {"entry": 0}
            docs += self._drain(
                self._call("cannot read audits", self._audits.find, query, projection)
            )
        docs.sort(key=lambda d: (d["word"], d["audited_at"]))
        for doc in docs:
            yield _audit_record(doc)

    # --- the ledger (see synthlib.store.ledger) ------------------------------------------------

    def renew(self, holder: Holder, now: float, *, ended: bool = False) -> None:
        """Renew ``holder``'s lease (or say it ended). Takeovers another run claimed on the
        holder's document while it was gone (see :meth:`take_over`) are finished before this
        returns: the reservations they name are the taker's, so a run that comes back never
        goes on to collect a batch another run took."""
        fields = {k: v for k, v in _holder_document(holder).items() if k != "_id"}
        doc = self._call(
            "cannot renew the run's lease",
            self._holders.find_one_and_update,
            {"_id": holder.run_id},
            {"$set": {**fields, "renewed_at": now, "ended": ended}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        for claim in (doc or {}).get("taken", []):
            self._move(claim, holder.run_id)
            self._call(
                "cannot renew the run's lease",
                self._holders.update_one,
                {"_id": holder.run_id},
                {"$pull": {"taken": claim}},
            )

    def _move(self, claim: Mapping[str, Any], gone_run: str) -> None:
        """Move ``gone_run``'s live reservations of the claim's batch (or, with ``from_shard``,
        of that shard of it) to the claiming run's shard (idempotent: done again, it finds
        nothing left to move)."""
        which = (
            {"shard": claim["from_shard"]}
            if claim.get("from_shard") is not None
            else {"batch_id": claim["batch_id"]}
        )
        self._call(
            "cannot take over reservations",
            self._reservations.update_many,
            {**which, "run_id": gone_run, "state": {"$in": list(LIVE)}},
            {"$set": {"run_id": claim["run_id"], "shard": claim["shard"]}},
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
        ``holder``'s ``shard``; returns the words now reserved by it. Each word is one atomic
        upsert matching only a reservation that no other run holds: a live one of another run
        makes it a duplicate key, and the word is left to that run."""
        self.renew(holder, now)
        free = {"$or": [{"state": {"$nin": list(LIVE)}}, {"run_id": holder.run_id}]}
        for chunk in batched(positions.items(), CHUNK):
            ops = [
                UpdateOne(
                    {"_id": _reservation_id(purchase, word), **free},
                    {
                        "$set": {
                            **_purchase_document(purchase, word),
                            "run_id": holder.run_id,
                            "shard": shard,
                            "position": position,
                            "batch_id": None,
                            "state": RESERVED,
                            "reserved_at": now,
                        }
                    },
                    upsert=True,
                )
                for word, position in chunk
            ]
            try:
                self._reservations.bulk_write(ops, ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors") or []
                if any(e.get("code") != _DUPLICATE_KEY for e in errors):
                    self._call("cannot reserve words", _raise, exc)
            except (PyMongoError, BSONError) as exc:
                self._call("cannot reserve words", _raise, exc)
        got: set[str] = set()
        for words in batched(positions, CHUNK):
            query = {
                "_id": {"$in": [_reservation_id(purchase, w) for w in words]},
                "run_id": holder.run_id,
                "shard": shard,
                "state": RESERVED,
            }
            cursor = self._call("cannot read reservations", self._reservations.find, query)
            got.update(doc["word"] for doc in self._drain(cursor))
        return got

    def attach_batch(self, run_id: str, shard: str, batch_id: str) -> None:
        """The batch of ``run_id``'s ``shard`` exists: its reservations are in flight with it."""
        self._call(
            "cannot record the batch of reserved words",
            self._reservations.update_many,
            {"run_id": run_id, "shard": shard, "state": {"$in": list(LIVE)}},
            {"$set": {"batch_id": batch_id, "state": IN_FLIGHT}},
        )

    def release(self, run_id: str, words: Iterable[str], state: str) -> None:
        """``run_id``'s live reservations of ``words`` end as ``state`` (done or released)."""
        for chunk in batched(words, CHUNK):
            self._call(
                "cannot release reserved words",
                self._reservations.update_many,
                {"run_id": run_id, "word": {"$in": list(chunk)}, "state": {"$in": list(LIVE)}},
                {"$set": {"state": state}},
            )

    def batch_places(self, batch_id: str) -> dict[str, int]:
        """The words a batch holds (live reservations): word -> its place in the batch's list."""
        cursor = self._call(
            "cannot read reservations",
            self._reservations.find,
            {"batch_id": batch_id, "state": {"$in": list(LIVE)}},
        )
        return {doc["word"]: int(doc["position"]) for doc in self._drain(cursor)}

    def batch_runs(self, batch_id: str) -> set[str]:
        """The runs whose reservations (in any state) name batch ``batch_id``, and those that
        adopted it."""
        runs = set(
            self._call(
                "cannot read reservations",
                self._reservations.distinct,
                "run_id",
                {"batch_id": batch_id},
            )
        )
        return runs | set(
            self._call(
                "cannot read reservations",
                self._adoptions.distinct,
                "run_id",
                {"batch_id": batch_id},
            )
        )

    def take_over(
        self, batch_id: str, gone_run: str, holder: Holder, shard: str, now: float, lease: float
    ) -> dict[str, int]:
        """Move the live reservations of ``gone_run``'s batch to ``holder``'s ``shard`` when the
        gone run is still gone (said it ended, or silent past ``lease``); each document moves
        atomically, only from ``gone_run``. Returns the words taken (word -> its place in the
        batch), or nothing.

        The check and the claim are one atomic update of the gone run's holder document (as
        SQLite's one transaction): the claim is kept there until the move is done, and the gone
        run's own :meth:`renew` finishes a claim it finds, so a run that comes back between the
        claim and the move sees its batch taken, and one that came back before it is not
        taken from."""
        claim = {"batch_id": batch_id, "run_id": holder.run_id, "shard": shard}
        return self._claim(claim, gone_run, holder, now, lease)

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
        claim = {
            "batch_id": batch_id,
            "from_shard": gone_shard,
            "run_id": holder.run_id,
            "shard": shard,
        }
        return self._claim(claim, gone_run, holder, now, lease)

    def _claim(
        self, claim: dict[str, Any], gone_run: str, holder: Holder, now: float, lease: float
    ) -> dict[str, int]:
        # a run without a holder document counts as gone: give it one to claim on
        self._call(
            "cannot take over reservations",
            self._holders.update_one,
            {"_id": gone_run},
            {"$setOnInsert": {"renewed_at": 0.0, "ended": False}},
            upsert=True,
        )
        still_gone = {
            "$or": [
                {"ended": True},
                {"renewed_at": {"$lt": now - lease}},
                {"renewed_at": {"$exists": False}},
            ]
        }
        claimed = self._call(
            "cannot take over reservations",
            self._holders.find_one_and_update,
            {"_id": gone_run, **still_gone},
            {"$push": {"taken": claim}},
        )
        if claimed is None:
            return {}
        self.renew(holder, now)
        self._move(claim, gone_run)
        if claim["batch_id"] is not None:
            # kept apart from the reservations, whose documents a later reservation of the same
            # words rewrites: the batch's owner never takes it back
            self._call(
                "cannot take over reservations",
                self._adoptions.update_one,
                {"_id": f"{claim['batch_id']}\x1f{holder.run_id}"},
                {"$set": {"batch_id": claim["batch_id"], "run_id": holder.run_id}},
                upsert=True,
            )
        self._call(
            "cannot take over reservations",
            self._holders.update_one,
            {"_id": gone_run},
            {"$pull": {"taken": claim}},
        )
        cursor = self._call(
            "cannot read reservations",
            self._reservations.find,
            {"run_id": holder.run_id, "shard": claim["shard"], "state": {"$in": list(LIVE)}},
        )
        return {doc["word"]: int(doc["position"]) for doc in self._drain(cursor)}

    def end_if_process(self, run_id: str, host: str, pid: int) -> bool:
        """``run_id``'s process ``pid`` on ``host`` no longer exists: mark the run ended,
        unless the store names another process of it now (it came back). True if it is
        marked ended."""
        self._call(
            "cannot mark a run ended",
            self._holders.update_one,
            {"_id": run_id, "host": host, "pid": pid},
            {"$set": {"ended": True}},
        )
        doc = self._call("cannot read the run's lease", self._holders.find_one, {"_id": run_id})
        return doc is not None and bool(doc.get("ended"))

    def mark_creating(self, run_id: str, shard: str, at: float, requests: int) -> bool:
        """``run_id`` is about to send a create for ``shard`` at ``at`` (the API's clock) with
        ``requests`` requests: kept as the shard's create window (first and last attempt). The
        mark is written first, then the shard's reservations are read: a taker that moved them
        before the mark gives False (the mark is taken back; no create may be sent), one that
        comes after finds the mark and looks for the batch."""
        self._call(
            "cannot mark a create",
            self._creates.update_one,
            {"_id": f"{run_id}\x1f{shard}"},
            {
                "$min": {"since": at},
                "$max": {"until": at},
                "$set": {"run_id": run_id, "shard": shard, "requests": requests},
            },
            upsert=True,
        )
        held = self._call(
            "cannot read the run's reservations",
            self._reservations.count_documents,
            {"run_id": run_id, "shard": shard, "state": {"$in": list(LIVE)}},
            limit=1,
        )
        if held:
            return True
        self._call(
            "cannot take back a create mark",
            self._creates.delete_one,
            {"_id": f"{run_id}\x1f{shard}"},
        )
        return False

    def creating_of(self, run_id: str, shard: str) -> tuple[float, float, int] | None:
        """``(first, last, requests)`` of the creates ``run_id`` marked for ``shard``, or None
        when it marked none (it sent no create for it)."""
        doc = self._call(
            "cannot read create marks", self._creates.find_one, {"_id": f"{run_id}\x1f{shard}"}
        )
        if doc is None:
            return None
        return float(doc["since"]), float(doc["until"]), int(doc.get("requests") or 0)

    def shard_places(self, run_id: str, shard: str) -> dict[str, int]:
        """The words ``run_id`` holds for ``shard`` (live): word -> its place in its list."""
        cursor = self._call(
            "cannot read reservations",
            self._reservations.find,
            {"run_id": run_id, "shard": shard, "state": {"$in": list(LIVE)}},
        )
        return {doc["word"]: int(doc["position"]) for doc in self._drain(cursor)}

    def reserved_by(self, run_id: str) -> set[str]:
        """The words ``run_id`` holds (live reservations)."""
        cursor = self._call(
            "cannot read reservations",
            self._reservations.find,
            {"run_id": run_id, "state": {"$in": list(LIVE)}},
            {"word": 1},
        )
        return {doc["word"] for doc in self._drain(cursor)}

    def reservations(self, purchase: Purchase, words: Iterable[str]) -> list[Reservation]:
        """The live reservations of ``words`` for ``purchase`` (any run), with their leases."""
        found: list[Reservation] = []
        for chunk in batched(words, CHUNK):
            query = {
                "_id": {"$in": [_reservation_id(purchase, w) for w in chunk]},
                "state": {"$in": list(LIVE)},
            }
            cursor = self._call("cannot read reservations", self._reservations.find, query)
            docs = self._drain(cursor)
            runs = sorted({doc["run_id"] for doc in docs})
            holders = {
                doc["_id"]: doc
                for doc in self._drain(
                    self._call(
                        "cannot read reservations", self._holders.find, {"_id": {"$in": runs}}
                    )
                )
            }
            found.extend(
                _reservation(purchase, doc, holders.get(doc["run_id"], {})) for doc in docs
            )
        return found

    def close(self) -> None:
        """Release the client if the store made it; later calls raise StoreError."""
        if not self._closed:
            self._closed = True
            self._drop_client()

    def __enter__(self) -> MongoStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MongoStore({self._location!r}, database={self.database_name!r})"

    # --- run summaries ---------------------------------------------------------------------

    def record_run(self, summary: Mapping[str, Any]) -> str:
        """Keep one run's summary; returns its run id.

        The id is ``summary["run_id"]`` when given (recording the same run again replaces its
        summary), else a new random id. ``recorded_at`` (UTC, ISO 8601) is added unless the
        summary has one. Values must be BSON-encodable (str keys, no ``$``-prefixed keys).
        """
        run_id = summary.get("run_id") or uuid.uuid4().hex
        if not isinstance(run_id, str):
            run_id = str(run_id)
        document = {
            **summary,
            "run_id": run_id,
            "recorded_at": summary.get("recorded_at") or datetime.now(UTC).isoformat(),
            "_id": run_id,
        }
        self._call(
            "cannot record the run",
            self._runs.replace_one,
            {"_id": run_id},
            document,
            upsert=True,
        )
        return run_id

    def iter_runs(self) -> Iterator[dict[str, Any]]:
        """Run summaries, oldest ``recorded_at`` first, each with ``run_id`` and without ``_id``."""
        cursor = self._call(
            "cannot read runs",
            lambda: self._runs.find({}).sort([("recorded_at", 1), ("_id", 1)]),
        )
        for doc in self._drain(cursor):
            doc.pop("_id", None)
            yield doc

    # --- helpers ---------------------------------------------------------------------------

    def _pages(self, collection: Any, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Documents matching ``query`` in ``_id`` order, fetched in keyset pages."""
        last: str | None = None
        while True:
            page_query = query if last is None else {**query, "_id": {"$gt": last}}
            cursor = self._call(
                "cannot read the store",
                lambda q=page_query: collection.find(q).sort("_id", 1).limit(CHUNK),
            )
            page = list(self._drain(cursor))
            yield from page
            if len(page) < CHUNK:
                return
            last = page[-1]["_id"]

    def _pilot_pages(self, collection: Any, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Documents matching ``query`` in (pilot, model, word) order, fetched in keyset pages."""
        after: dict[str, Any] | None = None
        while True:
            page_query = query if after is None else {"$and": [query, after]}
            cursor = self._call(
                "cannot read the store",
                lambda q=page_query: collection.find(q).sort(_PILOT_KEY_INDEX).limit(CHUNK),
            )
            page = list(self._drain(cursor))
            yield from page
            if len(page) < CHUNK:
                return
            pilot, model, word = _pilot_order(page[-1])
            after = {
                "$or": [
                    {"pilot": {"$gt": pilot}},
                    {"pilot": pilot, "model": {"$gt": model}},
                    {"pilot": pilot, "model": model, "word": {"$gt": word}},
                ]
            }

    def _present(self, collection: Any, words: list[str], field: str = "_id") -> set[str]:
        cursor = self._call(
            "cannot read the store", collection.find, {field: {"$in": words}}, {field: 1}
        )
        return {doc[field] for doc in self._drain(cursor)}

    def _drain(self, cursor: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._call("cannot read the store", list, cursor)

    def _call[T](self, action: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one driver call; a driver or encoding error becomes a one-line StoreError."""
        if self._closed:
            raise StoreError(f"{self._location}: {action}: the store is closed")
        try:
            return fn(*args, **kwargs)
        except (PyMongoError, BSONError) as exc:
            problem = self._describe(exc, action)
            # an unreachable server may come back; refused credentials, rights or documents won't
            lasting = not isinstance(exc, ConnectionFailure | ServerSelectionTimeoutError)
        raise StoreError(f"{self._location}: {problem}", lasting=lasting)  # nothing chained

    def _describe(self, exc: BaseException, action: str) -> str:
        if isinstance(exc, OperationFailure) and exc.code == _AUTH_FAILED:
            return (
                f"{action}: the server refused the credentials (authentication failed); "
                "check the user name, password and authSource"
            )
        if isinstance(exc, OperationFailure) and exc.code in _UNAUTHORIZED:
            return f"{action}: not authorized: {self._scrub(exc)}"
        if isinstance(exc, BulkWriteError):
            errors = exc.details.get("writeErrors") or [{}]
            first = errors[0].get("errmsg", "write error")
            return f"{action}: {len(errors)} write error(s), first: {self._scrub(first)}"
        if isinstance(exc, ServerSelectionTimeoutError):
            # The topology description after ", Timeout:" is long and adds nothing for a user.
            return f"{action}: {self._scrub(str(exc).split(', Timeout:')[0])}"
        if isinstance(exc, ConfigurationError):
            return f"{action}: bad configuration: {self._scrub(exc)}"
        return f"{action}: {self._scrub(exc)}"

    def _scrub(self, text: object) -> str:
        message = mask_uri(str(text))
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return message


# --- URIs -----------------------------------------------------------------------------------


def database_from_uri(uri: str) -> str | None:
    """The database a MongoDB URI names in its path (``/name`` or ``/name.collection``), or None.

    Parsed as pymongo parses it, without resolving ``mongodb+srv`` hosts.
    """
    _, _, rest = uri.partition("://")
    hosts_and_path = rest.partition("?")[0]
    _, slash, path = hosts_and_path.partition("/")
    if not slash or not path:
        return None
    return unquote_plus(path).split(".", 1)[0] or None


def _display_uri(uri: str) -> str:
    """``uri`` fit to display: the password, a TLS key password and AWS session token masked.

    Goes beyond :func:`mask_uri` for passwords that were not percent-encoded and so contain
    ``/`` or ``@``: everything between the user name and the last ``@`` is masked.
    """
    masked = mask_uri(uri)
    scheme, sep, rest = masked.partition("://")
    if sep:
        authority_and_path, question, query = rest.partition("?")
        userinfo, at, hosts = authority_and_path.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        if at and colon:
            authority_and_path = f"{user}:***@{hosts}"
        masked = f"{scheme}://{authority_and_path}{question}{query}"
    masked = _SECRET_OPTIONS.sub(r"\1***", masked)
    return _SESSION_TOKEN.sub(r"\1***", masked)


def _uri_secrets(uri: str) -> list[str]:
    """Password spellings that must never reach a message (longest first)."""
    _, _, rest = uri.partition("://")
    authority_and_path = rest.partition("?")[0]
    userinfo, at, _ = authority_and_path.rpartition("@")
    password = userinfo.partition(":")[2] if at else ""
    secrets = {password, unquote(password), unquote_plus(password)} - {""}
    secrets |= {m.group(0).split("=", 1)[1] for m in _SECRET_OPTIONS.finditer(uri)} - {""}
    return sorted(secrets, key=len, reverse=True)


def _client_options(uri: str) -> dict[str, Any]:
    """:data:`CLIENT_DEFAULTS` minus the options the URI sets itself (names are case-blind)."""
    query = uri.partition("?")[2]
    given = {part.split("=", 1)[0].lower() for part in re.split(r"[&;]", query) if part}
    return {k: v for k, v in CLIENT_DEFAULTS.items() if k.lower() not in given}


# --- documents ------------------------------------------------------------------------------


def _entry_id(record: EntryRecord) -> str:
    # \x1f never occurs in a word (words are normalised text), so _id order is word order
    return "\x1f".join(record.key)


def _entry_document(record: EntryRecord) -> dict[str, Any]:
    # getattr, not to_dict: asdict would deep-copy every entry before pymongo encodes it
    return {"_id": _entry_id(record), **{name: getattr(record, name) for name in _ENTRY_FIELDS}}


def _pilot_key(pilot: str, model: str, word: str) -> dict[str, str]:
    return {"pilot": pilot, "model": model, "word": word}


def _pilot_order(doc: Mapping[str, Any]) -> tuple[str, str, str]:
    return doc["pilot"], doc["model"], doc["word"]


def _pilot_entry_document(pilot: str, record: EntryRecord) -> dict[str, Any]:
    return {"pilot": pilot, **{name: getattr(record, name) for name in _ENTRY_FIELDS}}


def _raise(exc: BaseException) -> None:
    raise exc


def _reservation_id(purchase: Purchase, word: str) -> str:
    # \x1f never occurs in a word (words are normalised text) nor in a provider, model or URL
    return "\x1f".join(purchase.key(word))


def _purchase_document(purchase: Purchase, word: str) -> dict[str, str]:
    return {
        "word": word,
        "provider": purchase.provider,
        "model": purchase.model,
        "prompt_version": purchase.prompt_version,
        "schema_version": purchase.schema_version,
        "api_location": purchase.api_location,
    }


def _holder_document(holder: Holder) -> dict[str, Any]:
    return {
        "_id": holder.run_id,
        "checkpoint": holder.checkpoint,
        "host": holder.host,
        "pid": holder.pid,
        "account": holder.account,
    }


def _reservation(
    purchase: Purchase, doc: Mapping[str, Any], holder: Mapping[str, Any]
) -> Reservation:
    return Reservation(
        word=doc["word"],
        purchase=purchase,
        run_id=doc["run_id"],
        shard=doc["shard"],
        position=int(doc["position"]),
        batch_id=doc.get("batch_id"),
        state=doc["state"],
        reserved_at=float(doc["reserved_at"]),
        renewed_at=float(holder.get("renewed_at") or 0.0),
        ended=bool(holder.get("ended")),
        checkpoint=holder.get("checkpoint", ""),
        account=holder.get("account", ""),
        host=holder.get("host", "") or "",
        pid=int(holder.get("pid") or 0),
    )


def _entry_record(doc: Mapping[str, Any]) -> EntryRecord:
    # Fields another tool added to the document are ignored; missing optional ones default.
    return EntryRecord(**{k: doc[k] for k in _ENTRY_FIELDS if k in doc})


def _failure_record(doc: Mapping[str, Any]) -> FailureRecord:
    return FailureRecord(**{k: doc[k] for k in _FAILURE_FIELDS if k in doc})


def _audit_id(audit: AuditRecord) -> str:
    return f"{audit.audit_version}:{audit.entry_key}"


def _audit_fields(audit: AuditRecord) -> dict[str, Any]:
    return {
        **audit.to_dict(),
        "errors": audit.count("error"),
        "warnings": audit.count("warning"),
    }


def _audit_record(doc: Mapping[str, Any]) -> AuditRecord:
    return AuditRecord(
        doc["entry_key"],
        doc["audit_version"],
        doc["word"],
        doc["provider"],
        doc["model"],
        tuple(doc.get("findings") or ()),
        doc.get("entry"),
        doc.get("run_id"),
        doc["audited_at"],
    )
