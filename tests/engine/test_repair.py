"""Repair (issue 20): the words with findings sent again, with the findings in the prompt, as an
ordinary run against the emulator with the real SDK: only those words, each billed once, the
cost equal to the ledger, both versions kept, a finding disputed twice left alone."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from synthlib.core.prompts import PROMPT_VERSION
from synthlib.core.schema import SCHEMA_VERSION
from synthlib.faces.cli import main
from synthlib.jobs.findings import audit, load_findings
from synthlib.jobs.repair import plan_repair, repair
from synthlib.store import open_store
from synthlib.store.records import EntryRecord

from .conftest import billed_per_word, ledger_cost, provider_env

WORDS = ["house", "child", "apple", "table", "cat", "river", "garden", "window"]
SPOILED = ["house", "child", "garden"]
QUICK = {"poll_interval": 0.05}


def _record(entry: dict[str, Any]) -> EntryRecord:
    return EntryRecord(
        word=entry["word"],
        entry=entry,
        provider="openai",
        model="gpt-4o-mini",
        prompt_version=PROMPT_VERSION,
        schema_version=SCHEMA_VERSION,
        run_id="first",
    )


def _spoiled(entry: dict[str, Any]) -> dict[str, Any]:
    bad = copy.deepcopy(entry)
    bad["word_forms"]["plural"] = bad["word"] + "z"  # no form of the word: an error
    return bad


@pytest.fixture
def audited_store(workdir, session_lexicon):
    entries = {w: session_lexicon.entry(w).model_dump(mode="json", by_alias=True) for w in WORDS}
    store = open_store(workdir / "entries.db")
    store.upsert_entries(_record(_spoiled(e) if w in SPOILED else e) for w, e in entries.items())
    audit(store, lexicon=session_lexicon, workers=1)
    store.close()
    return workdir / "entries.db"


@pytest.fixture
def on_openai(emulator, monkeypatch):
    for name, value in provider_env(emulator).items():
        if name.startswith("OPENAI_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    return emulator


def uploads(monkeypatch) -> list[bytes]:
    """The batch input files the OpenAI backend uploads, as sent."""
    from synthlib.providers.openai.backend import OpenAIBackend

    sent: list[bytes] = []
    real = OpenAIBackend.upload

    def upload(self, path):
        sent.append(Path(path).read_bytes())
        return real(self, path)

    monkeypatch.setattr(OpenAIBackend, "upload", upload)
    return sent


def uploaded_text(sent: list[bytes]) -> str:
    """Every message of every uploaded request line, as text."""
    return "\n".join(
        m["content"]
        for data in sent
        for line in data.decode().splitlines()
        if line.strip()
        for m in json.loads(line)["body"]["messages"]
    )


def test_the_plan_holds_only_words_with_errors_and_says_each_finding(
    audited_store, session_lexicon
):
    plan = plan_repair(str(audited_store), lexicon=session_lexicon)
    assert sorted(plan.words) == sorted(SPOILED)
    note = plan.notes["house"]
    assert any("word_forms.plural = 'housez'" in s and "houses" in s for s in note["audit"])
    assert note["senses"]  # the local dictionary's senses beside the findings


def test_a_repair_sends_only_the_words_with_findings_each_billed_once(
    audited_store, on_openai, session_lexicon, monkeypatch
):
    sent = uploads(monkeypatch)
    result = repair(
        str(audited_store),
        lexicon=session_lexicon,
        provider="openai",
        model="gpt-4o-mini",
        **QUICK,
    )
    ledger = on_openai.ledger()
    assert billed_per_word(ledger) == dict.fromkeys(SPOILED, 1)
    assert result.run is not None and result.run.exit_code == 0
    assert result.run.progress.cost_usd == pytest.approx(ledger_cost(ledger), rel=1e-9)
    # the requests carried each word's findings in plain words
    for word in SPOILED:
        assert f"your entry gave word_forms.plural = '{word}z'" in uploaded_text(sent)
    # the repaired entries were audited again, and the versions before them are kept
    assert result.audit is not None and result.audit.entries == len(SPOILED)
    store = open_store(audited_store)
    for word in SPOILED:
        versions = [a for a in store.iter_audits(words=[word])]
        assert len({a.entry_key for a in versions}) == 2
        before = next(
            a for a in versions if a.entry and a.entry["word_forms"]["plural"] == word + "z"
        )
        assert any(f["check"] == "form_wrong" for f in before.findings)
    history = load_findings(store, current=False, severity="error")
    assert {w + "z" for w in SPOILED} <= set(history["value"])
    untouched = {r.word: r.run_id for r in store.iter_entries()}
    assert all(untouched[w] == "first" for w in WORDS if w not in SPOILED)
    store.close()


def test_a_repair_resumes_and_pays_nothing_twice(audited_store, on_openai, session_lexicon):
    settings = dict(provider="openai", model="gpt-4o-mini", **QUICK)
    repair(str(audited_store), lexicon=session_lexicon, **settings)
    billed = billed_per_word(on_openai.ledger())
    # the same repair again: the words repaired are now other versions; what is still wrong in
    # the emulator's answers is a new plan, never the same words paid twice in one job
    again = plan_repair(str(audited_store), lexicon=session_lexicon)
    assert not set(again.words) - set(SPOILED)
    assert billed == dict.fromkeys(SPOILED, 1)


def test_a_finding_disputed_twice_is_kept_as_a_disagreement(tmp_path, session_lexicon):
    entry = session_lexicon.entry("house").model_dump(mode="json", by_alias=True)
    store = open_store(tmp_path / "d.db")
    for level in ("A1", "A2", "B1"):  # three versions, each still giving housez
        version = _spoiled(entry)
        version["cefr_level"] = level
        store.upsert_entries([_record(version)])
        audit(store, lexicon=session_lexicon, workers=1)
    plan = plan_repair(store, lexicon=session_lexicon)
    assert plan.words == []
    assert [f["value"] for f in plan.disagreements["house"]] == ["housez"]
    store.close()


def test_batch_synthesis_repair_shows_the_estimate_first_and_sends_nothing_on_dry_run(
    audited_store, on_openai, capsys
):
    code = main(["repair", "--store", str(audited_store), "--provider", "openai", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "3 words in" in out and "errors to repair" in out
    assert "Cost estimate (repair)" in out
    assert on_openai.ledger() == []


def test_batch_synthesis_repair_runs_and_audits_again(audited_store, on_openai, capsys):
    args = ["repair", "--store", str(audited_store), "--provider", "openai", "--yes"]
    assert main([*args, "--poll-interval", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "Audited again:" in out
    assert billed_per_word(on_openai.ledger()) == dict.fromkeys(SPOILED, 1)


@pytest.fixture
def no_key(monkeypatch):
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_a_repair_without_a_key_asks_before_offline_entries_and_refuses_without_a_terminal(
    audited_store, no_key, monkeypatch, capsys, session_lexicon
):
    """No key: provider auto would fall back to offline over the paid entries being repaired.
    As a run does, the repair says so and asks; without a terminal it refuses, writes nothing
    and does not claim to have audited again. In Python it raises UsageError."""
    import io

    from synthlib.core.errors import UsageError

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    before = len(list(open_store(audited_store).iter_entries(every=True)))
    code = main(["repair", "--store", str(audited_store), "--poll-interval", "0.05"])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert "Provider: offline (no API key)" in captured.out
    assert "paid entries for 3 of these 3 words" in captured.out
    assert "Make offline entries anyway?" in captured.err
    assert "Audited again" not in captured.out
    with pytest.raises(UsageError, match="paid entries for 3 of these 3 words"):
        repair(str(audited_store), lexicon=session_lexicon)
    store = open_store(audited_store)
    assert len(list(store.iter_entries(every=True))) == before  # no offline entry written
    store.close()


def test_batch_synthesis_repair_of_a_missing_store_creates_nothing(workdir, capsys):
    missing = workdir / "nope.db"
    assert main(["repair", "--store", str(missing), "--dry-run"]) == 2
    assert f"repair: error: no store at {missing}" in capsys.readouterr().err
    assert not missing.exists()
    assert main(["repair", "--store", f"sqlite://{missing}", "--dry-run"]) == 2
    assert not missing.exists()


def test_an_interrupted_repair_says_it_resumes_from_its_checkpoint(
    audited_store, monkeypatch, capsys
):
    def interrupted(args, **_):
        raise KeyboardInterrupt

    monkeypatch.setattr("synthlib.faces.terminal.repair_in_terminal", interrupted)
    assert main(["repair", "--store", str(audited_store)]) == 130
    out = capsys.readouterr().out
    assert "repair: interrupted (run it again to resume from its checkpoint)" in out
    assert "audited chunks" not in out
