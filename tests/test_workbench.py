"""The notebook workbench: widget callbacks without a browser, headless runs, papermill."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from synthlib.emulator import Emulator, EmulatorConfig
from synthlib.workbench import Workbench, _Widgets

ROOT = Path(__file__).resolve().parents[1]
FAST = dict(validating_seconds=0.05, seconds_per_request=0.0002, finalizing_seconds=0.05)


@pytest.fixture
def emulator_env(tmp_path, monkeypatch):
    emu = Emulator(tmp_path / "emu", config=EmulatorConfig(**FAST)).start()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-workbench-secret")
    monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
    monkeypatch.chdir(tmp_path)
    yield emu
    emu.stop()


def _wait(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_upload_bytes_become_the_word_list(offline_env):
    ui = _Widgets(Workbench())
    upload = {"name": "mine.csv", "type": "text/csv", "size": 20,
              "last_modified": datetime.now(UTC),
              "content": memoryview(b"word\nalpha\nbeta\nalpha\n")}  # fmt: skip
    ui.upload.value = (upload,)
    ui.on_upload()
    config = ui.bench.config()
    assert config.words.words == ("alpha", "beta")
    assert config.words.source == "mine.csv"
    assert re.fullmatch(r"mine\.[0-9a-f]{8}\.checkpoint\.json", str(config.checkpoint))


def test_estimate_button_shows_the_cost_table(offline_env):
    ui = _Widgets(Workbench(words=["apple", "pear"]))
    ui.model.value = "gpt-4o"
    estimate = ui.on_estimate()
    assert estimate is not None and estimate.model == "gpt-4o" and estimate.words_total == 2
    shown = json.dumps(ui.estimate_out.outputs)
    assert "Batch API cost" in shown and "Savings" in shown


def test_bad_settings_show_one_line_instead_of_raising(offline_env):
    ui = _Widgets(Workbench(words=str(offline_env / "missing.txt")))
    assert ui.on_estimate() is None
    assert "no such file" in ui.message.value


def test_run_updates_progress_and_stop_saves_the_checkpoint(emulator_env):
    emulator_env.configure(stall=True)
    ui = _Widgets(Workbench(words=[f"w{i}" for i in range(12)], batch_size=4, poll_interval=0.05))
    ui.provider.value = "openai"
    job = ui.on_run()
    assert job is not None and ui.stop_button.disabled is False
    _wait(lambda: sum(1 for f in job.checkpoint.state.flights.values() if f.batch_id) == 3)
    ui.on_stop()
    _wait(lambda: ui.bench.result is not None)
    assert ui.bench.result.phase == "interrupted"
    saved = json.loads(Path(job.checkpoint.path).read_text())
    assert len(saved["batches"]) == 3
    _wait(lambda: ui.run_button.disabled is False)
    emulator_env.configure(stall=False)
    job = ui.on_run()  # Run again resumes and collects the batches left running
    _wait(lambda: ui.bench.result is not None and ui.bench.result.phase == "finished", 60)
    assert ui.bar.value == ui.bar.max == 12
    assert "Processed" in ui.status.value
    billed = [w for row in emulator_env.ledger() for w in row["words"]]
    assert sorted(billed) == sorted(f"w{i}" for i in range(12))


def test_two_clicks_on_run_start_one_job(emulator_env):
    emulator_env.configure(stall=True)  # the first run is still going at the second click
    ui = _Widgets(Workbench(words=[f"w{i}" for i in range(8)], batch_size=4, poll_interval=0.05))
    ui.provider.value = "openai"
    first = ui.on_run()
    assert first is not None and first.running
    assert ui.on_run() is None  # ipywidgets calls the handler even on a disabled button
    assert "already" in ui.message.value
    assert ui.bench.job is first
    assert [t for t in threading.enumerate() if t.name == "synthlib-run"] == [first._thread]
    ui.on_stop()
    _wait(lambda: ui.bench.result is not None)
    assert ui.bench.result.phase == "interrupted"


def test_a_job_built_before_run_does_not_lock_out_the_run(offline_env):
    ui = _Widgets(Workbench(words=["apple", "pear"]))
    assert ui.on_estimate() is not None
    early = ui.bench.prepare()  # e.g. built for an estimate: it holds the checkpoint
    job = ui.on_run()
    assert job is not None and job is not early, ui.message.value
    assert job.wait(60).phase == "finished"


def test_headless_stop_then_resume(emulator_env):
    emulator_env.configure(stall=True)
    words = [f"w{i}" for i in range(8)]
    bench = Workbench(words=words, batch_size=4, provider="openai", poll_interval=0.05)
    thread = threading.Thread(target=bench.run_headless)
    thread.start()
    _wait(lambda: bench.job is not None and len(bench.job.checkpoint.state.flights) == 2
          and all(f.batch_id for f in bench.job.checkpoint.state.flights.values()))  # fmt: skip
    bench.job.stop()
    thread.join(30)
    assert bench.result.phase == "interrupted"
    emulator_env.configure(stall=False)
    again = Workbench(words=words, batch_size=4, provider="openai", poll_interval=0.05)
    assert again.run_headless().phase == "finished"
    assert len([w for row in emulator_env.ledger() for w in row["words"]]) == 8


def _papermill(tmp_path, *params, env=None):
    args = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "run.ipynb"),
            str(tmp_path / "out.ipynb"), "--cwd", str(tmp_path)]  # fmt: skip
    for name, value in params:
        args += ["-p", name, value]
    clean = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return subprocess.run(args, capture_output=True, text=True, timeout=300,
                          env={**clean, **(env or {})})  # fmt: skip


def _outputs(path: Path) -> str:
    nb = json.loads(path.read_text())
    texts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            texts.append("".join(out.get("text", "")))
            texts.append("".join(out.get("data", {}).get("text/plain", "")))
            texts.extend(out.get("traceback", []))
    return "\n".join(texts)


def test_papermill_runs_the_job_headless_offline(tmp_path):
    (tmp_path / "words.txt").write_text("apple\nbank\nzzqxv\n")
    done = _papermill(tmp_path, ("words", "words.txt"))
    assert done.returncode == 0, done.stderr[-2000:]
    out = _outputs(tmp_path / "out.ipynb")
    for expected in ("Batch API cost", "Finished.", "not_found", "2 entries", "bank"):
        assert expected in out
    assert (tmp_path / "synthlib.db").exists()
    assert len(out) < 200_000  # progress as a few lines, not thousands of updates


def test_papermill_bad_parameters_fail_with_the_one_line_error(tmp_path):
    failed = _papermill(tmp_path, ("words", "missing.txt"))
    assert failed.returncode != 0
    out = _outputs(tmp_path / "out.ipynb")
    assert "missing.txt: no such file" in out
    assert "Traceback" not in out


def test_papermill_dry_run_spends_nothing_and_keeps_the_key_out(tmp_path, emulator_env):
    (tmp_path / "words.txt").write_text("apple\n")
    env = {"OPENAI_API_KEY": "sk-workbench-secret", "OPENAI_BASE_URL": emulator_env.base_url}
    done = _papermill(tmp_path, ("words", "words.txt"), ("dry_run", "True"), env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Dry run: nothing was sent." in _outputs(tmp_path / "out.ipynb")
    assert emulator_env.ledger() == []
    assert "sk-workbench-secret" not in (tmp_path / "out.ipynb").read_text()


def test_kernel_interrupt_stops_a_background_run_like_the_stop_button():
    import signal

    from synthlib.workbench import _install_interrupt_as_stop

    class RunningJob:
        running = True
        stopped = False

        def stop(self, *, cancel=False):
            self.stopped = True

    previous = signal.getsignal(signal.SIGINT)
    job = RunningJob()
    try:
        _install_interrupt_as_stop(job)
        os.kill(os.getpid(), signal.SIGINT)  # what the kernel's interrupt button sends
        time.sleep(0.05)
        assert job.stopped
        job.running = False  # with no run going, an interrupt is an interrupt again
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    finally:
        signal.signal(signal.SIGINT, previous)
