"""One behaviour for every store: the same cases run on each :class:`synthlib.store.Store`.

Stores: the embedded SQLite file, :class:`MongoStore` on ``mongomock``, and :class:`MongoStore`
on a real server when ``SYNTHLIB_TEST_MONGO_URI`` is set (a fresh database per test, dropped
after it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import mongomock_ng as mongomock
import pandas as pd
import pytest

import synthlib.store.mongo as mongo_module
import synthlib.store.sqlite as sqlite_module
from synthlib.core.schema import Entry
from synthlib.jobs.frames import ENTRY_COLUMNS, load_entries, load_failures, load_senses
from synthlib.store import Store
from synthlib.store.mongo import MongoStore
from synthlib.store.records import EntryRecord, FailureRecord
from synthlib.store.sqlite import SQLiteStore

REAL_MONGO_URI = os.environ.get("SYNTHLIB_TEST_MONGO_URI")
NO_SERVER = "set SYNTHLIB_TEST_MONGO_URI to run against a real MongoDB server"

STORE_KINDS = [
    "sqlite",
    "mongomock",
    pytest.param("mongodb", marks=pytest.mark.skipif(not REAL_MONGO_URI, reason=NO_SERVER)),
]

# Chunked paths (bulk writes, ``$in`` queries, pages) are proven by crossing chunk boundaries, not
# by volume. mongomock scans its whole collection for every upserted document (quadratic: 1,200
# entries took 45 s), so on mongomock MongoStore's chunk is made small and the data scales with it;
# a real server (SYNTHLIB_TEST_MONGO_URI) keeps the shipped chunk of 1,000 and 10,000 entries.
MOCK_CHUNK = 20
SQLITE_QUERY_CHUNK = 900  # words per ``IN (...)`` query: under SQLite's bound-parameter limit

# --- factories --------------------------------------------------------------------------------


def make_entry(
    word: str, *, definition: str | None = None, pos: str = "noun", cefr: str = "B1"
) -> dict[str, Any]:
    """A valid entry (through :class:`Entry`) in the JSON form a record stores."""
    entry = Entry.model_validate(
        {
            "word": word,
            "is_real_word": True,
            "pronunciation": {"ipa": "/wɜːd/", "respelling": None, "syllables": [word]},
            "parts_of_speech": [
                {
                    "part_of_speech": pos,
                    "senses": [
                        {
                            "definition": definition or f"the meaning of {word}",
                            "examples": [f"She said {word}."],
                            "synonyms": ["term"],
                            "antonyms": [],
                            "register": "neutral",
                            "domain": None,
                            "region": None,
                            "cefr_level": cefr,
                            "usage_notes": None,
                        }
                    ],
                }
            ],
            "word_forms": {
                "plural": f"{word}s",
                "past_tense": None,
                "past_participle": None,
                "present_participle": None,
                "third_person_singular": None,
                "comparative": None,
                "superlative": None,
            },
            "etymology": {
                "text": "From Old English.",
                "origin_language": "Old English",
                "roots": [],
                "first_known_use": None,
            },
            "frequency_band": 3,
            "cefr_level": cefr,
        }
    )
    return entry.model_dump(mode="json")


def make_record(word: str, **overrides: Any) -> EntryRecord:
    """A record for ``word``; ``definition``, ``pos`` and ``cefr`` shape the entry."""
    shape = {k: overrides.pop(k) for k in ("definition", "pos", "cefr") if k in overrides}
    fields: dict[str, Any] = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "prompt_version": "p1",
        "schema_version": "1",
        "batch_id": "batch_1",
        "custom_id": f"req-{word}",
        "input_tokens": 120,
        "cached_tokens": 0,
        "output_tokens": 600,
        "cost_usd": 0.00042,
        "grounded": False,
        "run_id": "run-1",
        "created_at": "2025-01-01T00:00:00+00:00",
    }
    fields.update(overrides)
    return EntryRecord(word=word, entry=make_entry(word, **shape), **fields)


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def chunk(store_kind: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """The most words the store queries at once: the boundary the ``beyond_one_chunk`` cases
    cross (on mongomock, made small: see MOCK_CHUNK)."""
    if store_kind == "mongomock":
        monkeypatch.setattr(mongo_module, "CHUNK", MOCK_CHUNK)
        return MOCK_CHUNK
    return SQLITE_QUERY_CHUNK if store_kind == "sqlite" else mongo_module.CHUNK


@pytest.fixture
def write_chunk(store_kind: str, chunk: int) -> int:
    """The most records the store writes at once."""
    return sqlite_module._CHUNK if store_kind == "sqlite" else chunk


@pytest.fixture
def store(store_kind: str, chunk: int, tmp_path) -> Iterator[Store]:
    if store_kind == "sqlite":
        opened: Store = SQLiteStore(tmp_path / "entries.db")
    elif store_kind == "mongomock":
        opened = MongoStore("mongodb://localhost/conformance", client=mongomock.MongoClient())
    else:
        assert REAL_MONGO_URI
        database = f"synthlib_test_{uuid.uuid4().hex[:12]}"
        opened = MongoStore(REAL_MONGO_URI, database=database)
    try:
        yield opened
    finally:
        opened.close()
        if store_kind == "mongodb":
            from pymongo import MongoClient

            with MongoClient(REAL_MONGO_URI, serverSelectionTimeoutMS=5_000) as admin:
                admin.drop_database(database)


def dicts(records) -> list[dict[str, Any]]:
    return [r.to_dict() for r in records]


# --- cases ------------------------------------------------------------------------------------


def test_satisfies_the_store_protocol(store: Store) -> None:
    assert isinstance(store, Store)
    assert store.count() == 0
    assert store.words_with_entries() == set()
    assert list(store.iter_entries()) == []
    assert list(store.iter_failures()) == []


def test_upserting_the_same_records_twice_changes_nothing(store: Store) -> None:
    records = [make_record(w) for w in ("apple", "banana", "cherry")]
    assert store.upsert_entries(records) == 3
    assert store.upsert_entries(iter(records)) == 3
    assert store.count() == 3
    assert store.words_with_entries() == {"apple", "banana", "cherry"}
    assert dicts(store.iter_entries()) == dicts(records)


def test_a_newer_purchase_is_kept_beside_and_shown(store: Store) -> None:
    old = make_record("run", model="gpt-4o-mini", prompt_version="p1", definition="move fast")
    new = make_record(
        "run",
        model="gpt-4.1",
        prompt_version="p2",
        definition="to move swiftly on foot",
        pos="verb",
        input_tokens=300,
        output_tokens=900,
        cost_usd=0.0031,
        grounded=True,
        batch_id="batch_2",
        run_id="run-2",
        created_at="2025-02-01T00:00:00+00:00",
    )
    store.upsert_entries([old])
    store.upsert_entries([new])
    assert store.count() == 1
    [stored] = store.iter_entries()
    assert stored == new
    assert stored.entry["parts_of_speech"][0]["senses"][0]["definition"] == (
        "to move swiftly on foot"
    )
    assert sorted(store.iter_entries(every=True), key=lambda r: r.created_at) == [old, new]
    assert list(store.iter_entries(prefer="gpt-4o-mini")) == [old]


def test_a_newer_entry_of_the_same_purchase_replaces_it(store: Store) -> None:
    old = make_record("run", definition="move fast")
    new = make_record("run", definition="to move swiftly", created_at="2025-02-01T00:00:00+00:00")
    store.upsert_entries([old])
    store.upsert_entries([new])
    assert list(store.iter_entries(every=True)) == [new]
    # Within one call, the later record of a purchase wins.
    store.upsert_entries([new, old])
    assert list(store.iter_entries(every=True)) == [old]


def test_an_offline_entry_never_replaces_nor_hides_a_paid_one(store: Store) -> None:
    paid = make_record("run", provider="openai", model="gpt-4o-mini", api_location="https://x/v1")
    offline = make_record(
        "run",
        provider="offline",
        model="wordnet-3.0",
        api_location="local",
        definition="offline sense",
        created_at="2030-01-01T00:00:00+00:00",
    )
    store.upsert_entries([paid])
    store.upsert_entries([offline])
    assert list(store.iter_entries()) == [paid]
    assert list(store.iter_entries(prefer="latest")) == [offline]
    assert list(store.iter_entries(prefer="offline")) == [offline]
    assert len(list(store.iter_entries(every=True))) == 2
    assert store.words_made_with(
        ["run"], model="gpt-4o-mini", prompt_version="p1", schema_version="1"
    ) == {"run"}


def test_entries_bought_elsewhere_do_not_count_as_bought_here(store: Store) -> None:
    versions = {"model": "gpt-4o-mini", "prompt_version": "p1", "schema_version": "1"}
    store.upsert_entries([make_record("fake", api_location="http://127.0.0.1:9/v1")])
    store.upsert_entries([make_record("real", api_location="https://api.openai.com/v1")])
    store.upsert_entries([make_record("older")])  # made before locations were recorded
    words = ["fake", "real", "older"]
    assert store.words_made_with(words, **versions, api_location="https://api.openai.com/v1") == {
        "real",
        "older",
    }
    assert store.words_made_with(words, **versions, api_location="http://127.0.0.1:9/v1") == {
        "fake",
        "older",
    }
    assert store.words_made_with(words, **versions) == set(words)


def test_filters_keep_word_order(store: Store) -> None:
    plan = {
        "pear": ("openai", "gpt-4o-mini"),
        "apple": ("openai", "gpt-4.1"),
        "fig": ("anthropic", "claude"),
        "date": ("openai", "gpt-4o-mini"),
        "cherry": ("anthropic", "claude"),
    }
    store.upsert_entries(make_record(w, provider=p, model=m) for w, (p, m) in plan.items())

    def words(**filters: Any) -> list[str]:
        return [r.word for r in store.iter_entries(**filters)]

    assert words() == ["apple", "cherry", "date", "fig", "pear"]
    assert words(provider="openai") == ["apple", "date", "pear"]
    assert words(model="claude") == ["cherry", "fig"]
    assert words(provider="openai", model="gpt-4o-mini") == ["date", "pear"]
    assert words(provider="openai", model="claude") == []
    assert words(words=["pear", "apple", "kiwi", "apple"]) == ["apple", "pear"]
    assert words(words=(w for w in ["fig", "date"])) == ["date", "fig"]
    assert words(words=["pear", "fig", "apple"], provider="openai") == ["apple", "pear"]
    assert words(words=[]) == []


def test_failures_are_recorded_replaced_and_cleared_by_an_entry(store: Store) -> None:
    store.record_failures(
        [
            FailureRecord("zyx", "not_a_word", attempts=1, given_up=True, run_id="run-1"),
            FailureRecord("abc", "truncated: cut off", attempts=1, batch_id="b1"),
        ]
    )
    assert [f.word for f in store.iter_failures()] == ["abc", "zyx"]

    store.record_failures([FailureRecord("abc", "invalid: bad json", attempts=2, batch_id="b2")])
    failures = list(store.iter_failures())
    assert [f.word for f in failures] == ["abc", "zyx"]
    assert failures[0].reason == "invalid: bad json"
    assert (failures[0].attempts, failures[0].batch_id, failures[0].code) == (2, "b2", "invalid")
    assert failures[1].given_up is True

    store.upsert_entries([make_record("abc")])
    assert [f.word for f in store.iter_failures()] == ["zyx"]
    assert store.count() == 1


def test_a_failure_after_an_entry_is_not_listed(store: Store) -> None:
    """The protocol lists failures of words that still have no entry only."""
    store.upsert_entries([make_record("kept")])
    store.record_failures([FailureRecord("kept", "http_error: 500"), FailureRecord("gone", "x")])
    assert [f.word for f in store.iter_failures()] == ["gone"]


def test_unicode_and_case_make_distinct_words(store: Store) -> None:
    words = ["naïve", "café", "cafe\u0301", "日本", "ice cream", "Polish", "polish", "straße"]
    store.upsert_entries(make_record(w, definition=f"sense of {w}") for w in words)
    assert store.count() == len(words)
    assert [r.word for r in store.iter_entries()] == sorted(words)  # code point order
    assert store.words_with_entries(["Polish", "POLISH", "日本"]) == {"Polish", "日本"}
    [polish] = store.iter_entries(words=["polish"])
    assert polish.word == "polish"
    assert polish.entry["parts_of_speech"][0]["senses"][0]["definition"] == "sense of polish"
    [japan] = store.iter_entries(words=["日本"])
    assert japan == make_record("日本", definition="sense of 日本")


def test_bulk_write(store: Store, write_chunk: int, chunk: int) -> None:
    n = 2 * write_chunk + 3  # three write chunks, the last one short
    names = [f"w{i:05d}" for i in range(n)]
    assert store.upsert_entries(make_record(w, input_tokens=i) for i, w in enumerate(names)) == n
    assert store.count() == n
    for i in sorted({0, chunk - 1, chunk, write_chunk - 1, write_chunk, n // 2, n - 1}):
        [record] = store.iter_entries(words=[names[i]])
        assert record == make_record(names[i], input_tokens=i)
    # A second pass over more than one chunk replaces, never duplicates.
    again = names[: write_chunk + write_chunk // 2]
    store.upsert_entries(make_record(w, model="gpt-4.1") for w in again)
    assert store.count() == n
    assert {r.word for r in store.iter_entries(model="gpt-4.1")} == set(again)
    assert [r.word for r in store.iter_entries()] == names  # every page, in word order, once


def test_words_with_entries_beyond_one_chunk(store: Store, chunk: int) -> None:
    present = [f"p{i:04d}" for i in range(chunk + chunk // 2)]
    store.upsert_entries(make_record(w) for w in present)
    asked = present + [f"q{i:04d}" for i in range(chunk // 5)] + present[:10]
    assert store.words_with_entries(asked) == set(present)
    assert store.words_with_entries(iter(asked[chunk:])) == set(present[chunk:] + present[:10])
    assert store.words_with_entries() == set(present)
    assert [r.word for r in store.iter_entries(words=reversed(asked))] == present


def test_frames_read_the_store(store: Store) -> None:
    store.upsert_entries(
        [
            make_record("walk", pos="verb", cefr="A1"),
            make_record("apple", pos="noun", cefr="A1", provider="anthropic", model="claude"),
            make_record("ubiquitous", pos="adjective", cefr="C1"),
        ]
    )
    store.record_failures([FailureRecord("qwzx", "not_a_word", given_up=True)])

    entries = load_entries(store)
    assert list(entries.columns) == ENTRY_COLUMNS
    assert entries["word"].tolist() == ["apple", "ubiquitous", "walk"]
    assert entries["parts_of_speech"].tolist() == [["noun"], ["adjective"], ["verb"]]
    assert entries["sense_count"].tolist() == [1, 1, 1]
    assert entries["word_forms"].tolist()[0] == {"plural": "apples"}
    assert load_entries(store, part_of_speech="verb")["word"].tolist() == ["walk"]
    assert load_entries(store, cefr_level="A1")["word"].tolist() == ["apple", "walk"]
    assert load_entries(store, provider="anthropic")["word"].tolist() == ["apple"]
    assert load_entries(store, words=["walk", "nope"])["word"].tolist() == ["walk"]

    senses = load_senses(store, cefr_level="C1")
    assert senses[["word", "part_of_speech", "sense"]].values.tolist() == [
        ["ubiquitous", "adjective", 1]
    ]
    assert senses["examples"].tolist() == [["She said ubiquitous."]]

    failures = load_failures(store)
    assert failures[["word", "code", "given_up"]].values.tolist() == [["qwzx", "not_a_word", True]]
    assert store.count() == 3  # the frames leave a store object they were given open


def test_words_made_with_matches_model_prompt_and_schema_version(store: Store) -> None:
    key = {"model": "gpt-4o-mini", "prompt_version": "p1", "schema_version": "1"}
    store.upsert_entries(
        [
            make_record("same"),
            make_record("Same", provider="offline"),  # the provider is not part of the key
            make_record("other model", model="gpt-4.1"),
            make_record("other prompt", prompt_version="p2"),
            make_record("other schema", schema_version="2"),
        ]
    )
    asked = ["same", "Same", "SAME", "other model", "other prompt", "other schema", "absent"]
    assert store.words_made_with(asked, **key) == {"same", "Same"}
    assert store.words_made_with(iter(asked), **{**key, "model": "gpt-4.1"}) == {"other model"}
    assert store.words_made_with([], **key) == set()
    # an entry of another version is kept beside: the word stays made with this one too
    store.upsert_entries([make_record("same", prompt_version="p2")])
    assert store.words_made_with(asked, **key) == {"same", "Same"}
    assert store.words_made_with(asked, **{**key, "prompt_version": "p2"}) == {
        "same",
        "other prompt",
    }


def test_words_made_with_beyond_one_chunk(store: Store, chunk: int) -> None:
    key = {"model": "gpt-4o-mini", "prompt_version": "p1", "schema_version": "1"}
    present = [f"p{i:04d}" for i in range(chunk + chunk // 2)]
    store.upsert_entries(make_record(w) for w in present)
    store.upsert_entries(make_record(f"m{i:04d}", model="gpt-4.1") for i in range(20))
    absent = [f"q{i:04d}" for i in range(chunk - chunk // 20)]
    asked = absent + present + [f"m{i:04d}" for i in range(20)]
    assert store.words_made_with(asked, **key) == set(present)
    assert store.words_made_with((w for w in asked[chunk - chunk // 10 :]), **key) == set(present)


# --- the pilot area ---------------------------------------------------------------------------


def test_a_word_from_two_models_is_kept_twice_in_the_pilot_area_not_in_the_entries(
    store: Store,
) -> None:
    mini = make_record("bank", model="gpt-4o-mini")
    claude = make_record("bank", provider="anthropic", model="claude", definition="a river side")
    assert store.keep_pilot_entries("pilot-1", [mini, claude]) == 2
    assert list(store.iter_pilot_entries("pilot-1")) == [claude, mini]  # in model order
    assert store.count() == 0
    assert list(store.iter_entries()) == []
    assert store.words_with_entries() == set()


def test_the_pilot_area_and_the_entries_leave_each_other_alone(store: Store) -> None:
    kept = make_record("bank", definition="where money is kept")
    store.upsert_entries([kept])
    store.keep_pilot_entries("pilot-1", [make_record("bank", model="gpt-4.1")])
    assert list(store.iter_entries()) == [kept]
    store.upsert_entries([make_record("bank", prompt_version="p2")])
    assert [r.model for r in store.iter_pilot_entries()] == ["gpt-4.1"]


def test_keeping_a_pilot_entry_again_replaces_it_whole(store: Store) -> None:
    store.keep_pilot_entries("pilot-1", [make_record("run", definition="move fast")])
    newer = make_record(
        "run",
        definition="to move swiftly on foot",
        prompt_version="p2",
        batch_id="batch_2",
        custom_id="req-9",
        input_tokens=300,
        cached_tokens=40,
        output_tokens=900,
        cost_usd=0.0031,
        grounded=True,
        run_id="run-2",
        created_at="2025-02-01T00:00:00+00:00",
    )
    assert store.keep_pilot_entries("pilot-1", iter([newer])) == 1
    assert list(store.iter_pilot_entries("pilot-1")) == [newer]


def test_within_one_call_the_later_pilot_record_of_a_key_wins(store: Store) -> None:
    first, second = make_record("run", run_id="run-1"), make_record("run", run_id="run-2")
    store.keep_pilot_entries("pilot-1", [first, second])
    assert list(store.iter_pilot_entries("pilot-1")) == [second]


def test_pilot_entries_filter_by_pilot_model_and_words_in_key_order(store: Store) -> None:
    store.keep_pilot_entries(
        "pilot-b", [make_record(w, model=m) for w in ("pear", "fig") for m in ("m2", "m1")]
    )
    store.keep_pilot_entries("pilot-a", [make_record("kiwi", model="m2")])

    def keys(*args: Any, **filters: Any) -> list[tuple[str, str]]:
        return [(r.model, r.word) for r in store.iter_pilot_entries(*args, **filters)]

    everything = [("m2", "kiwi"), ("m1", "fig"), ("m1", "pear"), ("m2", "fig"), ("m2", "pear")]
    assert keys() == everything  # pilot-a, then pilot-b
    assert keys("pilot-b") == everything[1:]
    assert keys("pilot-b", "m2") == [("m2", "fig"), ("m2", "pear")]
    assert keys(model="m2") == [("m2", "kiwi"), ("m2", "fig"), ("m2", "pear")]
    assert keys(words=iter(["pear", "kiwi", "pear", "plum"])) == [
        ("m2", "kiwi"),
        ("m1", "pear"),
        ("m2", "pear"),
    ]
    assert keys("pilot-b", "m1", ["fig"]) == [("m1", "fig")]
    assert keys("pilot-c") == []
    assert keys(words=[]) == []


def test_pilot_failures_are_keyed_by_model(store: Store) -> None:
    at = "2025-01-01T00:00:00+00:00"
    given_up = FailureRecord("zyx", "not_a_word", given_up=True, run_id="run-1", updated_at=at)
    later = FailureRecord("zyx", "invalid: x", attempts=2, batch_id="b2", updated_at=at)
    store.keep_pilot_failures("pilot-1", "m1", [given_up])
    store.keep_pilot_failures("pilot-1", "m2", [FailureRecord("zyx", "truncated: cut off")])
    assert store.keep_pilot_failures("pilot-1", "m2", iter([later])) == 1
    store.keep_pilot_failures("pilot-2", "m1", [FailureRecord("abc", "http_error: 500")])

    assert list(store.iter_pilot_failures("pilot-1")) == [("m1", given_up), ("m2", later)]
    assert list(store.iter_pilot_failures("pilot-1", "m2")) == [("m2", later)]
    assert [f.word for _, f in store.iter_pilot_failures("pilot-2")] == ["abc"]
    every = sorted((m, f.word) for m, f in store.iter_pilot_failures(None, "m1"))
    assert every == [("m1", "abc"), ("m1", "zyx")]  # of every pilot
    assert list(store.iter_failures()) == []  # the main failures are untouched


def test_a_pilot_entry_clears_the_failure_of_its_model_only(store: Store) -> None:
    for model in ("m1", "m2"):
        store.keep_pilot_failures("pilot-1", model, [FailureRecord("zyx", "truncated: x")])
    store.keep_pilot_entries("pilot-1", [make_record("zyx", model="m1")])
    assert [model for model, _ in store.iter_pilot_failures("pilot-1")] == ["m2"]
    # a failure kept after the entry is not listed either: the word has that model's entry
    store.keep_pilot_failures("pilot-1", "m1", [FailureRecord("zyx", "http_error: 500")])
    assert [model for model, _ in store.iter_pilot_failures("pilot-1")] == ["m2"]


def test_pilot_words_made_with_honours_pilot_model_and_versions(store: Store) -> None:
    store.keep_pilot_entries(
        "pilot-1",
        [
            make_record("same"),
            make_record("other model", model="gpt-4.1"),
            make_record("other prompt", prompt_version="p2"),
            make_record("other schema", schema_version="2"),
        ],
    )
    store.keep_pilot_entries("pilot-2", [make_record("other pilot")])
    store.upsert_entries([make_record("main entry")])
    key = ("pilot-1", "gpt-4o-mini", "p1", "1")
    assert store.pilot_words_made_with(*key) == {"same"}
    asked = ["same", "SAME", "other model", "other pilot", "main entry", "absent"]
    assert store.pilot_words_made_with(*key, iter(asked)) == {"same"}
    assert store.pilot_words_made_with(*key, []) == set()
    assert store.pilot_words_made_with("pilot-1", "gpt-4.1", "p1", "1") == {"other model"}
    assert store.pilot_words_made_with("pilot-1", "gpt-4o-mini", "p2", "1") == {"other prompt"}
    assert store.pilot_words_made_with("pilot-1", "gpt-4o-mini", "p1", "2") == {"other schema"}


def test_pilot_words_made_with_honours_the_api_location(store: Store) -> None:
    real, emulator = "https://api.openai.com/v1", "http://127.0.0.1:9/v1"
    store.keep_pilot_entries(
        "pilot-1",
        [
            make_record("real", api_location=real),
            make_record("emulated", api_location=emulator),
            make_record("unrecorded"),
        ],
    )
    key = ("pilot-1", "gpt-4o-mini", "p1", "1")
    assert store.pilot_words_made_with(*key, api_location=real) == {"real", "unrecorded"}
    assert store.pilot_words_made_with(*key, api_location=emulator) == {"emulated", "unrecorded"}
    assert store.pilot_words_made_with(*key) == {"real", "emulated", "unrecorded"}


def test_the_pilot_area_beyond_one_chunk(store: Store, chunk: int) -> None:
    names = [f"w{i:05d}" for i in range(chunk + chunk // 2)]
    for model in ("m1", "m2"):
        store.keep_pilot_entries("pilot-1", (make_record(w, model=model) for w in names))
        store.keep_pilot_failures(
            "pilot-1", model, (FailureRecord(f"f{w}", "truncated: x") for w in names)
        )
    in_order = [("m1", w) for w in names] + [("m2", w) for w in names]
    assert [(r.model, r.word) for r in store.iter_pilot_entries("pilot-1")] == in_order
    asked = [*reversed(names), "absent"]
    assert [(r.model, r.word) for r in store.iter_pilot_entries(words=asked)] == in_order
    assert store.pilot_words_made_with("pilot-1", "m2", "p1", "1", asked) == set(names)
    failures = [(m, f.word) for m, f in store.iter_pilot_failures("pilot-1")]
    assert failures == [(m, f"f{w}") for m, w in in_order]


def test_frames_have_the_same_nullable_dtypes_empty_or_full(store):
    """One missing-value convention: string/Int64/boolean/Float64 and UTC datetimes, lists and
    dicts never None; an empty frame has the dtypes of a full one."""
    from synthlib.jobs.frames import ENTRY_DTYPES, FAILURE_DTYPES, SENSE_DTYPES

    empty = [load_entries(store), load_senses(store), load_failures(store)]
    sparse = make_entry("bare")
    sparse.update(pronunciation=None, cefr_level=None, word_forms=None)
    bare = make_record("bare")
    bare = EntryRecord(**{**bare.to_dict(), "entry": sparse})
    store.upsert_entries([make_record("bank"), bare])
    store.record_failures([FailureRecord("zzqxv", "not_found: nowhere", given_up=True)])
    full = [load_entries(store), load_senses(store), load_failures(store)]
    kinds = (ENTRY_DTYPES, SENSE_DTYPES, FAILURE_DTYPES)
    for blank, filled, dtypes in zip(empty, full, kinds, strict=True):
        assert len(blank) == 0 and len(filled) > 0
        assert blank.dtypes.astype(str).to_dict() == filled.dtypes.astype(str).to_dict()
        for column, dtype in dtypes.items():
            if dtype in ("list", "dict"):
                assert filled[column].map(lambda v, t=dtype: type(v).__name__ == t).all()
            else:
                assert str(filled[column].dtype) == dtype, column
    entries = full[0].set_index("word")
    assert str(entries["created_at"].dtype) == "datetime64[ns, UTC]"
    assert entries.loc["bare", "ipa"] is pd.NA and entries.loc["bare", "cefr_level"] is pd.NA
    assert entries.loc["bare", "syllables"] == [] and entries.loc["bare", "word_forms"] == {}
    assert str(full[2]["updated_at"].dtype) == "datetime64[ns, UTC]"
