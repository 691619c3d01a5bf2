"""Calls whose answer never arrives: was the batch created or not? The run finds out by the
batch's tag (and an upload by its file name) before it sends again, so nothing is paid twice.
Faults happen in HTTP, with the real SDK and the real backend."""

from __future__ import annotations

import pytest

from synthlib.jobs.job import Job, build_config

from .conftest import backend_for, billed_per_word, read_checkpoint, words


def _run(emulator):
    job = Job(
        build_config(words(30), provider="openai", poll_interval=0.05, batch_size=10),
        backend=backend_for(emulator),
    )
    return job.run()


def test_lost_create_answers_are_adopted_not_created_again(emulator, workdir):
    emulator.configure(lost_reply_rate=1.0, lost_reply_mode="drop")
    result = _run(emulator)
    assert result.phase == "finished"
    cp = read_checkpoint(result.checkpoint)
    assert sorted(cp["processed_words"]) == sorted(words(30))
    assert len(cp["finished_batches"]) == 3  # three shards, three batches: none created twice
    assert all(n == 1 for n in billed_per_word(emulator.ledger()).values())


@pytest.mark.emulator_speed(100)  # each is looked for over 30 s of the API's clock first
def test_creates_that_never_arrived_are_made_again(emulator, workdir):
    # a 500 before anything happened looks the same to the client as one after: the run looks
    # for the batch, finds none, and creates it
    emulator.configure(http_500_rate=0.5, max_consecutive_http_faults=3)
    result = _run(emulator)
    assert result.phase == "finished"
    cp = read_checkpoint(result.checkpoint)
    assert sorted(cp["processed_words"]) == sorted(words(30))
    assert len(cp["finished_batches"]) == 3
    assert all(n == 1 for n in billed_per_word(emulator.ledger()).values())
