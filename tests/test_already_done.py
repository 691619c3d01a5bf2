"""Words done elsewhere are not sent: the store (same model, prompt and schema version), an imported
checkpoint of the original script; the default checkpoint keyed by the job; --fresh and flights.

Offline and without running the engine: what a prepared Job, a dry run and the CLI decide. The
billing side (nothing billed twice) is proven against the emulator in tests/engine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from factories import entry

import synthlib
from synthlib.core.errors import CheckpointError
from synthlib.engine.checkpoint import Checkpoint, default_checkpoint
from synthlib.faces.cli import main
from synthlib.faces.workbench import Workbench
from synthlib.jobs.job import Job, build_config
from synthlib.providers.offline import OFFLINE_MODEL
from synthlib.store.records import EntryRecord
from synthlib.store.sqlite import SQLiteStore

WORDS = ["apple", "run", "ice cream", "give up", "serendipity"]
KEYED = re.compile(r"\.synthlib/(?P<stem>[^/]+)\.[0-9a-f]{8}\.checkpoint\.json")


def _entry(word: str, **kw) -> EntryRecord:
    fields = {
        "provider": "offline",
        "model": OFFLINE_MODEL,
        "prompt_version": synthlib.PROMPT_VERSION,
        "schema_version": synthlib.SCHEMA_VERSION,
        **kw,
    }
    return EntryRecord(word=word, entry=entry(word).model_dump(mode="json"), **fields)


def _store(*records: EntryRecord, path: str = "synthlib.db") -> None:
    with SQLiteStore(path) as store:
        store.upsert_entries(records)


def _prepare(words, **kw) -> Job:
    kw.setdefault("provider", "offline")
    return Job(build_config(words, **kw)).open()


def _original_checkpoint(path: Path, processed, failed=None, **extra) -> Path:
    path.write_text(
        json.dumps(
            {
                "processed_words": list(processed),
                "failed_words": failed or {},
                "start_time": "2025-01-01T00:00:00",
                "total_cost": 1.25,
                "total_tokens": 4321,
                "timestamp": "2025-01-02T00:00:00",
                **extra,
            }
        )
    )
    return path


# --- the store --------------------------------------------------------------------------------


def test_words_in_the_store_for_this_model_and_versions_are_marked_done(offline_env):
    _store(
        _entry("apple"),
        _entry("run"),
        _entry("ice cream", model="gpt-4o-mini"),  # another model: sent
        _entry("give up", prompt_version="old"),  # another prompt version: sent
    )
    job = _prepare(WORDS)
    try:
        state = job.checkpoint.state
        assert list(state.done) == ["apple", "run"]
        assert state.attempts == {} and state.usage.total_tokens == 0
        assert job.estimate.already_processed == 2 and job.estimate.remaining == 3
        assert any("2 words already in the store" in n for n in job.notices)
        journal = job.checkpoint.journal_path.read_text().splitlines()
        [event] = [json.loads(line) for line in journal]
        assert event["type"] == "already_done" and event["source"] == "store"
        assert event["words"] == ["apple", "run"]
    finally:
        job.close()
    # the dry run counts the same, and preparing again adds nothing (already done)
    assert synthlib.dry_run(WORDS, provider="offline").already_processed == 2
    again = _prepare(WORDS)
    try:
        assert again.resumed and not again.notices and len(again.checkpoint.state.done) == 2
    finally:
        again.close()


def test_the_store_wins_over_the_checkpoint(offline_env):
    """A checkpoint that says a word failed (given up, even) does not send it when the store has
    its entry; a word in flight is left to its batch."""
    config = build_config(WORDS, provider="offline")
    cp = Checkpoint.create(
        config.checkpoint, config.identity("offline", OFFLINE_MODEL), config.words, max_attempts=1
    )
    state = cp.state
    cp.record(state.event("planned", shard="s-1", words=["apple", "run"], input_tokens=2))
    cp.record(state.event("created", shard="s-1", batch_id="b1"))
    cp.record(state.event("ended", shard="s-1", done=[], failed={"apple": "refused: no"}))
    cp.record(state.event("planned", shard="s-2", words=["ice cream"], input_tokens=1))
    cp.record(state.event("created", shard="s-2", batch_id="b2"))
    cp.save()
    assert "apple" in state.given_up
    _store(_entry("apple"), _entry("run"), _entry("ice cream"))
    job = _prepare(WORDS, max_attempts=1)
    try:
        s = job.checkpoint.state
        assert set(s.done) == {"apple", "run"} and not s.given_up
        assert s.in_flight_words() == {"ice cream"}  # collected from its batch as usual
        assert list(s.pending()) == ["give up", "serendipity"]
    finally:
        job.close()


def test_redo_turns_the_store_check_off(offline_env):
    _store(_entry("apple"), _entry("run"))
    assert synthlib.dry_run(WORDS, provider="offline", redo=True).already_processed == 0
    job = _prepare(WORDS, redo=True)
    try:
        assert not job.checkpoint.state.done and not job.notices
        assert job.estimate.remaining == 5
    finally:
        job.close()


def test_a_dry_run_reads_the_store_but_creates_none(offline_env, no_network):
    assert synthlib.dry_run(WORDS, provider="offline").already_processed == 0
    assert not (offline_env / "synthlib.db").exists()
    _store(_entry("apple"), path="mine.db")
    estimate = synthlib.dry_run(WORDS, provider="offline", store="mine.db")
    assert estimate.already_processed == 1 and estimate.remaining == 4
    assert any("already in the store" in note for note in estimate.notes)


# --- importing the original script's checkpoint ---------------------------------------------


def test_import_marks_its_processed_words_of_the_list_done(offline_env):
    original = _original_checkpoint(
        offline_env / "old.json",
        processed=["apple", " run ", "not in the list", "cafe\u0301"],
        failed={"give up": "error"},
        extra_key=[1, 2],
    )
    words = [*WORDS, "café"]
    estimate = synthlib.dry_run(words, provider="offline", import_checkpoint=original)
    assert estimate.already_processed == 3  # apple, run and café (normalised as lists are)
    [note] = estimate.notes
    assert str(original) in note and "3 of them in this list" in note
    job = _prepare(words, import_checkpoint=str(original))
    try:
        s = job.checkpoint.state
        assert set(s.done) == {"apple", "run", "café"} and "give up" in list(s.pending())
        assert job.estimate.already_processed == 3
        [event] = [json.loads(line) for line in job.checkpoint.journal_path.read_text().split()]
        assert (event["type"], event["source"]) == ("already_done", "import")
        assert "$1.2500" in job.notices[0] and "4,321 tokens" in job.notices[0]
    finally:
        job.close()


def test_import_after_the_store_only_adds_what_is_left(offline_env):
    _store(_entry("apple"))
    original = _original_checkpoint(offline_env / "old.json", processed=["apple", "run"])
    job = _prepare(WORDS, import_checkpoint=original)
    try:
        events = [json.loads(line) for line in job.checkpoint.journal_path.read_text().split()]
        assert [(e["source"], e["words"]) for e in events] == [
            ("store", ["apple"]),
            ("import", ["run"]),
        ]
    finally:
        job.close()


def test_a_synthlib_checkpoint_can_be_imported(offline_env):
    config = build_config(["x", "apple", "run"], provider="offline", checkpoint="other.json")
    cp = Checkpoint.create("other.json", config.identity("offline", OFFLINE_MODEL), config.words)
    cp.record(cp.state.event("already_done", words=["apple"], source="store"))  # journal only
    estimate = synthlib.dry_run(WORDS, provider="offline", import_checkpoint="other.json")
    assert estimate.already_processed == 1
    assert "synthlib checkpoint" in estimate.notes[0]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "no such checkpoint to import"),
        ("{\n  not json", "old.json:2: not a checkpoint to import (not valid JSON"),
        ('["apple"]', 'needs a JSON object with "processed_words"'),
        ('{"total_cost": 1}', 'needs a JSON object with "processed_words"'),
        ('{"processed_words": "apple"}', '"processed_words" is not a list'),
        ('{"processed_words": ["a", 3]}', '"processed_words" item 2 is not a string'),
        ('{"processed_words": [], "failed_words": 7}', '"failed_words" is not an object'),
    ],
)
@pytest.mark.parametrize("dry", [True, False])
def test_cli_bad_import_file_is_one_line_and_exit_2(offline_env, capsys, content, needle, dry):
    (offline_env / "words.txt").write_text("\n".join(WORDS) + "\n")
    if content is not None:
        (offline_env / "old.json").write_text(content)
    args = ["words.txt", "--import-checkpoint", "old.json", *(["--dry-run"] if dry else [])]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and "old.json" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not list(offline_env.glob("*.checkpoint.json"))  # refused before anything started


def test_cli_dry_run_shows_the_import(offline_env, capsys):
    (offline_env / "words.txt").write_text("\n".join(WORDS) + "\n")
    _original_checkpoint(offline_env / "old.json", processed=["apple", "run"])
    assert main(["words.txt", "--dry-run", "--import-checkpoint", "old.json"]) == 0
    out = capsys.readouterr().out
    assert "Imported checkpoint old.json" in out
    assert re.search(r"Already processed\W+2\b", out)


# --- the default checkpoint is keyed by the job ----------------------------------------------


def test_default_checkpoint_is_keyed_by_the_job(offline_env):
    def path(words, **kw):
        return build_config(words, provider="offline", **kw).checkpoint

    first = path(WORDS)
    assert KEYED.fullmatch(str(first)).group("stem") == "words"
    assert path(list(WORDS)) == first  # the same list: the same job
    assert path([*WORDS, "extra"]) != first  # a new list: a new job
    # the job is what is bought, not how it is packed
    assert path(WORDS, words_per_request=5) == first
    assert path(WORDS, batch_size=3) == first
    assert path(list(reversed(WORDS))).name.split(".")[1] == first.name.split(".")[1]
    assert path(WORDS, grounding=True) != first  # grounding is a prompt of its own
    assert build_config(WORDS, provider="openai").checkpoint != first
    assert build_config(WORDS, provider="openai", model="gpt-4o").checkpoint not in (
        first,
        build_config(WORDS, provider="openai").checkpoint,
    )
    (offline_env / "mine.txt").write_text("\n".join(WORDS))
    assert KEYED.fullmatch(str(path("mine.txt"))).group("stem") == "mine"
    assert path("mine.txt").name.split(".")[1] == first.name.split(".")[1]  # same content
    assert path(WORDS, checkpoint="explicit.json") == Path("explicit.json")


def test_the_job_key_is_what_is_bought(offline_env, monkeypatch):
    from synthlib.core.words import read_words
    from synthlib.engine.checkpoint import job_key, run_identity

    words = read_words(WORDS)

    def key(provider="openai", model="gpt-4o-mini", wpr=1, grounding=False, listed=words):
        return job_key(run_identity(listed, provider, model, wpr, grounding))

    base = key()
    assert key(wpr=10) == base
    assert key(listed=read_words(list(reversed(WORDS)))) == base
    assert key(model="gpt-4o") != base
    assert key(provider="anthropic", model="claude-haiku-4-5") != base
    assert key(grounding=True) != base
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # a rehearsal API
    assert key() != base


def test_a_renamed_copy_of_the_list_resumes_the_same_checkpoint(offline_env):
    (offline_env / "words.txt").write_text("\n".join(WORDS) + "\n")
    job = _prepare("words.txt")
    first = job.checkpoint.path
    job.close()
    (offline_env / "copy of words.txt").write_text("\n".join(WORDS) + "\n")
    assert build_config("copy of words.txt", provider="offline").checkpoint == first


def test_auto_resolves_before_keying(offline_env, monkeypatch):
    assert build_config(WORDS).checkpoint == build_config(WORDS, provider="offline").checkpoint
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert build_config(WORDS).checkpoint == build_config(WORDS, provider="openai").checkpoint


def test_every_face_uses_the_same_default_and_the_same_list_resumes(offline_env, capsys):
    (offline_env / "words.txt").write_text("\n".join(WORDS) + "\n")
    estimate = synthlib.dry_run("words.txt", provider="offline")
    assert KEYED.fullmatch(estimate.checkpoint)
    assert main(["words.txt", "--dry-run", "--provider", "offline"]) == 0
    assert f"Checkpoint: {estimate.checkpoint}\n" in capsys.readouterr().out
    bench = Workbench(words="words.txt", provider="offline")
    assert str(bench.config().checkpoint) == estimate.checkpoint
    job = _prepare("words.txt")
    try:
        assert str(job.checkpoint.path) == estimate.checkpoint and not job.resumed
    finally:
        job.close()
    again = _prepare("words.txt")
    try:
        assert again.resumed
    finally:
        again.close()
    assert main(["words.txt", "--dry-run", "--provider", "offline"]) == 0
    assert "(exists: the run resumes it)" in capsys.readouterr().out
    (offline_env / "words.txt").write_text("\n".join([*WORDS, "new"]) + "\n")  # a new list
    new = _prepare("words.txt")
    try:
        assert new.checkpoint.path != Path(estimate.checkpoint) and not new.resumed
    finally:
        new.close()
    assert len(list((offline_env / ".synthlib").glob("words.*.checkpoint.json"))) == 2


def test_a_checkpoint_from_before_keys_is_resumed_by_its_own_job(offline_env):
    config = build_config(WORDS, provider="offline", checkpoint="words.checkpoint.json")
    Checkpoint.create(
        "words.checkpoint.json", config.identity("offline", OFFLINE_MODEL), config.words
    )
    assert build_config(WORDS, provider="offline").checkpoint == Path("words.checkpoint.json")
    assert KEYED.fullmatch(str(build_config([*WORDS, "x"], provider="offline").checkpoint))
    assert default_checkpoint(WORDS) == Path("words.checkpoint.json")


# --- --fresh and batches in flight ------------------------------------------------------------


def _checkpoint_with_flight(path: str, words) -> None:
    config = build_config(words, provider="offline", checkpoint=path)
    cp = Checkpoint.create(path, config.identity("offline", OFFLINE_MODEL), config.words)
    cp.record(cp.state.event("planned", shard="s-1", words=list(words[:2]), input_tokens=2))
    cp.record(cp.state.event("created", shard="s-1", batch_id="batch_1"))


def test_another_list_on_an_explicit_checkpoint_says_fresh_is_safe(offline_env):
    config = build_config(["other", "list"], provider="offline", checkpoint="cp.json")
    Checkpoint.create("cp.json", config.identity("offline", OFFLINE_MODEL), config.words)
    with pytest.raises(CheckpointError) as info:
        _prepare(WORDS, checkpoint="cp.json")
    message = str(info.value)
    assert "belongs to another run" in message and "fresh=True" in message
    assert "not sent again" in message
    job = _prepare(WORDS, checkpoint="cp.json", fresh=True)
    try:
        assert job.set_aside is not None and not job.resumed
    finally:
        job.close()


def test_fresh_is_refused_while_batches_are_in_flight(offline_env, capsys):
    _checkpoint_with_flight("cp.json", ["other", "list", "here"])
    with pytest.raises(CheckpointError) as info:
        _prepare(WORDS, checkpoint="cp.json")
    assert "1 batch(es) in flight" in str(info.value) and "not sent again" not in str(info.value)
    with pytest.raises(
        CheckpointError, match=r"cp.json: 1 batch\(es\) in flight; fresh=True would"
    ):
        _prepare(WORDS, checkpoint="cp.json", fresh=True)
    with pytest.raises(CheckpointError, match="in flight"):
        synthlib.dry_run(WORDS, provider="offline", checkpoint="cp.json", fresh=True)
    assert Path("cp.json").exists() and not list(offline_env.glob("cp.json.*.bak"))  # untouched
    (offline_env / "words.txt").write_text("\n".join(WORDS) + "\n")
    for extra in ([], ["--dry-run"]):
        args = ["words.txt", "--checkpoint", "cp.json", "--fresh", "--provider", "offline"]
        assert main([*args, *extra]) == 2
        err = capsys.readouterr().err
        assert "1 batch(es) in flight" in err and "Resume with the old list" in err
        assert err.count("\n") == 1


def test_fresh_on_the_same_job_with_flights_is_refused_too(offline_env):
    config = build_config(WORDS, provider="offline")
    _checkpoint_with_flight(str(config.checkpoint), WORDS)
    with pytest.raises(CheckpointError, match="in flight"):
        _prepare(WORDS, fresh=True)


# --- end to end, offline ----------------------------------------------------------------------


def _sent(result) -> int:
    """Words the run put in batches (the offline provider bills nothing: count what it sent)."""
    cp = json.loads(Path(result.checkpoint).read_text())
    return sum(b["words"] for b in cp["finished_batches"])


def test_offline_a_finished_list_plus_one_word_sends_only_the_new_word(offline_env):
    first = synthlib.run(["bank", "run"], provider="offline")
    assert first.phase == "finished" and _sent(first) == 2
    second = synthlib.run(["bank", "run", "tree"], provider="offline")
    assert second.phase == "finished" and second.checkpoint != first.checkpoint
    assert _sent(second) == 1
    assert json.loads(Path(second.checkpoint).read_text())["processed_words"] == [
        "bank",
        "run",
        "tree",
    ]
    redone = synthlib.run(["bank", "run", "tree", "house"], provider="offline", redo=True)
    assert _sent(redone) == 4
    original = _original_checkpoint(offline_env / "old.json", processed=["sky", "sea"])
    imported = synthlib.run(
        ["sky", "sea", "moon"], provider="offline", import_checkpoint=str(original)
    )
    assert imported.phase == "finished" and _sent(imported) == 1
