"""The cost cap on the wire: a run spends up to its cap, and never past it, whatever the requests
look like once built. Ledger-checked against the emulator, with the real SDKs."""

from __future__ import annotations

import json

import pytest

import synthlib
from synthlib.core.pricing import price_for
from synthlib.core.requests import MAX_OUTPUT_TOKENS, OutputLimits
from synthlib.jobs.job import Job, build_config
from synthlib.providers import registry

from .conftest import MODELS, backend_for, billed_per_word, ledger_cost, read_checkpoint, words


def run_job(emu, word_list, *, provider="openai", **kw):
    kw.setdefault("poll_interval", 0.05)
    job = Job(build_config(word_list, provider=provider, **kw), backend=backend_for(emu, provider))
    return job.run()


def test_a_run_spends_at_least_90_percent_of_its_cap(emulator, workdir, provider):
    # well above one request's worst case, well below what the whole list would cost
    cap = 40 * synthlib.dry_run(words(1), provider=provider).batch_cost
    word_list = words(300)
    result = run_job(emulator, word_list, provider=provider, max_cost=cap)
    ledger = emulator.ledger()
    billed = ledger_cost(ledger, provider)
    cp = read_checkpoint(result.checkpoint)
    assert result.phase == "budget"
    assert billed <= cap
    assert billed >= 0.9 * cap, f"spent {billed / cap:.0%} of the cap"
    assert cp["total_cost"] == pytest.approx(billed, rel=1e-9)
    assert 0 < len(cp["processed_words"]) < len(word_list)
    assert all(n == 1 for n in billed_per_word(ledger).values())
    assert not cp["batches"]


def test_a_cap_counts_split_requests_each_at_its_own_limit(emulator, workdir):
    # Every 4th word is left, so 20 of them make a custom_id too long for one request: the pack
    # goes as two or more requests, each allowed the model's largest answer, and every answer
    # here takes all of it (each entry is far longer than a request's limit).
    emulator.configure(long_entry_rate=1.0, long_entry_factor=200)
    word_list = words(400)
    original = workdir / "original.json"
    original.write_text(
        json.dumps({"processed_words": [w for i, w in enumerate(word_list) if i % 4]})
    )
    price = price_for(MODELS["openai"], registry.prices())
    # room for one 20-word pack's input and two answers at the largest limit, not for three
    cap = price.cost(20 * 1_800, 2 * MAX_OUTPUT_TOKENS + MAX_OUTPUT_TOKENS // 2)
    result = run_job(
        emulator,
        word_list,
        max_cost=cap,
        words_per_request=20,
        import_checkpoint=str(original),
        max_attempts=1,
    )
    ledger = emulator.ledger()
    billed = ledger_cost(ledger)
    assert any(len(row["words"]) < 20 for row in ledger), "no pack was split"
    assert billed <= cap
    cp = read_checkpoint(result.checkpoint)
    assert cp["total_cost"] == pytest.approx(billed, rel=1e-9)
    assert result.phase == "budget"


def test_words_waiting_for_a_larger_retry_do_not_stop_a_run_that_smaller_requests_fit(
    emulator, workdir
):
    # a few words' entries are far longer than the rest: cut off, they wait for requests with
    # larger limits, which near the cap no longer fit; the other words' requests still do
    emulator.configure(long_entry_rate=0.03, long_entry_factor=40)
    one = synthlib.dry_run(words(1), provider="openai")
    cap = 40 * one.batch_cost
    result = run_job(emulator, words(300), max_cost=cap)
    billed = ledger_cost(emulator.ledger())
    cp = read_checkpoint(result.checkpoint)
    assert result.phase == "budget" and billed <= cap
    assert cp["refit"], "no word was left waiting for a larger request"
    price = price_for(MODELS["openai"], registry.prices())
    measured = OutputLimits.measured(price, {int(b): n for b, n in cp["answer_tokens"].items()})
    smallest_request = price.cost(one.input_tokens + 5, measured.for_words(1))
    assert cap - billed < smallest_request  # not one more of the plain requests fitted
