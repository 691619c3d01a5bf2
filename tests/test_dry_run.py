from __future__ import annotations

import pytest

import synthlib
from synthlib.core.errors import CheckpointError, UsageError
from synthlib.core.pricing import price_for
from synthlib.core.tokens import request_tokens
from synthlib.engine.checkpoint import Checkpoint
from synthlib.faces.cli import main
from synthlib.jobs.config import RunConfig
from synthlib.providers import registry

WORDS = ["apple", "run", "ice cream", "give up", "serendipity"]


def test_dry_run_counts_exact_tokens_and_prices_them(offline_env, no_network):
    est = synthlib.dry_run(WORDS, model="gpt-4o-mini")
    counter = request_tokens("gpt-4o-mini")
    from synthlib.core.prompts import payload

    expected_input = sum(counter.request(payload([w])) for w in WORDS)
    assert est.input_tokens == expected_input
    assert est.tokens_exact
    assert est.remaining == est.words_total == 5
    assert est.output_tokens == 5 * est.output_tokens_per_word
    price = price_for("gpt-4o-mini", registry.prices())
    assert est.batch_cost == pytest.approx(price.cost(est.input_tokens, est.output_tokens))
    assert est.regular_cost == pytest.approx(2 * est.batch_cost)
    assert est.savings == pytest.approx(est.batch_cost)
    assert est.batch_jobs == 1 and est.requests == 5
    assert no_network == []


def test_packing_words_shares_the_instructions(offline_env):
    one = synthlib.dry_run(WORDS)
    packed = synthlib.dry_run(WORDS, words_per_request=5)
    assert packed.requests == 1
    assert packed.input_tokens < one.input_tokens / 3


def test_batch_size_sets_the_number_of_jobs(offline_env):
    assert synthlib.dry_run(WORDS, batch_size=2).batch_jobs == 3


def test_to_frame_has_the_cost_table(offline_env):
    frame = synthlib.dry_run(WORDS).to_frame()
    for row in (
        "Regular API cost",
        "Batch API cost",
        "Savings",
        "Estimated input tokens",
        "Estimated output tokens",
        "Batch cost per 1,000 words",
        "Batch jobs",
        "Model",
    ):
        assert row in frame.index


def test_checkpoint_progress_is_subtracted(offline_env):
    config = RunConfig.build(WORDS, provider="openai")
    cp = Checkpoint.create("cp.json", config.identity("openai", "gpt-4o-mini"), config.words)
    ev = cp.state.event("planned", shard="s-1", words=["apple", "run"], input_tokens=10)
    cp.record(ev)
    cp.record(cp.state.event("created", shard="s-1", batch_id="b1"))
    cp.record(
        cp.state.event(
            "ended",
            shard="s-1",
            done=["apple"],
            failed={},
            usage={"output_tokens": 900, "input_tokens": 10},
        )
    )
    cp.save()
    est = synthlib.dry_run(WORDS, checkpoint="cp.json", provider="openai")
    assert est.already_processed == 1
    assert est.remaining == 4  # run failed once and is retried
    assert est.output_tokens_per_word == pytest.approx(450)  # measured: 900 over 2 words
    assert "measured" in est.output_tokens_source


def test_foreign_checkpoint_is_refused(offline_env):
    config = RunConfig.build(["other", "list"], provider="openai")
    Checkpoint.create("cp.json", config.identity("openai", "gpt-4o-mini"), config.words)
    with pytest.raises(CheckpointError, match="another run"):
        synthlib.dry_run(WORDS, checkpoint="cp.json", provider="openai")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"batch_size": 0},
        {"words_per_request": -1},
        {"model": "nope"},
        {"provider": "x"},
        {"batch_size": True},
    ],
)
def test_bad_settings_are_usage_errors(offline_env, kwargs):
    with pytest.raises(UsageError):
        synthlib.dry_run(WORDS, **kwargs)


def test_cli_dry_run_prints_the_table_offline(offline_env, no_network, capsys):
    (offline_env / "words.txt").write_text("\n".join(WORDS) + "\napple\n")
    assert main(["words.txt", "--dry-run"]) == 0
    out = capsys.readouterr().out
    for label in (
        "Total words",
        "Already processed",
        "Remaining",
        "Regular API cost",
        "Batch API cost",
        "Savings",
        "Estimated input tokens",
        "Estimated output tokens",
        "Batch cost per 1,000 words",
        "gpt-4o-mini",
        "Batch jobs",
    ):
        assert label in out
    assert no_network == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["words.txt", "--dry-run", "--batch-size", "0"], "argument --batch-size: must be"),
        (["words.txt", "--dry-run", "--max-cost", "-1"], "argument --max-cost: must be"),
        (["words.txt", "--dry-run", "--model", "gpt-99"], "unknown model"),
        (["missing.txt", "--dry-run"], "missing.txt: no such file"),
        (["bad.txt", "--dry-run"], "bad.txt:2"),
        (["words.txt", "--dry-run", "--batch-size", "x"], "--batch-size: expected a whole number"),
        (["words.txt", "--dry-run", "--words-per-request", "21"], "--words-per-request: must be"),
        (["words.txt", "--dry-run", "--poll-interval", "0"], "--poll-interval: must be"),
        (["words.txt", "--dry-run", "--max-attempts", "0"], "--max-attempts: must be"),
        (["words.txt", "--dry-run", "--token-budget", "-5"], "--token-budget: must be"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(offline_env, capsys, args, needle):
    (offline_env / "words.txt").write_text("apple\n")
    (offline_env / "bad.txt").write_bytes(b"ok\n\x00\n")
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_long_list_shows_a_counting_bar_on_a_terminal(monkeypatch):
    import io
    import sys

    from synthlib.jobs import plan as api

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    sizes = [(None, 1, 10, 20)] * 5
    assert list(api._counting_bar(iter(sizes), 5)) == sizes  # short: no bar
    assert screen.getvalue() == ""
    monkeypatch.setattr(api, "LONG_LIST", 5)
    assert list(api._counting_bar(iter(sizes), 5)) == sizes
    assert "Counting tokens" in screen.getvalue()


# --- batch_size within the provider's limit (synthlib.core.limits) ------------------------------


def test_a_batch_size_past_the_providers_requests_is_refused_naming_the_limit(offline_env):
    with pytest.raises(UsageError) as refused:
        synthlib.dry_run(WORDS, batch_size=100_000, provider="openai")
    message = str(refused.value)
    assert "batch_size=100000" in message and "50,000 requests" in message
    assert "at most 50,000" in message


def test_the_batch_size_limit_is_the_providers_own(offline_env):
    assert synthlib.dry_run(WORDS, batch_size=100_000, provider="anthropic").batch_size == 100_000
    with pytest.raises(UsageError, match="100,000 requests"):
        synthlib.dry_run(WORDS, batch_size=100_001, provider="anthropic")


def test_packed_requests_raise_the_batch_size_limit(offline_env):
    est = synthlib.dry_run(WORDS, batch_size=100_000, words_per_request=2, provider="openai")
    assert est.batch_size == 100_000
    with pytest.raises(UsageError, match="50,000 requests of 2 words"):
        synthlib.dry_run(WORDS, batch_size=100_001, words_per_request=2, provider="openai")


def test_cli_refuses_a_batch_size_past_the_limit_in_one_line(offline_env, capsys):
    (offline_env / "words.txt").write_text("apple\n")
    args = ["words.txt", "--provider", "openai", "--dry-run", "--batch-size", "100000"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--batch-size 100000" in err and "50,000 requests" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_shards_keep_the_providers_requests_per_batch():
    from synthlib.providers.registry import batch_limits

    assert batch_limits("openai").requests == 50_000
    assert batch_limits("anthropic").requests == 100_000
    from synthlib.providers.anthropic.backend import LIMITS

    # shards are cut with room under the Message Batch's 256 MB (its requests are bigger)
    assert LIMITS.bytes == 256 * 1_000_000 and batch_limits("anthropic").bytes < LIMITS.bytes
