"""Calls whose answer never arrives: was the batch created or not? The run finds out by the
batch's tag before it creates again, so nothing is paid twice."""

from __future__ import annotations

from synthlib.backends.base import UncertainError
from synthlib.backends.openai import OpenAIBackend
from synthlib.job import Job, build_config

from .conftest import backend_for, billed_per_word, read_checkpoint, words


class LosesCreateAnswers:
    """Creates every batch, but the answer to the first ``n`` creates is lost on the way back."""

    def __init__(self, inner: OpenAIBackend, n: int) -> None:
        self.inner, self.lost, self.n = inner, 0, n

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def create(self, input_file_id, metadata):
        info = self.inner.create(input_file_id, metadata)
        if self.lost < self.n:
            self.lost += 1
            raise UncertainError("create batch: no answer (read timeout, injected)")
        return info


class NeverCreates(LosesCreateAnswers):
    """The request times out before reaching the server: no batch exists."""

    def create(self, input_file_id, metadata):
        if self.lost < self.n:
            self.lost += 1
            raise UncertainError("create batch: no answer (connect timeout, injected)")
        return self.inner.create(input_file_id, metadata)


def _run(emulator, backend):
    job = Job(build_config(words(30), provider="openai", poll_interval=0.05, batch_size=10),
              backend=backend)  # fmt: skip
    return job.run()


def test_lost_create_answers_are_adopted_not_created_again(emulator, workdir):
    backend = LosesCreateAnswers(backend_for(emulator), n=2)
    result = _run(emulator, backend)
    assert result.phase == "finished" and backend.lost == 2
    cp = read_checkpoint(result.checkpoint)
    assert sorted(cp["processed_words"]) == sorted(words(30))
    assert len(cp["finished_batches"]) == 3  # three shards, three batches: none created twice
    assert all(n == 1 for n in billed_per_word(emulator.ledger()).values())


def test_creates_that_never_arrived_are_made_again(emulator, workdir):
    backend = NeverCreates(backend_for(emulator), n=2)
    result = _run(emulator, backend)
    assert result.phase == "finished"
    cp = read_checkpoint(result.checkpoint)
    assert sorted(cp["processed_words"]) == sorted(words(30))
    assert all(n == 1 for n in billed_per_word(emulator.ledger()).values())
