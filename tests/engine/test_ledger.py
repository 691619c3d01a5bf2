"""On the wire: the store is the money ledger. A word reserved by a batch of another run (another
checkpoint, other knobs, another process) is never billed again, on both stores; judged by the
emulator's billing ledger."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import mongomock_ng as mongomock
import pytest

from synthlib.emulator import Emulator, EmulatorConfig
from synthlib.jobs.job import Job, build_config
from synthlib.store import open_store
from synthlib.store.ledger import Holder
from synthlib.store.mongo import MongoStore

from .conftest import (
    FAST,
    MODELS,
    FastClock,
    backend_for,
    billed_per_word,
    cli,
    ledger_cost,
    provider_env,
    read_checkpoint,
    words,
)

WORDS = words(40)
# words the offline provider knows too
REAL = ["apple", "river", "happy", "house", "green", "music", "table", "light", "water", "bread"]


@pytest.fixture(params=["sqlite", "mongomock"])
def shared_store(request, tmp_path):
    """A way to open one store several times, as several runs (or machines) would."""
    if request.param == "sqlite":
        path = tmp_path / "shared.db"
        return lambda: open_store(path)
    client = mongomock.MongoClient()
    return lambda: MongoStore("mongodb://localhost/ledger", client=client)


def make_job(emu, word_list, store, checkpoint, listener=None, **kw) -> Job:
    kw.setdefault("poll_interval", 0.05)
    kw.setdefault("provider", "openai")
    kw.setdefault("batch_size", 10)
    config = build_config(word_list, checkpoint=str(checkpoint), **kw)
    backend = backend_for(emu, kw["provider"], checkpoint=checkpoint)
    return Job(config, backend=backend, store=store, listener=listener)


def batch_count(emu) -> int:
    return len(emu.api.list_batches(limit=100)["data"])


def _run_to_end(job, timeout: float, seen: list[str]):
    """Start ``job`` and wait for it to finish (stopped after ``timeout`` s, failing the test
    with the last of the messages ``seen``)."""
    job.start()
    result = job.wait(timeout)
    if result is None:
        job.stop()
        job.wait(30)
    assert result is not None and result.phase == "finished", seen[-5:]
    return result


def _wait(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _created(checkpoint: Path) -> int:
    journal = checkpoint.with_name(checkpoint.name + ".journal")
    return journal.read_text().count('"type":"created"') if journal.exists() else 0


def test_words_in_batches_of_a_gone_run_for_another_list_are_left_to_it(
    emulator, workdir, shared_store
):
    """Ctrl+C with 4 batches in flight, then a run of half the words (another checkpoint, other
    packing): the batches also hold words of no list of its own, so they are left to their run
    and nothing is sent again; the first run resumes and collects; each word is billed once."""
    emulator.configure(stall=True)
    first = make_job(emulator, WORDS, shared_store(), workdir / "a.json")
    first.start()
    _wait(lambda: _created(workdir / "a.json") >= 4)
    first.stop()
    assert first.wait(30).phase == "interrupted"

    messages: list[str] = []
    other = make_job(
        emulator,
        WORDS[::-2],
        shared_store(),
        workdir / "b.json",
        words_per_request=2,
        listener=lambda progress, message: message and messages.append(message),
    )
    assert any(
        "20 of these words are reserved by the batches of 1 other run" in n for n in other.notices
    ), other.notices
    result = other.run()
    assert result.progress.processed == 0
    assert len(emulator.ledger()) == 0 and batch_count(emulator) == 4
    assert any("held by run" in m and str(workdir / "a.json") in m for m in messages), messages

    emulator.configure(stall=False)
    resumed = make_job(emulator, WORDS, shared_store(), workdir / "a.json").run()
    assert resumed.phase == "finished" and resumed.progress.processed == 40
    billed = billed_per_word(emulator.ledger())
    assert set(billed) == set(WORDS) and max(billed.values()) == 1
    assert read_checkpoint(workdir / "a.json")["total_cost"] == pytest.approx(
        ledger_cost(emulator.ledger()), rel=1e-9
    )
    # the second run, run again, finds every word in the store and sends nothing
    again = make_job(
        emulator, WORDS[::-2], shared_store(), workdir / "b.json", words_per_request=2
    ).run()
    assert again.progress.processed == 20
    assert max(billed_per_word(emulator.ledger()).values()) == 1


def test_a_gone_runs_batches_are_adopted_and_its_resume_hands_them_over(
    emulator, workdir, shared_store
):
    """Ctrl+C with 4 batches in flight; the same words in another order, with other packing, on
    another checkpoint: the gone run's batches are adopted (found by their reservations) and
    collected there, nothing is sent again; the first run, resumed, sends nothing and counts
    nothing; each word is billed once and the adopting run reports what was billed."""
    emulator.configure(stall=True)
    first = make_job(emulator, WORDS, shared_store(), workdir / "a.json")
    first.start()
    _wait(lambda: _created(workdir / "a.json") >= 4)
    first.stop()
    assert first.wait(30).phase == "interrupted"
    emulator.configure(stall=False)

    messages: list[str] = []
    other = make_job(
        emulator,
        WORDS[::-1],
        shared_store(),
        workdir / "b.json",
        words_per_request=2,
        listener=lambda progress, message: message and messages.append(message),
    )
    result = other.run()
    assert result.phase == "finished" and result.progress.processed == 40, messages
    assert sum("adopted batch" in m for m in messages) == 4, messages
    assert batch_count(emulator) == 4  # none created by the second run
    billed = billed_per_word(emulator.ledger())
    assert set(billed) == set(WORDS) and max(billed.values()) == 1
    assert read_checkpoint(workdir / "b.json")["total_cost"] == pytest.approx(
        ledger_cost(emulator.ledger()), rel=1e-9
    )

    resumed = make_job(emulator, WORDS, shared_store(), workdir / "a.json").run()
    assert resumed.phase == "finished" and resumed.progress.processed == 40
    assert read_checkpoint(workdir / "a.json")["total_cost"] == 0
    assert max(billed_per_word(emulator.ledger()).values()) == 1 and batch_count(emulator) == 4


def test_a_gone_runs_anthropic_batches_are_adopted_from_the_store_and_collected(
    emulator, workdir, shared_store
):
    """Anthropic's batches carry no metadata, but the store knows a gone run's batch ids: Ctrl+C
    with 4 Message Batches in flight, then the same words in another order and packing on
    another checkpoint; the batches are adopted from the store's reservations and collected
    there (each result line read by the tag its own batch carries), nothing is sent again; the
    first run, resumed, sends nothing and counts nothing."""
    pytest.importorskip("anthropic")
    emulator.configure(stall=True)
    first = make_job(emulator, WORDS, shared_store(), workdir / "a.json", provider="anthropic")
    first.start()
    _wait(lambda: _created(workdir / "a.json") >= 4)
    first.stop()
    assert first.wait(30).phase == "interrupted"
    emulator.configure(stall=False)

    messages: list[str] = []
    other = make_job(
        emulator,
        WORDS[::-1],
        shared_store(),
        workdir / "b.json",
        provider="anthropic",
        words_per_request=2,
        listener=lambda progress, message: message and messages.append(message),
    )
    result = _run_to_end(other, 60, messages)
    assert result.progress.processed == 40, messages
    assert sum("adopted batch" in m for m in messages) == 4, messages
    ledger = emulator.ledger()
    assert len({r["batch_id"] for r in ledger}) == 4  # none created by the second run
    billed = billed_per_word(ledger)
    assert set(billed) == set(WORDS) and max(billed.values()) == 1
    assert read_checkpoint(workdir / "b.json")["total_cost"] == pytest.approx(
        ledger_cost(ledger, "anthropic"), rel=1e-9
    )

    resumed = make_job(emulator, WORDS, shared_store(), workdir / "a.json", provider="anthropic")
    again = resumed.run()
    assert again.phase == "finished" and again.progress.processed == 40
    assert read_checkpoint(workdir / "a.json")["total_cost"] == 0
    assert max(billed_per_word(emulator.ledger()).values()) == 1
    assert len({r["batch_id"] for r in emulator.ledger()}) == 4


def test_words_made_by_another_run_after_this_one_looked_are_not_sent(
    emulator, workdir, shared_store
):
    """A run opened (and so looked at the store) before another run bought every word: when it
    reserves them, it finds their entries and sends nothing."""
    late = make_job(emulator, WORDS, shared_store(), workdir / "b.json", words_per_request=2)
    late.open()
    assert late.checkpoint.state.pending_count() == 40
    first = make_job(emulator, WORDS, shared_store(), workdir / "a.json").run()
    assert first.progress.processed == 40
    billed_before = len(emulator.ledger())
    result = late.run()
    assert result.phase == "finished" and result.progress.processed == 40
    assert len(emulator.ledger()) == billed_before
    assert max(billed_per_word(emulator.ledger()).values()) == 1
    assert read_checkpoint(workdir / "b.json")["total_cost"] == 0


def test_two_runs_at_once_on_two_checkpoints_split_the_words(emulator, workdir, shared_store):
    """Two runs of one list, each with its own checkpoint and packing, going at the same time:
    together they bill every word once, and each ends with every word done."""
    emulator.configure(stall=True)
    a = make_job(emulator, WORDS, shared_store(), workdir / "a.json", batch_size=10)
    b = make_job(
        emulator, WORDS[::-1], shared_store(), workdir / "b.json", batch_size=7, words_per_request=2
    )
    a.start()
    _wait(lambda: _created(workdir / "a.json") >= 1)
    b.start()
    # b sends what a has not reserved yet; on a fast start a holds all 40 words (4 batches)
    _wait(lambda: _created(workdir / "b.json") >= 1 or _created(workdir / "a.json") >= 4)
    emulator.configure(stall=False)
    ra, rb = a.wait(60), b.wait(60)
    assert ra is not None and rb is not None
    assert ra.progress.processed == rb.progress.processed == 40
    billed = billed_per_word(emulator.ledger())
    rows = [(r["batch_id"][-6:], r["custom_id"], r["words"]) for r in emulator.ledger()]
    assert set(billed) == set(WORDS) and max(billed.values()) == 1, rows
    spent = sum(read_checkpoint(workdir / n)["total_cost"] for n in ("a.json", "b.json"))
    assert spent == pytest.approx(ledger_cost(emulator.ledger()), rel=1e-9)


def test_two_processes_on_two_checkpoints_over_one_store_bill_each_word_once(emulator, workdir):
    """Two terminal runs at once (two processes), one store file, two checkpoints."""
    (workdir / "words.txt").write_text("\n".join(WORDS) + "\n")
    (workdir / "copy.txt").write_text("\n".join(reversed(WORDS)) + "\n")
    env = provider_env(emulator)
    common = ["--yes", "--poll-interval", "0.05", "--store", "one.db", "--provider", "openai"]

    def start(*args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "synthlib", *args, *common],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    emulator.configure(stall=True)
    # the first run keeps one batch in flight at a time (its token budget): the second gets some
    first = start(
        "words.txt", "--checkpoint", "a.json", "--batch-size", "10", "--token-budget", "20000"
    )
    _wait(lambda: _created(workdir / "a.json") >= 1)
    second = start(
        "copy.txt", "--checkpoint", "b.json", "--batch-size", "6", "--words-per-request", "2"
    )
    _wait(lambda: _created(workdir / "b.json") >= 1)
    emulator.configure(stall=False)
    _, err_a = first.communicate(timeout=120)
    _, err_b = second.communicate(timeout=120)
    assert first.returncode == 0, err_a
    assert second.returncode == 0, err_b
    billed = billed_per_word(emulator.ledger())
    assert set(billed) == set(WORDS) and max(billed.values()) == 1, billed.most_common(3)
    a, b = read_checkpoint(workdir / "a.json"), read_checkpoint(workdir / "b.json")
    assert sorted(a["processed_words"]) == sorted(b["processed_words"]) == sorted(WORDS)
    assert a["total_cost"] + b["total_cost"] == pytest.approx(
        ledger_cost(emulator.ledger()), rel=1e-9
    )


# --- entries kept per purchase ------------------------------------------------------------------


def test_an_offline_run_keeps_paid_entries_and_they_stay_preferred(emulator, workdir, shared_store):
    from synthlib.jobs.frames import load_entries

    paid = make_job(emulator, REAL, shared_store(), workdir / "a.json").run()
    assert paid.progress.processed == 10
    billed = len(emulator.ledger())
    offline = Job(
        build_config(REAL, checkpoint=str(workdir / "o.json"), provider="offline"),
        store=shared_store(),
    ).run()
    assert offline.progress.processed == 10
    shown = load_entries(shared_store())
    assert len(shown) == 10 and set(shown["provider"]) == {"openai"}
    every = load_entries(shared_store(), every=True)
    assert len(every) == 20 and set(every["provider"]) == {"openai", "offline"}
    assert set(load_entries(shared_store(), prefer="offline")["provider"]) == {"offline"}
    # the paid run again: every word is still bought, nothing is sent
    again = make_job(emulator, REAL, shared_store(), workdir / "a2.json").run()
    assert again.progress.processed == 10 and len(emulator.ledger()) == billed


def test_entries_bought_from_one_api_are_not_done_for_another(
    emulator, workdir, shared_store, tmp_path
):
    """A rehearsal against one API location (an emulator) is not a purchase from another: the
    other API gets every word; the same location gets none again."""
    from synthlib.emulator import Emulator, EmulatorConfig

    from .conftest import FAST

    make_job(emulator, REAL, shared_store(), workdir / "a.json").run()
    other = Emulator(tmp_path / "other-api", config=EmulatorConfig(**FAST)).start()
    try:
        real = make_job(other, REAL, shared_store(), workdir / "b.json")
        assert real.estimate.remaining == 10  # the dry run's count agrees with the run
        assert real.run().progress.processed == 10
        assert billed_per_word(other.ledger()) == dict.fromkeys(REAL, 1)
    finally:
        other.stop()
    again = make_job(emulator, REAL, shared_store(), workdir / "c.json").run()
    assert again.progress.processed == 10
    assert billed_per_word(emulator.ledger()) == dict.fromkeys(REAL, 1)


def test_a_missing_key_over_paid_entries_asks_and_refuses_without_a_terminal(emulator, workdir):
    from synthlib.jobs.frames import load_entries

    (workdir / "words.txt").write_text("\n".join(REAL) + "\n")
    common = ["words.txt", "--store", "s.db", "--poll-interval", "0.05"]
    paid = cli([*common, "--yes"], emulator, workdir)
    assert paid.returncode == 0, paid.stderr
    billed = len(emulator.ledger())
    no_key = {k: v for k, v in provider_env(emulator).items() if not k.startswith("OPENAI_")}

    def without_key(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "synthlib", *common, *extra],
            cwd=workdir,
            env=no_key,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = without_key()
    assert refused.returncode == 2, refused.stderr
    assert "paid entries for 10 of these 10 words (10 by openai gpt-4o-mini)" in refused.stdout
    assert "Make offline entries anyway?" in refused.stderr
    assert len(load_entries(str(workdir / "s.db"), every=True)) == 10

    agreed = without_key("--yes")
    assert agreed.returncode == 0, agreed.stderr
    assert set(load_entries(str(workdir / "s.db"))["provider"]) == {"openai"}
    assert len(load_entries(str(workdir / "s.db"), every=True)) == 20
    # with the key again: the paid entries are there, nothing is sent
    again = cli([*common, "--yes"], emulator, workdir)
    assert again.returncode == 0, again.stderr
    assert len(emulator.ledger()) == billed


# --- the job is the work, not the knobs ---------------------------------------------------------


def test_a_resume_with_other_packing_or_a_renamed_list_collects_its_batches(emulator, workdir):
    """Ctrl+C with batches in flight; a reordered copy of the list is told to wait for them;
    a renamed copy with --words-per-request 2 and another --batch-size is the same job: it
    resumes the same (default) checkpoint and collects them; each word is billed once."""
    import signal

    (workdir / "words.txt").write_text("\n".join(WORDS) + "\n")
    (workdir / "copy.txt").write_text("\n".join(WORDS) + "\n")
    (workdir / "shuffled.txt").write_text("\n".join(WORDS[::-1]) + "\n")
    common = ["--yes", "--poll-interval", "0.05"]
    emulator.configure(stall=True)
    first = subprocess.Popen(
        [sys.executable, "-m", "synthlib", "words.txt", *common, "--batch-size", "10"],
        cwd=workdir,
        env=provider_env(emulator),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def created() -> int:
        journals = list((workdir / ".synthlib").glob("*.checkpoint.json.journal"))
        return sum(_created(j.with_name(j.name.removesuffix(".journal"))) for j in journals)

    _wait(lambda: created() >= 2)
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 130, err
    [checkpoint] = (workdir / ".synthlib").glob("*.checkpoint.json")

    reordered = cli(["shuffled.txt", *common], emulator, workdir)
    assert reordered.returncode == 2, reordered.stderr
    assert "another order" in reordered.stderr and str(checkpoint.name) in reordered.stderr
    assert not emulator.ledger()

    emulator.configure(stall=False)
    repacked = cli(
        ["copy.txt", *common, "--words-per-request", "2", "--batch-size", "7"], emulator, workdir
    )
    assert repacked.returncode == 0, repacked.stderr
    assert list((workdir / ".synthlib").glob("*.checkpoint.json")) == [checkpoint]
    cp = read_checkpoint(checkpoint)
    assert sorted(cp["processed_words"]) == sorted(WORDS) and not cp["batches"]
    billed = billed_per_word(emulator.ledger())
    assert set(billed) == set(WORDS) and max(billed.values()) == 1
    assert cp["total_cost"] == pytest.approx(ledger_cost(emulator.ledger()), rel=1e-9)
    # now nothing is in flight: any order resumes it, and nothing is sent
    again = cli(["shuffled.txt", *common], emulator, workdir)
    assert again.returncode == 0, again.stderr
    assert max(billed_per_word(emulator.ledger()).values()) == 1


def _journal_events(checkpoint: Path) -> list[dict]:
    import json

    journal = checkpoint.with_name(checkpoint.name + ".journal")
    if not journal.exists():
        return []
    return [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]


def test_an_adopted_batch_counts_its_input_and_all_its_words_toward_the_cap(
    emulator, workdir, shared_store
):
    """A gone run's batch adopted by another run: the adopting run journals its input (estimated
    with its token counter) and every word it asks for, so the cap's worst case for it holds
    against what the emulator bills for it."""
    from synthlib.core.pricing import price_for
    from synthlib.engine.pacing import Pacing
    from synthlib.engine.state import Flight
    from synthlib.providers import registry

    emulator.configure(stall=True)
    first = make_job(emulator, WORDS[:10], shared_store(), workdir / "a.json")
    first.start()
    _wait(lambda: _created(workdir / "a.json") >= 1)
    first.stop()
    assert first.wait(30).phase == "interrupted"

    other = make_job(emulator, WORDS[:10], shared_store(), workdir / "b.json", max_cost=5.0)
    other.start()

    def adopted() -> list[dict]:
        events = _journal_events(workdir / "b.json")
        return [e for e in events if e.get("type") == "planned" and e["shard"].startswith("a-")]

    found: list[dict] = []
    _wait(lambda: found.extend(adopted()) or found)  # the journal is folded as the run ends
    emulator.configure(stall=False)
    assert other.wait(60).phase == "finished"
    (planned,) = found
    flight = Flight(
        planned["shard"],
        planned["words"],
        planned["input_tokens"],
        batch_words=planned.get("batch_words", 0),
    )
    ledger = emulator.ledger()
    billed_input = sum(r["prompt_tokens"] for r in ledger)
    assert flight.input_tokens >= billed_input > 0  # the batch's input, not none
    assert max(len(flight.words), flight.batch_words) == 10  # every word it asks for
    pacing = Pacing(
        price=price_for("gpt-4o-mini", registry.prices()),
        token_budget=10**9,
        fixed_tokens=0,
        poll_interval=0.05,
        clock=time.time,
        max_cost=5.0,
    )
    assert pacing.flight_worst_case(flight) >= ledger_cost(ledger)


def test_a_missing_key_over_paid_entries_is_said_in_python_and_hides_nothing(
    emulator, workdir, shared_store, monkeypatch
):
    """Python has no terminal to ask at: the job says the fallback (``Job.fallback``) before it
    runs, and its offline entries are kept beside the paid ones, which stay preferred."""
    from synthlib.jobs.frames import load_entries

    paid = make_job(emulator, REAL, shared_store(), workdir / "a.json").run()
    assert paid.progress.processed == 10
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    fallback = Job(build_config(REAL, checkpoint=str(workdir / "o.json")), store=shared_store())
    assert fallback.provider == "offline"
    assert "paid entries for 10 of these 10 words" in (fallback.fallback or "")
    assert fallback.run().progress.processed == 10
    assert set(load_entries(shared_store())["provider"]) == {"openai"}
    assert len(load_entries(shared_store(), every=True)) == 20


# --- a gone run's shard with no batch known -----------------------------------------------------

GONE = Holder(run_id="run-0123456789ab", checkpoint="/elsewhere/gone.checkpoint.json")


def _gone_runs_shard(emu, store, provider, checkpoint, word_list, *, marked_at=None) -> None:
    """In ``store``: run GONE reserved ``word_list`` as its shard s-1 and said it ended; with
    ``marked_at`` (the API's clock) it marked a create of that shard first, which never made a
    batch."""
    from synthlib.engine.ledger import purchase_of

    backend = backend_for(emu, provider, checkpoint=checkpoint)
    purchase = purchase_of(backend, MODELS[provider])
    now = time.time()
    positions = {w: WORDS.index(w) for w in word_list}
    assert store.reserve(purchase, GONE, "s-1", positions, now) == set(word_list)
    if marked_at is not None:
        store.mark_creating(GONE.run_id, "s-1", marked_at, len(word_list))
    store.renew(GONE, now, ended=True)


@pytest.mark.parametrize("marked", [False, True], ids=["no-create-sent", "create-sent-no-batch"])
def test_a_gone_runs_words_with_no_batch_are_released_and_bought_once(
    tmp_path, workdir, shared_store, provider, marked
):
    """A run reserved 10 words and ended before any batch of them existed: with no create
    marked in the store it sent none, and its words are released at once; with one marked, its
    batch is looked for until the create window is over (10 minutes of the API's clock, here
    running 100 times faster), then they are released. Either way this run buys them, once,
    instead of ending with them left to a run that will never buy them."""
    clock = FastClock(100)
    emu = Emulator(tmp_path / "emu", config=EmulatorConfig(**FAST), clock=clock).start()
    try:
        _gone_runs_shard(
            emu,
            shared_store(),
            provider,
            workdir / "b.json",
            WORDS[:10],
            marked_at=clock() if marked else None,
        )
        messages: list[str] = []
        job = make_job(
            emu,
            WORDS,
            shared_store(),
            workdir / "b.json",
            provider=provider,
            listener=lambda progress, message: message and messages.append(message),
        )
        result = _run_to_end(job, 90, messages)
        assert result.progress.processed == 40, messages
        assert any("were never bought" in m for m in messages), messages
        billed = billed_per_word(emu.ledger())
        assert set(billed) == set(WORDS) and max(billed.values()) == 1
        assert read_checkpoint(workdir / "b.json")["total_cost"] == pytest.approx(
            ledger_cost(emu.ledger(), provider), rel=1e-9
        )
    finally:
        emu.stop()


def test_a_run_thought_gone_whose_words_were_taken_may_not_create_their_batch(
    emulator, workdir, shared_store, provider
):
    """A run alive but silent past its lease (a machine asleep between reserving a shard and
    creating its batch) is taken for gone: another run releases its shard (no create marked)
    and buys the words. When the first wakes, the store refuses its create mark, so it never
    sends the create that would buy the words a second time."""
    _gone_runs_shard(emulator, shared_store(), provider, workdir / "b.json", WORDS[:10])
    # before the takeover the (silent) owner could still mark its create
    assert shared_store().creating_of(GONE.run_id, "s-1") is None
    result = make_job(emulator, WORDS[:10], shared_store(), workdir / "b.json", provider=provider)
    assert result.run().progress.processed == 10
    assert not shared_store().mark_creating(GONE.run_id, "s-1", time.time(), 10)
    assert shared_store().creating_of(GONE.run_id, "s-1") is None
    billed = billed_per_word(emulator.ledger())
    assert set(billed) == set(WORDS[:10]) and max(billed.values()) == 1


def test_a_create_mark_is_taken_while_the_run_holds_its_shard(shared_store):
    from synthlib.engine.ledger import expected_api_location
    from synthlib.store.ledger import Purchase

    purchase = Purchase("openai", "gpt-4o-mini", "v", "s", expected_api_location("openai"))
    store = shared_store()
    now = time.time()
    assert store.reserve(purchase, GONE, "s-1", {"apple": 0, "pear": 1}, now)
    assert store.mark_creating(GONE.run_id, "s-1", now, 2)
    assert store.creating_of(GONE.run_id, "s-1") == (now, now, 2)
    assert not store.mark_creating(GONE.run_id, "s-9", now, 2)  # a shard it holds nothing of


def test_a_gone_runs_batch_whose_create_got_no_answer_is_found_and_adopted(
    emulator, workdir, shared_store, provider
):
    """A run's create took effect but its answer was lost (and listings lag, so the run never
    saw its batch); it stopped. Another run of the same words finds the create marked in the
    store, finds that batch (by its tags: in its metadata, or in its results once it ends) and
    adopts it; nothing is sent again, each word is billed once."""
    emulator.configure(lost_reply_rate=1.0, lost_reply_mode="5xx", listing_lag_seconds=10_000)
    messages: list[str] = []
    first = make_job(
        emulator,
        WORDS[:10],
        shared_store(),
        workdir / "a.json",
        provider=provider,
        listener=lambda progress, message: message and messages.append(message),
    )
    first.start()
    _wait(lambda: any("no answer creating a batch" in m for m in messages))
    first.stop()
    assert first.wait(30).phase == "interrupted"
    emulator.configure(lost_reply_rate=0.0, listing_lag_seconds=0.0)

    seen: list[str] = []
    other = make_job(
        emulator,
        WORDS[:10][::-1],
        shared_store(),
        workdir / "b.json",
        provider=provider,
        words_per_request=2,
        listener=lambda progress, message: message and seen.append(message),
    )
    result = _run_to_end(other, 60, seen)
    assert result.progress.processed == 10, seen
    assert sum("adopted batch" in m for m in seen) == 1, seen
    ledger = emulator.ledger()
    assert len({r["batch_id"] for r in ledger}) == 1
    billed = billed_per_word(ledger)
    assert set(billed) == set(WORDS[:10]) and max(billed.values()) == 1
    assert read_checkpoint(workdir / "b.json")["total_cost"] == pytest.approx(
        ledger_cost(ledger, provider), rel=1e-9
    )
    # the first run, resumed, finds its shard taken: it sends nothing and counts nothing
    owner: list[str] = []
    resumed = make_job(
        emulator,
        WORDS[:10],
        shared_store(),
        workdir / "a.json",
        provider=provider,
        listener=lambda progress, message: message and owner.append(message),
    )
    again = resumed.run()
    assert again.phase == "finished" and again.progress.processed == 10
    assert read_checkpoint(workdir / "a.json")["total_cost"] == 0, "\n".join(owner)
    assert emulator.ledger() == ledger


class ShiftedClock:
    """Real time plus a shift the test moves (a month passes at once, whatever the machine)."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.time() + self.shift


def test_a_gone_anthropic_runs_candidate_with_results_unreadable_for_good_is_not_waited_for(
    tmp_path, workdir, shared_store
):
    """A gone run marked a create of its 10-word shard on Anthropic; the one batch of 10
    requests made in that create window (by hand here) has ended, and its results are archived
    (404: a month has passed on the API's clock), so its tags can never tell whether it is that
    shard's. After as many failed reads as the run allows it is not counted as the gone run's
    (said once), the shard's words are released, and this run buys them, once, and ends
    instead of waiting for that batch forever."""
    anthropic = pytest.importorskip("anthropic")
    clock = ShiftedClock()
    emu = Emulator(tmp_path / "emu", config=EmulatorConfig(**FAST), clock=clock).start()
    try:
        _gone_runs_shard(
            emu, shared_store(), "anthropic", workdir / "b.json", WORDS[:10], marked_at=clock()
        )
        client = anthropic.Anthropic(api_key="test", base_url=emu.url, max_retries=0)
        params = {
            "model": MODELS["anthropic"],
            "max_tokens": 1000,
            "messages": [{"role": "user", "content": 'Write entries: {"words": ["elsewhere"]}'}],
        }
        candidate = client.messages.batches.create(
            requests=[{"custom_id": f"r{i}", "params": params} for i in range(10)]
        )
        _wait(lambda: client.messages.batches.retrieve(candidate.id).processing_status == "ended")
        clock.shift = 30 * 24 * 3600.0  # its results are kept 29 days
        with pytest.raises(anthropic.NotFoundError):
            client.messages.batches.results(candidate.id)
        messages: list[str] = []
        job = make_job(
            emu,
            WORDS,
            shared_store(),
            workdir / "b.json",
            provider="anthropic",
            listener=lambda progress, message: message and messages.append(message),
        )
        result = _run_to_end(job, 120, messages)
        assert result.progress.processed == 40, messages
        unreadable = [m for m in messages if f"batch {candidate.id} ended but its results" in m]
        assert len(unreadable) == 1, messages
        assert any("were never bought" in m for m in messages), messages
        ours = [r for r in emu.ledger() if r["batch_id"] != candidate.id]
        billed = billed_per_word(ours)
        assert set(billed) == set(WORDS) and max(billed.values()) == 1
        assert read_checkpoint(workdir / "b.json")["total_cost"] == pytest.approx(
            ledger_cost(ours, "anthropic"), rel=1e-9
        )
    finally:
        emu.stop()


# --- the dry run tells what other runs hold ----------------------------------------------------


def _held_by_a_stopped_run(emulator, workdir, store) -> None:
    """Run A on the first 20 words, stopped (Ctrl+C) with its 2 batches in flight."""
    emulator.configure(stall=True)
    first = make_job(emulator, WORDS[:20], store, workdir / "a.json")
    first.start()
    _wait(lambda: _created(workdir / "a.json") >= 2)
    first.stop()
    assert first.wait(30).phase == "interrupted"


def test_a_dry_run_counts_words_other_runs_hold_as_waited_for_not_bought(
    emulator, workdir, shared_store, monkeypatch
):
    """Words reserved by another run's live batches are not bought by a new run of the list:
    the dry run says how many, and leaves them out of what remains to buy and its cost."""
    import synthlib

    _held_by_a_stopped_run(emulator, workdir, shared_store())
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    common = {"provider": "openai", "checkpoint": str(workdir / "b.json")}
    est = synthlib.dry_run(WORDS, store=shared_store(), **common)
    assert est.held_elsewhere == 20 and est.remaining == 20
    assert ("Held by other runs", "20 (they will be waited for, not bought)") in est.rows()
    assert est.batch_cost == pytest.approx(
        synthlib.dry_run(WORDS[20:], **common).batch_cost, rel=1e-9
    )
    # the run that holds them, resumed, holds them itself: none held by another run
    own = synthlib.dry_run(
        WORDS[:20], store=shared_store(), **{**common, "checkpoint": str(workdir / "a.json")}
    )
    assert own.held_elsewhere == 0 and own.in_flight == 20


def test_the_cli_dry_run_says_how_many_words_other_runs_hold(emulator, workdir):
    _held_by_a_stopped_run(emulator, workdir, open_store(workdir / "one.db"))
    (workdir / "words.txt").write_text("\n".join(WORDS) + "\n")
    shown = cli(
        ["words.txt", "--dry-run", "--store", "one.db", "--checkpoint", "b.json"], emulator, workdir
    )
    assert shown.returncode == 0, shown.stderr
    assert "Held by other runs" in shown.stdout
    assert "20 (they will be waited for, not bought)" in shown.stdout
    assert not emulator.ledger()


def test_a_run_of_words_other_runs_hold_still_asks_before_it_may_buy_them(emulator, workdir):
    """Words another run's batches hold are bought by this run if that run lets them go: with
    every word held, the terminal still asks (here: no terminal, so it refuses to spend)."""
    _held_by_a_stopped_run(emulator, workdir, open_store(workdir / "one.db"))
    (workdir / "words.txt").write_text("\n".join(WORDS[:20]) + "\n")
    billed = len(emulator.ledger())
    done = cli(["words.txt", "--store", "one.db", "--checkpoint", "b.json"], emulator, workdir)
    assert done.returncode == 2, done.stderr
    assert "Held by other runs" in done.stdout
    assert "no terminal to ask" in done.stderr and "nothing was spent" in done.stderr
    assert len(emulator.ledger()) == billed


# --- a run killed on this machine ---------------------------------------------------------------


def test_a_run_killed_on_this_machine_is_gone_at_once_and_its_batches_adopted(emulator, workdir):
    """A terminal run killed (SIGKILL) with its batches in flight cannot say it ended; on this
    machine its process is visibly gone, so another run of the words adopts its batches at once
    instead of waiting out its 15-minute lease, and each word is billed once."""
    import signal

    (workdir / "words.txt").write_text("\n".join(WORDS[:20]) + "\n")
    args = ["words.txt", "--yes", "--poll-interval", "0.05", "--store", "one.db"]
    killed = cli(
        [*args, "--checkpoint", "a.json", "--batch-size", "10"],
        emulator,
        workdir,
        env={"SYNTHLIB_FAILPOINTS": "poll:1"},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _created(workdir / "a.json") >= 1
    messages: list[str] = []
    config = build_config(
        WORDS[:20], checkpoint=str(workdir / "b.json"), provider="openai", poll_interval=0.05
    )
    other = Job(
        config,
        backend=backend_for(emulator, key=provider_env(emulator)["OPENAI_API_KEY"]),
        store=open_store(workdir / "one.db"),
        listener=lambda progress, message: message and messages.append(message),
    )
    result = _run_to_end(other, 60, messages)
    assert result.progress.processed == 20
    assert any("adopted batch" in m for m in messages), messages
    billed = billed_per_word(emulator.ledger())
    assert set(billed) == set(WORDS[:20]) and max(billed.values()) == 1


def test_a_gone_offline_runs_marked_shard_is_made_again_at_once(workdir, shared_store):
    """The offline provider's batches live with their run's checkpoint (no other run can find
    them) and cost nothing: a gone offline run's shard with a create marked is released at
    once, not after the create window a paid provider's needs."""
    from synthlib.core import prompts, schema
    from synthlib.engine.ledger import expected_api_location
    from synthlib.store.ledger import Purchase

    messages: list[str] = []
    config = build_config(
        REAL, checkpoint=str(workdir / "b.json"), provider="offline", poll_interval=0.05
    )
    job = Job(
        config,
        store=shared_store(),
        listener=lambda progress, message: message and messages.append(message),
    )
    purchase = Purchase(
        "offline",
        job.model,
        prompts.prompt_version(False),
        schema.SCHEMA_VERSION,
        expected_api_location("offline"),
    )
    store = shared_store()
    now = time.time()
    assert store.reserve(purchase, GONE, "s-1", {w: REAL.index(w) for w in REAL[:5]}, now)
    store.mark_creating(GONE.run_id, "s-1", now, 5)
    store.renew(GONE, now, ended=True)
    result = _run_to_end(job, 60, messages)
    assert result.progress.processed == 10
    assert any("its batches cost nothing" in m for m in messages), messages
