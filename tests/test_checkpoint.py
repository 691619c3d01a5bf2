from __future__ import annotations

import json

import pytest

from synthlib.checkpoint import Checkpoint, RunIdentity, set_aside
from synthlib.errors import CheckpointError

WORDS = tuple(f"w{i}" for i in range(50))


def _identity(**over):
    base = dict(
        words_sha256="abc",
        word_count=50,
        model="gpt-4o-mini",
        provider="openai",
        prompt_version="1",
        schema_version="1",
    )
    return RunIdentity(**{**base, **over})


def _run_batch(cp, shard, words, done):
    st = cp.state
    cp.record(st.event("planned", shard=shard, words=words, input_tokens=len(words)))
    cp.record(st.event("created", shard=shard, batch_id="b-" + shard))
    cp.record(
        st.event(
            "ended",
            shard=shard,
            done=done,
            failed={},
            usage={"input_tokens": 3, "output_tokens": 4, "cost_usd": 0.5},
        )
    )


def test_keeps_the_original_scripts_keys(tmp_path):
    cp = Checkpoint.create(tmp_path / "cp.json", _identity(), WORDS)
    _run_batch(cp, "s-1", ["w0", "w1"], ["w0"])
    cp.save()
    data = json.loads((tmp_path / "cp.json").read_text())
    for key in (
        "processed_words",
        "failed_words",
        "start_time",
        "total_cost",
        "total_tokens",
        "timestamp",
        "format",
        "version",
        "run_id",
        "run",
        "batches",
        "attempts",
    ):
        assert key in data
    assert data["processed_words"] == ["w0"]
    assert data["failed_words"]["w1"].startswith("no_result")
    assert data["total_tokens"] == 7 and data["total_cost"] == 0.5


def test_journal_replays_after_a_crash_without_save(tmp_path):
    path = tmp_path / "cp.json"
    cp = Checkpoint.create(path, _identity(), WORDS)
    _run_batch(cp, "s-1", ["w0"], ["w0"])
    cp.record(cp.state.event("planned", shard="s-2", words=["w1"], input_tokens=1))
    # no save(): as if killed here
    loaded = Checkpoint.load(path, _identity(), WORDS)
    assert list(loaded.state.done) == ["w0"]
    assert "s-2" in loaded.state.flights
    assert loaded.run_id == cp.run_id


def test_torn_last_journal_line_is_ignored(tmp_path):
    path = tmp_path / "cp.json"
    cp = Checkpoint.create(path, _identity(), WORDS)
    _run_batch(cp, "s-1", ["w0"], ["w0"])
    with open(cp.journal_path, "ab") as fh:
        fh.write(b'{"type":"planned","seq":99,"sha')
    loaded = Checkpoint.load(path, _identity(), WORDS)
    assert list(loaded.state.done) == ["w0"] and not loaded.state.flights


def test_crash_between_snapshot_and_journal_truncation_replays_nothing_twice(tmp_path):
    path = tmp_path / "cp.json"
    cp = Checkpoint.create(path, _identity(), WORDS)
    _run_batch(cp, "s-1", ["w0"], ["w0"])
    journal = cp.journal_path.read_bytes()
    cp.save()
    cp.journal_path.write_bytes(journal)  # the journal survived the snapshot
    loaded = Checkpoint.load(path, _identity(), WORDS)
    assert loaded.state.usage.cost_usd == 0.5
    assert loaded.state.attempts["w0"] == 1


def test_bytes_written_stay_proportional_to_the_final_size(tmp_path):
    words = tuple(f"word-{i}" for i in range(20_000))
    cp = Checkpoint.create(tmp_path / "cp.json", _identity(word_count=20_000), words)
    for b in range(200):
        chunk = list(words[b * 100 : (b + 1) * 100])
        _run_batch(cp, f"s-{b + 1}", chunk, chunk)
    cp.save()
    final = (tmp_path / "cp.json").stat().st_size
    assert cp.bytes_written < 20 * final


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "corrupt"),
        ("{not json", "corrupt"),
        ('{"processed_words": []}', "original script"),
        ('{"format": "synthlib.checkpoint", "version": 99, "run": {}, "run_id": "x"}', "newer"),
        ('{"format": "something-else"}', "not a synthlib checkpoint"),
    ],
)
def test_corrupt_or_foreign_files_are_clear_errors(tmp_path, content, needle):
    path = tmp_path / "cp.json"
    path.write_text(content)
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(path, _identity(), WORDS)
    assert needle in str(info.value) and str(path) in str(info.value)


def test_another_runs_checkpoint_is_refused_with_the_differences(tmp_path):
    Checkpoint.create(tmp_path / "cp.json", _identity(), WORDS)
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(tmp_path / "cp.json", _identity(model="gpt-4o", words_sha256="x"), WORDS)
    message = str(info.value)
    assert "word list differs" in message and "model was 'gpt-4o-mini'" in message
    assert "--fresh" in message


def test_set_aside_keeps_the_old_checkpoint(tmp_path):
    cp = Checkpoint.create(tmp_path / "cp.json", _identity(), WORDS)
    cp.record(cp.state.event("planned", shard="s-1", words=["w0"], input_tokens=1))
    moved = set_aside(tmp_path / "cp.json")
    assert moved is not None and moved.exists() and not (tmp_path / "cp.json").exists()
    assert moved.with_name(moved.name + ".journal").exists()
