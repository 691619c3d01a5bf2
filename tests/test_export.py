from __future__ import annotations

import mongomock_ng as mongomock
import pandas as pd
import pytest
from factories import record

from synthlib.errors import UsageError
from synthlib.export import copy_entries, export_entries, read_export
from synthlib.store.mongo import MongoStore
from synthlib.store.records import FailureRecord
from synthlib.store.sqlite import SQLiteStore

WORDS = ["apple", "naïve", "ice cream"]


@pytest.fixture(params=["sqlite", "mongomock"])
def store(request, tmp_path):
    s = (SQLiteStore(tmp_path / "s.db") if request.param == "sqlite"
         else MongoStore("mongodb://h/x", client=mongomock.MongoClient()))  # fmt: skip
    s.upsert_entries([record(w) for w in WORDS])
    return s


def test_jsonl_round_trip(store, tmp_path):
    assert export_entries(store, tmp_path / "e.jsonl") == 3
    back = {r.word: r for r in read_export(tmp_path / "e.jsonl")}
    original = {r.word: r for r in store.iter_entries()}
    assert back == original


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_tables_read_back_with_pandas(store, tmp_path, suffix):
    path = tmp_path / f"e.{suffix}"
    assert export_entries(store, path) == 3
    frame = pd.read_csv(path) if suffix == "csv" else pd.read_parquet(path)
    assert sorted(frame["word"]) == sorted(WORDS)
    assert {"ipa", "sense_count", "model", "cost_usd"} <= set(frame.columns)


def test_unknown_format_is_a_usage_error(store, tmp_path):
    with pytest.raises(UsageError, match="unknown export format"):
        export_entries(store, tmp_path / "e.xlsx")


def test_copy_from_the_embedded_store_to_mongodb(tmp_path):
    local = SQLiteStore(tmp_path / "s.db")
    local.upsert_entries([record(w) for w in WORDS])
    local.record_failures([FailureRecord("zzq", "not_a_word", given_up=True)])
    team = MongoStore("mongodb://h/team", client=mongomock.MongoClient())
    assert copy_entries(local, team) == 3
    assert copy_entries(local, team) == 3  # again: upserts, no duplicates
    assert team.count() == 3
    assert {r.word: r.entry for r in team.iter_entries()} == {
        r.word: r.entry for r in local.iter_entries()
    }
    assert [f.word for f in team.iter_failures()] == ["zzq"]
