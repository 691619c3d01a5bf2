"""On the wire: a word already in the store, or processed by an imported checkpoint, is never billed
again; --redo bills it on purpose; --fresh never abandons batches in flight (they would be paid
for twice)."""

from __future__ import annotations

import json
import time

import pytest

from synthlib.core.errors import CheckpointError
from synthlib.jobs.job import Job, build_config

from .conftest import backend_for, billed_per_word, ledger_cost, read_checkpoint, words


def make_job(emu, word_list, **kw) -> Job:
    kw.setdefault("poll_interval", 0.05)
    kw.setdefault("provider", "openai")
    return Job(build_config(word_list, **kw), backend=backend_for(emu))


def _wait(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_finished_list_plus_one_word_bills_only_the_new_word(emulator, workdir):
    first = make_job(emulator, words(8), batch_size=4).run()
    assert first.phase == "finished"
    before = len(emulator.ledger())
    job = make_job(emulator, [*words(8), "extra"])  # a new list: a new default checkpoint
    assert job.config.checkpoint != first.checkpoint and not job.resumed
    assert job.estimate.already_processed == 8 and job.estimate.remaining == 1
    result = job.run()
    assert result.phase == "finished"
    billed = billed_per_word(emulator.ledger())
    assert billed == {**{w: 1 for w in words(8)}, "extra": 1}
    cp = read_checkpoint(result.checkpoint)
    assert sorted(cp["processed_words"]) == sorted([*words(8), "extra"])
    # the new run's reported cost is what it was billed: the one new word
    assert cp["total_cost"] == pytest.approx(ledger_cost(emulator.ledger()[before:]), rel=1e-9)


def test_redo_bills_the_words_again(emulator, workdir):
    make_job(emulator, words(3)).run()
    result = make_job(emulator, [*words(3), "extra"], redo=True).run()
    assert result.phase == "finished"
    assert billed_per_word(emulator.ledger()) == {**{w: 2 for w in words(3)}, "extra": 1}


def test_an_imported_original_checkpoint_is_never_billed(emulator, workdir):
    original = workdir / "checkpoint.json"
    original.write_text(
        json.dumps(
            {
                "processed_words": words(6)[:4],
                "failed_words": {"word4": "rate limited"},
                "start_time": "2025-01-01T10:00:00",
                "total_cost": 0.5,
                "total_tokens": 12345,
                "timestamp": "2025-01-01T11:00:00",
                "batch_ids": ["batch_old"],
            }
        )
    )
    job = make_job(emulator, words(6), import_checkpoint=str(original))
    assert job.estimate.already_processed == 4
    assert any("Imported checkpoint" in n and "4 newly marked done" in n for n in job.notices)
    result = job.run()
    assert result.phase == "finished"
    assert billed_per_word(emulator.ledger()) == {"word4": 1, "word5": 1}
    cp = read_checkpoint(result.checkpoint)
    assert sorted(cp["processed_words"]) == sorted(words(6))
    assert cp["total_cost"] == pytest.approx(ledger_cost(emulator.ledger()), rel=1e-9)


def test_fresh_is_refused_while_batches_are_in_flight_then_safe(emulator, workdir):
    emulator.configure(stall=True)
    old = make_job(emulator, words(8), batch_size=4, checkpoint="run.json")
    old.start()
    _wait(lambda: sum(1 for f in old.checkpoint.state.flights.values() if f.batch_id) == 2)
    old.stop()
    assert old.wait(30).phase == "interrupted"
    new_list = [*words(8), "extra"]
    with pytest.raises(CheckpointError, match=r"2 batch\(es\) in flight") as info:
        make_job(emulator, new_list, checkpoint="run.json")
    assert "belongs to another run" in str(info.value)
    with pytest.raises(CheckpointError, match=r"2 batch\(es\) in flight; fresh=True would pay"):
        make_job(emulator, new_list, checkpoint="run.json", fresh=True)
    assert len(read_checkpoint(workdir / "run.json")["batches"]) == 2  # untouched
    emulator.configure(stall=False)
    assert make_job(emulator, words(8), checkpoint="run.json").run().phase == "finished"
    fresh = make_job(emulator, new_list, checkpoint="run.json", fresh=True)
    assert fresh.estimate.remaining == 1 and fresh.set_aside is None  # not before it runs
    assert fresh.open().set_aside is not None
    assert fresh.run().phase == "finished"
    billed = billed_per_word(emulator.ledger())
    assert billed == {**{w: 1 for w in words(8)}, "extra": 1}
