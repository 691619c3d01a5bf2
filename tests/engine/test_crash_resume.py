"""The terminal run killed (SIGKILL at many points, SIGINT) and resumed: nothing paid twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from .conftest import (
    KILL_POINTS,
    billed_per_word,
    cli,
    ledger_cost,
    provider_env,
    read_checkpoint,
    words,
)

WORDS = words(40)
# an explicit checkpoint: the default one is keyed by the list, and these tests change the list
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


@pytest.fixture
def word_file(workdir):
    (workdir / "words.txt").write_text("\n".join(WORDS) + "\n")
    return workdir / "words.txt"


def assert_complete_and_paid_once(emulator, workdir, provider="openai"):
    cp = read_checkpoint(workdir / "words.checkpoint.json")
    assert sorted(cp["processed_words"]) == sorted(WORDS)
    assert not cp["batches"] and not cp["failed_words"]
    billed = billed_per_word(emulator.ledger())
    assert set(billed) == set(WORDS)
    assert max(billed.values()) == 1, billed.most_common(3)
    assert cp["total_cost"] == pytest.approx(ledger_cost(emulator.ledger(), provider), rel=1e-9)


@pytest.mark.parametrize("point", KILL_POINTS)
def test_sigkill_anywhere_then_resume_pays_once(emulator, workdir, word_file, point):
    crashed = cli(ARGS, emulator, workdir, env={"SYNTHLIB_FAILPOINTS": point})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    resumed = cli(ARGS, emulator, workdir)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout
    assert_complete_and_paid_once(emulator, workdir)


@pytest.mark.parametrize(
    "point",
    [
        pytest.param("before-create:2", marks=pytest.mark.emulator_speed()),
        "anthropic-after-send:2",  # the batch exists, its answer never journalled nor kept
        "after-create:1",
        "poll:3",
        "after-download:2",
        "after-store:2",
    ],
)
def test_sigkill_anywhere_on_anthropic_then_resume_pays_once(emulator, workdir, word_file, point):
    pytest.importorskip("anthropic")
    env = {"SYNTHLIB_FAILPOINTS": point}
    crashed = cli(ARGS, emulator, workdir, env=env, provider="anthropic")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    resumed = cli(ARGS, emulator, workdir, provider="anthropic")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout
    assert_complete_and_paid_once(emulator, workdir, "anthropic")


def test_sigkill_twice_in_a_row_then_resume(emulator, workdir, word_file):
    for point in ("after-create:2", "after-store:1"):
        crashed = cli(ARGS, emulator, workdir, env={"SYNTHLIB_FAILPOINTS": point})
        assert crashed.returncode == -signal.SIGKILL
    assert cli(ARGS, emulator, workdir).returncode == 0
    assert_complete_and_paid_once(emulator, workdir)


def _start(emulator, workdir, provider="openai"):
    env = provider_env(emulator, provider)
    return subprocess.Popen(
        [sys.executable, "-m", "synthlib", *ARGS, "--provider", provider],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_batches(workdir, n, proc, timeout=30.0):
    journal = workdir / "words.checkpoint.json.journal"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"type":"created"') >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("batches were not created in time")


def test_sigint_exits_130_with_a_valid_checkpoint_and_resume_collects(emulator, workdir, word_file):
    emulator.configure(stall=True)
    proc = _start(emulator, workdir)
    _wait_for_batches(workdir, 2, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "resume" in out.lower()
    cp = read_checkpoint(workdir / "words.checkpoint.json")
    assert cp["batches"] and all(b["batch_id"] for b in cp["batches"])
    emulator.configure(stall=False)
    assert cli(ARGS, emulator, workdir).returncode == 0
    assert_complete_and_paid_once(emulator, workdir)


def test_sigterm_behaves_like_ctrl_c(emulator, workdir, word_file):
    emulator.configure(stall=True)
    proc = _start(emulator, workdir)
    _wait_for_batches(workdir, 1, proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    json.loads((workdir / "words.checkpoint.json").read_text())


def test_second_ctrl_c_exits_at_once_with_a_valid_checkpoint(emulator, workdir, word_file):
    emulator.configure(stall=True)
    proc = _start(emulator, workdir)
    _wait_for_batches(workdir, 1, proc)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    emulator.configure(stall=False)
    assert cli(ARGS, emulator, workdir).returncode == 0
    assert_complete_and_paid_once(emulator, workdir)


def test_foreign_checkpoint_is_refused(emulator, workdir, word_file):
    assert cli(ARGS, emulator, workdir).returncode == 0
    (workdir / "words.txt").write_text("other\nwords\n")
    refused = cli(ARGS, emulator, workdir)
    assert refused.returncode == 2
    assert "belongs to another run" in refused.stderr and "--fresh" in refused.stderr
    assert refused.stderr.count("\n") == 1
    fresh = cli([*ARGS, "--fresh"], emulator, workdir)
    assert fresh.returncode == 0, fresh.stderr
    assert list(workdir.glob("words.checkpoint.json.*.bak"))


def test_no_terminal_and_no_yes_refuses_to_spend(emulator, workdir, word_file):
    refused = cli(["words.txt", "--poll-interval", "0.05"], emulator, workdir)
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    assert emulator.ledger() == []


def test_api_key_never_printed_or_stored(emulator, workdir, word_file):
    done = cli(ARGS, emulator, workdir)
    assert done.returncode == 0
    assert "sk-test-key" not in done.stdout + done.stderr
    for path in workdir.rglob("*"):
        if path.is_file():
            assert b"sk-test-key" not in path.read_bytes(), path


def test_torn_journal_then_sigkill_then_resume_pays_once(emulator, workdir, word_file):
    """A crash mid-append leaves half a line; the next run must not glue onto it, so that after
    one more crash the run still resumes."""
    crashed = cli(ARGS, emulator, workdir, env={"SYNTHLIB_FAILPOINTS": "after-create:2"})
    assert crashed.returncode == -signal.SIGKILL
    journal = workdir / "words.checkpoint.json.journal"
    with open(journal, "ab") as fh:
        fh.write(b'{"type":"created","seq":99,"shard":"s-')  # torn by a crash mid-write
    crashed = cli(ARGS, emulator, workdir, env={"SYNTHLIB_FAILPOINTS": "after-store:1"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    resumed = cli(ARGS, emulator, workdir)
    assert resumed.returncode == 0, resumed.stderr
    assert_complete_and_paid_once(emulator, workdir)


def test_two_runs_on_one_checkpoint_then_both_killed_then_resume(
    emulator, workdir, word_file, provider
):
    emulator.configure(stall=True)
    first = _start(emulator, workdir, provider)
    _wait_for_batches(workdir, 2, first)
    second = cli(ARGS, emulator, workdir, provider=provider)
    assert second.returncode == 2
    assert f"in use by process {first.pid}" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    first.kill()
    first.wait(30)
    emulator.configure(stall=False)
    resumed = cli(ARGS, emulator, workdir, provider=provider)
    assert resumed.returncode == 0, resumed.stderr
    assert_complete_and_paid_once(emulator, workdir, provider)
