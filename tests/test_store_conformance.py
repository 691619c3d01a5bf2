"""One conformance suite for every store: the embedded SQLite file, MongoDB on mongomock, and a
real MongoDB server when SYNTHLIB_TEST_MONGO_URI is set."""

from __future__ import annotations

import os
import uuid

import mongomock_ng as mongomock
import pytest
from factories import entry, record

import synthlib
from synthlib.store.mongo import MongoStore
from synthlib.store.records import FailureRecord
from synthlib.store.sqlite import SQLiteStore

REAL_MONGO = os.environ.get("SYNTHLIB_TEST_MONGO_URI")


@pytest.fixture(params=["sqlite", "mongomock", "mongodb"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = SQLiteStore(tmp_path / "s.db")
        yield s
        s.close()
    elif request.param == "mongomock":
        s = MongoStore("mongodb://localhost/test", client=mongomock.MongoClient())
        yield s
    else:
        if not REAL_MONGO:
            pytest.skip("set SYNTHLIB_TEST_MONGO_URI to run against a real MongoDB server")
        name = f"synthlib_test_{uuid.uuid4().hex[:8]}"
        s = MongoStore(REAL_MONGO, database=name)
        yield s
        s._client.drop_database(name)
        s.close()


def test_upsert_is_idempotent(store):
    store.upsert_entries([record("apple"), record("pear")])
    store.upsert_entries([record("apple"), record("pear")])
    assert store.count() == 2


def test_newer_version_replaces_the_older(store):
    store.upsert_entries([record("apple", model="gpt-4o-mini")])
    newer = record("apple", model="gpt-4o")
    store.upsert_entries([newer])
    (got,) = list(store.iter_entries())
    assert got.model == "gpt-4o" and got.entry == newer.entry


def test_filters_and_word_order(store):
    store.upsert_entries([record("pear"), record("apple", provider="offline"),
                          record("fig", model="gpt-4o")])  # fmt: skip
    assert [r.word for r in store.iter_entries()] == ["apple", "fig", "pear"]
    assert [r.word for r in store.iter_entries(provider="offline")] == ["apple"]
    assert [r.word for r in store.iter_entries(model="gpt-4o")] == ["fig"]
    assert [r.word for r in store.iter_entries(words=["pear", "zzz"])] == ["pear"]


def test_failures_are_kept_until_the_word_gets_an_entry(store):
    store.record_failures([FailureRecord("apple", "truncated: cut", attempts=1)])
    store.record_failures([FailureRecord("apple", "refused: no", attempts=2, given_up=True)])
    (failure,) = list(store.iter_failures())
    assert (failure.reason, failure.attempts, failure.given_up) == ("refused: no", 2, True)
    store.upsert_entries([record("apple")])
    assert list(store.iter_failures()) == []


def test_unicode_and_case_make_distinct_words(store):
    words = ["naïve", "café", "日本", "ice cream", "Polish", "polish"]
    store.upsert_entries([record(w) for w in words])
    assert store.words_with_entries(words) == set(words)
    assert store.count() == 6


def test_ten_thousand_entry_bulk_write(store):
    # mongomock scans the whole collection for every upsert (quadratic): it checks the logic on 500
    mock = isinstance(store, MongoStore) and isinstance(store._client, mongomock.MongoClient)
    n = 500 if mock else 10_000
    words = [f"w{i:05d}" for i in range(n)]
    assert store.upsert_entries(record(w) for w in words) == n
    assert store.count() == n
    assert store.words_with_entries(words[::997]) == set(words[::997])
    assert len(store.words_with_entries(words[: n // 4 * 3])) == n // 4 * 3  # several chunks


def test_frames_read_every_store(store):
    r = record("bank")
    store.upsert_entries([type(r)(**{**r.to_dict(), "entry": entry("bank", senses=2)
                                     .model_dump(mode="json")}), record("apple")])  # fmt: skip
    store.record_failures([FailureRecord("zzq", "not_a_word", given_up=True)])
    assert synthlib.load_entries(store)["word"].tolist() == ["apple", "bank"]
    assert len(synthlib.load_senses(store, words=["bank"])) == 2
    assert synthlib.load_failures(store)["code"].tolist() == ["not_a_word"]
