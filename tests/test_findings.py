"""The store's entries audited and their findings kept beside them (issue 20): synthlib.audit,
batch-synthesis audit, load_findings, findings per model; resumable, keyed by entry version, on
every store."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import mongomock_ng as mongomock
import pytest

import synthlib
from synthlib.faces import cli
from synthlib.jobs.findings import FINDING_COLUMNS, audit, findings_by_model, load_findings
from synthlib.store import AuditRecord, Store, entry_key
from synthlib.store.mongo import MongoStore
from synthlib.store.records import EntryRecord
from synthlib.store.sqlite import MIGRATIONS, SQLiteStore

WORDS = ["house", "child", "run", "good", "apple", "table", "quickly", "give up", "went", "cat"]


def _record(entry: dict[str, Any], *, model: str = "offline", run_id: str = "run-1"):
    return EntryRecord(
        word=entry["word"],
        entry=entry,
        provider="offline" if model == "offline" else "openai",
        model=model,
        prompt_version="2",
        schema_version="2",
        run_id=run_id,
    )


@pytest.fixture(scope="module")
def entries(session_lexicon) -> dict[str, dict[str, Any]]:
    found = {}
    for word in WORDS:
        entry = session_lexicon.entry(word)
        assert entry is not None
        found[word] = entry.model_dump(mode="json", by_alias=True)
    return found


def _spoiled(entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` with a plural that is no form of the word and a CEFR level far from its use."""
    bad = copy.deepcopy(entry)
    bad["word_forms"]["plural"] = bad["word"] + "z"
    bad["cefr_level"] = "C2"
    return bad


@pytest.fixture(params=["sqlite", "mongomock"])
def store(request, tmp_path) -> Store:
    if request.param == "sqlite":
        opened: Store = SQLiteStore(tmp_path / "entries.db")
    else:
        opened = MongoStore("mongodb://localhost/audit", client=mongomock.MongoClient())
    yield opened
    opened.close()


@pytest.fixture
def filled(store: Store, entries) -> Store:
    records = [_record(e) for w, e in entries.items() if w not in ("house", "child")]
    records += [_record(_spoiled(entries["house"])), _record(_spoiled(entries["child"]))]
    store.upsert_entries(records)
    return store


def test_an_audit_keeps_each_entrys_findings_in_the_store(filled, session_lexicon):
    summary = audit(filled, lexicon=session_lexicon, workers=1)
    assert summary.entries == summary.audited == len(WORDS)
    assert summary.severities["error"] == 2  # housez, childz
    assert summary.severities["warning"] == 2  # C2 for two A1 words
    assert {w for w, *_ in summary.doubtful} == {"house", "child"}
    kept = list(filled.iter_audits())
    assert len(kept) == len(WORDS)
    house = next(a for a in kept if a.word == "house")
    assert house.entry == _spoiled(
        next(r.entry for r in filled.iter_entries(words=["house"]))
    )  # the audited version is kept beside its findings
    assert {f["field"] for f in house.findings} == {"word_forms", "cefr_level"}
    assert all(a.entry is None for a in kept if a.word not in ("house", "child"))


def test_a_second_audit_does_no_work_and_counts_the_same(filled, session_lexicon):
    first = audit(filled, lexicon=session_lexicon, workers=1)
    again = audit(filled, lexicon=session_lexicon, workers=1)
    assert again.audited == 0 and again.resumed == len(WORDS)
    assert again.severities == first.severities
    assert len(list(filled.iter_audits())) == len(WORDS)


def test_an_interrupted_audit_resumes_after_its_last_written_chunk(
    filled, session_lexicon, monkeypatch
):
    import synthlib.jobs.findings as findings_module

    monkeypatch.setattr(findings_module, "CHUNK", 4)
    calls = 0

    def stop_after_two_chunks(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        audit(filled, lexicon=session_lexicon, workers=1, progress=stop_after_two_chunks)
    assert len(list(filled.iter_audits())) == 8
    resumed = audit(filled, lexicon=session_lexicon, workers=1)
    assert (resumed.audited, resumed.resumed) == (2, 8)


def test_a_changed_entry_is_a_new_version_audited_anew_and_the_old_audit_stays(
    filled, entries, session_lexicon
):
    audit(filled, lexicon=session_lexicon, workers=1)
    filled.upsert_entries([_record(entries["house"])])  # repaired
    again = audit(filled, lexicon=session_lexicon, workers=1)
    assert again.audited == 1
    assert load_findings(filled, words=["house"], severity=["error", "warning"]).empty
    history = load_findings(filled, words=["house"], current=False)
    assert set(history["field"]) == {"word_forms", "cefr_level"}


def test_an_audit_of_one_run_or_some_words(filled, entries, session_lexicon):
    filled.upsert_entries([_record(entries["cat"], run_id="run-2")])
    assert audit(filled, run="run-2", lexicon=session_lexicon, workers=1).entries == 1
    assert audit(filled, words=["apple", "nope"], lexicon=session_lexicon, workers=1).entries == 1


def test_load_findings_filters_by_field_severity_and_model(filled, entries, session_lexicon):
    filled.upsert_entries([_record(_spoiled(entries["apple"]), model="gpt-4.1-mini")])
    audit(filled, lexicon=session_lexicon, workers=1)
    frame = load_findings(filled)
    assert list(frame.columns) == FINDING_COLUMNS
    assert frame.iloc[0]["severity"] == "error"  # errors first
    errors = load_findings(filled, severity="error")
    assert set(errors["word"]) == {"house", "child", "apple"}
    assert set(load_findings(filled, field="cefr_level")["severity"]) == {"warning"}
    mini = load_findings(filled, model="gpt-4.1-mini", severity=["error", "warning"])
    assert set(mini["word"]) == {"apple"}
    per_model = findings_by_model(filled).set_index("model")
    assert per_model.loc["gpt-4.1-mini", "findings_per_100"] == 200.0  # one entry, 2 findings
    # every entry is audited, the offline apple beside the model's (not only the preferred one)
    assert per_model.loc["offline", "entries_audited"] == len(WORDS)
    assert per_model.loc["offline", "errors_per_100"] == pytest.approx(200 / 10)


def test_every_entry_of_a_word_is_audited_each_under_its_own_key(store, entries, session_lexicon):
    """Two providers' entries of one word: both audited (not only the latest paid one), each
    audit kept under its own entry version, so neither hides the other's findings."""
    offline = _record(_spoiled(entries["house"]))
    paid = _record(entries["house"], model="gpt-4.1-mini")
    store.upsert_entries([offline, paid])
    summary = audit(store, lexicon=session_lexicon, workers=1)
    assert summary.entries == summary.audited == 2
    kept = {a.entry_key: a for a in store.iter_audits()}
    assert set(kept) == {entry_key(offline), entry_key(paid)}
    assert kept[entry_key(offline)].model == "offline"
    assert kept[entry_key(paid)].model == "gpt-4.1-mini"
    # the view shows the preferred (paid) entry's findings; every version's are kept
    assert load_findings(store, severity="error").empty
    errors = load_findings(store, severity="error", current=False)
    assert set(zip(errors["word"], errors["model"], strict=True)) == {("house", "offline")}
    per_model = findings_by_model(store).set_index("model")
    assert per_model["entries_audited"].to_dict() == {"gpt-4.1-mini": 1, "offline": 1}
    assert audit(store, lexicon=session_lexicon, workers=1).resumed == 2


def test_two_workers_find_what_one_finds(filled, session_lexicon, tmp_path, entries):
    if not isinstance(filled, SQLiteStore):
        pytest.skip("one store is enough to compare workers")
    other = SQLiteStore(tmp_path / "other.db")
    other.upsert_entries(filled.iter_entries())
    one = audit(filled, lexicon=session_lexicon, workers=1)
    two = audit(other, lexicon=session_lexicon, workers=2)
    assert one.severities == two.severities
    assert sorted((a.entry_key, a.findings) for a in filled.iter_audits()) == sorted(
        (a.entry_key, a.findings) for a in other.iter_audits()
    )


def test_the_entry_key_changes_with_the_content_and_who_made_it(entries):
    record = _record(entries["cat"])
    assert entry_key(record) == entry_key(_record(copy.deepcopy(entries["cat"])))
    assert entry_key(record) != entry_key(_record(_spoiled(entries["cat"])))
    assert entry_key(record) != entry_key(_record(entries["cat"], model="gpt-4.1"))


def test_audits_are_kept_by_entry_key_and_audit_version(store):
    one = AuditRecord("k1", "v1", "cat", "offline", "m", ({"severity": "error"},), {"word": "cat"})
    store.keep_audits([one, AuditRecord("k1", "v2", "cat", "offline", "m")])
    store.keep_audits([AuditRecord("k1", "v1", "cat", "offline", "m")])  # replaced
    assert store.audited(["k1", "k2"], "v1") == {"k1"}
    assert store.count_audits() == 2
    assert store.audited(["k1"], "v3") == set()
    assert len(list(store.iter_audits(keys=["k1"]))) == 2
    assert [a.findings for a in store.iter_audits(words=["cat"]) if a.audit_version == "v1"] == [()]


def test_migration_6_adds_the_audits_to_a_version_5_file(tmp_path, monkeypatch, entries):
    import synthlib.store.sqlite as sqlite_module

    path = tmp_path / "v5.db"
    with monkeypatch.context() as before:
        before.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:5])
        with SQLiteStore(path) as v5:
            # as the store wrote entries then (before they had an API location)
            row = sqlite_module._entry_row(_record(entries["cat"]))[:-1]
            v5._db.execute(f"INSERT INTO entries VALUES ({', '.join('?' * len(row))})", row)
    store = SQLiteStore(path)
    assert store.schema_version == len(MIGRATIONS) >= 6
    assert [r.word for r in store.iter_entries()] == ["cat"]
    store.keep_audits([AuditRecord("k", "v", "cat", "offline", "m")])
    assert store.audited(["k"], "v") == {"k"}


def test_synthlib_exports_the_audit():
    assert synthlib.audit is audit
    assert synthlib.load_findings is load_findings


# --- the command ---------------------------------------------------------------------------------


def test_batch_synthesis_audit_prints_what_it_found_and_resumes(
    filled, one_lexicon, tmp_path, capsys
):
    if not isinstance(filled, SQLiteStore):
        pytest.skip("the command is the same over either store")
    store = str(filled.path)
    assert cli.main(["audit", "--store", store, "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert f"Audited {len(WORDS)} of {len(WORDS)} entries" in out
    assert "2 errors, 2 warnings" in out
    assert "house: 1 errors, 1 warnings" in out
    assert "word_forms" in out
    assert cli.main(["audit", "--store", store, "--workers", "1"]) == 0
    assert f"Audited 0 of {len(WORDS)} entries, {len(WORDS)} audited before" in (
        capsys.readouterr().out
    )


def test_batch_synthesis_audit_of_a_missing_store_is_one_line(tmp_path, capsys):
    assert cli.main(["audit", "--store", str(tmp_path / "nothing.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no store at" in err


def test_a_word_list_is_still_the_first_argument(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    words = Path(tmp_path / "audit")  # a list named like the command, given by its path
    words.write_text("cat\ndog\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["./audit", "--dry-run"]) == 0
    assert "Cost estimate" in capsys.readouterr().out


def test_a_pilots_entries_are_counted_in_findings_per_100(entries, one_lexicon):
    from synthlib.jobs.findings import findings_per_100

    assert findings_per_100([entries["cat"], entries["apple"]]) == 0.0
    assert findings_per_100([entries["cat"], _spoiled(entries["house"])]) == 100.0  # 2 in 2
    assert findings_per_100([]) is None


def test_batch_synthesis_audit_of_a_run_with_no_entries_says_so(filled, one_lexicon, capsys):
    if not isinstance(filled, SQLiteStore):
        pytest.skip("the command is the same over either store")
    args = ["audit", "--store", str(filled.path), "--run", "nope", "--workers", "1"]
    assert cli.main(args) == 0
    assert "No entries to audit (run nope)" in capsys.readouterr().out
