"""The engine against the emulator, over HTTP, driven by the real openai SDK."""

from __future__ import annotations

import time

import pytest

import synthlib
from synthlib.core.schema import Failure
from synthlib.jobs.job import Job, build_config

from .conftest import backend_for, billed_per_word, ledger_cost, read_checkpoint, words


def run_job(emu, word_list, **kw):
    kw.setdefault("poll_interval", 0.05)
    kw.setdefault("provider", "openai")
    job = Job(build_config(word_list, **kw), backend=backend_for(emu))
    return job, job.run()


def assert_accounted(result, word_list, emu, *, max_attempts=3):
    """Every word ends done or given up; money adds up to the emulator's ledger."""
    cp = read_checkpoint(result.checkpoint)
    done, given_up = set(cp["processed_words"]), set(cp["given_up_words"])
    assert done | given_up == set(word_list)
    assert not done & given_up
    assert not cp["batches"]
    assert set(cp["failed_words"]) == given_up
    entries = synthlib.load_entries(result.store)
    assert set(entries["word"]) == done
    ledger = emu.ledger()
    billed = billed_per_word(ledger)
    assert all(n <= max_attempts for n in billed.values()), billed.most_common(3)
    assert cp["total_tokens"] == sum(r["prompt_tokens"] + r["completion_tokens"] for r in ledger)
    assert cp["total_cost"] == pytest.approx(ledger_cost(ledger), rel=1e-9)
    assert entries["cost_usd"].sum() <= cp["total_cost"] + 1e-12
    return cp, billed


@pytest.mark.parametrize("n", [1, 10])
def test_happy_path(emulator, workdir, n):
    _, result = run_job(emulator, words(n))
    assert result.phase == "finished" and result.exit_code == 0
    cp, billed = assert_accounted(result, words(n), emulator)
    assert len(cp["processed_words"]) == n
    assert all(count == 1 for count in billed.values())


def test_5000_words_in_several_batches(emulator, workdir):
    emulator.configure(default_token_limit=10**9)
    _, result = run_job(emulator, words(5000), batch_size=1000, token_budget=10**9)
    cp, billed = assert_accounted(result, words(5000), emulator)
    assert len(cp["processed_words"]) == 5000
    assert sum(billed.values()) == 5000
    assert len(cp["finished_batches"]) == 5


def test_entries_record_provenance_and_cost(emulator, workdir):
    _, result = run_job(emulator, words(3))
    frame = synthlib.load_entries(result.store)
    assert set(frame["provider"]) == {"openai"} and set(frame["model"]) == {"gpt-4o-mini"}
    assert frame["batch_id"].str.startswith("batch_").all()
    assert (frame["input_tokens"] > 0).all() and (frame["cost_usd"] > 0).all()
    assert set(frame["prompt_version"]) == {synthlib.PROMPT_VERSION}


def test_junk_word_is_given_up_after_one_attempt(emulator, workdir):
    _, result = run_job(emulator, ["apple", "zzqjunk"])
    assert result.given_up == {"zzqjunk": Failure("not_a_word")}
    assert billed_per_word(emulator.ledger())["zzqjunk"] == 1


FAULTS = {
    "error_rate": ("http_error", 0.3),
    "truncate_rate": ("truncated", 0.3),
    "refusal_rate": ("refused", 0.3),
    "expire_rate": ("expired", 0.5),
    "no_output_rate": ("http_error", 0.5),
    "http_429_rate": (None, 0.3),
    "http_500_rate": (None, 0.3),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_alone_ends_with_every_word_accounted(emulator, workdir, fault):
    code, rate = FAULTS[fault]
    emulator.configure(**{fault: rate})
    _, result = run_job(emulator, words(60), batch_size=20, max_attempts=2)
    cp, _billed = assert_accounted(result, words(60), emulator, max_attempts=2)
    assert len(cp["processed_words"]) > 0
    reasons = {r.split(":", 1)[0] for r in cp["failed_words"].values()}
    if code is not None:
        history = [b["done"] < b["words"] for b in cp["finished_batches"]]
        assert any(history), "the fault never struck"
        assert reasons <= {code, "no_result"}
    else:  # transient HTTP errors are retried by the SDK: nothing fails
        assert not cp["failed_words"]


def test_all_faults_together(emulator, workdir):
    emulator.configure(
        error_rate=0.1,
        truncate_rate=0.1,
        refusal_rate=0.1,
        expire_rate=0.2,
        no_output_rate=0.1,
        http_429_rate=0.1,
        http_500_rate=0.1,
    )
    _, result = run_job(emulator, words(120), batch_size=25)
    cp, _ = assert_accounted(result, words(120), emulator)
    assert len(cp["processed_words"]) >= 60


def test_expired_batch_keeps_completed_results_and_resubmits_the_rest(emulator, workdir):
    emulator.configure(expire_rate=1.0)
    job = Job(
        build_config(words(40), provider="openai", poll_interval=0.05),
        backend=backend_for(emulator),
    )
    result = job.run()  # every batch expires half done, so each attempt keeps about half
    cp = read_checkpoint(result.checkpoint)
    first = cp["finished_batches"][0]
    assert first["status"] == "expired"
    assert 0 < first["done"] < first["words"]
    billed = billed_per_word(emulator.ledger())
    done_first = set(cp["processed_words"])
    assert len(done_first) >= first["done"]
    assert max(billed.values()) == 1  # expired requests are not billed, completed ones once


def test_max_cost_stops_new_submissions(emulator, workdir):
    per_batch = synthlib.dry_run(words(10)).batch_cost
    _, result = run_job(emulator, words(50), batch_size=10, max_cost=per_batch * 2.5)
    assert result.phase == "budget"
    cp = read_checkpoint(result.checkpoint)
    assert 0 < len(cp["processed_words"]) < 50
    assert cp["total_cost"] <= per_batch * 2.5


def test_stop_leaves_batches_running_and_resume_collects_them(emulator, workdir):
    emulator.configure(stall=True)
    job = Job(
        build_config(words(30), provider="openai", poll_interval=0.05, batch_size=10),
        backend=backend_for(emulator),
    )
    job.start()
    deadline = time.monotonic() + 30
    while len(job.checkpoint.state.flights) < 3 or any(
        f.batch_id is None for f in job.checkpoint.state.flights.values()
    ):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    job.stop()
    result = job.wait(30)
    assert result is not None and result.phase == "interrupted" and result.exit_code == 130
    cp = read_checkpoint(result.checkpoint)
    assert len(cp["batches"]) == 3 and not cp["processed_words"]
    emulator.configure(stall=False)
    _, resumed = run_job(emulator, words(30), batch_size=10)
    cp2, billed = assert_accounted(resumed, words(30), emulator)
    assert len(cp2["processed_words"]) == 30
    assert all(n == 1 for n in billed.values())  # re-attached, not resubmitted


def test_cancel_on_exit_cancels_in_flight_batches(emulator, workdir):
    emulator.configure(stall=True)
    job = Job(
        build_config(words(10), provider="openai", poll_interval=0.05, cancel_on_exit=True),
        backend=backend_for(emulator),
    )
    job.start()
    deadline = time.monotonic() + 30
    while not any(f.batch_id for f in job.checkpoint.state.flights.values()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    job.stop()
    result = job.wait(30)
    assert result.phase == "interrupted"
    batch_id = next(iter(job.checkpoint.state.flights.values())).batch_id
    status = backend_for(emulator).retrieve(batch_id).status
    assert status in ("cancelling", "cancelled")
    emulator.configure(stall=False)
    _, resumed = run_job(emulator, words(10))
    assert_accounted(resumed, words(10), emulator)


def test_input_files_are_deleted_once_their_batch_ended(emulator, workdir):
    run_job(emulator, words(20), batch_size=5)
    client = backend_for(emulator)._client
    remaining = [f for f in client.files.list() if f.purpose == "batch"]
    assert remaining == []


def test_emulator_restart_mid_run(tmp_path, workdir):
    from synthlib.emulator import Emulator, EmulatorConfig

    from .conftest import FAST

    emu = Emulator(tmp_path / "emu-state", config=EmulatorConfig(**{**FAST, "stall": True}))
    emu.start()
    port = emu.port
    job = Job(
        build_config(words(20), provider="openai", poll_interval=0.05, batch_size=10),
        backend=backend_for(emu),
    )
    job.start()
    deadline = time.monotonic() + 30
    while sum(1 for f in job.checkpoint.state.flights.values() if f.batch_id) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    emu.stop()
    time.sleep(0.3)  # the run keeps polling a server that is gone
    emu2 = Emulator(tmp_path / "emu-state", config=EmulatorConfig(**FAST), port=port)
    emu2.start()
    try:
        emu2.configure(stall=False)
        result = job.wait(60)
        assert result is not None and result.phase == "finished"
        _cp, billed = assert_accounted(result, words(20), emu2)
        assert all(n == 1 for n in billed.values())
    finally:
        emu2.stop()
