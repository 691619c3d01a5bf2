"""Money on the wire: the real backends and the real SDKs (their retries included) against the
emulator, whose faults happen in HTTP: calls that take effect and then answer 5xx or drop the
connection, stale 404s, odd answers, odd result files, another project's key, another base URL.
Every test checks the emulator's billing ledger: no word billed twice, reported cost equal to
what was billed, spend within the cap. Tests taking ``provider`` run on OpenAI's Batch API and on
Anthropic's Message Batches API alike."""

from __future__ import annotations

import sqlite3
import time

import openai
import pytest

import synthlib
from synthlib.core.errors import StoreError
from synthlib.emulator import Emulator, EmulatorConfig
from synthlib.engine.loop import BatchUnreadable, WrongAccount
from synthlib.jobs.job import Job, build_config
from synthlib.store.sqlite import SQLiteStore

from .conftest import FAST, backend_for, billed_per_word, ledger_cost, read_checkpoint, words


def make_job(emu, word_list, *, key="test", store=None, **kw):
    kw.setdefault("poll_interval", 0.05)
    kw.setdefault("provider", "openai")
    kw.setdefault("checkpoint", "run.checkpoint.json")
    if kw["provider"] == "openai" and key != "test":
        backend = backend_with_key(emu, key)
    else:
        backend = backend_for(emu, kw["provider"], key=key, checkpoint=kw["checkpoint"])
    return Job(build_config(word_list, **kw), backend=backend, store=store)


def backend_with_key(emu, key):
    from synthlib.providers.openai.backend import OpenAIBackend

    return OpenAIBackend(openai.OpenAI(api_key=key, base_url=emu.base_url, max_retries=4))


def assert_paid_once_and_reported(result, word_list, emu):
    """Every word done, each billed for exactly one answer, the reported spend the ledger's."""
    cp = read_checkpoint(result.checkpoint)
    assert sorted(cp["processed_words"]) == sorted(word_list)
    ledger = emu.ledger()
    billed = billed_per_word(ledger)
    twice = {w: n for w, n in billed.items() if n > 1}
    assert not twice, f"billed more than once: {sorted(twice.items())[:5]}"
    assert cp["total_tokens"] == sum(r["prompt_tokens"] + r["completion_tokens"] for r in ledger)
    assert cp["total_cost"] == pytest.approx(ledger_cost(ledger, result.provider), rel=1e-9)
    entries = synthlib.load_entries(result.store)
    assert sorted(entries["word"]) == sorted(word_list)
    return cp


@pytest.mark.parametrize("mode", ["5xx", "drop", "mixed"])
def test_replies_lost_after_the_call_took_effect_never_pay_twice(emulator, workdir, mode, provider):
    emulator.configure(lost_reply_rate=0.3, lost_reply_mode=mode)
    word_list = words(200)
    result = make_job(emulator, word_list, batch_size=20, provider=provider).run()
    assert result.phase == "finished"
    cp = assert_paid_once_and_reported(result, word_list, emulator)
    assert len(cp["finished_batches"]) >= 10


def test_every_create_reply_lost_still_pays_once(emulator, workdir, provider):
    emulator.configure(lost_reply_rate=1.0, lost_reply_mode="5xx")
    word_list = words(30)
    result = make_job(emulator, word_list, batch_size=10, provider=provider).run()
    assert_paid_once_and_reported(result, word_list, emulator)


def test_stale_404s_on_reads_never_pay_twice(emulator, workdir, provider):
    emulator.configure(stale_read_rate=0.15)
    word_list = words(200)
    result = make_job(emulator, word_list, batch_size=20, provider=provider).run()
    assert_paid_once_and_reported(result, word_list, emulator)


def test_all_wire_faults_together(emulator, workdir, provider):
    emulator.configure(
        lost_reply_rate=0.2,
        lost_reply_mode="mixed",
        stale_read_rate=0.1,
        http_500_rate=0.1,
        http_429_rate=0.1,
        duplicate_line_rate=0.3,
        conflicting_line_rate=0.3,
        bogus_custom_id_rate=0.3,
        extra_entry_rate=0.2,
        duplicate_entry_rate=0.2,
    )
    word_list = words(150)
    result = make_job(emulator, word_list, batch_size=15, provider=provider).run()
    assert_paid_once_and_reported(result, word_list, emulator)


def test_odd_answers_leave_a_store_that_reads_back(emulator, workdir):
    emulator.configure(extra_entry_rate=0.5, duplicate_entry_rate=0.5)
    word_list = words(40)
    result = make_job(emulator, word_list, batch_size=20).run()
    assert_paid_once_and_reported(result, word_list, emulator)
    entries = synthlib.load_entries(result.store)
    assert len(entries) == 40 and entries["word"].is_unique
    senses = synthlib.load_senses(result.store)
    assert set(senses["word"]) == set(word_list)


def test_odd_result_files_are_billed_once_and_counted(emulator, workdir, provider):
    emulator.configure(duplicate_line_rate=1.0, conflicting_line_rate=1.0, bogus_custom_id_rate=1.0)
    word_list = words(40)
    result = make_job(emulator, word_list, batch_size=20, provider=provider).run()
    assert_paid_once_and_reported(result, word_list, emulator)


def test_a_cap_holds_against_what_was_billed_with_lost_replies(emulator, workdir, provider):
    emulator.configure(lost_reply_rate=0.3, lost_reply_mode="mixed")
    cap = synthlib.dry_run(words(10), provider=provider).batch_cost * 4
    result = make_job(emulator, words(100), batch_size=10, max_cost=cap, provider=provider).run()
    assert result.phase == "budget"
    cp = read_checkpoint(result.checkpoint)
    billed = ledger_cost(emulator.ledger(), provider)
    assert billed <= cap
    assert cp["total_cost"] == pytest.approx(billed, rel=1e-9)
    assert 0 < len(cp["processed_words"]) < 100
    assert all(n == 1 for n in billed_per_word(emulator.ledger()).values())


def _stop_with_batches_in_flight(emulator, word_list, **kw):
    """Start a run on a stalled emulator; stop it once every shard has its batch."""
    emulator.configure(stall=True)
    job = make_job(emulator, word_list, batch_size=10, **kw)
    job.start()
    deadline = time.monotonic() + 60
    while len(job.checkpoint.state.flights) < len(word_list) // 10 or any(
        f.batch_id is None for f in job.checkpoint.state.flights.values()
    ):
        assert time.monotonic() < deadline, "the batches were never created"
        time.sleep(0.02)
    job.stop()
    assert job.wait(60).phase == "interrupted"
    emulator.configure(stall=False)


def test_a_resume_with_another_projects_key_is_refused(emulator, workdir):
    emulator.configure(isolate_projects=True)
    word_list = words(20)
    _stop_with_batches_in_flight(emulator, word_list, key="sk-project-a")
    with pytest.raises(WrongAccount, match="project"):
        make_job(emulator, word_list, key="sk-project-b").run()
    cp = read_checkpoint("run.checkpoint.json")
    assert len(cp["batches"]) == 2  # the words stay reserved for their batches
    resumed = make_job(emulator, word_list, key="sk-project-a").run()
    assert_paid_once_and_reported(resumed, word_list, emulator)
    assert "sk-project" not in (workdir / "run.checkpoint.json").read_text()


def test_a_resume_against_another_base_url_is_refused(emulator, workdir, tmp_path):
    word_list = words(20)
    _stop_with_batches_in_flight(emulator, word_list)
    other = Emulator(tmp_path / "other", config=EmulatorConfig(**FAST))
    other.start()
    try:
        with pytest.raises(WrongAccount, match="base_url"):
            make_job(other, word_list).run()
        assert other.ledger() == []
    finally:
        other.stop()
    resumed = make_job(emulator, word_list).run()
    assert_paid_once_and_reported(resumed, word_list, emulator)


def test_a_batch_that_stays_unreadable_stops_the_run_with_its_words_reserved(
    emulator, workdir, provider
):
    word_list = words(20)
    _stop_with_batches_in_flight(emulator, word_list, provider=provider)
    emulator.configure(stale_read_rate=1.0)
    with pytest.raises(BatchUnreadable, match=r"stays unreadable.*words stay reserved"):
        make_job(emulator, word_list, provider=provider).run()
    cp = read_checkpoint("run.checkpoint.json")
    assert len(cp["batches"]) == 2 and not cp["processed_words"]
    emulator.configure(stale_read_rate=0.0)
    resumed = make_job(emulator, word_list, provider=provider).run()
    assert_paid_once_and_reported(resumed, word_list, emulator)


def test_token_limit_backs_off_resubmits_and_recovers(emulator, workdir):
    # batches of 20 (about 31k tokens) under a 40k limit: while the first is held in progress,
    # the second fails validation with token_limit_exceeded
    emulator.configure(default_token_limit=40_000, stall=True)
    word_list = words(60)
    job = make_job(emulator, word_list, batch_size=20, token_budget=200_000)
    job.start()
    deadline = time.monotonic() + 60
    while not any(b["status"] == "failed" for b in job.checkpoint.state.finished):
        assert time.monotonic() < deadline, "the limit was never hit"
        time.sleep(0.02)
    emulator.configure(stall=False)
    result = job.wait(120)
    cp = assert_paid_once_and_reported(result, word_list, emulator)
    assert not cp["failed_words"]  # the limit costs no attempt and no word
    assert job.engine.pacing.limit_backoff == max(job.engine.settings.poll_interval, 1.0)


class CorruptedStore(SQLiteStore):
    """The embedded store whose file turns to garbage after the first batch is stored; it notes
    how many batches the API held at that moment."""

    writes = 0
    batches_when_corrupted: int | None = None

    def __init__(self, path, emulator):
        super().__init__(path)
        self.emulator = emulator

    def upsert_entries(self, records):
        self.writes += 1
        if self.writes == 2:
            garbage = self.path.with_name("garbage.db")
            garbage.write_bytes(b"this is not a database" * 100)
            self._db = sqlite3.connect(garbage, check_same_thread=False, isolation_level=None)
            self.batches_when_corrupted = len(self.emulator.api.list_batches(limit=100)["data"])
        return super().upsert_entries(records)


def test_a_corrupt_store_mid_run_stops_new_submissions_at_once(emulator, workdir):
    store = CorruptedStore(workdir / "synthlib.db", emulator)
    job = make_job(emulator, words(80), batch_size=10, token_budget=40_000, store=store)
    with pytest.raises(StoreError, match="no new batches were submitted"):
        job.run()
    cp = read_checkpoint("run.checkpoint.json")
    created = len(cp["finished_batches"]) + len(cp["batches"])
    # it stopped submitting the moment the store broke (how many were out by then is timing)
    assert store.batches_when_corrupted is not None
    assert created == store.batches_when_corrupted < 8
    assert len(emulator.api.list_batches(limit=100)["data"]) == created
    assert all(n == 1 for n in billed_per_word(emulator.ledger()).values())


def test_an_extra_batch_with_this_runs_tag_is_adopted_cancelled_and_counted(emulator, workdir):
    """A second process (or a proxy's retry) made a batch of words this run already holds: the
    run finds it by its tag, cancels it, and counts whatever it billed."""
    word_list = words(20)
    _stop_with_batches_in_flight(emulator, word_list)
    emulator.configure(stall=True)
    cp = read_checkpoint("run.checkpoint.json")
    flight = cp["batches"][0]
    client = openai.OpenAI(api_key="test", base_url=emulator.base_url, max_retries=0)
    original = client.batches.retrieve(flight["batch_id"])
    content = client.files.content(original.input_file_id).content
    upload = client.files.create(file=("dup.jsonl", content), purpose="batch")
    extra = client.batches.create(
        input_file_id=upload.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata=original.metadata,
    )
    job = make_job(emulator, word_list)
    job.start()
    deadline = time.monotonic() + 60
    # stalled, the extra stays in progress until the run has adopted it and asked for its cancel
    while client.batches.retrieve(extra.id).status not in ("cancelling", "cancelled"):
        assert time.monotonic() < deadline, "the extra batch was never adopted and cancelled"
        time.sleep(0.02)
    assert f"x-{extra.id}" in job.checkpoint.state.flights or any(
        b["batch_id"] == extra.id for b in job.checkpoint.state.finished
    )
    emulator.configure(stall=False)
    result = job.wait(120)
    assert client.batches.retrieve(extra.id).status == "cancelled"
    cp = read_checkpoint(result.checkpoint)
    assert sorted(cp["processed_words"]) == sorted(word_list)
    ledger = emulator.ledger()  # what the extra ran before its cancel is billed, and counted
    assert cp["total_cost"] == pytest.approx(ledger_cost(ledger), rel=1e-9)
    assert max(billed_per_word(ledger).values()) <= 2


def test_a_resume_does_not_count_inherited_batches_in_its_rate(emulator, workdir, provider):
    word_list = words(20)
    _stop_with_batches_in_flight(emulator, word_list, provider=provider)
    resumed = make_job(emulator, word_list, provider=provider).run()
    assert resumed.progress.processed == 20
    assert resumed.progress.resolved_this_session == 0  # collected, not done, this session
    assert resumed.progress.words_per_minute == 0
