"""The run's figures in every state (fresh, resumed, stopped, finished, fresh after a set-aside),
as the terminal, the workbench and the headless summary show them: all from one Progress."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import synthlib
from synthlib.engine.progress import Progress
from synthlib.faces import cli
from synthlib.faces.notebook import status_html
from synthlib.faces.terminal import run_in_terminal
from synthlib.faces.workbench import Workbench, _Widgets


def _progress(**changes) -> Progress:
    base = dict(
        total=100,
        processed=60,
        given_up=0,
        retrying=20,
        in_flight=20,
        pending=0,
        batches={"in_progress": 1},
        input_tokens=1000,
        output_tokens=2000,
        cost_usd=0.01,
        elapsed=30.0,
        resolved_this_session=60,
    )
    return Progress(**{**base, **changes})


def _row(progress: Progress, label: str) -> str | None:
    return dict(progress.rows()).get(label)


def test_a_fresh_runs_rate_is_its_words_over_its_time():
    p = _progress()
    assert p.words_per_minute == pytest.approx(120.0)
    assert _row(p, "Words/minute") == "120.0"
    assert _row(p, "ETA") == "20s"  # 40 words left at 2 a second
    assert "ETA 20s" in p.line()


def test_success_rate_counts_resolved_words_only_and_shows_retrying_apart():
    p = _progress(processed=18, given_up=2, retrying=20, resolved_this_session=20)
    assert p.success_rate == pytest.approx(0.9)
    assert _row(p, "Success rate") == "90.0% of 20 resolved; 20 retrying"
    none_yet = _progress(processed=0, retrying=5, resolved_this_session=0)
    assert none_yet.success_rate is None
    assert _row(none_yet, "Success rate") == "none resolved yet; 5 retrying"


def test_a_resumed_run_counts_its_own_time_and_words_and_shows_collected_ones_apart():
    p = _progress(
        processed=300, total=300, retrying=0, in_flight=0, elapsed=8.0,
        resolved_this_session=20, collected_this_session=280, resumed=True,
    )  # fmt: skip
    assert p.words_per_minute == pytest.approx(150.0)  # 20 words in 8 s, not 300
    assert _row(p, "Words/minute") == "150.0 (280 collected from earlier batches not counted)"
    assert _row(p, "Elapsed (this resumed run)") == "8.0s"


@pytest.mark.parametrize("phase", ["interrupted", "finished", "budget", "stopped", "stopping"])
def test_no_eta_once_the_run_is_not_going(phase):
    p = _progress(phase=phase)
    assert p.eta_seconds is None and p.eta == ""
    assert "ETA" not in dict(p.rows())
    assert "ETA" not in p.line()


def test_the_result_line_says_how_it_ended_in_one_line():
    p = _progress(phase="finished", processed=13, given_up=2, retrying=0, total=15)
    assert p.result_line().startswith("Finished: 13 ok, 2 given up of 15 words, $0.0100")
    stopped = _progress(phase="interrupted")
    assert stopped.result_line().startswith("Stopped: 60 ok, 0 given up, 20 retrying")


def test_a_short_run_shows_tenths_of_a_second_not_zero():
    p = _progress(phase="finished", elapsed=0.4, resolved_this_session=3)
    assert _row(p, "Elapsed") == "0.4s" and _row(p, "Words/minute") == "450.0"


def test_the_workbench_status_shows_the_same_rows():
    p = _progress(phase="finished")
    shown = status_html(p.rows())
    assert "ETA" not in shown and "Success rate" in shown


# --- the faces, end to end on the offline provider --------------------------------------------


def _terminal(words_file, *extra: str) -> str:
    out = io.StringIO()  # not a terminal: plain lines, the summary's rows as text
    args = argparse.Namespace(**vars(cli._parser().parse_args([str(words_file), *extra])))
    assert run_in_terminal(args, out=out) == 0
    return out.getvalue()


def test_terminal_fresh_run_says_starting_and_summarises_once(offline_env):
    (offline_env / "w.txt").write_text("apple\npear\nzzqxv\n")
    text = _terminal(offline_env / "w.txt")
    assert "starting run" in text and "resuming" not in text
    assert text.count("Success rate") == 1  # one end summary
    assert text.count("Failed (given up)") == 1
    assert "ETA" not in text.split("Finished.")[1]
    assert "66.7% of 3 resolved" in text


def test_terminal_resume_then_fresh_after_set_aside(offline_env):
    (offline_env / "w.txt").write_text("apple\npear\n")
    _terminal(offline_env / "w.txt")
    again = _terminal(offline_env / "w.txt")
    assert "(resuming)" in again and "resuming run" in again
    assert "Elapsed (this resumed run)" in again
    fresh = _terminal(offline_env / "w.txt", "--fresh")
    assert "set aside" in fresh
    after = fresh.split("set aside")[1]
    assert "starting run" in after and "resuming" not in after
    assert "Elapsed (this resumed run)" not in fresh


def test_a_fresh_job_after_set_aside_starts_not_resumes(offline_env):
    synthlib.run(["apple", "pear"])
    messages: list[str] = []
    result = synthlib.run(
        ["apple", "pear"], fresh=True, listener=lambda p, m: m and messages.append(m)
    )
    assert messages[0].startswith("starting run")
    assert not result.progress.resumed


def test_workbench_and_headless_summary_of_a_finished_run_have_no_eta(offline_env, capsys):
    ui = _Widgets(Workbench(words=["apple", "zzqxv"]))
    ui.on_run()
    deadline = time.monotonic() + 120
    while ui.run_button.disabled and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ui.bench.result.phase == "finished"
    assert "ETA" not in ui.status.value and "50.0% of 2 resolved" in ui.status.value
    capsys.readouterr()
    result = Workbench(words=["apple", "zzqxv", "pear"]).run_headless()
    assert result.phase == "finished"
    out = capsys.readouterr().out
    assert "ETA" not in out.split("Finished.")[1]
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("Finished: 2 ok, 1 given up of 3 words, $0.0000")


@pytest.mark.parametrize("fd_capture", [True, False])
def test_papermill_relays_the_result_line_to_its_terminal(tmp_path, fd_capture):
    """The card's exact command: the result line reaches papermill's own standard error, with
    ipykernel capturing the kernel's descriptors (its default) or not."""
    (tmp_path / "words.txt").write_text("apple\nbank\nzzqxv\n")
    done = _papermill(tmp_path, "-p", "words", "words.txt", fd_capture=fd_capture)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "synthlib: Finished: 2 ok, 1 given up of 3 words, $0.0000" in done.stderr


def test_papermill_failure_ends_with_the_one_line_cause(tmp_path):
    failed = _papermill(tmp_path, "-p", "words", "missing.txt")
    assert failed.returncode != 0
    assert failed.stderr.rstrip().splitlines()[-1].endswith("missing.txt: no such file")


def _papermill(cwd, *args: str, fd_capture: bool = True) -> subprocess.CompletedProcess:
    # ipykernel captures the kernel's descriptors except under pytest (PYTEST_CURRENT_TEST)
    drop = {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"} | (
        {"PYTEST_CURRENT_TEST"} if fd_capture else set()
    )
    env = {k: v for k, v in os.environ.items() if k not in drop}
    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "run.ipynb"
    return subprocess.run(
        [sys.executable, "-m", "papermill", str(notebook), "out.ipynb", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
