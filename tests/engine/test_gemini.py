"""The Gemini backend against the emulator's Gemini Batch API, over HTTP with the real
``google-genai`` SDK: what only this provider needs proving. Its batches carry the run's tags in
their display name from creation, so a create whose answer is lost is found by listing; thinking
is billed as output; a safety block is a refusal. The money tests shared with OpenAI and
Anthropic are parametrised in test_wire_faults, test_crash_resume, test_recovery and test_retries
(the ``provider`` fixture)."""

from __future__ import annotations

import json
import signal
import socket

import pytest

import synthlib
from synthlib.core.errors import UsageError
from synthlib.core.limits import MAX_WORDS_PER_REQUEST, MB, BatchLimits
from synthlib.core.pricing import price_for
from synthlib.emulator import Emulator, EmulatorConfig
from synthlib.jobs.config import provider_model, resolve_provider
from synthlib.jobs.job import Job, build_config
from synthlib.providers import registry
from synthlib.providers.base import RUN_TAG, SHARD_TAG, BatchInfo, RejectedError
from synthlib.providers.gemini import DEFAULT_MODEL as GEMINI_DEFAULT_MODEL
from synthlib.providers.registry import DEFAULT_MODEL

from .conftest import (
    FAST,
    KILL_POINTS,
    SteppedClock,
    backend_for,
    billed_per_word,
    cli,
    ledger_cost,
    read_checkpoint,
    words,
)

genai = pytest.importorskip("google.genai")
from synthlib.providers.gemini.backend import (  # noqa: E402
    DISPLAY_NAME_MOST,
    FILE_TAG,
    LIMITS,
    REQUESTS_TAG,
    GeminiBackend,
    display_name,
    metadata_of,
    to_output_line,
    to_request,
)

PRICES = registry.prices()  # every provider's price rows

ARGS = [
    "words.txt",
    "--checkpoint",
    "words.checkpoint.json",
    "--yes",
    "--poll-interval",
    "0.05",
    "--batch-size",
    "10",
]


def make_job(emu, word_list, checkpoint="run.checkpoint.json", notices=None, **kw):
    """A run on the emulator's Gemini Batch API; its notices go to ``notices``."""
    kw.setdefault("poll_interval", 0.05)
    kw.setdefault("batch_size", 10)
    config = build_config(word_list, provider="gemini", checkpoint=checkpoint, **kw)

    def listen(progress, message):
        if message and notices is not None:
            notices.append(message)

    backend = backend_for(emu, "gemini", checkpoint=checkpoint)
    return Job(config, backend=backend, listener=listen)


def sdk(emu):
    """A google-genai client of the emulator, for looking at what the run left there."""
    return genai.Client(api_key="test", http_options={"base_url": emu.url})


def assert_paid_once(cp, word_list, ledger, model=GEMINI_DEFAULT_MODEL):
    """Every word done and billed once; the reported spend is what these rows billed."""
    assert sorted(cp["processed_words"]) == sorted(word_list)
    billed = billed_per_word(ledger)
    assert set(billed) == set(word_list) and max(billed.values()) == 1, billed.most_common(3)
    assert cp["total_tokens"] == sum(r["prompt_tokens"] + r["completion_tokens"] for r in ledger)
    assert cp["total_cost"] == pytest.approx(ledger_cost(ledger, model), rel=1e-9)


# --- a run, end to end ------------------------------------------------------------------------


def test_a_run_through_the_sdk_stores_every_word_billed_once(emulator, workdir):
    word_list = words(30)
    result = make_job(emulator, word_list).run()
    assert result.phase == "finished" and result.provider == "gemini"
    cp = read_checkpoint(result.checkpoint)
    ledger = emulator.ledger()
    assert_paid_once(cp, word_list, ledger)
    assert {(r["provider"], r["model"]) for r in ledger} == {("gemini", GEMINI_DEFAULT_MODEL)}
    entries = synthlib.load_entries(result.store)
    assert sorted(entries["word"]) == sorted(word_list)
    assert set(entries["provider"]) == {"gemini"} and set(entries["model"]) == {"gemini-2.5-flash"}
    # every batch carries the run's tags in its display name; no uploaded input file is left
    client = sdk(emulator)
    tags = [metadata_of(b.display_name) for b in client.batches.list()]
    assert len(tags) == 3 and {t[RUN_TAG] for t in tags} == {cp["run_id"]}
    assert sorted(t[SHARD_TAG] for t in tags) == ["s-1", "s-2", "s-3"]
    assert all(f.source.value == "GENERATED" for f in client.files.list())


def test_batch_prices_are_half_the_standard_rate():
    price = price_for("gemini-2.5-flash", PRICES)
    assert price.cost(1_000_000, 1_000_000) == pytest.approx(0.15 + 1.25)
    assert price_for("gemini-2.5-flash-lite", PRICES).cost(1_000_000, 1_000_000) == pytest.approx(
        0.25
    )
    assert price_for("gemini-2.5-pro", PRICES).cost(1_000_000, 1_000_000) == pytest.approx(
        0.625 + 5.0
    )


def test_the_provider_is_registered_chosen_by_its_key_and_takes_gemini_models(monkeypatch):
    spec = registry.spec("gemini")
    assert spec.key_variables == ("GOOGLE_API_KEY", "GEMINI_API_KEY")
    assert spec.base_url_variable == "GOOGLE_GEMINI_BASE_URL" and spec.extra == "gemini"
    assert registry.spec_for_model("gemini-2.5-pro") is spec
    assert spec.batch_metadata == GeminiBackend.metadata_before_end
    assert not spec.lists_newest_first  # Google documents no order of batches.list
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    assert resolve_provider("auto") == "gemini"
    assert provider_model("gemini", DEFAULT_MODEL) == GEMINI_DEFAULT_MODEL
    assert provider_model("gemini", "gemini-2.5-pro") == "gemini-2.5-pro"
    with pytest.raises(UsageError, match="takes a Gemini model"):
        provider_model("gemini", "claude-haiku-4-5")
    with pytest.raises(UsageError, match="is a Gemini model: pass provider='gemini'"):
        provider_model("openai", "gemini-2.5-flash")


# --- a create whose answer is lost ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["5xx", "drop"])
def test_every_create_answer_lost_each_batch_is_found_by_its_display_name(emulator, workdir, mode):
    emulator.configure(lost_reply_rate=1.0, lost_reply_mode=mode)
    word_list = words(30)
    notices: list[str] = []
    result = make_job(emulator, word_list, notices=notices).run()
    assert result.phase == "finished"
    cp = read_checkpoint(result.checkpoint)
    assert_paid_once(cp, word_list, emulator.ledger())
    # three shards, three batches on the API: none was created twice
    assert len(cp["finished_batches"]) == 3
    assert len(list(sdk(emulator).batches.list())) == 3
    assert len([n for n in notices if "by its tag" in n]) == 3


def test_a_lost_create_is_found_when_the_api_lists_oldest_first(tmp_path, workdir):
    # Google documents no order for batches.list. An API listing oldest first, with batches of
    # an earlier run hours older than this run's start at the head of the list: a search that
    # stopped at the first older batch would never see this run's own batch, create it again
    # and buy its words twice.
    clock = SteppedClock()
    emu = Emulator(tmp_path / "emulator", config=EmulatorConfig(**FAST), clock=clock).start()
    try:
        earlier = words(20)
        first = make_job(emu, earlier, checkpoint="earlier.checkpoint.json").run()
        assert first.phase == "finished"
        clock.ahead += 3 * 3600.0  # the earlier run's batches are now hours old
        emu.configure(gemini_oldest_first=True, lost_reply_rate=1.0, lost_reply_mode="drop")
        client = sdk(emu)
        listed = list(client.batches.list())
        assert listed == sorted(listed, key=lambda b: b.create_time)  # oldest first
        word_list = [f"late{i}" for i in range(20)]
        notices: list[str] = []
        result = make_job(emu, word_list, notices=notices).run()
        assert result.phase == "finished"
        cp = read_checkpoint(result.checkpoint)
        ours = [r for r in emu.ledger() if set(r["words"]) <= set(word_list)]
        assert_paid_once(cp, word_list, ours)
        assert len([n for n in notices if "by its tag" in n]) == 2  # each create's batch found
        assert len(list(client.batches.list())) == 4  # two of each run: none created twice
    finally:
        emu.stop()


# --- token estimate --------------------------------------------------------------------------


def test_the_token_estimate_covers_a_bill_of_4_characters_a_token(emulator, workdir):
    # Google publishes no tokenizer to count offline, only that a Gemini token is about 4
    # characters; the emulator bills a token per 4 bytes. The estimate (o200k_base x1.1) must
    # not fall below that on synthlib's prompts, or a cost cap could be passed
    word_list = [*words(30), "photosynthesis", "ennui", "set", "quickly", "zzqjunk"]
    estimate = synthlib.dry_run(word_list, provider="gemini", batch_size=10)
    assert not estimate.tokens_exact and "estimated" in estimate.tokens_note
    result = make_job(emulator, word_list).run()
    assert result.phase == "finished"
    billed = sum(r["prompt_tokens"] for r in emulator.ledger())
    assert billed <= estimate.input_tokens <= 1.25 * billed, (billed, estimate.input_tokens)


# --- limits --------------------------------------------------------------------------------


def test_an_input_file_over_the_documented_size_is_never_uploaded(emulator, workdir, monkeypatch):
    import synthlib.providers.gemini.backend as gemini_backend

    backend = backend_for(emulator, "gemini")
    path = workdir / "run-x.s-1.input.jsonl"
    body = {"model": GEMINI_DEFAULT_MODEL, "messages": [{"role": "user", "content": "w"}]}
    path.write_text(json.dumps({"custom_id": "c1", "method": "POST", "url": "/", "body": body}))
    monkeypatch.setattr(gemini_backend, "LIMITS", BatchLimits(requests=10, bytes=100))
    with pytest.raises(RejectedError, match="an input file may hold"):
        backend.upload(path)
    client = sdk(emulator)
    assert list(client.files.list()) == []
    assert LIMITS.bytes == 2_000 * MB  # "2GB" as documented, read as 2e9 bytes (below 2 GiB)


# --- display names ---------------------------------------------------------------------------


def test_tags_fit_the_display_name_bound():
    # Google documents no limit for a batch's display name; synthlib keeps to its own bound,
    # which the longest tags a create can carry fit: a file id of 40 characters (the most the
    # Files API reference allows), the most words and requests a batch may hold, a long shard
    tags = {
        RUN_TAG: "run-0123456789ab",
        SHARD_TAG: "s-9999999",
        "synthlib_words": str(LIMITS.most_batch_size(MAX_WORDS_PER_REQUEST)),
        REQUESTS_TAG: str(LIMITS.requests),
        FILE_TAG: "a" * 40,
    }
    name = display_name(tags)
    assert len(name) <= DISPLAY_NAME_MOST
    assert metadata_of(name) == tags


def test_batches_keep_to_the_bound_when_the_api_enforces_it(emulator, workdir):
    emulator.configure(gemini_max_display_name=DISPLAY_NAME_MOST)
    word_list = words(30)
    result = make_job(emulator, word_list).run()
    assert result.phase == "finished"
    assert_paid_once(read_checkpoint(result.checkpoint), word_list, emulator.ledger())
    client = sdk(emulator)
    names = [b.display_name or "" for b in client.batches.list()]
    assert len(names) == 3 and all(len(n) <= DISPLAY_NAME_MOST for n in names)


def test_a_display_name_over_the_bound_is_never_sent(emulator, workdir, monkeypatch):
    backend = backend_for(emulator, "gemini")
    path = workdir / "run-x.s-1.input.jsonl"
    body = {"model": GEMINI_DEFAULT_MODEL, "messages": [{"role": "user", "content": "w"}]}
    path.write_text(json.dumps({"custom_id": "c1", "method": "POST", "url": "/", "body": body}))
    file_id = backend.upload(path)
    with pytest.raises(RejectedError, match="display name"):
        backend.create(file_id, {RUN_TAG: "run-" + "x" * DISPLAY_NAME_MOST, SHARD_TAG: "s-1"})
    client = sdk(emulator)
    assert list(client.batches.list()) == []


# --- killed anywhere, resumed -----------------------------------------------------------------


@pytest.fixture
def word_file(workdir):
    (workdir / "words.txt").write_text("\n".join(words(40)) + "\n")
    return workdir / "words.txt"


@pytest.mark.parametrize("point", KILL_POINTS)
def test_sigkill_anywhere_then_resume_pays_once(emulator, workdir, word_file, point):
    crashed = cli(ARGS, emulator, workdir, env={"SYNTHLIB_FAILPOINTS": point}, provider="gemini")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    resumed = cli(ARGS, emulator, workdir, provider="gemini")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout
    cp = read_checkpoint(workdir / "words.checkpoint.json")
    assert not cp["batches"] and not cp["failed_words"]
    assert_paid_once(cp, words(40), emulator.ledger())


# --- answers that make no entry ---------------------------------------------------------------


def test_answers_cut_at_max_tokens_are_retried_until_done(emulator, workdir):
    emulator.configure(truncate_rate=0.5, seed=7)
    word_list = words(20)
    result = make_job(emulator, word_list, max_attempts=6).run()
    assert result.phase == "finished" and not result.given_up
    cp = read_checkpoint(result.checkpoint)
    ledger = emulator.ledger()
    assert sorted(cp["processed_words"]) == sorted(word_list)
    assert cp["total_cost"] == pytest.approx(ledger_cost(ledger, "gemini"), rel=1e-9)
    billed = billed_per_word(ledger)
    assert any(n > 1 for n in billed.values()), "no answer was cut off"
    assert cp["failed_answers_cost"] > 0  # the cut answers were paid for, and say so


@pytest.mark.parametrize("seed", [1, 2])  # blocks on the prompt and on the answer alike
def test_a_safety_block_is_given_up_after_one_retry(emulator, workdir, seed):
    emulator.configure(refusal_rate=1.0, seed=seed)
    word_list = words(4)
    result = make_job(emulator, word_list, max_attempts=5).run()
    cp = read_checkpoint(result.checkpoint)
    ledger = emulator.ledger()
    assert cp["total_cost"] == pytest.approx(ledger_cost(ledger, "gemini"), rel=1e-9)
    assert set(result.given_up) == set(word_list)
    assert all(f.code == "refused" and "again" in f.detail for f in result.given_up.values())
    assert all(n == 2 for n in billed_per_word(ledger).values())


# --- thinking ---------------------------------------------------------------------------------


def test_flash_is_asked_not_to_think_so_no_thinking_is_billed(emulator, workdir):
    emulator.configure(gemini_thinking_tokens=700)
    word_list = words(10)
    result = make_job(emulator, word_list).run()
    cp = read_checkpoint(result.checkpoint)
    ledger = emulator.ledger()
    assert_paid_once(cp, word_list, ledger)
    assert {r["thoughts_tokens"] for r in ledger} == {0}


def test_pro_thinks_within_its_limit_and_its_thinking_is_billed(emulator, workdir):
    emulator.configure(gemini_thinking_tokens=700)
    word_list = words(10)
    result = make_job(emulator, word_list, model="gemini-2.5-pro").run()
    assert result.phase == "finished"
    cp = read_checkpoint(result.checkpoint)
    ledger = emulator.ledger()
    assert_paid_once(cp, word_list, ledger, model="gemini-2.5-pro")
    assert {r["thoughts_tokens"] for r in ledger} == {128}  # the least budget Pro takes


# --- the key ----------------------------------------------------------------------------------


def test_a_refused_key_is_named_on_the_first_call(emulator, workdir, word_file):
    emulator.configure(api_keys=("the-only-good-key",))
    done = cli(ARGS, emulator, workdir, provider="gemini")
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "API_KEY_INVALID" in line or "refused" in line
    assert "GOOGLE_API_KEY" in line and "gemini-test-key" not in line
    assert emulator.ledger() == []


def test_connection_refused_names_host_port_and_the_variable_within_the_setting(
    emulator, workdir, word_file
):
    with socket.socket() as s:  # a port nothing listens on (bound, then let go)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"GOOGLE_GEMINI_BASE_URL": f"http://127.0.0.1:{port}"}
    args = [*ARGS, "--unreachable-after", "2"]
    done = cli(args, emulator, workdir, env=env, provider="gemini")
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"connection refused by 127.0.0.1:{port}" in lines[0]
    assert "GOOGLE_GEMINI_BASE_URL" in lines[0] and "attempts over" in lines[0]


# --- translation at the edges -----------------------------------------------------------------


def test_tags_travel_in_the_display_name():
    tags = {RUN_TAG: "run-0123456789ab", SHARD_TAG: "s-12", "synthlib_words": "10"}
    name = display_name(tags)
    assert len(name) <= DISPLAY_NAME_MOST
    assert metadata_of(name) == tags
    assert metadata_of("someone else's batch") == {} and metadata_of(None) == {}


def test_a_request_asks_for_the_schema_and_the_least_thinking():
    body = {
        "model": "gemini-2.5-flash",
        "messages": [
            {"role": "system", "content": "You write entries."},
            {"role": "user", "content": '{"words": ["cat"]}'},
        ],
        "max_tokens": 2600,
        "temperature": 0.2,
    }
    request = to_request(body, {"type": "object"})
    config = request["generationConfig"]
    assert request["systemInstruction"] == {"parts": [{"text": "You write entries."}]}
    assert request["contents"] == [{"role": "user", "parts": [{"text": '{"words": ["cat"]}'}]}]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == {"type": "object"}
    assert config["thinkingConfig"] == {"thinkingBudget": 0}
    assert config["maxOutputTokens"] == 2600 and config["temperature"] == 0.2
    pro = to_request({**body, "model": "gemini-2.5-pro"}, {})["generationConfig"]
    # thinking fits inside the limit the cost cap counts: never more than it billed
    assert pro["thinkingConfig"] == {"thinkingBudget": 128} and pro["maxOutputTokens"] == 2600


def test_results_lines_become_the_engines_output_lines():
    usage = {"promptTokenCount": 100, "candidatesTokenCount": 40, "thoughtsTokenCount": 10}
    cut = {"candidates": [{"content": {"parts": [{"text": "{"}]}, "finishReason": "MAX_TOKENS"}]}
    line = to_output_line({"key": "w1", "response": {**cut, "usageMetadata": usage}})
    body = line["response"]["body"]
    assert line["custom_id"] == "w1" and line["response"]["status_code"] == 200
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["prompt_tokens"] == 100 and body["usage"]["completion_tokens"] == 50
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage}
    line = to_output_line({"key": "w2", "response": blocked})
    assert line["response"]["body"]["choices"][0]["finish_reason"] == "content_filter"
    unrun = {"code": 499, "message": "cancelled", "status": "CANCELLED"}
    line = to_output_line({"key": "w3", "error": unrun})
    assert line["response"] is None and line["error"]["code"] == "batch_cancelled"
    failed = {"code": 500, "message": "oops", "status": "INTERNAL"}
    line = to_output_line({"key": "w4", "error": failed})
    assert line["response"]["status_code"] == 500


def test_status_notices_give_no_done_counts_the_api_does_not_report(emulator, workdir):
    notices: list[str] = []
    result = make_job(emulator, words(5), notices=notices).run()
    assert result.phase == "finished"
    statuses = [n for n in notices if n.startswith("batch ") and " requests)" in n]
    assert statuses and all("/" not in n and "(5 requests)" in n for n in statuses), statuses


def test_a_counting_api_shows_requests_done_of_all():
    counted = BatchInfo("b", "in_progress", "f", total=5, completed=2, failed=1)
    assert counted.counts() == "3/5 requests"
    assert BatchInfo("b", "completed", "f", total=5, counted=False).counts() == "5 requests"
