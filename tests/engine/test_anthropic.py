"""The Anthropic backend against the emulator's Message Batches API, over HTTP with the real SDK:
what only this provider needs proving. Its batches carry no metadata, so a create whose answer
is lost is resolved from the tags in the candidates' results (see synthlib.engine.submit); and its
expiry comes 24 h after creation, reached here by moving the emulator's clock, not by waiting.
The money tests shared with OpenAI are parametrised in test_wire_faults and test_crash_resume."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

import synthlib
from synthlib.core import prompts, schema
from synthlib.core.errors import UsageError
from synthlib.core.requests import MAX_CUSTOM_ID
from synthlib.emulator import Emulator, EmulatorConfig
from synthlib.jobs.config import provider_model, resolve_provider
from synthlib.jobs.job import Job, build_config

from .conftest import FAST, backend_for, billed_per_word, ledger_cost, read_checkpoint, words

anthropic = pytest.importorskip("anthropic")
from synthlib.providers.anthropic.backend import tagged_id, untag  # noqa: E402

DAY = 24 * 3600


def batch_ids(emu) -> list[str]:
    """Every Message Batch on the emulator."""
    client = anthropic.Anthropic(api_key="test", base_url=emu.url, max_retries=0)
    return [b.id for b in client.messages.batches.list(limit=100)]


def make_job(emu, word_list, checkpoint="run.checkpoint.json", notices=None, **kw):
    """A run on the emulator's Message Batches API; its notices go to ``notices``."""
    kw.setdefault("poll_interval", 0.05)
    kw.setdefault("batch_size", 10)
    config = build_config(word_list, provider="anthropic", checkpoint=checkpoint, **kw)

    def listen(progress, message):
        if message and notices is not None:
            notices.append(message)

    backend = backend_for(emu, "anthropic", checkpoint=checkpoint)
    return Job(config, backend=backend, listener=listen)


def assert_paid_once(cp, word_list, ledger):
    """Every word done and billed once; the reported spend is what these rows billed."""
    assert sorted(cp["processed_words"]) == sorted(word_list)
    billed = billed_per_word(ledger)
    assert set(billed) == set(word_list) and max(billed.values()) == 1, billed.most_common(3)
    assert cp["total_tokens"] == sum(r["prompt_tokens"] + r["completion_tokens"] for r in ledger)
    assert cp["total_cost"] == pytest.approx(ledger_cost(ledger, "anthropic"), rel=1e-9)


# --- a create whose answer is lost ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["5xx", "drop"])
def test_every_create_answer_lost_each_batch_is_found_by_its_results(emulator, workdir, mode):
    emulator.configure(lost_reply_rate=1.0, lost_reply_mode=mode)
    word_list = words(30)
    notices: list[str] = []
    result = make_job(emulator, word_list, notices=notices).run()
    assert result.phase == "finished"
    cp = read_checkpoint(result.checkpoint)
    assert_paid_once(cp, word_list, emulator.ledger())
    # three shards, three batches on the API: none was created twice
    assert len(cp["finished_batches"]) == 3
    assert len(batch_ids(emulator)) == 3
    found = [n for n in notices if "by the tags in its results" in n]
    assert len(found) == 3


def test_a_foreign_batch_of_the_same_size_is_ruled_out_never_adopted(emulator, workdir):
    """Another process on the same key made a batch of as many requests at the same moment:
    only the tags in the results decide, so it is ruled out and its bill is not ours."""
    client = anthropic.Anthropic(api_key="test", base_url=emulator.url, max_retries=0)
    params = {
        "model": "claude-haiku-4-5",
        "max_tokens": 1000,
        "messages": [{"role": "user", "content": 'Write entries: {"words": ["elsewhere"]}'}],
    }
    foreign = client.messages.batches.create(
        requests=[{"custom_id": f"r{i}", "params": params} for i in range(10)]
    )
    emulator.configure(lost_reply_rate=1.0, lost_reply_mode="drop")
    word_list = words(10)
    notices: list[str] = []
    result = make_job(emulator, word_list, notices=notices).run()
    cp = read_checkpoint(result.checkpoint)
    assert [n for n in notices if "are not shard" in n] == [
        f"batches {foreign.id} are not shard s-1's"
    ]
    assert foreign.id not in {b["batch_id"] for b in cp["finished_batches"]}
    ours = [r for r in emulator.ledger() if r["batch_id"] != foreign.id]
    assert_paid_once(cp, word_list, ours)


def test_two_runs_at_once_with_every_create_answer_lost_adopt_only_their_own(emulator, workdir):
    """Two runs on one key, shards of the same size, every create unanswered: each run's
    candidates include the other's batches, and each adopts only its own."""
    emulator.configure(lost_reply_rate=1.0, lost_reply_mode="5xx")
    lists = {"a.checkpoint.json": words(30), "b.checkpoint.json": [f"other{i}" for i in range(30)]}
    jobs = {cp: make_job(emulator, wl, checkpoint=cp) for cp, wl in lists.items()}
    for job in jobs.values():
        job.start()
    results = {cp: job.wait(120) for cp, job in jobs.items()}
    ledger = emulator.ledger()
    assert max(billed_per_word(ledger).values()) == 1
    for cp_path, word_list in lists.items():
        assert results[cp_path].phase == "finished"
        mine = [r for r in ledger if set(r["words"]) <= set(word_list)]
        assert_paid_once(read_checkpoint(cp_path), word_list, mine)
    assert len(batch_ids(emulator)) == 6


def test_the_final_sweep_never_waits_for_a_batch_made_outside_this_runs_creates(tmp_path, workdir):
    """Another process's batch of the same size, made two minutes (of the API's clock) before
    this run and running on for long: no create of this run was on its way when it was made,
    so the run ends when its own work is done instead of waiting for that batch to end to read
    its tags."""
    clock = MovableClock()
    emu = Emulator(tmp_path / "emu", config=EmulatorConfig(**FAST), clock=clock).start()
    try:
        client = anthropic.Anthropic(api_key="test", base_url=emu.url, max_retries=0)
        params = {
            "model": "claude-haiku-4-5",
            "max_tokens": 1000,
            "messages": [{"role": "user", "content": 'Write entries: {"words": ["elsewhere"]}'}],
        }
        emu.configure(seconds_per_request=100.0)  # this batch runs for about 17 minutes
        foreign = client.messages.batches.create(
            requests=[{"custom_id": f"r{i}", "params": params} for i in range(10)]
        )
        emu.configure(**FAST)
        clock.shift = 120.0
        word_list = words(10)
        notices: list[str] = []
        job = make_job(emu, word_list, notices=notices)
        job.start()
        result = job.wait(60)
        if result is None:
            job.stop()
            job.wait(30)
        assert result is not None, notices[-3:]
        assert result.phase == "finished"
        assert client.messages.batches.retrieve(foreign.id).processing_status == "in_progress"
        assert not [n for n in notices if "to end to tell" in n], notices
        ours = [r for r in emu.ledger() if r["batch_id"] != foreign.id]
        assert_paid_once(read_checkpoint(result.checkpoint), word_list, ours)
    finally:
        emu.stop()


# --- expiry -----------------------------------------------------------------------------------


class MovableClock:
    """Real time plus a shift the test moves (a day passes at once, whatever the machine)."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.time() + self.shift


def test_expiry_keeps_the_results_that_ran_and_resubmits_the_rest(tmp_path, workdir):
    clock = MovableClock()
    emu = Emulator(tmp_path / "expiring", config=EmulatorConfig(**FAST), clock=clock).start()
    try:
        emu.configure(expire_rate=1.0)  # each batch runs half its requests, then stops
        word_list = words(20)
        job = make_job(emu, word_list)
        job.start()
        deadline = time.monotonic() + 60
        while len(job.checkpoint.state.flights) < 2 or any(
            f.batch_id is None for f in job.checkpoint.state.flights.values()
        ):
            assert time.monotonic() < deadline, "the batches were never created"
            time.sleep(0.02)
        emu.configure(expire_rate=0.0)  # the resubmitted rest runs to the end
        clock.shift = DAY + 60
        result = job.wait(120)
        assert result.phase == "finished"
        cp = read_checkpoint(result.checkpoint)
        first = cp["finished_batches"][:2]
        assert {b["status"] for b in first} == {"expired"}
        assert all(b["done"] == 5 for b in first)  # half of each ran, was billed and kept
        assert_paid_once(cp, word_list, emu.ledger())
    finally:
        emu.stop()


# --- pieces -----------------------------------------------------------------------------------


def test_tagged_custom_ids_fit_anthropics_pattern_and_read_back():
    tag = "0123456789ab-s99999"
    for custom_id in ("w0", "w3.ff_101", "w" + "f" * (MAX_CUSTOM_ID - 1)):
        tagged = tagged_id(custom_id, tag)
        assert len(tagged) <= 64 and all(c.isalnum() or c in "_-" for c in tagged)
        assert untag(tagged) == (custom_id, tag)
    assert untag("w0") is None and untag("r1") is None and untag("w0_fffffffff") is None


def test_auto_picks_anthropic_when_only_its_key_is_set(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    assert resolve_provider("auto") == "anthropic"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert resolve_provider("auto") == "openai"


def test_the_default_model_on_anthropic_is_a_claude_model():
    assert provider_model("anthropic", "gpt-4o-mini") == "claude-haiku-4-5"
    assert provider_model("anthropic", "claude-sonnet-4-5") == "claude-sonnet-4-5"
    with pytest.raises(UsageError):
        provider_model("anthropic", "gpt-4o")


def test_the_dry_run_labels_claude_token_counts_as_estimates(offline_env):
    estimate = synthlib.dry_run(words(10), provider="anthropic")
    assert estimate.model == "claude-haiku-4-5" and not estimate.tokens_exact
    (row,) = [v for label, v in estimate.rows() if label == "Estimated input tokens"]
    assert "estimated" in row and "Claude" in row
    # priced at Claude Haiku 4.5's batch rates: half of $1 in and $5 out per 1M tokens
    expected = (estimate.input_tokens * 1.0 + estimate.output_tokens * 5.0) / 2e6
    assert estimate.batch_cost == pytest.approx(expected)


def test_requests_carry_the_same_prompt_and_the_schema_as_a_forced_tool(emulator, workdir):
    result = make_job(emulator, words(3), batch_size=3).run()
    assert result.phase == "finished"
    (batch_id,) = batch_ids(emulator)
    body = emulator.state_dir / "anthropic" / "batches" / f"{batch_id}.requests"
    sent = json.loads(body.read_bytes())["requests"]
    params = sent[0]["params"]
    assert params["system"] == prompts.SYSTEM
    assert params["tool_choice"] == {"type": "tool", "name": params["tools"][0]["name"]}
    assert params["tools"][0]["input_schema"] == schema.response_schema()
    assert Counter(untag(r["custom_id"])[1] for r in sent) == {untag(sent[0]["custom_id"])[1]: 3}


@pytest.mark.parametrize("words_per_request", [1, 10])
def test_a_shard_cut_to_the_specs_limit_fits_a_message_batch(words_per_request):
    """Sharding measures OpenAI-format lines; as Message Batch requests they grow (params, tags,
    the tool definition). A shard cut to the spec's byte limit must still pass the API's."""
    from synthlib.core.pricing import price_for
    from synthlib.core.requests import RequestTemplate, build_requests
    from synthlib.providers import registry
    from synthlib.providers.anthropic import SPEC
    from synthlib.providers.anthropic.backend import LIMITS, to_request, tool

    word_list = [f"word{i}" for i in range(40)] + ["serendipity", "well-being", "naïve"]
    template = RequestTemplate(price_for("claude-haiku-4-5", registry.prices()))
    positions = {w: i for i, w in enumerate(word_list)}
    requests = list(build_requests(word_list, positions, words_per_request=words_per_request))
    lines = [template.line(r) for r in requests]
    as_sent = [to_request(json.loads(line), "t" * 24, tool()) for line in lines]
    measured = sum(len(line.encode()) + 1 for line in lines)  # what sharding counts
    sent = len(json.dumps({"requests": as_sent}, ensure_ascii=False).encode())
    assert sent / measured < LIMITS.bytes / SPEC.limits.bytes
