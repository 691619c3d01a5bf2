"""A retry changes what failed: a truncated answer goes again with room to fit, a refused one is
given up after one retry. Ledger-checked against the emulator, with the real SDKs."""

from __future__ import annotations

import math
from collections import Counter

import pytest

import synthlib
from synthlib.core.pricing import price_for
from synthlib.core.requests import (
    MAX_OUTPUT_TOKENS_PER_WORD,
    OutputLimits,
    RequestTemplate,
    bucket_of,
    build_requests,
)
from synthlib.emulator.responder import REFUSAL_TEXT, RequestFaults, Responder
from synthlib.jobs.job import Job, build_config
from synthlib.providers import registry

from .conftest import backend_for, billed_per_word, ledger_cost, read_checkpoint, words

PRICES = registry.prices()  # every provider's price rows

L = MAX_OUTPUT_TOKENS_PER_WORD  # a word's output limit before any answer is measured


def alone_tokens(word_list: list[str], factor: int) -> dict[str, int]:
    """Output tokens of each word's entry asked alone, when the emulator makes long entries
    ``factor`` times longer (an answer depends on the words, the custom_id and the schema)."""
    positions = {w: i for i, w in enumerate(word_list)}
    template = RequestTemplate(price_for("gpt-4o-mini", PRICES))
    responder = Responder(RequestFaults(long_entry_rate=1.0, long_entry_factor=factor), "b", 0)
    unlimited = OutputLimits(10**6, most=10**6)
    return {
        r.words[0]: responder.respond(r.custom_id, template.body(r)).completion_tokens
        for r in build_requests(word_list, positions, limits=unlimited)
    }


def run_job(emu, word_list, *, provider="openai", **kw):
    kw.setdefault("poll_interval", 0.05)
    job = Job(build_config(word_list, provider=provider, **kw), backend=backend_for(emu, provider))
    return job.run()


def assert_reported_as_billed(result, emu, provider="openai"):
    cp = read_checkpoint(result.checkpoint)
    ledger = emu.ledger()
    assert cp["total_cost"] == pytest.approx(ledger_cost(ledger, provider), rel=1e-9)
    assert cp["total_tokens"] == sum(r["prompt_tokens"] + r["completion_tokens"] for r in ledger)
    return cp, ledger


def test_a_truncated_answer_is_retried_with_twice_the_limit_and_fits(emulator, workdir, provider):
    emulator.configure(long_entry_rate=1.0, long_entry_factor=12)
    word_list = words(12)
    result = run_job(emulator, word_list, provider=provider)
    cp, ledger = assert_reported_as_billed(result, emulator, provider)
    assert result.phase == "finished" and not result.given_up
    assert set(cp["processed_words"]) == set(word_list)
    billed = billed_per_word(ledger)
    long_words = {w for w, n in billed.items() if n > 1}
    assert long_words, "no answer was cut off"
    for word in long_words:
        *cut, last = (r["completion_tokens"] for r in ledger if r["words"] == [word])
        assert cut == [L * 2**i for i in range(len(cut))]  # cut off at L, then at twice, ...
        assert last <= L * 2 ** len(cut)  # ... and the last fitted
    if provider == "openai":  # a Message Batch's answer also depends on its batch's tag
        for word, size in alone_tokens(word_list, 12).items():
            doublings = max(0, math.ceil(math.log2(size / L)))
            assert billed[word] == 1 + doublings, word


def test_a_packed_request_that_truncates_is_split(emulator, workdir):
    emulator.configure(long_entry_rate=1.0, long_entry_factor=12)
    sizes_alone = alone_tokens(words(30), 12)
    # entries that fit twice a word's limit alone, and of which two take more than a pack's
    word_list = [w for w, n in sizes_alone.items() if 1.1 * L < n <= 2 * L][:4]
    assert len(word_list) == 4
    result = run_job(emulator, word_list, words_per_request=2)
    cp, ledger = assert_reported_as_billed(result, emulator)
    assert result.phase == "finished" and set(cp["processed_words"]) == set(word_list)
    sizes = Counter(len(r["words"]) for r in ledger)
    assert sizes == {2: 2, 1: 4}  # two packs cut off, then each word alone: all fit
    assert all(n == 2 for n in billed_per_word(ledger).values())


def test_an_entry_that_cannot_fit_the_largest_output_is_given_up_saying_so(emulator, workdir):
    emulator.configure(long_entry_rate=1.0, long_entry_factor=200)
    result = run_job(emulator, ["word0"], max_attempts=6)
    _, ledger = assert_reported_as_billed(result, emulator)
    failure = result.given_up["word0"]
    assert failure.code == "too_long" and "16,384 output tokens" in failure.detail
    limits = [r["completion_tokens"] for r in ledger]
    assert limits == [L, 2 * L, 4 * L, 16_384]  # doubled up to the model's largest output


def test_a_refused_answer_is_given_up_after_one_retry(emulator, workdir, provider):
    emulator.configure(refusal_rate=1.0)
    word_list = words(5)
    result = run_job(emulator, word_list, provider=provider, max_attempts=5)
    assert_reported_as_billed(result, emulator, provider)
    assert set(result.given_up) == set(word_list)
    assert all(f.code == "refused" and "again" in f.detail for f in result.given_up.values())
    assert all(n == 2 for n in billed_per_word(emulator.ledger()).values())


def test_a_word_refused_once_and_then_answered_is_done(emulator, workdir):
    emulator.configure(refusal_rate=0.5, seed=3)
    word_list = words(30)
    result = run_job(emulator, word_list, max_attempts=3)
    cp, ledger = assert_reported_as_billed(result, emulator)
    billed = billed_per_word(ledger)
    retried_and_done = [w for w in cp["processed_words"] if billed[w] == 2]
    assert retried_and_done, "no word was refused once and answered on its retry"
    assert all(n <= 2 for n in billed.values())


def test_answers_measured_size_the_next_requests_limits(emulator, workdir):
    word_list = words(60)
    result = run_job(emulator, word_list, batch_size=30)
    cp, _ = assert_reported_as_billed(result, emulator)
    assert sum(cp["answer_tokens"].values()) == 60
    limits = synthlib.core.requests.OutputLimits.measured(
        synthlib.core.pricing.price_for("gpt-4o-mini", PRICES),
        {int(b): n for b, n in cp["answer_tokens"].items()},
    )
    # the emulator's entries take 200-500 tokens: twice the longest is well under the default
    assert 2 * 400 <= limits.per_word < MAX_OUTPUT_TOKENS_PER_WORD


def test_what_failed_answers_cost_is_reported_and_the_dry_run_expects_as_much_again(
    emulator, workdir
):
    emulator.configure(refusal_rate=0.4, seed=5)
    word_list = words(200)
    cap = 25 * synthlib.dry_run(words(1), provider="openai").batch_cost
    result = run_job(emulator, word_list, max_cost=cap)
    cp, ledger = assert_reported_as_billed(result, emulator)
    assert result.phase == "budget"
    refusal_tokens = -(-len(REFUSAL_TEXT.encode()) // 4)  # the emulator's token rule
    refused = [r for r in ledger if r["completion_tokens"] == refusal_tokens]
    assert refused, "no answer was refused"
    assert cp["failed_answers_cost"] == pytest.approx(ledger_cost(refused), rel=1e-9)
    assert result.progress.failed_cost_usd == pytest.approx(cp["failed_answers_cost"])
    assert "of it on answers that made no entry" in dict(result.progress.rows())["Cost"]

    estimate = synthlib.dry_run(word_list, provider="openai", max_cost=cap)
    share = cp["failed_answers_cost"] / cp["total_cost"]
    assert estimate.retry_share == pytest.approx(share)
    assert estimate.retry_cost == pytest.approx(
        estimate.batch_cost * share, rel=1e-9
    )  # batch_cost = first attempts / (1 - share): retries are the share of it
    assert "Retries (expected)" in dict(estimate.rows())


def test_a_full_run_after_a_pilot_sizes_its_first_limits_from_the_pilots_answers(
    emulator, workdir, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    word_list = words(40)
    tried = synthlib.pilot(word_list, models=["gpt-4o-mini"], sample=25, poll_interval=0.05)
    measured: dict[int, int] = Counter(
        bucket_of(r.output_tokens) for r in tried.entries("gpt-4o-mini").values()
    )
    from_pilot = OutputLimits.measured(price_for("gpt-4o-mini", PRICES), measured).per_word
    assert from_pilot < MAX_OUTPUT_TOKENS_PER_WORD
    # the rest of the list has longer entries: the first ones cut off are cut at the limit the
    # pilot's answers gave, not at the default
    emulator.configure(long_entry_rate=1.0, long_entry_factor=4)
    result = synthlib.run(word_list, provider="openai", poll_interval=0.05)
    assert result.phase == "finished"
    first_batch = emulator.ledger()[25:40]
    assert len(first_batch) == 15 and all(len(r["words"]) == 1 for r in first_batch)
    assert max(r["completion_tokens"] for r in first_batch) == from_pilot
    cp = read_checkpoint(result.checkpoint)
    assert sum(cp["answer_tokens"].values()) == 40  # the pilot's 25 and the run's 15
