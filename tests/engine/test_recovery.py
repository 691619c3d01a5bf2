"""Recovery against an API that lags and a clock that lies, on the wire with the real SDKs and
judged by the emulator's billing ledger: a status is trusted only when terminal (a lagging
replica's ``in_progress`` never ends a batch nor loses its downloaded results), listing windows
are on the server's clock (a machine clock hours off still finds a batch created before a
crash), and a create without an answer is looked for over a grace period on the server's clock
before it is sent again, its duplicates adopted and counted. Tests taking ``provider`` run on
OpenAI's Batch API and Anthropic's Message Batches API alike."""

from __future__ import annotations

import importlib
import importlib.util
import re
import signal
import time
from pathlib import Path

import httpx
import openai
import pytest

import synthlib
from synthlib.emulator import Emulator, EmulatorConfig
from synthlib.engine import collect as collector
from synthlib.engine.loop import BatchUnreadable, spool_dir
from synthlib.jobs.job import Job, build_config
from synthlib.providers.openai.backend import OpenAIBackend

from .conftest import (
    FAST,
    FastClock,
    SteppedClock,
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


def resume_job(
    emu,
    provider,
    notices,
    *,
    words_source="words.txt",
    checkpoint=CHECKPOINT,
    backend=None,
    **kw,
):
    """The terminal run's job, resumed in this process (or, given another ``checkpoint``, a
    run of its own); its notices go to ``notices``."""
    config = build_config(
        words_source,
        provider=provider,
        checkpoint=checkpoint,
        batch_size=10,
        poll_interval=0.05,
        **kw,
    )

    def listen(progress, message):
        if message:
            notices.append(message)

    backend = backend or backend_for(emu, provider, checkpoint=checkpoint)
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
    result = resume_job(
        emulator, provider, notices, words_source=word_list, checkpoint="run.checkpoint.json"
    ).run()
    assert result.phase == "finished"
    assert_paid_once(read_checkpoint(result.checkpoint), word_list, emulator.ledger(), provider)


# --- item: times are the API's ----------------------------------------------------------------


@pytest.mark.parametrize("skew", [-7200, 7200], ids=["machine-2h-ahead", "machine-2h-behind"])
def test_a_batch_created_just_before_a_crash_is_found_whatever_the_machines_clock(
    emulator, workdir, word_file, provider, skew
):
    """The API's clock is 2 h behind (or ahead of) this machine's: the run is killed right after
    a create took effect, before its answer was journalled; the resume finds that batch in the
    listing window (on the API's clock) and adopts it instead of paying for its words again."""
    emulator.configure(clock_offset_seconds=skew)
    point = "anthropic-after-send:1" if provider == "anthropic" else "after-create:1"
    crashed = cli(ARGS, emulator, workdir, env={"SYNTHLIB_FAILPOINTS": point}, provider=provider)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    resumed = cli(ARGS, emulator, workdir, provider=provider)
    assert resumed.returncode == 0, resumed.stderr
    assert "adopted batch" in resumed.stdout + resumed.stderr or provider == "anthropic"
    cp = read_checkpoint(CHECKPOINT)
    assert_paid_once(cp, WORDS, emulator.ledger(), provider)
    assert len(cp["finished_batches"]) == 4


# --- item: a create without an answer is looked for a while -----------------------------------


@pytest.mark.emulator_speed()
@pytest.mark.parametrize("lag", [20.0])
def test_a_lagging_listing_never_makes_a_lost_create_go_again(emulator, workdir, provider, lag):
    """Every create's answer is lost and a new batch shows in listings only ``lag`` seconds
    (of the API's clock: 1 s here) after its create: the run keeps looking until it shows, and
    creates nothing twice."""
    emulator.configure(lost_reply_rate=1.0, lost_reply_mode="5xx", listing_lag_seconds=lag)
    word_list = words(30)
    notices: list[str] = []
    result = resume_job(
        emulator, provider, notices, words_source=word_list, checkpoint="run.checkpoint.json"
    ).run()
    assert result.phase == "finished"
    cp = read_checkpoint(result.checkpoint)
    assert_paid_once(cp, word_list, emulator.ledger(), provider)
    assert len({r["batch_id"] for r in emulator.ledger()}) == 3
    assert any("listed yet" in n for n in notices)


def gateway_refusing_creates(http, times: int):
    """A client of ``http`` (the HTTP package the SDK uses: httpx, or httpx2 for recent anthropic
    SDKs) whose wire passes through a gateway that answers the first ``times`` batch creates
    with a 502 without passing them on: to the run, a create that may have taken effect."""

    class Gateway(http.HTTPTransport):
        left = times

        def handle_request(self, request):
            path = request.url.path.rstrip("/")
            creates = ("batches", ":batchGenerateContent")  # Gemini: models/{m}:batch...
            create = request.method == "POST" and path.endswith(creates)
            if create and self.left > 0:
                self.left -= 1
                return http.Response(502, json={"error": {"message": "Bad gateway"}})
            return super().handle_request(request)

    return http.Client(transport=Gateway())


def backend_behind_gateway(emu, provider, times):
    if provider == "gemini":
        from synthlib.providers.gemini.backend import GeminiBackend

        gateway = gateway_refusing_creates(httpx, times)._transport  # the SDK makes its client
        state = spool_dir(Path("run.checkpoint.json").absolute()) / "gemini"
        return GeminiBackend(
            state,
            api_key="test",
            base_url=emu.url,
            retry={"attempts": 5},
            client_args={"transport": gateway},
        )
    if provider == "anthropic":
        import anthropic

        from synthlib.providers.anthropic.backend import AnthropicBackend

        http = importlib.import_module("httpx2") if importlib.util.find_spec("httpx2") else httpx
        client = anthropic.Anthropic(
            api_key="test",
            base_url=emu.url,
            max_retries=4,
            http_client=gateway_refusing_creates(http, times),
        )
        state = spool_dir(Path("run.checkpoint.json").absolute()) / "anthropic"
        return AnthropicBackend(state, client)
    client = openai.OpenAI(
        api_key="test",
        base_url=emu.base_url,
        max_retries=4,
        http_client=gateway_refusing_creates(httpx, times),
    )
    return OpenAIBackend(client)


def test_a_lost_create_is_found_when_a_compatible_server_lists_oldest_first(tmp_path, workdir):
    """OpenAI's reference gives no order for ``GET /batches``: a search back in time stops at
    the first older batch only once the listing has shown itself newest first. On a server
    listing oldest first, with an earlier run's batches hours old at its head, every create's
    batch (its answer lost) is found by its tags, and each word is bought once."""
    clock = SteppedClock()
    emu = Emulator(tmp_path / "emulator", config=EmulatorConfig(**FAST), clock=clock).start()
    try:
        first = resume_job(emu, "openai", [], words_source=WORDS[:20], checkpoint="a.json").run()
        assert first.phase == "finished"
        clock.ahead += 3 * 3600.0  # the earlier run's batches are now hours old
        emu.configure(openai_oldest_first=True, lost_reply_rate=1.0, lost_reply_mode="drop")
        client = openai.OpenAI(api_key="test", base_url=f"{emu.url}/v1", max_retries=0)
        listed = [b.created_at for b in client.batches.list()]
        assert listed == sorted(listed) and len(listed) == 2  # oldest first
        notices: list[str] = []
        late = WORDS[20:]
        result = resume_job(emu, "openai", notices, words_source=late, checkpoint="b.json").run()
        assert result.phase == "finished"
        ours = [r for r in emu.ledger() if set(r["words"]) <= set(late)]
        assert_paid_once(read_checkpoint(result.checkpoint), late, ours, "openai")
        assert len(list(client.batches.list())) == 4  # two of each run: none created twice
    finally:
        emu.stop()


def test_a_proxys_second_batch_found_after_its_input_was_deleted_is_read_from_its_results(
    emulator, workdir
):
    """A proxy made every create twice; the second batches are found by the final sweep, after
    the run collected the first ones and deleted their input files (which both share). Their
    words are read from their results: none is called unreadable, and the cost cap counts what
    each asked for (the old code adopted them with no words at all)."""
    emulator.configure(duplicate_create_rate=1.0)
    notices: list[str] = []
    job = resume_job(emulator, "openai", notices, words_source=WORDS[:30], checkpoint="t.json")
    result = job.run()
    assert result.phase == "finished"
    assert not [n for n in notices if "unreadable" in n], notices
    adopted = [n for n in notices if n.startswith("adopted batch") and "by this run's tag" in n]
    assert len(adopted) == 3, notices
    cp = read_checkpoint(result.checkpoint)
    ledger = emulator.ledger()
    assert len({r["batch_id"] for r in ledger}) == 6
    assert cp["total_cost"] == pytest.approx(ledger_cost(ledger, "openai"), rel=1e-9)


def test_a_create_that_never_took_effect_goes_again_after_the_grace_period(
    tmp_path, workdir, provider
):
    """The first two creates get a 502 from a gateway and never reach the API: the run cannot
    tell that from a lost answer, so before creating again it lists at least three times over
    at least 30 s of the API's clock (here running 100 times faster than real time)."""
    emu = Emulator(tmp_path / "emu", config=EmulatorConfig(**FAST), clock=FastClock(100)).start()
    try:
        word_list = words(20)
        notices: list[str] = []
        backend = backend_behind_gateway(emu, provider, times=2)
        result = resume_job(
            emu,
            provider,
            notices,
            words_source=word_list,
            checkpoint="run.checkpoint.json",
            backend=backend,
        ).run()
        assert result.phase == "finished"
        assert_paid_once(read_checkpoint(result.checkpoint), word_list, emu.ledger(), provider)
        again = [n for n in notices if "never took effect" in n]
        assert len(again) == 2, notices
        for notice in again:
            looks, seconds = re.search(r"in (\d+) listings over (\d+) s", notice).groups()
            assert int(looks) >= 3 and int(seconds) >= 30
    finally:
        emu.stop()


def test_batches_a_retrying_proxy_created_twice_are_adopted_and_counted(
    emulator, workdir, provider
):
    """Every create takes effect twice behind a proxy that retried it; the run got one answer.
    The other batch carries this run's tags (in its metadata, or in its results): it is found,
    adopted, and what it billed is counted."""
    emulator.configure(duplicate_create_rate=1.0)
    word_list = words(30)
    config = build_config(
        word_list,
        provider=provider,
        checkpoint="run.checkpoint.json",
        batch_size=10,
        poll_interval=0.05,
    )
    backend = backend_for(emulator, provider, checkpoint="run.checkpoint.json")
    result = Job(config, backend=backend).run()
    assert result.phase == "finished"
    cp = read_checkpoint(result.checkpoint)
    ledger = emulator.ledger()
    assert sorted(cp["processed_words"]) == sorted(word_list)
    assert len(cp["finished_batches"]) == len({r["batch_id"] for r in ledger}) == 6
    assert cp["total_cost"] == pytest.approx(ledger_cost(ledger, provider), rel=1e-9)
    assert max(billed_per_word(ledger).values()) <= 2
