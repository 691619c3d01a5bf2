"""The MongoDB store: the same :class:`~synthlib.store.Store` guarantees on a real database.

The database is the URI's path (``mongodb://host/lexicon`` -> ``lexicon``), or ``synthlib`` when
the URI names none. Collections: ``entries`` (``_id`` is the word, the record's fields flat with
the entry as a sub-document, indexed by provider and model), ``failures`` (``_id`` the word) and
``runs`` (one summary per run). Writes are unordered bulk upserts in chunks, with retryable
writes; a server that is down or refuses the credentials is a :class:`StoreError` when the store
is opened, before anything is spent. The password never appears in ``location``, messages or
exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from ..errors import StoreError
from . import mask_uri
from .records import EntryRecord, FailureRecord

DEFAULT_DATABASE = "synthlib"
CHUNK = 1_000
_TIMEOUTS = {
    "serverSelectionTimeoutMS": 5_000,
    "connectTimeoutMS": 5_000,
    "socketTimeoutMS": 60_000,
}
_ENTRY_FIELDS = tuple(f for f in EntryRecord.__dataclass_fields__ if f != "entry_json")


class MongoStore:
    """Entries in MongoDB. ``client`` may be given (tests pass a ``mongomock.MongoClient``)."""

    def __init__(self, uri: str, *, client: Any = None, database: str | None = None) -> None:
        import pymongo
        from pymongo import errors, uri_parser

        self._masked = mask_uri(uri)
        try:
            # (a given client is already connected: no DNS look-up of an SRV record for it)
            srv = uri.startswith("mongodb+srv://")
            parsed = {} if client is not None and srv else uri_parser.parse_uri(uri)
        except (errors.InvalidURI, errors.ConfigurationError, ValueError) as exc:
            raise StoreError(
                f"{self._masked}: not a valid MongoDB URI: {self._clean(exc)}"
            ) from None
        self._password = parsed.get("password") or ""
        if client is None:
            options = {k.lower() for k in parsed.get("options", {})}
            defaults = {k: v for k, v in _TIMEOUTS.items() if k.lower() not in options}
            try:
                client = pymongo.MongoClient(uri, retryWrites=True, **defaults)
                client.admin.command("ping")
            except errors.OperationFailure as exc:
                raise StoreError(
                    f"{self._masked}: MongoDB refused the connection ({self._clean(exc)}); "
                    "check the user name and password"
                ) from None
            except errors.PyMongoError as exc:
                raise StoreError(
                    f"{self._masked}: cannot reach MongoDB ({type(exc).__name__}); "
                    "is the server running and the URI right?"
                ) from None
        self._client = client
        self._errors = errors
        name = database or parsed.get("database") or DEFAULT_DATABASE
        db = client[name]
        self.database = name
        self._entries = db["entries"]
        self._failures = db["failures"]
        self._runs = db["runs"]
        with self._guard("create indexes"):
            self._entries.create_index([("provider", 1), ("model", 1)])
            self._entries.create_index("batch_id")

    @property
    def location(self) -> str:
        return self._masked

    def _clean(self, exc: BaseException) -> str:
        text = " ".join(str(exc).split())[:300]
        if getattr(self, "_password", ""):
            text = text.replace(self._password, "***")
        return mask_uri(text)

    def _guard(self, what: str) -> _Guard:
        return _Guard(self, what)

    # --- writes ------------------------------------------------------------------------------

    def upsert_entries(self, records: Iterable[EntryRecord]) -> int:
        from pymongo import DeleteMany, ReplaceOne

        written = 0
        it = iter(records)
        while chunk := list(islice(it, CHUNK)):
            ops = [ReplaceOne({"_id": r.word}, _entry_doc(r), upsert=True) for r in chunk]
            with self._guard("write entries"):
                self._entries.bulk_write(ops, ordered=False)
                self._failures.bulk_write(
                    [DeleteMany({"_id": {"$in": [r.word for r in chunk]}})], ordered=False
                )
            written += len(chunk)
        return written

    def record_failures(self, failures: Iterable[FailureRecord]) -> int:
        from pymongo import ReplaceOne

        written = 0
        it = iter(failures)
        while chunk := list(islice(it, CHUNK)):
            ops = [ReplaceOne({"_id": f.word}, {"_id": f.word, **f.to_dict()}, upsert=True)
                   for f in chunk]  # fmt: skip
            with self._guard("write failures"):
                self._failures.bulk_write(ops, ordered=False)
            written += len(chunk)
        return written

    def record_run(self, summary: dict[str, Any]) -> None:
        """Keep a run's summary (by its ``run_id``) for review."""
        with self._guard("write the run summary"):
            self._runs.replace_one({"_id": summary["run_id"]}, dict(summary), upsert=True)

    # --- reads -------------------------------------------------------------------------------

    def words_with_entries(self, words: Iterable[str] | None = None) -> set[str]:
        with self._guard("read entries"):
            if words is None:
                return {d["_id"] for d in self._entries.find({}, {"_id": 1})}
            found: set[str] = set()
            it = iter(words)
            while chunk := list(islice(it, CHUNK)):
                found.update(
                    d["_id"] for d in self._entries.find({"_id": {"$in": chunk}}, {"_id": 1})
                )
            return found

    def iter_entries(
        self,
        *,
        words: Iterable[str] | None = None,
        provider: str | None = None,
        model: str | None = None,
    ) -> Iterator[EntryRecord]:
        query: dict[str, Any] = {}
        if words is not None:
            query["_id"] = {"$in": list(words)}
        if provider is not None:
            query["provider"] = provider
        if model is not None:
            query["model"] = model
        with self._guard("read entries"):
            docs = list(self._entries.find(query).sort("_id", 1))
        for doc in docs:
            yield EntryRecord(**{f: doc[f] for f in _ENTRY_FIELDS if f in doc})

    def iter_failures(self) -> Iterator[FailureRecord]:
        with self._guard("read failures"):
            docs = list(self._failures.find({}).sort("_id", 1))
        fields = FailureRecord.__dataclass_fields__
        for doc in docs:
            yield FailureRecord(**{f: doc[f] for f in fields if f in doc})

    def iter_runs(self) -> Iterator[dict[str, Any]]:
        with self._guard("read run summaries"):
            yield from self._runs.find({}).sort("_id", 1)

    def count(self) -> int:
        with self._guard("count entries"):
            return self._entries.count_documents({})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> MongoStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MongoStore({self._masked!r})"


class _Guard:
    """Turns any pymongo failure into a one-line, password-free :class:`StoreError`."""

    def __init__(self, store: MongoStore, what: str) -> None:
        self.store = store
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is not None and isinstance(exc, self.store._errors.PyMongoError):
            raise StoreError(
                f"{self.store.location}: cannot {self.what}: {self.store._clean(exc)}"
            ) from None
        return False


def _entry_doc(r: EntryRecord) -> dict[str, Any]:
    doc = {f: getattr(r, f) for f in _ENTRY_FIELDS}
    doc["_id"] = r.word
    return doc
