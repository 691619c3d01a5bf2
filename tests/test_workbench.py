"""The notebook workbench: widget callbacks without a browser, headless runs, papermill."""

from __future__ import annotations

import ast
import dataclasses
import inspect
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

from synthlib.core.errors import UsageError
from synthlib.emulator import Emulator, EmulatorConfig
from synthlib.faces.workbench import Workbench, _Widgets
from synthlib.jobs.config import settings

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


def _upload(ui, name: str, content: bytes) -> None:
    """What the browser sends: the widget's value changes (its observer reads the file)."""
    upload = {
        "name": name,
        "type": "text/plain",
        "size": len(content),
        "last_modified": datetime.now(UTC),
        "content": memoryview(content),
    }
    ui.upload.value = (upload,)


def _finished(ui, timeout=120.0):
    """Wait for the run to end and its summary to be shown (Run is enabled again)."""
    _wait(lambda: ui.run_button.disabled is False, timeout)
    return ui.bench.result


def test_upload_bytes_become_the_word_list(offline_env):
    ui = _Widgets(Workbench())
    _upload(ui, "mine.csv", b"word\nalpha\nbeta\nalpha\n")
    config = ui.bench.config()
    assert config.words.words == ("alpha", "beta")
    assert config.words.source == "mine.csv"
    assert re.fullmatch(r"mine\.[0-9a-f]{8}\.checkpoint\.json", config.checkpoint.name)


def test_upload_shows_the_file_name_and_its_word_count(offline_env):
    ui = _Widgets(Workbench())
    _upload(ui, "mine.csv", b"word\nalpha\nbeta\nalpha\n")
    assert "mine.csv" in ui.words_info.value and "<b>2</b> words" in ui.words_info.value
    assert "Uploaded mine.csv: 2 words." in ui.notice.value
    assert ui.upload.value == ()  # the widget keeps no copy (and its label no "(1)")


def test_a_bad_upload_is_an_error_at_once(offline_env):
    ui = _Widgets(Workbench())
    _upload(ui, "mine.json", b'{"words": ')
    assert "mine.json" in ui.notice.value and "sl-error" in ui.notice.value
    assert "sl-error" in ui.words_info.value
    assert ui.on_run() is None  # never a run of another list instead


def test_estimate_button_shows_the_cost_table(offline_env):
    ui = _Widgets(Workbench(words=["apple", "pear"]))
    ui.model.value = "gpt-4o"
    estimate = ui.on_estimate()
    assert estimate is not None and estimate.model == "gpt-4o" and estimate.words_total == 2
    shown = json.dumps(ui.estimate_out.outputs)
    assert "Batch API cost" in shown and "Savings" in shown


def test_the_estimate_shows_the_deciding_figures_and_folds_the_table(offline_env):
    ui = _Widgets(Workbench(words=["apple", "pear", "bank"]))
    estimate = ui.on_estimate()
    view = ui.estimate_view.value
    for label in (
        "words in the list",
        "already done",
        "remaining",
        "batch",
        "Batch API cost",
        "saved vs regular API",
        "per 1,000 words",
    ):
        assert label in view, label
    assert f"${estimate.batch_cost:,.4f}" in view
    assert "Total words" not in view  # the whole table is folded away
    assert ui.estimate_more.selected_index is None
    assert ui.estimate_more.layout.display != "none"
    ui.batch_size.value = 2
    assert "Settings changed since" in ui.estimate_view.value


def test_a_free_estimate_names_the_provider_that_serves_the_priced_model(offline_env):
    ui = _Widgets(Workbench(words=["apple", "pear"]))
    ui.model.value = "gemini-2.5-pro"
    estimate = ui.on_estimate()
    assert estimate is not None and estimate.free
    assert "gemini-2.5-pro would cost on Gemini" in ui.estimate_view.value


def test_bad_settings_show_one_line_instead_of_raising(offline_env):
    ui = _Widgets(Workbench(words=str(offline_env / "missing.txt")))
    assert ui.on_estimate() is None
    assert "no such file" in ui.notice.value


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
    assert "ETA" not in ui.status.value  # stopped: no time left to guess
    assert "none resolved yet" in ui.status.value
    emulator_env.configure(stall=False)
    job = ui.on_run()  # Run again resumes and collects the batches left running
    _wait(lambda: ui.bench.result is not None and ui.bench.result.phase == "finished", 60)
    _wait(lambda: ui.run_button.disabled is False)
    assert ui.bar.value == ui.bar.max == 12
    assert "Processed" in ui.status.value
    assert "Elapsed (this resumed run)" in ui.status.value and "ETA" not in ui.status.value
    progress = ui.bench.result.progress  # the batches it collected are not its own work
    assert progress.resolved_this_session + progress.collected_this_session == 12
    assert progress.collected_this_session > 0
    billed = [w for row in emulator_env.ledger() for w in row["words"]]
    assert sorted(billed) == sorted(f"w{i}" for i in range(12))


def test_two_clicks_on_run_start_one_job(emulator_env):
    emulator_env.configure(stall=True)  # the first run is still going at the second click
    ui = _Widgets(Workbench(words=[f"w{i}" for i in range(8)], batch_size=4, poll_interval=0.05))
    ui.provider.value = "openai"
    first = ui.on_run()
    assert first is not None and first.running
    assert ui.on_run() is None  # ipywidgets calls the handler even on a disabled button
    assert "already" in ui.notice.value
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
    assert job is not None and job is not early, ui.notice.value
    assert job.wait(60).phase == "finished"


def test_headless_stop_then_resume(emulator_env):
    emulator_env.configure(stall=True)
    words = [f"w{i}" for i in range(8)]
    bench = Workbench(words=words, batch_size=4, provider="openai", poll_interval=0.05)
    thread = threading.Thread(target=bench.run_headless)
    thread.start()
    _wait(
        lambda: (
            bench.job is not None
            and len(bench.job.checkpoint.state.flights) == 2
            and all(f.batch_id for f in bench.job.checkpoint.state.flights.values())
        )
    )
    bench.job.stop()
    thread.join(30)
    assert bench.result.phase == "interrupted"
    stopped = bench.result.progress
    assert stopped.eta == "" and "ETA" not in dict(stopped.rows())
    assert stopped.result_line().startswith("Stopped: 0 ok, 0 given up of 8 words")
    emulator_env.configure(stall=False)
    again = Workbench(words=words, batch_size=4, provider="openai", poll_interval=0.05)
    resumed = again.run_headless()
    assert resumed.phase == "finished" and resumed.progress.resumed
    assert resumed.progress.result_line().startswith("Finished: 8 ok, 0 given up of 8 words")
    assert len([w for row in emulator_env.ledger() for w in row["words"]]) == 8


def _papermill(tmp_path, *params, env=None):
    args = [
        sys.executable,
        "-m",
        "papermill",
        str(ROOT / "notebooks" / "run.ipynb"),
        str(tmp_path / "out.ipynb"),
        "--cwd",
        str(tmp_path),
    ]
    for name, value in params:
        args += ["-p", name, value]
    clean = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return subprocess.run(
        args, capture_output=True, text=True, timeout=300, env={**clean, **(env or {})}
    )


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

    from synthlib.faces.workbench import _install_interrupt_as_stop

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


# --- settings as typed ---------------------------------------------------------------------------


def test_a_blank_max_cost_means_no_limit(offline_env):
    ui = _Widgets(Workbench(words=["apple"]))
    assert ui.max_cost.value == ""
    assert "no limit" in ui.max_cost_info.value
    assert ui.on_estimate() is not None
    assert ui.bench.params["max_cost"] is None
    ui.max_cost.value = "$2.50"
    assert ui.on_estimate() is not None
    assert ui.bench.params["max_cost"] == 2.5
    ui.max_cost.value = "0"
    assert ui.on_estimate() is not None
    assert ui.bench.params["max_cost"] == 0.0  # a limit of nothing, not "no limit"


def test_invalid_max_cost_is_a_visible_error(offline_env):
    ui = _Widgets(Workbench(words=["apple"]))
    ui.max_cost.value = "ten dollars"
    assert "sl-error" in ui.max_cost_info.value and "not an amount" in ui.max_cost_info.value
    assert ui.on_run() is None
    assert "Max cost" in ui.notice.value and "sl-error" in ui.notice.value
    assert ui.bench.job is None  # nothing started


def test_a_typed_path_is_found_from_the_notebook_folder_or_the_project_root(
    offline_env, monkeypatch
):
    project = offline_env / "project"
    (project / "examples").mkdir(parents=True)
    (project / "notebooks").mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (project / "examples" / "words.txt").write_text("apple\npear\n")
    (project / "notebooks" / "local.txt").write_text("bank\n")
    monkeypatch.chdir(project / "notebooks")
    ui = _Widgets(Workbench())
    ui.path.value = "examples/words.txt"  # the README's path, typed in notebooks/
    assert "<b>2</b> words" in ui.words_info.value
    assert ui.on_estimate().words_total == 2
    assert Path(ui.bench.words) == project / "examples" / "words.txt"
    ui.path.value = "local.txt"  # the notebook's folder comes first
    assert ui.on_estimate().words_total == 1
    ui.path.value = "nowhere.txt"
    assert "sl-error" in ui.words_info.value
    assert ui.on_estimate() is None
    assert "no such file" in ui.notice.value
    assert str(project / "notebooks") in ui.notice.value and str(project) in ui.notice.value


def test_the_provider_shows_what_auto_resolves_to(offline_env, monkeypatch):
    ui = _Widgets(Workbench())
    assert "auto: offline (no API key" in ui.provider_info.value
    ui.provider.value = "openai"
    assert "needs OPENAI_API_KEY" in ui.provider_info.value
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    ui.provider.value = "auto"
    assert "auto: openai" in ui.provider_info.value
    assert "sk-test" not in ui.provider_info.value


def test_the_example_list_is_package_data():
    from importlib import resources

    from synthlib.faces.notebook import EXAMPLE_WORDS

    packaged = resources.files("synthlib").joinpath("data", "example_words.txt")
    assert EXAMPLE_WORDS.read_text() == packaged.read_text()
    assert EXAMPLE_WORDS.read_text() == (ROOT / "examples" / "words.txt").read_text()


def test_library_advice_names_the_workbench_controls(offline_env):
    from synthlib.core.errors import CheckpointError
    from synthlib.engine.checkpoint import fresh_advice
    from synthlib.faces.wording import WORKBENCH

    refused = CheckpointError(
        "cp.json: belongs to another run. " + fresh_advice(3, "w.txt"),
        settings=("fresh", "checkpoint"),
    )
    said = refused.worded(WORKBENCH)
    assert "--" not in said
    assert "(Start over would pay for them twice)" in said
    assert "choose another checkpoint file (the checkpoint parameter)" in said
    again = CheckpointError(fresh_advice(0), settings=("fresh", "checkpoint"))
    assert "click Start over to set this one aside" in again.worded(WORKBENCH)
    assert "pass fresh=True to set this one aside" in str(again)  # Python's words


# --- errors stay until the next action -----------------------------------------------------------


def test_an_error_of_the_run_stays_visible(offline_env, monkeypatch):
    from synthlib.core.errors import CheckpointError
    from synthlib.jobs.job import Job

    wait = Job.wait

    def failing_wait(self, timeout=None):
        wait(self, timeout)
        raise CheckpointError(
            "the disk went away; restore it, or {pass fresh=True} to set it aside",
            settings="fresh",
        )

    monkeypatch.setattr(Job, "wait", failing_wait)
    ui = _Widgets(Workbench(words=["apple"]))
    assert ui.on_run() is not None
    _finished(ui)
    assert "the disk went away" in ui.notice.value and "sl-error" in ui.notice.value
    assert "click Start over" in ui.notice.value and "--fresh" not in ui.notice.value
    assert "failed" in ui.headline.value
    ui.on_estimate()  # the next action replaces it
    assert "disk" not in ui.notice.value


def test_an_error_of_the_summary_is_shown_not_lost(offline_env, monkeypatch):
    def broken(self, *args, **kwargs):
        raise RuntimeError("preview exploded")

    monkeypatch.setattr(Workbench, "show_summary", broken)
    ui = _Widgets(Workbench(words=["apple"]))
    ui.on_run()
    _finished(ui)
    assert "The summary failed: RuntimeError: preview exploded" in ui.notice.value
    assert "Traceback" in json.dumps(ui.log.outputs)
    assert "Finished" in ui.headline.value


# --- the summary is about the run ----------------------------------------------------------------


def _shown(output) -> str:
    return json.dumps(output.outputs)


def test_the_summary_is_about_that_run_in_a_store_with_other_words(offline_env):
    first = _Widgets(Workbench(words=["apple", "pear"]))
    first.on_run()
    assert _finished(first).phase == "finished"
    ui = _Widgets(Workbench(words=["bank", "zzqxv"]))
    ui.on_run()
    result = _finished(ui)
    assert result.given_up.keys() == {"zzqxv"}
    summary = _shown(ui.summary)
    assert "1 entries made by this run" in summary
    assert "bank" in summary and "apple" not in summary and "pear" not in summary
    assert "not_found" in summary and "zzqxv" in summary  # by reason and by name
    # the headless face says the same
    lines: list[str] = []
    frames: list = []
    ui.bench.show_summary(show=frames.append, say=lines.append)
    assert "1 word given up, by reason:" in lines
    assert any("1 entries made by this run" in line for line in lines)
    assert list(frames[-1]["word"]) == ["bank"]
    assert list(frames[-2].index) == ["zzqxv"]  # the given-up words by name, with reasons
    assert frames[-2]["reason"].iloc[0].startswith("not_found")


def test_start_over_asks_first_then_runs_fresh_and_previews_the_runs_words(offline_env):
    ui = _Widgets(Workbench(words=["apple", "pear"]))
    ui.on_run()
    first = _finished(ui)
    assert first.phase == "finished"
    assert ui.on_start_over() is None
    assert ui.confirm_box.layout.display != "none"
    assert ui.bench.result is first  # nothing ran yet
    job = ui.on_start_over_confirmed()
    assert job is not None and job.config.fresh and job.set_aside is not None
    assert ui.confirm_box.layout.display == "none"
    again = _finished(ui)
    assert again.phase == "finished" and again.run_id != first.run_id
    assert ui.bench.params["fresh"] is False  # Run after this resumes again
    summary = _shown(ui.summary)
    assert "This run made no new entries" in summary and "apple" in summary


def test_start_over_is_refused_while_batches_are_in_flight(emulator_env):
    emulator_env.configure(stall=True)
    ui = _Widgets(Workbench(words=[f"w{i}" for i in range(6)], batch_size=3, poll_interval=0.05))
    ui.provider.value = "openai"
    job = ui.on_run()
    _wait(lambda: sum(1 for f in job.checkpoint.state.flights.values() if f.batch_id) == 2)
    ui.on_stop()
    assert _finished(ui).phase == "interrupted"
    assert ui.on_start_over() is None
    assert "in flight" in ui.notice.value and "sl-error" in ui.notice.value
    assert "Start over would pay for them twice" in ui.notice.value
    assert "--fresh" not in ui.notice.value
    assert ui.confirm_box.layout.display == "none"
    assert ui.on_start_over_confirmed() is None  # the run refuses it as well
    assert "in flight" in ui.notice.value
    assert json.loads(Path(job.checkpoint.path).read_text())["batches"]  # kept as it was
    emulator_env.configure(stall=False)


def test_run_starts_with_fresh_figures_and_the_resumed_estimate(emulator_env):
    emulator_env.configure(stall=True)
    ui = _Widgets(Workbench(words=[f"w{i}" for i in range(6)], batch_size=3, poll_interval=0.05))
    ui.provider.value = "openai"
    job = ui.on_run()
    assert "in flight" not in ui.estimate_view.value  # nothing was in flight before
    _wait(lambda: sum(1 for f in job.checkpoint.state.flights.values() if f.batch_id) == 2)
    ui.on_stop()
    _finished(ui)
    assert "Stopped" in _shown(ui.summary)
    job = ui.on_run()  # still stalled: this run's summary cannot have come yet
    assert ui.summary.outputs == ()
    assert "Stopped" not in ui.headline.value
    assert job.estimate.in_flight == 6
    assert "<b>6</b><span>in flight</span>" in ui.estimate_view.value
    assert "at the start of this Run" in ui.estimate_view.value
    ui.on_stop()
    _finished(ui)
    emulator_env.configure(stall=False)


# --- export --------------------------------------------------------------------------------------


def test_export_writes_this_runs_entries_or_the_whole_store_beside_the_store(offline_env):
    import pandas as pd

    (offline_env / "data").mkdir()
    store = str(offline_env / "data" / "mine.db")
    first = _Widgets(Workbench(words=["apple", "pear"], store=store))
    assert first.on_export() is None
    assert "no finished run" in first.notice.value
    first.on_run()
    _finished(first)
    ui = _Widgets(Workbench(words=["bank"], store=store))
    ui.on_run()
    result = _finished(ui)
    ui.export_format.value, ui.export_scope.value = "csv", "run"
    written = ui.on_export()
    assert written == offline_env / "data" / f"mine-{result.run_id}.csv"
    assert list(pd.read_csv(written, keep_default_na=False)["word"]) == ["bank"]
    assert str(written) in ui.export_info.value and "Wrote 1 entries" in ui.export_info.value
    ui.export_format.value, ui.export_scope.value = "jsonl", "store"
    written = ui.on_export()
    assert written == offline_env / "data" / "mine-entries.jsonl"
    assert len(written.read_text().splitlines()) == 3


def test_the_notebooks_parameters_are_the_run_settings_with_their_defaults():
    """The parameters cell names each setting as RunConfig declares it (so papermill -p NAME
    means what --NAME means), with the same default, and Workbench takes every one."""
    notebook = json.loads(Path(__file__).parents[1].joinpath("notebooks/run.ipynb").read_text())
    cell = next(c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", []))
    values = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse("".join(cell["source"])).body
        if isinstance(node, ast.Assign)
    }
    declared = settings()
    assert set(values) - {"words", "dry_run"} <= set(declared)
    for name, value in values.items():
        if name in declared:
            assert value == declared[name].default, name
    accepted = inspect.signature(Workbench).parameters
    assert set(declared) | {"words", "dry_run"} <= set(accepted)
    with pytest.raises(UsageError, match="unknown setting 'batchsize'"):
        Workbench(batchsize=10)


def test_every_setting_is_a_parameter_of_run_notebook_passed_to_the_workbench():
    """papermill -p NAME works for every setting: the parameters cell names it and the next cell
    hands it to the Workbench."""
    notebook = json.loads(Path(__file__).parents[1].joinpath("notebooks/run.ipynb").read_text())
    at = next(
        i for i, c in enumerate(notebook["cells"]) if "parameters" in c["metadata"].get("tags", [])
    )
    parameters = ast.parse("".join(notebook["cells"][at]["source"]))
    named = {node.targets[0].id for node in parameters.body if isinstance(node, ast.Assign)}
    call = next(
        node
        for node in ast.walk(ast.parse("".join(notebook["cells"][at + 1]["source"])))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Workbench"
    )
    passed = {keyword.arg for keyword in call.keywords}
    assert set(settings()) <= named and set(settings()) <= passed


def test_every_setting_has_a_field_or_a_named_place_in_the_notebook(offline_env):
    from synthlib.faces.workbench import NOT_FIELDS

    ui = _Widgets(Workbench())
    assert set(ui.fields) | set(NOT_FIELDS) == set(settings())
    assert not set(ui.fields) & set(NOT_FIELDS)
    for name, field in ui.fields.items():
        assert field.tooltip == settings()[name].metadata["help"], name


def test_a_new_setting_gets_a_field_under_more_settings_without_editing_the_workbench(
    offline_env, monkeypatch
):
    from synthlib.faces import workbench
    from synthlib.jobs.config import Choice, setting

    @dataclasses.dataclass
    class Declared:
        colour: str = setting("red", Choice(("red", "blue")), "the entries' colour")

    declared = {**settings(), "colour": dataclasses.fields(Declared)[0]}
    monkeypatch.setattr(workbench, "config_settings", lambda: declared)
    monkeypatch.setattr(workbench, "check_names", lambda given: None)
    ui = _Widgets(Workbench(colour="blue"))
    field = ui.fields["colour"]
    assert field.options == ("red", "blue") and field.value == "blue"
    assert field.description == "Colour" and field.tooltip == "the entries' colour"
    assert field in ui.more_settings.children[0].children
    field.value = "red"
    ui._apply()
    assert ui.bench.params["colour"] == "red"


def test_more_settings_reach_the_run(offline_env):
    ui = _Widgets(Workbench(words=["apple"], unreachable_after=30))
    assert ui.more_settings.selected_index is None  # folded: the screen looks as it did
    assert ui.fields["unreachable_after"].value == "30"
    ui.fields["lost_results"].value = "give_up"
    ui.fields["poll_interval"].value = "0.5"
    ui.fields["grounding"].value = True
    ui.fields["max_attempts"].value = 5
    ui._apply()
    config = ui.bench.config()
    assert (config.lost_results, config.poll_interval, config.grounding) == ("give_up", 0.5, True)
    assert (config.max_attempts, config.unreachable_after) == (5, 30.0)
    ui.fields["poll_interval"].value = ""  # blank: the default again
    ui._apply()
    assert ui.bench.config().poll_interval is None


def test_a_field_that_is_not_a_number_is_a_visible_error(offline_env):
    ui = _Widgets(Workbench(words=["apple"]))
    ui.fields["unreachable_after"].value = "soon"
    assert ui.on_estimate() is None
    assert "Unreachable after" in ui.notice.value and "sl-error" in ui.notice.value


def test_a_model_priced_through_prices_is_in_the_model_dropdown(offline_env):
    """A model only ``prices=`` knows was a TraitError of the Model dropdown."""
    prices = {"my-model": {"input": 1.0, "cached_input": 0.5, "output": 2.0}}
    ui = _Widgets(Workbench(words=["apple"], provider="openai", model="my-model", prices=prices))
    assert ui.model.value == "my-model" and "gpt-4o-mini" in ui.model.options
    ui._apply()
    assert ui.bench.config().price.input == 1.0
