"""A batch that completed but whose output file is gone (expired, deleted): after its file stays
not found, its spend is counted from the batch's own usage, its words go back to the queue (or
are given up, as ``--lost-results`` says) and the run ends, reporting what the ledger billed."""

from __future__ import annotations

import json
import signal
import time

import openai
import pytest

from synthlib.store.sqlite import SQLiteStore

from .conftest import billed_per_word, cli, ledger_cost, words

WORDS = words(12)
CHECKPOINT = "words.checkpoint.json"
ARGS = ["words.txt", "--checkpoint", CHECKPOINT, "--yes", "--poll-interval", "0.05"]


@pytest.fixture
def word_file(workdir):
    (workdir / "words.txt").write_text("\n".join(WORDS) + "\n")
    return workdir / "words.txt"


def batch_ids(workdir) -> list[str]:
    journal = workdir / f"{CHECKPOINT}.journal"
    events = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    return [e["batch_id"] for e in events if e["type"] == "created"]


def completed_with_its_output_deleted(emulator, workdir) -> str:
    """A run killed at its first poll; its batch completes on the emulator, and its output
    file is deleted there (as an expired one is). Returns the batch id."""
    killed = cli(ARGS, emulator, workdir, env={"SYNTHLIB_FAILPOINTS": "poll:1"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (batch_id,) = batch_ids(workdir)
    client = openai.OpenAI(api_key="test", base_url=emulator.base_url)
    deadline = time.monotonic() + 30
    while (batch := client.batches.retrieve(batch_id)).status != "completed":
        assert time.monotonic() < deadline, batch.status
        time.sleep(0.05)
    assert batch.usage is not None and batch.usage.output_tokens > 0
    client.files.delete(batch.output_file_id)
    return batch_id


def test_its_words_go_back_to_the_queue_and_every_billed_token_is_reported(
    emulator, workdir, word_file
):
    gone = completed_with_its_output_deleted(emulator, workdir)
    started = time.monotonic()
    resumed = cli(ARGS, emulator, workdir, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert time.monotonic() - started < 60
    assert f"batch {gone} completed, but its results file is gone" in resumed.stdout
    assert "12 words without a result are back in the queue" in resumed.stdout
    checkpoint = json.loads((workdir / CHECKPOINT).read_text())
    assert sorted(checkpoint["processed_words"]) == sorted(WORDS)
    ledger = emulator.ledger()
    assert set(billed_per_word(ledger).values()) == {2}  # the lost answers, and the new ones
    assert checkpoint["total_cost"] == pytest.approx(ledger_cost(ledger), rel=1e-9)
    assert checkpoint["total_tokens"] == sum(
        r["prompt_tokens"] + r["completion_tokens"] for r in ledger
    )
    with SQLiteStore(workdir / "synthlib.db") as store:
        (run,) = list(store.iter_runs())
    assert run["cost_usd"] == pytest.approx(ledger_cost(ledger), rel=1e-9)


def test_given_up_by_choice_they_are_listed_and_their_spend_still_counted(
    emulator, workdir, word_file
):
    completed_with_its_output_deleted(emulator, workdir)
    resumed = cli([*ARGS, "--lost-results", "give_up"], emulator, workdir, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert "12 words without a result are given up" in resumed.stdout
    checkpoint = json.loads((workdir / CHECKPOINT).read_text())
    assert not checkpoint["processed_words"] and not checkpoint["batches"]
    assert set(checkpoint["given_up_words"]) == set(WORDS)
    assert all(r.startswith("results_lost") for r in checkpoint["failed_words"].values())
    ledger = emulator.ledger()
    assert set(billed_per_word(ledger).values()) == {1}
    assert checkpoint["total_cost"] == pytest.approx(ledger_cost(ledger), rel=1e-9)
    with SQLiteStore(workdir / "synthlib.db") as store:
        reasons = {f.word: f.reason for f in store.iter_failures()}
    assert set(reasons) == set(WORDS)
    assert all(r.startswith("results_lost") for r in reasons.values())


def test_fresh_is_the_way_out_of_a_checkpoint_whose_batch_cannot_be_read(
    emulator, workdir, word_file
):
    killed = cli(ARGS, emulator, workdir, env={"SYNTHLIB_FAILPOINTS": "poll:1"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    emulator.configure(stale_read_rate=1.0)  # every read of the batch: 404
    stuck = cli(ARGS, emulator, workdir, timeout=60)
    assert stuck.returncode == 1, stuck.stderr
    (line,) = stuck.stderr.strip().splitlines()
    assert "stays unreadable" in line and "pass --fresh" in line
    emulator.configure(stale_read_rate=0.0)
    fresh = cli([*ARGS, "--fresh"], emulator, workdir, timeout=60)
    assert fresh.returncode == 0, fresh.stderr
    (backup,) = workdir.glob(f"{CHECKPOINT}.*.bak")
    assert [b["status"] for b in json.loads(backup.read_text())["batches"]] == ["unreadable"]
    checkpoint = json.loads((workdir / CHECKPOINT).read_text())
    assert sorted(checkpoint["processed_words"]) == sorted(WORDS)
    (old,) = json.loads(backup.read_text())["batches"]
    new_rows = [r for r in emulator.ledger() if r["batch_id"] != old["batch_id"]]
    assert checkpoint["total_cost"] == pytest.approx(ledger_cost(new_rows), rel=1e-9)


class MovableClock:
    """Real time plus a shift the test moves (a month passes at once)."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.time() + self.shift


def test_anthropic_results_archived_end_the_batch_saying_its_spend_is_not_reported(
    tmp_path, workdir, word_file
):
    """Message Batches keep results 29 days and report no usage on the batch: the words go
    again, and the line says the lost batch's spend cannot be counted."""
    anthropic = pytest.importorskip("anthropic")
    from synthlib.emulator import Emulator, EmulatorConfig
    from synthlib.emulator.anthropic_batches import RESULTS_KEPT_SECONDS

    from .conftest import FAST, MODELS

    clock = MovableClock()
    emu = Emulator(tmp_path / "archiving", config=EmulatorConfig(**FAST), clock=clock).start()
    try:
        env = {"SYNTHLIB_FAILPOINTS": "poll:1"}
        killed = cli(ARGS, emu, workdir, env=env, provider="anthropic")
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        (batch_id,) = batch_ids(workdir)
        client = anthropic.Anthropic(api_key="test", base_url=emu.url)
        deadline = time.monotonic() + 30
        while client.messages.batches.retrieve(batch_id).processing_status != "ended":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        lost_rows = emu.ledger()
        assert {r["batch_id"] for r in lost_rows} == {batch_id}
        clock.shift = RESULTS_KEPT_SECONDS + 60
        resumed = cli(ARGS, emu, workdir, timeout=60, provider="anthropic")
        assert resumed.returncode == 0, resumed.stderr
        assert f"batch {batch_id} completed, but its results file is gone" in resumed.stdout
        assert "reports no usage on the batch, so its spend is not counted" in resumed.stdout
        checkpoint = json.loads((workdir / CHECKPOINT).read_text())
        assert sorted(checkpoint["processed_words"]) == sorted(WORDS)
        new_rows = [r for r in emu.ledger() if r["batch_id"] != batch_id]
        assert set(billed_per_word(new_rows).values()) == {1}
        model = MODELS["anthropic"]
        assert checkpoint["total_cost"] == pytest.approx(ledger_cost(new_rows, model), rel=1e-9)
    finally:
        emu.stop()
