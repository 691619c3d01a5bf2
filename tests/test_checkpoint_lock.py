"""One run at a time per checkpoint: a second run (another process, or another Job in this one)
stops at once with exit 2 and touches nothing; a killed holder frees the checkpoint."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from synthlib.core.errors import CheckpointBusy, CheckpointError, UsageError
from synthlib.engine.checkpoint import CheckpointLock, lock_path
from synthlib.jobs.job import Job, build_config

TIMEOUT = 120  # generous: nothing here waits on time, only on pipes and processes

# Takes the lock, says so, and holds it until a line arrives on stdin.
HOLDER = """
import sys
from synthlib.engine.checkpoint import CheckpointLock
lock = CheckpointLock(sys.argv[1]).acquire()
print("locked", flush=True)
sys.stdin.readline()
lock.release()
print("released", flush=True)
"""


def _cli(args, cwd, env=None):
    full = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "synthlib", *args],
        cwd=cwd,
        env={**full, **(env or {})},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def _line(proc: subprocess.Popen) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
    assert ready, "the helper process said nothing"
    return proc.stdout.readline().strip()


@pytest.fixture
def holder(tmp_path):
    procs = []

    def hold(checkpoint: Path) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(checkpoint)],
            cwd=tmp_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert _line(proc) == "locked"
        return proc

    yield hold
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(TIMEOUT)


@pytest.fixture
def words_file(tmp_path):
    (tmp_path / "words.txt").write_text("apple\npear\nzzqxv\n")
    return "words.txt"


RUN = ["--provider", "offline", "--yes", "--checkpoint", "cp.json", "--store", "s.db"]


def test_a_second_process_on_the_checkpoint_exits_2_and_touches_nothing(
    tmp_path, holder, words_file
):
    proc = holder(tmp_path / "cp.json")
    refused = _cli([words_file, *RUN], tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.count("\n") == 1
    assert f"is in use by process {proc.pid}," in refused.stderr
    assert "nothing was spent" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cp.json.lock", "words.txt"]

    proc.stdin.write("\n")
    proc.stdin.flush()
    assert _line(proc) == "released"
    done = _cli([words_file, *RUN], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cp.json").exists() and (tmp_path / "s.db").exists()
    assert not (tmp_path / "cp.json.lock").exists()  # a run that ends removes its lock file


def test_a_run_through_a_symlink_to_a_checkpoint_in_use_exits_2(tmp_path, holder, words_file):
    proc = holder(tmp_path / "real.json")
    (tmp_path / "link.json").symlink_to("real.json")
    run = [words_file, "--provider", "offline", "--yes", "--store", "s.db"]
    refused = _cli([*run, "--checkpoint", "link.json"], tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert f"is in use by process {proc.pid}," in refused.stderr
    assert not (tmp_path / "s.db").exists()


def test_a_symlinked_folder_is_the_same_checkpoint(tmp_path, holder, words_file):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to("real")
    proc = holder(tmp_path / "real" / "cp.json")
    run = [words_file, "--provider", "offline", "--yes", "--store", "s.db"]
    refused = _cli([*run, "--checkpoint", "alias/cp.json"], tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert f"is in use by process {proc.pid}," in refused.stderr


def test_writes_through_a_symlink_keep_the_link_and_fill_the_file(tmp_path, words_file):
    (tmp_path / "link.json").symlink_to("real.json")
    run = [words_file, "--provider", "offline", "--yes", "--store", "s.db"]
    done = _cli([*run, "--checkpoint", "link.json"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "link.json").is_symlink()
    assert os.readlink(tmp_path / "link.json") == "real.json"
    written = json.loads((tmp_path / "real.json").read_text())
    assert written["format"] == "synthlib.checkpoint" and "apple" in written["processed_words"]
    # the same run again, named by the file itself: it resumes the same checkpoint
    again = _cli([*run, "--checkpoint", "real.json"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "link.json").is_symlink()
    assert not list(tmp_path.glob("link.json.*"))


def test_fresh_does_not_set_aside_a_checkpoint_in_use(tmp_path, holder, words_file):
    assert _cli([words_file, *RUN], tmp_path).returncode == 0
    before = (tmp_path / "cp.json").read_bytes()
    proc = holder(tmp_path / "cp.json")
    refused = _cli([words_file, *RUN, "--fresh"], tmp_path)
    assert refused.returncode == 2 and f"process {proc.pid}" in refused.stderr
    assert (tmp_path / "cp.json").read_bytes() == before
    assert not list(tmp_path.glob("*.bak"))


def test_a_sigkilled_holder_frees_the_checkpoint(tmp_path, holder, words_file):
    proc = holder(tmp_path / "cp.json")
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(TIMEOUT) == -signal.SIGKILL
    stale = tmp_path / "cp.json.lock"
    assert stale.read_text().strip() == str(proc.pid)  # left behind, but no longer locked
    done = _cli([words_file, *RUN], tmp_path)
    assert done.returncode == 0, done.stderr
    assert not stale.exists()


def test_a_run_killed_mid_way_frees_the_checkpoint_for_its_resume(tmp_path, words_file):
    crashed = _cli(
        [words_file, *RUN, "--batch-size", "1"],
        tmp_path,
        env={"SYNTHLIB_FAILPOINTS": "after-store:1"},
    )
    assert crashed.returncode == -signal.SIGKILL
    assert (tmp_path / "cp.json.lock").exists()
    resumed = _cli([words_file, *RUN, "--batch-size", "1"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    final = json.loads((tmp_path / "cp.json").read_text())
    assert set(final["processed_words"]) | set(final["given_up_words"]) == {
        "apple",
        "pear",
        "zzqxv",
    }


# --- in one process ----------------------------------------------------------------------------


def test_two_jobs_in_one_process_the_second_is_busy(offline_env):
    config = build_config(["apple", "pear"], provider="offline")
    first = Job(config).open()  # an opened job holds the checkpoint
    with pytest.raises(CheckpointBusy) as info:
        Job(config)
    message = str(info.value)
    assert f"in use by process {os.getpid()} (another run in this process)" in message
    assert "nothing was spent" in message and info.value.exit_code == 2
    assert first.run().phase == "finished"  # the run ends: the checkpoint is free again
    with pytest.raises(UsageError, match="build a new job"):
        first.run()
    assert Job(config).run().phase == "finished"


def test_a_job_that_fails_to_build_lets_go(offline_env):
    config = build_config(["apple"], provider="offline")
    config.checkpoint.parent.mkdir(parents=True, exist_ok=True)
    config.checkpoint.write_text("{not json")
    with pytest.raises(CheckpointError):
        Job(config)
    with CheckpointLock(config.checkpoint) as lock:
        assert lock.held


def test_close_lets_an_unrun_job_go(offline_env):
    config = build_config(["apple"], provider="offline")
    job = Job(config)
    job.close()
    job.close()  # idempotent
    assert Job(config).run().phase == "finished"


def test_the_lock_is_checked_across_threads_and_started_runs(offline_env):
    import threading

    config = build_config(["apple"], provider="offline")
    job = Job(config).open()
    errors = []

    def second() -> None:
        try:
            Job(config)
        except CheckpointBusy as exc:
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(TIMEOUT)
    assert len(errors) == 1
    job.start()
    assert job.wait(TIMEOUT).phase == "finished"
    assert not lock_path(config.checkpoint).exists()


def test_a_lock_object_is_busy_while_another_holds_and_free_after(tmp_path):
    first = CheckpointLock(tmp_path / "cp.json").acquire()
    assert lock_path(tmp_path / "cp.json").read_text() == f"{os.getpid()}\n"
    (tmp_path / "link").symlink_to(tmp_path)
    with pytest.raises(CheckpointBusy):  # the same file by another name
        CheckpointLock(tmp_path / "link" / "cp.json").acquire()
    first.release()
    assert not (tmp_path / "cp.json.lock").exists()
    with CheckpointLock(tmp_path / "cp.json") as again:
        assert again.held
    assert not again.held


def test_building_a_job_writes_nothing_until_it_runs(offline_env):
    """A Job is read, shown and asked about before anything on disk changes: no lock, no
    checkpoint, no store file, and with fresh no set-aside; running it does all of that."""
    config = build_config(["apple", "pear"], provider="offline", checkpoint="cp.json")
    assert Job(config).run().phase == "finished"

    def listing() -> list[Path]:
        return sorted(p.relative_to(offline_env) for p in offline_env.rglob("*"))

    before = listing()
    fresh = build_config(["apple", "pear"], provider="offline", checkpoint="cp.json", fresh=True)
    job = Job(fresh)
    assert job.estimate.remaining == 0 and job.set_aside is None  # the store has both words
    assert listing() == before
    job.close()  # a job never run held nothing
    assert listing() == before
    again = Job(fresh)
    assert again.run().phase == "finished"
    assert again.set_aside is not None and again.set_aside.exists()  # set aside when it ran
