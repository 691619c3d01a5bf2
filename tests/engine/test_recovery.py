"""Recovery against an API that lags and a clock that lies, on the wire with the real SDKs and
judged by the emulator's billing ledger: a status is trusted only when terminal (a lagging
replica's ``in_progress`` never ends a batch nor loses its downloaded results), listing windows
are on the server's clock (a machine clock hours off still finds a batch created before a
crash), and a create without an answer is looked for over a grace period on the server's clock
before it is sent again, its duplicates adopted and counted. Tests taking ``provider`` run on
OpenAI's Batch API and Anthropic's Message Batches API alike."""

from __future__ import annotations

import signal
import time

import pytest

import synthlib
from synthlib import collector
from synthlib.engine import BatchUnreadable
from synthlib.job import Job, build_config

from .conftest import (
    backend_for,
    billed_per_word,
    cli,
    ledger_cost,
    read_checkpoint,
    words,
)

WORDS = words(40)
CHECKPOINT = "words.checkpoint.json"
ARGS = ["words.txt", "--checkpoint", CHECKPOINT, "--yes", "--poll-interval", "0.05"]
ARGS += ["--batch-size", "10"]


@pytest.fixture
def word_file(workdir):
    (workdir / "words.txt").write_text("\n".join(WORDS) + "\n")
    return workdir / "words.txt"


def resume_job(emu, provider, notices, *, words_source="words.txt", **kw):
    """The terminal run's job, resumed in this process; its notices go to ``notices``."""
    config = build_config(
        words_source,
        provider=provider,
        checkpoint=CHECKPOINT,
        batch_size=10,
        poll_interval=0.05,
        **kw,
    )

    def listen(progress, message):
        if message:
            notices.append(message)

    backend = backend_for(emu, provider, checkpoint=CHECKPOINT)
    return Job(config, backend=backend, listener=listen)


def assert_paid_once(cp, word_list, ledger, provider):
    """Every word done and billed for one answer; the reported spend is the ledger's."""
    assert sorted(cp["processed_words"]) == sorted(word_list)
    billed = billed_per_word(ledger)
    twice = sorted(w for w, n in billed.items() if n > 1)
    assert not twice, f"billed more than once: {twice[:5]}"
    assert cp["total_tokens"] == sum(r["prompt_tokens"] + r["completion_tokens"] for r in ledger)
    assert cp["total_cost"] == pytest.approx(ledger_cost(ledger, provider), rel=1e-9)


def wait_for(condition, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


# --- item: a status is trusted only when terminal ---------------------------------------------


def test_a_stale_in_progress_on_resume_neither_ends_the_batch_nor_loses_its_results(
    emulator, workdir, word_file, provider
):
    """Killed right after a completed batch's results were spooled; on resume every read of it
    answers ``in_progress`` for a while (a lagging replica): it is read again until it says
    ``completed``, and its spooled results are the ones stored; nothing is paid twice."""
    crashed = cli(
        ARGS, emulator, workdir, env={"SYNTHLIB_FAILPOINTS": "after-download:1"}, provider=provider
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    spooled = list((workdir / f"{CHECKPOINT}.d").glob("*.output.jsonl"))
    assert spooled, "the crash came after a download"
    billed_before = len(emulator.ledger())
    emulator.configure(stale_status_rate=1.0)
    notices: list[str] = []
    job = resume_job(emulator, provider, notices)
    job.start()
    wait_for(
        lambda: sum("lagging read" in n for n in notices) >= 3 or not job.running,
        "the resumed run never read the ended batch",
    )
    emulator.configure(stale_status_rate=0.0)
    result = job.wait(120)
    assert result is not None and result.phase == "finished"
    cp = read_checkpoint(CHECKPOINT)
    assert not cp["failed_words"]
    assert_paid_once(cp, WORDS, emulator.ledger(), provider)
    assert len(emulator.ledger()) >= billed_before
    entries = synthlib.load_entries(result.store)
    assert sorted(entries["word"]) == sorted(WORDS)


def test_a_batch_that_keeps_reading_unfinished_stops_the_run_with_its_words_reserved(
    emulator, workdir, word_file, monkeypatch
):
    """A replica that never catches up: the run ends in bounded time (a bound of 3 reads here,
    not the default's), saying so, and a later resume collects the batch once."""
    monkeypatch.setattr(collector, "MAX_FAILED_READS", 3)
    crashed = cli(ARGS, emulator, workdir, env={"SYNTHLIB_FAILPOINTS": "after-download:1"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    emulator.configure(stale_status_rate=1.0)
    with pytest.raises(BatchUnreadable, match=r"keeps answering in_progress.*stay reserved"):
        resume_job(emulator, "openai", []).run()
    cp = read_checkpoint(CHECKPOINT)
    assert not cp["failed_words"]
    emulator.configure(stale_status_rate=0.0)
    resumed = cli(ARGS, emulator, workdir)
    assert resumed.returncode == 0, resumed.stderr
    assert_paid_once(read_checkpoint(CHECKPOINT), WORDS, emulator.ledger(), "openai")


def test_stale_statuses_and_stale_404s_together_never_pay_twice(emulator, workdir, provider):
    emulator.configure(stale_status_rate=0.3, stale_read_rate=0.1)
    word_list = words(100)
    notices: list[str] = []
    config = build_config(
        word_list,
        provider=provider,
        checkpoint="run.checkpoint.json",
        batch_size=10,
        poll_interval=0.05,
    )
    backend = backend_for(emulator, provider, checkpoint="run.checkpoint.json")
    result = Job(config, backend=backend, listener=lambda p, m: m and notices.append(m)).run()
    assert result.phase == "finished"
    assert_paid_once(read_checkpoint(result.checkpoint), word_list, emulator.ledger(), provider)
