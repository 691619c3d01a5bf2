from __future__ import annotations

import sqlite3

import pytest
from factories import record

import synthlib
import synthlib.store.sqlite as sqlite_module
from synthlib.core.errors import StoreError, UsageError
from synthlib.store import open_store
from synthlib.store.records import FailureRecord
from synthlib.store.sqlite import MIGRATIONS, SQLiteStore


def test_default_store_is_an_embedded_file_in_the_working_directory(offline_env):
    store = open_store()
    assert store.location == "synthlib.db"
    assert (offline_env / "synthlib.db").exists()


def test_upsert_never_duplicates_and_another_model_is_kept_beside(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    store.upsert_entries([record("apple"), record("pear")])
    store.upsert_entries([record("apple"), record("pear")])
    assert store.count() == 2
    store.upsert_entries([record("apple", model="gpt-4o")])
    assert store.count() == 2
    models = {r.word: r.model for r in store.iter_entries()}
    assert models == {"apple": "gpt-4o", "pear": "gpt-4o-mini"}  # the latest, the same second
    every = [(r.word, r.model) for r in store.iter_entries(every=True)]
    assert every == [("apple", "gpt-4o-mini"), ("apple", "gpt-4o"), ("pear", "gpt-4o-mini")]


def test_an_entry_clears_the_words_failure(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    store.record_failures([FailureRecord("apple", "truncated: x", attempts=1)])
    assert [f.word for f in store.iter_failures()] == ["apple"]
    store.upsert_entries([record("apple")])
    assert list(store.iter_failures()) == []


def test_migrations_bring_an_old_file_up_to_date(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    store = SQLiteStore(path)
    assert store.schema_version == len(MIGRATIONS)
    indexes = {r[1] for r in store._db.execute("PRAGMA index_list(entries)")}
    assert "entries_model" in indexes


def test_a_newer_store_file_is_refused(tmp_path):
    path = tmp_path / "new.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    db.close()
    with pytest.raises(StoreError, match="newer than this synthlib"):
        SQLiteStore(path)


def test_migration_5_keeps_the_entries_of_a_version_4_file_and_adds_the_pilot_area(
    tmp_path, monkeypatch
):
    path = tmp_path / "v4.db"
    old = record("apple", run_id="run-1")
    with monkeypatch.context() as before:  # the code before the pilot area writes the file
        before.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:4])
        with SQLiteStore(path) as v4:
            assert v4.schema_version == 4
            _insert_v4_entry(v4, old)
            v4.record_failures([FailureRecord("zyx", "not_a_word", given_up=True)])

    store = SQLiteStore(path)
    assert store.schema_version == len(MIGRATIONS) >= 5
    assert list(store.iter_entries()) == [old]
    assert [f.word for f in store.iter_failures()] == ["zyx"]
    pilot = record("apple", model="gpt-4.1")
    store.keep_pilot_entries("pilot-1", [pilot])
    assert list(store.iter_pilot_entries("pilot-1")) == [pilot]
    assert list(store.iter_entries()) == [old]


def _insert_v4_entry(store: SQLiteStore, r) -> None:
    """Write ``r`` as a store before API locations wrote it (no api_location column)."""
    row = sqlite_module._entry_row(r)[:-1]
    store._db.execute(f"INSERT INTO entries VALUES ({', '.join('?' * len(row))})", row)


def test_migration_8_keeps_entries_per_purchase_and_versions_grounded_ones(tmp_path, monkeypatch):
    path = tmp_path / "v7.db"
    plain = record("apple", run_id="run-1")
    grounded = record("pear", grounded=True)
    with monkeypatch.context() as before:
        before.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:7])
        with SQLiteStore(path) as v7:
            _insert_v4_entry(v7, plain)
            _insert_v4_entry(v7, grounded)
    store = SQLiteStore(path)
    apple, pear = store.iter_entries()
    assert apple == plain and apple.api_location == ""
    assert pear.prompt_version == "1+grounding" and pear.entry == grounded.entry
    store.upsert_entries([record("apple", model="gpt-4.1", api_location="https://x/v1")])
    assert [r.model for r in store.iter_entries(words=["apple"], every=True)] == [
        "gpt-4o-mini",
        "gpt-4.1",
    ]


def test_a_store_with_the_pilot_area_is_refused_by_synthlib_before_it(tmp_path, monkeypatch):
    path = tmp_path / "s.db"
    SQLiteStore(path).close()
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:4])  # the code before it
    with pytest.raises(StoreError, match=f"store format {len(MIGRATIONS)} is newer than this"):
        SQLiteStore(path)


def test_unknown_store_scheme_is_a_usage_error():
    with pytest.raises(UsageError, match="file path or a mongodb"):
        open_store("postgres://user:secret@host/db")


def test_load_entries_one_row_per_word_and_senses_in_their_own_frame(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    from factories import entry

    r = record("bank")
    r = type(r)(**{**r.to_dict(), "entry": entry("bank", senses=3).model_dump(mode="json")})
    store.upsert_entries([r, record("apple")])
    entries = synthlib.load_entries(store)
    assert list(entries["word"]) == ["apple", "bank"]
    assert entries.set_index("word").loc["bank", "sense_count"] == 3
    senses = synthlib.load_senses(store)
    assert list(senses[senses["word"] == "bank"]["sense"]) == [1, 2, 3]
    assert synthlib.load_entries(store, words=["bank"])["word"].tolist() == ["bank"]
    assert synthlib.load_entries(store, part_of_speech="verb").empty


def test_run_summaries_are_kept_and_replaced_by_run_id(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    store.record_run({"run_id": "run-1", "processed": 3, "recorded_at": "2026-01-01T00:00:00"})
    store.record_run({"run_id": "run-2", "processed": 1, "recorded_at": "2026-01-02T00:00:00"})
    store.record_run({"run_id": "run-1", "processed": 5, "recorded_at": "2026-01-01T00:00:00"})
    assert [(r["run_id"], r["processed"]) for r in store.iter_runs()] == [
        ("run-1", 5),
        ("run-2", 1),
    ]


@pytest.mark.parametrize("bad", ['{"word": "x"} {"word": "y"}', "[1, 2]", "not json"])
def test_readers_skip_a_row_they_cannot_read_and_say_so(tmp_path, caplog, bad):
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    store.upsert_entries([record("apple"), record("pear")])
    store._db.execute("UPDATE entries SET entry = ? WHERE word = 'pear'", (bad,))
    frame = synthlib.load_entries(path)
    assert list(frame["word"]) == ["apple"]
    assert "skipped 1 unreadable entries" in caplog.text
    assert list(synthlib.load_senses(path)["word"].unique()) == ["apple"]
