"""The offline provider end to end: real entries from WordNet/CMUdict/wordfreq, no key, no cost."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

import synthlib
from synthlib.core.requests import build_requests
from synthlib.core.schema import Failure
from synthlib.core.words import read_words
from synthlib.engine.checkpoint import Checkpoint
from synthlib.faces.cli import main
from synthlib.jobs.job import Job, build_config
from synthlib.lexicon.grounding import references

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples", "words.txt")


@pytest.fixture
def lexicon(one_lexicon):
    return one_lexicon  # and what a run loads is this one too


def _cli(args, cwd, env=None):
    full = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "synthlib", *args],
        cwd=cwd,
        env={**full, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_auto_without_a_key_runs_offline_into_the_embedded_store(offline_env, lexicon):
    result = synthlib.run(["bank", "run", "ice cream", "zzqxv"])
    assert result.provider == "offline" and result.phase == "finished"
    assert result.given_up == {"zzqxv": Failure("not_found", "not found in local lexical sources")}
    senses = synthlib.load_senses()
    bank = senses[senses["word"] == "bank"]
    expected = lexicon.entry("bank").model_dump(mode="json")
    glosses = [s["definition"] for g in expected["parts_of_speech"] for s in g["senses"]]
    assert list(bank["definition"]) == glosses  # WordNet's glosses, in WordNet's order
    assert any("sloping land" in d for d in bank["definition"])
    entries = synthlib.load_entries()
    (summary,) = synthlib.open_store().iter_runs()
    assert (summary["run_id"], summary["processed"], summary["given_up"]) == (
        json.loads((offline_env / result.checkpoint).read_text())["run_id"],
        3,
        1,
    )
    assert summary["failure_reasons"] == {"not_found": 1}
    assert set(entries["provider"]) == {"offline"}
    assert (entries["cost_usd"] == 0).all()
    assert entries.set_index("word").loc["ice cream", "parts_of_speech"] == ["noun"]


def test_cli_announces_offline_before_running(tmp_path):
    (tmp_path / "w.txt").write_text("apple\npear\n")
    done = _cli(["w.txt"], tmp_path)  # offline spends nothing, so no confirmation is needed
    assert done.returncode == 0, done.stderr
    assert "Provider: offline (no API key)" in done.stdout
    assert done.stdout.index("Provider: offline") < done.stdout.index("starting run")


def test_provider_openai_without_a_key_is_a_clear_error(offline_env, capsys):
    # in-process: the tests around it prove the `python -m synthlib` entry point
    (offline_env / "w.txt").write_text("apple\n")
    assert main(["w.txt", "--provider", "openai", "--yes"]) == 2
    stderr = capsys.readouterr().err
    assert "OPENAI_API_KEY" in stderr and stderr.count("\n") == 1


def test_sigkill_then_resume_does_not_redo_finished_words(tmp_path):
    words = read_words(EXAMPLES)
    args = [EXAMPLES, "--batch-size", "8"]
    crashed = _cli(args, tmp_path, env={"SYNTHLIB_FAILPOINTS": "after-store:3"})
    assert crashed.returncode == -signal.SIGKILL
    config = build_config(EXAMPLES, provider="offline")
    cp = Checkpoint.load(
        tmp_path / config.checkpoint,
        config.identity("offline", synthlib.jobs.plan.provider_model("offline", "")),
        words,
    )
    done_before = set(cp.state.done)
    in_flight = cp.state.in_flight_words()
    assert len(done_before) >= 8
    resumed = _cli(args, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    submitted = re.findall(r"submitted batch \S+ \((\d+) words", resumed.stdout)
    resubmitted = sum(int(n) for n in submitted)
    assert resubmitted == len(words) - len(done_before) - len(in_flight)
    final = json.loads((tmp_path / config.checkpoint).read_text())
    assert set(final["processed_words"]) | set(final["given_up_words"]) == set(words)


def test_grounding_puts_local_senses_in_the_request(lexicon):
    words = read_words(["bank"])
    (request,) = build_requests(words, words._index, reference=references(lexicon=lexicon))
    payload = json.loads(request.payload)
    assert payload["words"] == ["bank"]
    definitions = [s["definition"] for s in payload["reference"]["bank"]["senses"]]
    assert any("sloping land" in d for d in definitions)


def test_dry_run_counts_the_grounding_tokens(offline_env, one_lexicon):
    plain = synthlib.dry_run(["bank", "run"], provider="openai")
    grounded = synthlib.dry_run(["bank", "run"], provider="openai", grounding=True)
    assert grounded.grounding_tokens > 0
    assert grounded.input_tokens == plain.input_tokens + grounded.grounding_tokens
    assert grounded.batch_cost > plain.batch_cost
    assert "Grounding" in str(grounded)


def test_grounded_entries_say_so(offline_env, lexicon):
    from synthlib.providers.offline.backend import OfflineBackend

    config = build_config(["apple"], provider="offline", grounding=True)
    job = Job(config, backend=OfflineBackend(offline_env / "off", lexicon=lexicon))
    job.run()
    assert synthlib.load_entries()["grounded"].tolist() == [True]


def test_a_reader_that_leaves_early_does_not_stop_the_run(tmp_path):
    """``batch-synthesis words.txt --yes | head -1``: the output goes quiet, the run finishes."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthlib", EXAMPLES, "--batch-size", "8"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.readline().startswith(b"Loaded")
    proc.stdout.close()  # the reader leaves, as head does
    assert proc.wait(timeout=300) == 0
    assert proc.stderr.read() == b""
    config = build_config(EXAMPLES, provider="offline")
    final = json.loads((tmp_path / config.checkpoint).read_text())
    words = read_words(EXAMPLES)
    assert set(final["processed_words"]) | set(final["given_up_words"]) == set(words)


def test_the_end_of_run_preview_shows_this_runs_entries_only(tmp_path):
    from factories import record

    from synthlib.store.sqlite import SQLiteStore

    with SQLiteStore(tmp_path / "synthlib.db") as store:  # an earlier run's words, sorted first
        store.upsert_entries([record(w, run_id="run-earlier") for w in ("aardvark", "abacus")])
    (tmp_path / "mine.txt").write_text("river\napple\nzzqxj\n")
    done = _cli(["mine.txt"], tmp_path)
    assert done.returncode == 0, done.stderr
    preview = done.stdout.split("A few of this run's entries:")[1].split("\nEntries:")[0]
    assert "apple (" in preview and "river (" in preview
    assert "aardvark" not in preview and "abacus" not in preview
    assert "- zzqxj: not_found" in done.stdout  # the given-up word, named with its reason


def test_a_finished_run_leaves_no_downloads_behind(offline_env, one_lexicon):
    from synthlib.engine.loop import spool_dir

    result = synthlib.run(["apple", "river"], provider="offline")
    assert result.phase == "finished"
    assert result.checkpoint.exists()
    assert not spool_dir(result.checkpoint).exists()
