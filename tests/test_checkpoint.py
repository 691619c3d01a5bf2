from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthlib.core.errors import CheckpointError, CheckpointWriteError
from synthlib.engine.checkpoint import Checkpoint, RunIdentity, set_aside

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
        (
            '{"format": "synthlib.checkpoint", "version": 99, "run": {}, "run_id": "x"}',
            "newer",
        ),
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
    assert "pass fresh=True" in message


def test_set_aside_keeps_the_old_checkpoint(tmp_path):
    cp = Checkpoint.create(tmp_path / "cp.json", _identity(), WORDS)
    cp.record(cp.state.event("planned", shard="s-1", words=["w0"], input_tokens=1))
    moved = set_aside(tmp_path / "cp.json")
    assert moved is not None and moved.exists() and not (tmp_path / "cp.json").exists()
    # the journal's steps travel in the set-aside snapshot itself: one file, one rename
    assert not moved.with_name(moved.name + ".journal").exists()
    assert not (tmp_path / "cp.json.journal").exists()
    assert [b["shard"] for b in json.loads(moved.read_text())["batches"]] == ["s-1"]


# --- files heal --------------------------------------------------------------------------------


def _tear(cp, tail=b'{"type":"planned","seq":99,"TORN'):
    with open(cp.journal_path, "ab") as fh:
        fh.write(tail)


def test_a_torn_journal_line_is_cut_off_before_the_next_append(tmp_path):
    path = tmp_path / "cp.json"
    cp = Checkpoint.create(path, _identity(), WORDS)
    _run_batch(cp, "s-1", ["w0"], ["w0"])
    _tear(cp)
    resumed = Checkpoint.load(path, _identity(), WORDS)
    _run_batch(resumed, "s-2", ["w1"], ["w1"])  # appends after the torn bytes were cut off
    again = Checkpoint.load(path, _identity(), WORDS)
    assert list(again.state.done) == ["w0", "w1"] and again.state.seq == 6
    assert b"TORN" not in cp.journal_path.read_bytes()


def test_a_last_step_without_its_newline_is_kept_and_terminated(tmp_path):
    path = tmp_path / "cp.json"
    cp = Checkpoint.create(path, _identity(), WORDS)
    _run_batch(cp, "s-1", ["w0"], ["w0"])
    cp.journal_path.write_bytes(cp.journal_path.read_bytes()[:-1])  # the newline never made it
    resumed = Checkpoint.load(path, _identity(), WORDS)
    assert resumed.state.seq == 3
    _run_batch(resumed, "s-2", ["w1"], ["w1"])
    again = Checkpoint.load(path, _identity(), WORDS)
    assert list(again.state.done) == ["w0", "w1"] and again.state.seq == 6


def test_loading_writes_nothing(tmp_path):
    """A dry run may read the checkpoint of a run going on: loading never heals by writing."""
    path = tmp_path / "cp.json"
    cp = Checkpoint.create(path, _identity(), WORDS)
    _run_batch(cp, "s-1", ["w0"], ["w0"])
    _tear(cp)
    before = cp.journal_path.read_bytes()
    Checkpoint.load(path, _identity(), WORDS)
    assert cp.journal_path.read_bytes() == before


def test_invalid_utf8_in_the_journal_names_the_file_and_line(tmp_path):
    path = tmp_path / "cp.json"
    cp = Checkpoint.create(path, _identity(), WORDS)
    _run_batch(cp, "s-1", ["w0"], ["w0"])
    lines = cp.journal_path.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b"b-s-1", b"b-\xff\xfe")
    cp.journal_path.write_bytes(b"\n".join(lines))
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(path, _identity(), WORDS)
    assert f"{cp.journal_path}:2: corrupt checkpoint journal (not valid UTF-8)" in str(info.value)
    assert info.value.exit_code == 2


def test_invalid_utf8_in_a_torn_last_line_is_a_torn_line(tmp_path):
    path = tmp_path / "cp.json"
    cp = Checkpoint.create(path, _identity(), WORDS)
    _run_batch(cp, "s-1", ["w0"], ["w0"])
    _tear(cp, '{"type":"planned","words":["caf\u00e9'.encode()[:-1])  # split inside the é
    assert Checkpoint.load(path, _identity(), WORDS).state.seq == 3


def test_invalid_utf8_in_the_snapshot_names_the_file_and_line(tmp_path):
    path = tmp_path / "cp.json"
    Checkpoint.create(path, _identity(), WORDS)
    raw = path.read_bytes().replace(b'"run_id"', b'"run_\xc3(id"')
    path.write_bytes(raw)
    line = raw[: raw.index(b"\xc3")].count(b"\n") + 1
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(path, _identity(), WORDS)
    assert str(info.value).startswith(f"{path}:{line}: corrupt checkpoint (not valid UTF-8")
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("line", "needle"),
    [(b"42", "not a step"), (b'{"type":"ended","seq":9,"shard":"nope"}', "does not fit")],
)
def test_a_journal_line_that_is_not_a_step_is_a_clear_error(tmp_path, line, needle):
    path = tmp_path / "cp.json"
    cp = Checkpoint.create(path, _identity(), WORDS)
    cp.journal_path.write_bytes(line + b"\n")
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(path, _identity(), WORDS)
    assert f"{cp.journal_path}:1:" in str(info.value) and needle in str(info.value)


# A process whose files may not grow past a limit (the disk is "full"); SIGXFSZ ignored, so a
# write past the limit fails with EFBIG instead of killing the process.
_FULL_DISK = r"""
import json, os, resource, signal, sys
from pathlib import Path
from synthlib.engine.checkpoint import Checkpoint, RunIdentity
from synthlib.core.errors import CheckpointWriteError

path, mode = Path(sys.argv[1]), sys.argv[2]
identity = RunIdentity("abc", 50, "gpt-4o-mini", "openai", "1", "1")
words = [f"w{i}" for i in range(50)]
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
out = {}

def limit(size):
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))

try:
    if mode == "create":
        limit(16)
        Checkpoint.create(path, identity, words)
    cp = Checkpoint.create(path, identity, words)
    st = cp.state
    cp.record(st.event("planned", shard="s-1", words=["w0"], input_tokens=1))
    cp.record(st.event("created", shard="s-1", batch_id="b-1"))
    out["journal"] = cp.journal_path.stat().st_size
    if mode == "save":
        limit(16)
        cp.save()
    if mode == "record":
        limit(out["journal"] + 10)  # the next line gets 10 bytes in, then the disk is full
        cp.record(st.event("ended", shard="s-1", done=["w0"], failed={}, usage={}))
except CheckpointWriteError as exc:
    out["error"] = str(exc)
    try:
        cp.save()  # the engine saves on the way out
    except CheckpointWriteError as again:
        out["again"] = str(again)
    except NameError:
        pass
print(json.dumps(out))
"""


def _on_a_full_disk(tmp_path, mode):
    path = tmp_path / "cp.json"
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(path), mode],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    assert "\n" not in out["error"]
    return path, out


def test_a_full_disk_at_create_says_nothing_was_saved(tmp_path):
    path, out = _on_a_full_disk(tmp_path, "create")
    assert out["error"] == (
        f"could not write checkpoint {path}: File too large; no checkpoint of this run was saved"
    )
    assert not path.exists()


def test_a_full_disk_at_save_tells_which_state_is_on_disk(tmp_path):
    path, out = _on_a_full_disk(tmp_path, "save")
    assert out["error"] == (
        f"could not write checkpoint {path}: File too large; "
        f"the last complete state is in {path} + cp.json.journal as of step 2"
    )
    loaded = Checkpoint.load(path, _identity(), WORDS)
    assert loaded.state.seq == 2 and loaded.state.flights["s-1"].batch_id == "b-1"


def test_a_full_disk_at_record_does_not_call_the_step_saved(tmp_path):
    path, out = _on_a_full_disk(tmp_path, "record")
    message = (
        f"could not write checkpoint journal {path}.journal: File too large; "
        "step 3 (ended) and any after it are not saved; "
        f"the last complete state is in {path} + cp.json.journal as of step 2"
    )
    assert out["error"] == message
    assert out["again"] == message  # the step in memory is never saved afterwards either
    journal = Path(f"{path}.journal")
    assert journal.stat().st_size == out["journal"]  # the part-written line is cut off
    loaded = Checkpoint.load(path, _identity(), WORDS)
    assert loaded.state.seq == 2 and "s-1" in loaded.state.flights
    _run_batch(loaded, "s-2", ["w1"], ["w1"])
    assert Checkpoint.load(path, _identity(), WORDS).state.seq == 5


def test_temp_files_are_unique_per_writer_and_never_stay(tmp_path, monkeypatch):
    from synthlib.engine import checkpoint as module

    path = tmp_path / "cp.json"
    cp = Checkpoint.create(path, _identity(), WORDS)
    seen = []
    real_replace = os.replace

    def failing_replace(src, dst):
        seen.append(Path(src).name)
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(module.os, "replace", failing_replace)
    for _ in range(2):
        with pytest.raises(CheckpointWriteError) as info:
            cp.save()
        assert "Read-only file system" in str(info.value)
    monkeypatch.setattr(module.os, "replace", real_replace)
    assert len(set(seen)) == 2 and all(str(os.getpid()) in name for name in seen)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cp.json"]
    cp.save()  # a failed save leaves the checkpoint usable
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cp.json"]


# --- where the batches live --------------------------------------------------------------------


def test_backend_is_saved_and_loaded_but_not_part_of_the_identity(tmp_path):
    path = tmp_path / "cp.json"
    cp = Checkpoint.create(path, _identity(), WORDS)
    assert cp.backend == {}
    cp.backend = {"base_url": "http://127.0.0.1:9/v1", "project": "sha256:abc"}
    cp.save()
    assert json.loads(path.read_text())["backend"] == cp.backend
    loaded = Checkpoint.load(path, _identity(), WORDS)
    assert loaded.backend == {"base_url": "http://127.0.0.1:9/v1", "project": "sha256:abc"}
    assert "backend" not in json.loads(path.read_text())["run"]


def test_an_older_checkpoint_without_backend_loads_with_none(tmp_path):
    path = tmp_path / "cp.json"
    Checkpoint.create(path, _identity(), WORDS)
    data = json.loads(path.read_text())
    del data["backend"]
    path.write_text(json.dumps(data))
    assert Checkpoint.load(path, _identity(), WORDS).backend == {}
