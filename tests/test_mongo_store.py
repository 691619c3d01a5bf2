"""MongoStore beyond the shared conformance cases: connecting, failing safely, layout, runs."""

from __future__ import annotations

import traceback
from dataclasses import replace
from typing import Any

import mongomock_ng as mongomock
import pytest
from pymongo.errors import (
    ConfigurationError,
    OperationFailure,
    ServerSelectionTimeoutError,
)

import synthlib.store.mongo as mongo_module
from synthlib.core.errors import StoreError
from synthlib.core.schema import Entry
from synthlib.store import mask_uri, open_store
from synthlib.store.mongo import DEFAULT_DATABASE, MongoStore, database_from_uri
from synthlib.store.records import EntryRecord, FailureRecord

# "@" stays out of the URI literals, so that no fake credential here looks like a real one
AT = "@"
PASSWORD = "s3cret"
UNREACHABLE = f"mongodb://user:{PASSWORD}{AT}127.0.0.1:1/db?serverSelectionTimeoutMS=300"


def make_record(word: str, *, cefr: str = "B1", model: str = "gpt-4o-mini") -> EntryRecord:
    entry = Entry.model_validate(
        {
            "word": word,
            "is_real_word": True,
            "pronunciation": None,
            "parts_of_speech": [
                {
                    "part_of_speech": "noun",
                    "senses": [
                        {
                            "definition": f"the meaning of {word}",
                            "examples": [f"A {word}."],
                            "synonyms": [],
                            "antonyms": [],
                            "register": None,
                            "domain": None,
                            "region": None,
                            "cefr_level": cefr,
                            "usage_notes": None,
                        }
                    ],
                }
            ],
            "word_forms": None,
            "etymology": None,
            "frequency_band": 2,
            "cefr_level": cefr,
        }
    )
    return EntryRecord(
        word=word,
        entry=entry.model_dump(mode="json"),
        provider="openai",
        model=model,
        prompt_version="p1",
        schema_version="1",
    )


@pytest.fixture
def client(mongomock_client: mongomock.MongoClient) -> mongomock.MongoClient:
    return mongomock_client


def chain_text(exc: BaseException) -> str:
    """Every message and repr along ``exc``'s cause/context chain."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen), *traceback.format_exception_only(seen)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


class RefusingClient:
    """A client whose server answers ``ping`` with ``error`` (databases come from mongomock)."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.admin = self
        self._real = mongomock.MongoClient()

    def get_database(self, name: str) -> Any:
        return self._real.get_database(name)

    def command(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error

    def close(self) -> None:
        pass


# --- failing safely -----------------------------------------------------------------------------


def test_an_unreachable_server_fails_fast_with_the_password_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[Any] = []
    real_client = mongo_module.MongoClient

    def spy(*args: Any, **kwargs: Any) -> Any:
        made.append(real_client(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(mongo_module, "MongoClient", spy)
    with pytest.raises(StoreError) as caught:
        MongoStore(UNREACHABLE)
    # fast: the URI's 300 ms wins over the 5 s default (read from the client, not a stopwatch)
    assert made[0].options.server_selection_timeout == pytest.approx(0.3)
    exc = caught.value
    message = str(exc)
    assert "\n" not in message
    assert "user:***@127.0.0.1:1/db" in message
    assert "cannot reach the MongoDB server" in message
    assert exc.__cause__ is None and exc.__context__ is None
    assert PASSWORD not in chain_text(exc)


def test_open_store_passes_a_mongodb_uri_through_to_mongostore() -> None:
    with pytest.raises(StoreError) as caught:
        open_store(UNREACHABLE.replace("300", "200"))
    assert "***" in str(caught.value)
    assert PASSWORD not in chain_text(caught.value)


@pytest.mark.parametrize("uri", ["mongodb://h1/team", f"mongodb+srv://u:p{AT}cluster.example/team"])
def test_open_store_selects_mongostore_with_the_client_settings(
    uri: str, monkeypatch: pytest.MonkeyPatch, client: mongomock.MongoClient
) -> None:
    made: list[tuple[str, dict[str, Any]]] = []

    def fake_client(given: str, **options: Any) -> mongomock.MongoClient:
        made.append((given, options))
        return client

    monkeypatch.setattr(mongo_module, "MongoClient", fake_client)
    store = open_store(uri)
    assert isinstance(store, MongoStore)
    assert store.database_name == "team"
    assert made[0][0] == uri
    assert made[0][1] == {
        "serverSelectionTimeoutMS": 5_000,
        "connectTimeoutMS": 5_000,
        "socketTimeoutMS": 60_000,
        "retryWrites": True,
        "appname": "synthlib",
    }
    store.close()


def test_options_in_the_uri_win_over_the_defaults(
    monkeypatch: pytest.MonkeyPatch, client: mongomock.MongoClient
) -> None:
    seen: dict[str, Any] = {}

    def fake_client(given: str, **options: Any) -> mongomock.MongoClient:
        seen.update(options)
        return client

    monkeypatch.setattr(mongo_module, "MongoClient", fake_client)
    MongoStore("mongodb://h/db?serverselectiontimeoutms=100;retryWrites=false").close()
    assert "serverSelectionTimeoutMS" not in seen and "retryWrites" not in seen
    assert seen["connectTimeoutMS"] == 5_000


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OperationFailure("Authentication failed.", code=18), "refused the credentials"),
        (ServerSelectionTimeoutError(f"h:27017: user:{PASSWORD}@h timed out"), "cannot reach"),
        (ConfigurationError(f"bad option for {PASSWORD}"), "bad configuration"),
    ],
)
def test_ping_errors_become_store_errors(error: Exception, expected: str) -> None:
    uri = f"mongodb://user:{PASSWORD}{AT}h/db"
    with pytest.raises(StoreError) as caught:
        MongoStore(uri, client=RefusingClient(error))
    assert expected in str(caught.value)
    assert str(caught.value).startswith(f"mongodb://user:***{AT}h/db: ")
    assert PASSWORD not in chain_text(caught.value)


@pytest.mark.parametrize(
    "uri",
    [
        f"mongodb://user:{PASSWORD}{AT}h:notaport/db",  # ValueError inside pymongo
        f"mongodb://user:{PASSWORD}{AT}h/db?replicaSet=a&directConnection=true&srvMaxHosts=2",
        f"mongodb://user:{PASSWORD}{AT}h/bad$name",  # InvalidURI
        f"mongodb://user:p{AT}{PASSWORD}{AT}h/db",  # an unescaped "@" in the password
        f"mongodb://user:p/{PASSWORD}{AT}h/db",  # an unescaped "/" in the password
    ],
)
def test_unusable_uris_become_store_errors_without_the_password(uri: str) -> None:
    with pytest.raises(StoreError) as caught:
        MongoStore(uri)
    assert PASSWORD not in chain_text(caught.value)
    assert caught.value.__context__ is None


def test_a_reader_who_may_not_make_indexes_can_still_open_the_store(
    client: mongomock.MongoClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    MongoStore("mongodb://h/db", client=client).upsert_entries([make_record("kept")])

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OperationFailure("not authorized on db to execute command", code=13)

    monkeypatch.setattr(mongomock.collection.Collection, "create_index", refuse)
    reader = MongoStore("mongodb://h/db", client=client)
    assert reader.words_with_entries() == {"kept"}

    monkeypatch.setattr(mongomock.collection.Collection, "find_one", refuse)
    with pytest.raises(StoreError, match="not allowed to use database 'db'"):
        MongoStore("mongodb://h/db", client=client)


# --- layout ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "database"),
    [
        ("mongodb://h/dictionary", "dictionary"),
        (f"mongodb://u:p{AT}h1:27017,h2:27018/dictionary?replicaSet=rs0", "dictionary"),
        ("mongodb://h/dictionary.entries", "dictionary"),
        ("mongodb://h/my%20words", "my words"),
        ("mongodb://h", DEFAULT_DATABASE),
        ("mongodb://h/", DEFAULT_DATABASE),
        ("mongodb://h/?authSource=admin", DEFAULT_DATABASE),
        (f"mongodb+srv://u:p{AT}cluster.example.net/?retryWrites=true", DEFAULT_DATABASE),
    ],
)
def test_the_database_comes_from_the_uri_path(
    uri: str, database: str, client: mongomock.MongoClient
) -> None:
    assert (database_from_uri(uri) or DEFAULT_DATABASE) == database
    store = MongoStore(uri, client=client)
    assert store.database_name == database
    store.upsert_entries([make_record("ink")])
    assert client[database]["entries"].count_documents({}) == 1
    assert MongoStore(uri, client=client, database="other").database_name == "other"


def test_documents_are_flat_with_a_queryable_entry(client: mongomock.MongoClient) -> None:
    store = MongoStore("mongodb://h/dict", client=client)
    record = make_record("ubiquitous", cefr="C1")
    store.upsert_entries([record, make_record("cat", cefr="A1")])
    document = client["dict"]["entries"].find_one({"entry.cefr_level": "C1"})
    assert document == {"_id": "\x1f".join(record.key), **record.to_dict()}
    assert isinstance(document["entry"], dict)

    indexes = {tuple(k for k, _ in spec["key"]): spec for spec in _indexes(client, "entries")}
    assert not indexes[("word",)].get("unique")  # one entry per word and purchase
    assert ("provider", "model") in indexes
    failure_indexes = {tuple(k for k, _ in s["key"]): s for s in _indexes(client, "failures")}
    assert failure_indexes[("word",)].get("unique") is True

    store.record_failures([FailureRecord("qq", "not_a_word")])
    assert client["dict"]["failures"].find_one({"_id": "qq"})["reason"] == "not_a_word"


def _indexes(client: mongomock.MongoClient, collection: str) -> list[dict[str, Any]]:
    return list(client["dict"][collection].index_information().values())


def test_write_errors_become_store_errors(client: mongomock.MongoClient) -> None:
    store = MongoStore(f"mongodb://user:pw{AT}h/dict", client=client)
    # Another tool made a unique index, and a document that clashes with ours: a write error.
    client["dict"]["entries"].insert_one({"_id": "other", "provider": "openai"})
    client["dict"]["entries"].create_index("provider", unique=True)
    with pytest.raises(StoreError, match="cannot write entries: 1 write error") as caught:
        store.upsert_entries([make_record("clash")])
    assert caught.value.__context__ is None
    with pytest.raises(StoreError, match="cannot write entries"):
        store.upsert_entries([EntryRecord("odd", {"x": {1, 2}}, "p", "m", "v", "1")])


def test_a_store_keyed_by_word_alone_is_rekeyed_on_opening(client: mongomock.MongoClient) -> None:
    old = replace(make_record("ink"), grounded=True, prompt_version="2")
    entries = client["dict"]["entries"]
    document = {"_id": "ink", **old.to_dict()}
    del document["api_location"]
    entries.insert_one(document)
    entries.create_index("word", unique=True)  # as a store written before kept it
    store = MongoStore("mongodb://h/dict", client=client)
    [kept] = store.iter_entries()
    assert kept.prompt_version == "2+grounding" and kept.api_location == ""
    assert kept.entry == old.entry
    store.upsert_entries([make_record("ink", model="gpt-4.1")])  # beside it, not over it
    assert len(list(store.iter_entries(every=True))) == 2


def test_pilot_documents_are_flat_and_unique_by_pilot_model_and_word(
    client: mongomock.MongoClient,
) -> None:
    store = MongoStore("mongodb://h/dict", client=client)
    record = make_record("ink", model="claude")
    store.keep_pilot_entries("pilot-1", [record, record])
    store.keep_pilot_failures("pilot-1", "gpt-4.1", [FailureRecord("ink", "not_a_word")])
    document = client["dict"]["pilot_entries"].find_one({"pilot": "pilot-1"}, {"_id": 0})
    assert document == {"pilot": "pilot-1", **record.to_dict()}
    failure = client["dict"]["pilot_failures"].find_one({}, {"_id": 0})
    assert (failure["pilot"], failure["model"], failure["word"]) == ("pilot-1", "gpt-4.1", "ink")
    for collection in ("pilot_entries", "pilot_failures"):
        indexes = {tuple(k for k, _ in s["key"]): s for s in _indexes(client, collection)}
        assert indexes[("pilot", "model", "word")].get("unique") is True
    assert client["dict"]["pilot_entries"].count_documents({}) == 1
    assert client["dict"]["entries"].count_documents({}) == 0


def test_pilot_write_errors_become_store_errors_without_the_password(
    client: mongomock.MongoClient,
) -> None:
    store = MongoStore(f"mongodb://user:{PASSWORD}{AT}h/dict", client=client)
    with pytest.raises(StoreError, match="cannot write pilot entries") as caught:
        store.keep_pilot_entries("p", [EntryRecord("odd", {"x": {1, 2}}, "p", "m", "v", "1")])
    assert caught.value.__context__ is None
    assert PASSWORD not in chain_text(caught.value)
    store.close()
    with pytest.raises(StoreError, match="cannot write pilot failures: the store is closed"):
        store.keep_pilot_failures("p", "m", [FailureRecord("odd", "not_a_word")])


def test_location_and_repr_mask_the_password(client: mongomock.MongoClient) -> None:
    uri = f"mongodb://user:{PASSWORD}{AT}h/dict?tlsCertificateKeyFilePassword=k3y"
    store = MongoStore(uri, client=client)
    assert store.location == f"mongodb://user:***{AT}h/dict?tlsCertificateKeyFilePassword=***"
    assert PASSWORD not in repr(store) and "k3y" not in repr(store)


def test_a_closed_store_refuses_work(client: mongomock.MongoClient) -> None:
    with MongoStore("mongodb://h/dict", client=client) as store:
        store.upsert_entries([make_record("a")])
        assert store.count() == 1
    with pytest.raises(StoreError, match="closed"):
        store.count()
    store.close()  # closing twice is harmless
    assert MongoStore("mongodb://h/dict", client=client).count() == 1  # the client still works


# --- run summaries -----------------------------------------------------------------------------


def test_run_summaries_are_kept_once_per_run(client: mongomock.MongoClient) -> None:
    store = MongoStore("mongodb://h/dict", client=client)
    first = store.record_run({"run_id": "run-1", "words": 10, "recorded_at": "2025-01-01T00:00"})
    assert first == "run-1"
    generated = store.record_run({"words": 3, "recorded_at": "2025-01-02T00:00"})
    assert generated and generated != "run-1"
    store.record_run({"run_id": "run-1", "words": 12, "recorded_at": "2025-01-01T00:00"})
    runs = list(store.iter_runs())
    assert [(r["run_id"], r["words"]) for r in runs] == [("run-1", 12), (generated, 3)]
    assert all("_id" not in r for r in runs)
    stamped = store.record_run({"run_id": "run-3"})
    assert next(r for r in store.iter_runs() if r["run_id"] == stamped)["recorded_at"]


# --- mask_uri ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "masked"),
    [
        (f"mongodb+srv://u:p{AT}host/db", f"mongodb+srv://u:***{AT}host/db"),
        (
            f"mongodb://user:pa%40ss{AT}h1,h2/db?ssl=true",
            f"mongodb://user:***{AT}h1,h2/db?ssl=true",
        ),
        ("mongodb://host/db", "mongodb://host/db"),
        (f"mongodb://user{AT}host/db?authMechanism=MONGODB-X509", None),
        ("mongodb://host:27017", "mongodb://host:27017"),
        (
            "mongodb://host/db?tls=true;tlsCertificateKeyFilePassword=k3y;authSource=admin",
            "mongodb://host/db?tls=true;tlsCertificateKeyFilePassword=***;authSource=admin",
        ),
        ("mongodb://host/db?password=k3y&w=1", "mongodb://host/db?password=***&w=1"),
    ],
)
def test_mask_uri(uri: str, masked: str | None, client: mongomock.MongoClient) -> None:
    expected = uri if masked is None else masked
    assert mask_uri(uri) == expected
    assert MongoStore(uri, client=client).location == expected


class _ResumeAt:
    """A collection whose ``at``-th call (counted over the collections sharing ``calls``) is
    preceded by ``resume()``: the gone run coming back in the middle of a takeover."""

    def __init__(self, inner: Any, calls: list[int], at: int, resume: Any) -> None:
        self._inner, self._calls, self._at, self._resume = inner, calls, at, resume

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._calls is not None:
                self._calls[0] += 1
                if self._calls[0] == self._at:
                    self._calls[1] = 1
            if self._calls[1] == 1:
                self._calls[1] = 2
                self._resume()
            return method(*args, **kwargs)

        return call


@pytest.mark.parametrize("at", range(1, 9))
def test_a_gone_run_coming_back_mid_takeover_never_collects_with_its_taker(at: int) -> None:
    from synthlib.store.ledger import Holder, Purchase

    store = MongoStore("mongodb://localhost/db", client=mongomock.MongoClient())
    purchase = Purchase("openai", "gpt-4o-mini", "p1", "1", "https://api.openai.com/v1")
    owner, taker = Holder("run-a"), Holder("run-b")
    assert store.reserve(purchase, owner, "s-0", {"w0": 0, "w1": 1}, 0.0) == {"w0", "w1"}
    store.attach_batch("run-a", "s-0", "batch_1")
    now = 2_000.0  # the owner silent past the lease
    seen: dict[str, set[str]] = {}
    holders, reservations = store._holders, store._reservations

    def resume() -> None:  # what a resumed run does: renew, then look at what it holds
        store._holders, store._reservations = holders, reservations
        store.renew(owner, now)
        seen["owner"] = store.reserved_by("run-a")
        store._holders, store._reservations = wrapped

    calls = [0, 0]
    wrapped = (_ResumeAt(holders, calls, at, resume), _ResumeAt(reservations, calls, at, resume))
    store._holders, store._reservations = wrapped
    taken = store.take_over("batch_1", "run-a", taker, "a-batch_1", now, 900.0)
    store._holders, store._reservations = holders, reservations
    if "owner" not in seen:  # the owner came back after the takeover
        resume()
        store._holders, store._reservations = holders, reservations
    collectors = [run for run, words in (("owner", seen["owner"]), ("taker", set(taken))) if words]
    assert len(collectors) == 1  # one run collects the batch: never both, never none
    assert store.reserved_by("run-a") == seen["owner"]
    assert store.reserved_by("run-b") == set(taken)
    assert store.batch_places("batch_1") == {"w0": 0, "w1": 1}
