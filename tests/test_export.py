"""Exports (JSONL, CSV, Parquet) from both stores, and copying one store into another."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mongomock_ng as mongomock
import pandas as pd
import pytest

from synthlib.core.errors import StoreError, UsageError
from synthlib.core.schema import Entry
from synthlib.jobs.export import copy_entries, export_entries, read_export
from synthlib.jobs.frames import ENTRY_COLUMNS
from synthlib.store import Store
from synthlib.store.mongo import MongoStore
from synthlib.store.records import EntryRecord, FailureRecord
from synthlib.store.sqlite import SQLiteStore

# "null" and "NA" are words pandas reads as missing unless told not to; "naïve" is not ASCII.
WORDS = ["walk", "naïve", "ice cream", "null", "NA", "Polish", "polish"]


def make_record(word: str, index: int = 0) -> EntryRecord:
    entry = Entry.model_validate(
        {
            "word": word,
            "is_real_word": True,
            "pronunciation": {"ipa": "/x/", "respelling": "EKS", "syllables": [word, "x"]},
            "parts_of_speech": [
                {
                    "part_of_speech": "verb" if index % 2 else "noun",
                    "senses": [
                        {
                            "definition": f'what {word} means, "quoted",\nover two lines',
                            "examples": [f"A {word}, then another."],
                            "synonyms": [],
                            "antonyms": [],
                            "register": "formal",
                            "domain": None,
                            "region": "UK",
                            "cefr_level": "B2",
                            "usage_notes": None,
                        }
                    ],
                }
            ],
            "word_forms": {
                "plural": f"{word}s" if index % 2 == 0 else None,
                "past_tense": None,
                "past_participle": None,
                "present_participle": None,
                "third_person_singular": None,
                "comparative": None,
                "superlative": None,
            },
            "etymology": None,
            "frequency_band": None if index == 3 else 4,
            "cefr_level": "B2",
        }
    )
    return EntryRecord(
        word=word,
        entry=entry.model_dump(mode="json"),
        provider="openai",
        model="gpt-4o-mini",
        prompt_version="p1",
        schema_version="1",
        batch_id=None if index == 2 else f"batch_{index}",
        input_tokens=100 + index,
        output_tokens=500,
        cost_usd=0.25 * index,
        grounded=index == 1,
        run_id="run-1",
    )


RECORDS = [make_record(w, i) for i, w in enumerate(WORDS)]
ORDERED = sorted(RECORDS, key=lambda r: r.word)


@pytest.fixture(params=["sqlite", "mongomock"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, mongomock_client: mongomock.MongoClient
) -> Iterator[Store]:
    if request.param == "sqlite":
        opened: Store = SQLiteStore(tmp_path / "entries.db")
    else:
        opened = MongoStore("mongodb://h/export", client=mongomock_client)
    opened.upsert_entries(RECORDS)
    opened.record_failures([FailureRecord("qwzx", "not_a_word", given_up=True)])
    with opened:
        yield opened


def test_jsonl_round_trip(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "out" / "entries.jsonl"
    assert export_entries(store, path) == len(WORDS)
    assert read_export(path) == ORDERED
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(WORDS)
    assert "naïve" in lines[ORDERED.index(RECORDS[1])]  # UTF-8, not \\u escapes
    frame = pd.read_json(path, lines=True, dtype=False)
    assert frame["word"].tolist() == [r.word for r in ORDERED]
    assert frame["entry"].tolist() == [r.entry for r in ORDERED]
    assert set(frame.columns) == set(RECORDS[0].to_dict())
    assert not list(path.parent.glob(".*.part"))  # no temporary file left behind


def test_csv_has_the_entry_frame(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "entries.csv"
    assert export_entries(store, path) == len(WORDS)
    frame = pd.read_csv(path, keep_default_na=False)
    assert list(frame.columns) == ENTRY_COLUMNS
    assert frame["word"].tolist() == [r.word for r in ORDERED]
    walk = frame.set_index("word").loc["walk"]
    assert json.loads(walk["parts_of_speech"]) == ["noun"]
    assert json.loads(walk["syllables"]) == ["walk", "x"]
    assert json.loads(walk["word_forms"]) == {"plural": "walks"}
    assert json.loads(frame.set_index("word").loc["naïve", "word_forms"]) == {}
    assert frame["input_tokens"].sum() == sum(r.input_tokens for r in RECORDS)
    assert frame["cost_usd"].tolist() == [r.cost_usd for r in ORDERED]


def test_parquet_has_the_entry_frame(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "entries.parquet"
    assert export_entries(store, path) == len(WORDS)
    frame = pd.read_parquet(path)
    assert list(frame.columns) == ENTRY_COLUMNS
    assert frame["word"].tolist() == [r.word for r in ORDERED]
    by_word = frame.set_index("word")
    assert list(by_word.loc["naïve", "parts_of_speech"]) == ["verb"]
    assert list(by_word.loc["walk", "syllables"]) == ["walk", "x"]
    assert json.loads(by_word.loc["walk", "word_forms"]) == {"plural": "walks"}
    assert pd.isna(by_word.loc["null", "frequency_band"])
    assert by_word.loc["naïve", "grounded"]
    assert frame["cost_usd"].tolist() == [r.cost_usd for r in ORDERED]


def test_the_format_can_be_named_and_is_checked(store: Store, tmp_path: Path) -> None:
    assert export_entries(store, tmp_path / "entries.txt", format="CSV") == len(WORDS)
    assert pd.read_csv(tmp_path / "entries.txt", keep_default_na=False).shape[0] == len(WORDS)
    with pytest.raises(UsageError, match="unknown export format 'xml'"):
        export_entries(store, tmp_path / "entries.xml", format="xml")
    with pytest.raises(UsageError, match=r"suffix '\.xlsx'"):
        export_entries(store, tmp_path / "entries.xlsx")
    with pytest.raises(UsageError, match="JSONL exports only"):
        read_export(tmp_path / "entries.csv")
    assert not (tmp_path / "entries.xml").exists()


def test_a_bad_jsonl_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "entries.jsonl"
    good = json.dumps(RECORDS[0].to_dict(), ensure_ascii=False)
    path.write_text(f"{good}\n\n{{'word': 1}}\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"entries\.jsonl:3: "):
        read_export(path)
    path.write_text(f"{good}\n" + json.dumps({"word": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"entries\.jsonl:2: "):
        read_export(path)


def test_exporting_an_empty_store(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "empty.db") as empty:
        assert export_entries(empty, tmp_path / "e.jsonl") == 0
        assert export_entries(empty, tmp_path / "e.csv") == 0
        assert export_entries(empty, tmp_path / "e.parquet") == 0
    assert read_export(tmp_path / "e.jsonl") == []
    assert list(pd.read_csv(tmp_path / "e.csv").columns) == ENTRY_COLUMNS
    assert pd.read_parquet(tmp_path / "e.parquet").shape == (0, len(ENTRY_COLUMNS))


def test_a_failed_export_leaves_the_old_file(tmp_path: Path) -> None:
    class Breaking(SQLiteStore):
        def iter_entries(self, **filters: Any) -> Iterator[EntryRecord]:
            yield RECORDS[0]
            raise StoreError("connection lost")

    path = tmp_path / "entries.jsonl"
    path.write_text("previous export\n", encoding="utf-8")
    with Breaking(tmp_path / "b.db") as breaking, pytest.raises(StoreError):
        export_entries(breaking, path)
    assert path.read_text(encoding="utf-8") == "previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.db", "entries.jsonl"]


def test_a_store_given_by_location_is_opened_and_closed(tmp_path: Path) -> None:
    location = tmp_path / "entries.db"
    with SQLiteStore(location) as local:
        local.upsert_entries(RECORDS)
    assert export_entries(str(location), tmp_path / "entries.jsonl") == len(WORDS)
    assert [r.word for r in read_export(tmp_path / "entries.jsonl")] == [r.word for r in ORDERED]


def test_copy_from_sqlite_to_mongo_keeps_counts_and_content(
    tmp_path: Path, mongomock_client: mongomock.MongoClient
) -> None:
    location = tmp_path / "local.db"
    with SQLiteStore(location) as local:
        local.upsert_entries(RECORDS)
        local.record_failures(
            [FailureRecord("qwzx", "not_a_word", given_up=True), FailureRecord("zz", "missing")]
        )
    team = MongoStore("mongodb://h/team", client=mongomock_client)
    team.upsert_entries([make_record("zz", 9)])  # the team already has an entry for "zz"

    assert copy_entries(str(location), team, chunk=3) == len(WORDS)
    assert copy_entries(str(location), team, chunk=3) == len(WORDS)  # twice: no duplicates
    assert team.count() == len(WORDS) + 1
    copied = [r for r in team.iter_entries() if r.word != "zz"]
    assert [r.to_dict() for r in copied] == [r.to_dict() for r in ORDERED]
    assert [(f.word, f.given_up) for f in team.iter_failures()] == [("qwzx", True)]
    assert mongomock_client["team"]["failures"].count_documents({}) == 1


def test_copy_from_mongo_to_sqlite(tmp_path: Path, mongomock_client: mongomock.MongoClient) -> None:
    team = MongoStore("mongodb://h/team", client=mongomock_client)
    team.upsert_entries(RECORDS)
    with SQLiteStore(tmp_path / "local.db") as local:
        assert copy_entries(team, local) == len(WORDS)
        assert list(local.iter_entries()) == ORDERED
    with pytest.raises(UsageError, match="chunk"):
        copy_entries(team, tmp_path / "other.db", chunk=0)


def test_a_reader_given_a_path_with_no_store_says_so_and_creates_none(tmp_path, monkeypatch):
    """A mistyped store path is no store to create: the readers say so in one line, as the
    command line's audit does, and leave no empty database behind."""
    import synthlib

    monkeypatch.chdir(tmp_path)
    for read in (synthlib.load_entries, synthlib.load_failures, synthlib.load_findings):
        with pytest.raises(StoreError, match=r"^no store at typo\.db$"):
            read("typo.db")
    with pytest.raises(StoreError, match=r"^no store at typo\.db$"):
        export_entries("typo.db", tmp_path / "out.csv")
    assert not (tmp_path / "typo.db").exists() and not (tmp_path / "out.csv").exists()
    assert synthlib.load_entries().empty  # the default store, not made yet, reads as empty
