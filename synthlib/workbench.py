"""The notebook face of synthlib: ipywidgets in JupyterLab, plain output under papermill.

``notebooks/run.ipynb`` only builds a :class:`Workbench` from its parameters and calls
:meth:`Workbench.show`. In a JupyterLab kernel it shows the widgets (upload, settings, Estimate,
Run, Stop, Cancel in-flight batches, live progress) and spends nothing until Run is clicked.
Headless (papermill, nbmake: no Jupyter server session) it runs from the parameters and prints
progress as occasional plain lines, so the output notebook stays small.
"""

from __future__ import annotations

import html
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .config import PROVIDERS, RunConfig
from .cost import Estimate
from .errors import SynthlibError
from .frames import load_entries, load_failures
from .job import Job, RunResult, build_config
from .pricing import DEFAULT_MODEL, PRICES
from .progress import Progress
from .shards import DEFAULT_BATCH_SIZE
from .store import mask_uri

HEADLESS_LINE_EVERY = 30.0
PREVIEW_COLUMNS = ["word", "ipa", "parts_of_speech", "sense_count", "frequency_band",
                   "cefr_level", "provider", "model"]  # fmt: skip


def table(rows: list[tuple[str, str]]) -> pd.DataFrame:
    """(label, value) rows as a two-column frame without header rows to spare."""
    return pd.DataFrame(rows, columns=["item", "value"]).set_index("item").rename_axis(None)


EXAMPLE_WORDS = Path(__file__).resolve().parents[1] / "examples" / "words.txt"


def interactive_session() -> bool:
    """True in a kernel started by a Jupyter server (JupyterLab, Notebook), where widgets show;
    False under papermill, nbmake or a plain Python process."""
    return bool(os.environ.get("JPY_SESSION_NAME"))


def show_errors_in_one_line() -> None:
    """Make a synthlib error in a notebook cell show as one line, not a traceback (the cell still
    fails, so papermill still fails the notebook)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None):
        # published as the cell's error (name, value, a one-line traceback): papermill and
        # nbmake print it on the terminal, where a bare stderr stream would stay in the notebook
        stb = [f"{etype.__name__}: {value}"]
        shell._showtraceback(etype, value, stb)
        return stb

    shell.set_custom_exc((SynthlibError,), handler)


class Workbench:
    """A run's settings plus the displays around it. Parameters mirror ``batch-synthesis``."""

    def __init__(
        self,
        *,
        words: Any = None,
        checkpoint: str | None = None,
        store: str | None = None,
        model: str = DEFAULT_MODEL,
        batch_size: int = DEFAULT_BATCH_SIZE,
        words_per_request: int = 1,
        dry_run: bool = False,
        max_cost: float | None = None,
        provider: str = "auto",
        poll_interval: float | None = None,
        fresh: bool = False,
        import_checkpoint: str | None = None,
        redo: bool = False,
        preview_rows: int = 10,
    ) -> None:
        self.params = {
            "checkpoint": checkpoint,
            "store": store,
            "model": model,
            "batch_size": batch_size,
            "words_per_request": words_per_request,
            "max_cost": max_cost if max_cost else None,
            "provider": provider,
            "poll_interval": poll_interval,
            "fresh": fresh,
            "import_checkpoint": import_checkpoint or None,
            "redo": redo,
        }
        self.words = words if words is not None else EXAMPLE_WORDS
        self.words_name: str | None = None
        self.dry_run = dry_run
        self.preview_rows = preview_rows
        self.job: Job | None = None
        self.result: RunResult | None = None
        self._ui: _Widgets | None = None

    # --- the library calls every face shares ---------------------------------------------------

    def config(self) -> RunConfig:
        return build_config(self.words, words_name=self.words_name, **self.params)

    def estimate(self) -> Estimate:
        from .api import estimate_config

        return estimate_config(self.config())

    def prepare(self, listener: Callable[[Progress, str | None], None] | None = None) -> Job:
        if self.job is not None and not self.job.running:
            self.job.close()  # a job built before (and not running) lets go of the checkpoint
        self.job = Job(self.config(), listener=listener)
        return self.job

    # --- headless ----------------------------------------------------------------------------

    def show(self) -> None:
        """Widgets in JupyterLab; a run from the parameters anywhere else."""
        show_errors_in_one_line()
        if interactive_session():
            self._ui = _Widgets(self)
            self._ui.display()
        else:
            self.run_headless()

    def run_headless(self) -> RunResult | None:
        from IPython.display import display

        estimate = self.estimate()
        for note in estimate.notes:
            print(note)
        print(f"Estimate for {estimate.words_total:,} words ({self.params['model']}):")
        with pd.option_context("display.max_colwidth", None):
            display(table(estimate.rows()))
        if self.dry_run:
            print("Dry run: nothing was sent.")
            return None
        last = [0.0]

        def listener(progress: Progress, message: str | None) -> None:
            now = time.monotonic()
            if now - last[0] >= HEADLESS_LINE_EVERY or progress.phase != "running":
                last[0] = now
                print(progress.line(), flush=True)

        job = self.prepare(listener)
        print(f"Provider: {job.provider}; model: {job.model}; store: {job.store.location}; "
              f"checkpoint: {job.checkpoint.path}")  # fmt: skip
        self.result = job.run()
        self.show_summary()
        return self.result

    def show_summary(
        self,
        show: Callable[[Any], None] | None = None,
        say: Callable[[str], None] = print,
        *,
        progress: bool = True,
    ) -> None:
        """The summary (``progress``: with the status table), failures by reason and an entries
        preview, through ``show`` (IPython's display by default) and ``say``."""
        if show is None:
            from IPython.display import display as show
        result = self.result
        if result is None:
            return
        say({"finished": "Finished.", "interrupted": "Stopped; state saved (run again to "
             "resume).", "budget": "Stopped at max_cost."}[result.phase])  # fmt: skip
        if progress:
            show(table(result.progress.rows()))
        store = self.job.store if self.job else self.params["store"]
        failures = load_failures(store)
        if len(failures):
            say("Failures by reason:")
            show(failures.groupby("code").size().rename("words").to_frame().rename_axis(None))
        entries = load_entries(store)
        say(f"{len(entries):,} entries in {result.store}; a preview:")
        show(entries[PREVIEW_COLUMNS].head(self.preview_rows))


class _Widgets:
    """The JupyterLab workbench: every callback calls the library and only displays."""

    def __init__(self, bench: Workbench) -> None:
        import ipywidgets as w

        self.bench = bench
        p = bench.params
        self.upload = w.FileUpload(accept=".txt,.csv,.tsv,.jsonl,.json", multiple=False,
                                   description="Upload words")  # fmt: skip
        self.path = w.Text(value=str(bench.words) if isinstance(bench.words, str | Path) else "",
                           description="or path", layout=w.Layout(width="420px"))  # fmt: skip
        self.provider = w.Dropdown(options=list(PROVIDERS), value=p["provider"],
                                   description="Provider")  # fmt: skip
        self.model = w.Dropdown(options=sorted(PRICES), value=p["model"], description="Model")
        self.batch_size = w.BoundedIntText(value=p["batch_size"], min=1, max=50_000,
                                           description="Batch size")  # fmt: skip
        self.per_request = w.BoundedIntText(value=p["words_per_request"], min=1, max=20,
                                            description="Words/request")  # fmt: skip
        self.max_cost = w.BoundedFloatText(value=p["max_cost"] or 0.0, min=0.0, max=1e9,
                                           description="Max cost $", step=1.0,
                                           tooltip="0: no limit")  # fmt: skip
        self.store = w.Text(value=mask_uri(p["store"] or "synthlib.db"), description="Store",
                            layout=w.Layout(width="420px"))  # fmt: skip
        self._store_value = p["store"]
        for labelled in (self.path, self.provider, self.model, self.batch_size, self.per_request,
                         self.max_cost, self.store):  # fmt: skip
            labelled.style.description_width = "100px"
        self.estimate_button = w.Button(description="Estimate", icon="calculator")
        self.run_button = w.Button(description="Run", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="warning", icon="stop",
                                    disabled=True)  # fmt: skip
        self.cancel_button = w.Button(description="Cancel in-flight batches", icon="ban",
                                      button_style="danger", disabled=True,
                                      layout=w.Layout(width="200px"))  # fmt: skip
        self.bar = w.IntProgress(value=0, min=0, max=1, description="Words",
                                 layout=w.Layout(width="420px"))  # fmt: skip
        self.status = w.HTML()
        self.estimate_out = w.Output()
        self.log = w.Output(layout=w.Layout(max_height="160px", overflow="auto"))
        self.summary = w.Output()
        self.message = w.HTML()
        self.estimate_button.on_click(lambda _: self.on_estimate())
        self.run_button.on_click(lambda _: self.on_run())
        self.stop_button.on_click(lambda _: self.on_stop())
        self.cancel_button.on_click(lambda _: self.on_stop(cancel=True))
        self.upload.observe(lambda _: self.on_upload(), names="value")
        self._lock = threading.Lock()
        self._one_run = threading.Lock()  # held from Run until that run ended
        self._last_draw = 0.0
        self.box = w.VBox([
            w.HTML("<h3>synthlib workbench</h3>"),
            w.HBox([self.upload, self.path]),
            w.HBox([self.provider, self.model]),
            w.HBox([self.batch_size, self.per_request, self.max_cost]),
            self.store,
            w.HBox([self.estimate_button, self.run_button, self.stop_button, self.cancel_button]),
            self.message,
            self.estimate_out,
            self.bar,
            self.status,
            self.log,
            self.summary,
        ])  # fmt: skip

    def display(self) -> None:
        from IPython.display import display

        display(self.box)

    # --- callbacks ---------------------------------------------------------------------------

    def _apply(self) -> None:
        b = self.bench
        store_text = self.store.value.strip()
        if store_text != mask_uri(self._store_value or "synthlib.db"):
            self._store_value = store_text or None
        b.params.update(
            provider=self.provider.value,
            model=self.model.value,
            batch_size=self.batch_size.value,
            words_per_request=self.per_request.value,
            max_cost=self.max_cost.value or None,
            store=self._store_value,
        )
        if not self.upload.value and self.path.value.strip():
            b.words, b.words_name = self.path.value.strip(), None

    def on_upload(self) -> None:
        files = self.upload.value
        if not files:
            return
        upload = files[0] if isinstance(files, list | tuple) else next(iter(files.values()))
        self.bench.words = bytes(upload["content"])
        self.bench.words_name = upload["name"]
        self.path.value = ""
        self._say(f"Uploaded {html.escape(upload['name'])} ({len(self.bench.words):,} bytes).")

    def on_estimate(self) -> Estimate | None:
        try:
            self._apply()
            estimate = self.bench.estimate()
        except SynthlibError as exc:
            self._say(str(exc), error=True)
            return None
        self.estimate_out.outputs = ()
        with pd.option_context("display.max_colwidth", None):  # formatted right here
            self.estimate_out.append_display_data(table(estimate.rows()))
        lines = [*estimate.notes, f"Checkpoint: {estimate.checkpoint}"]
        self._say("<br>".join(html.escape(line) for line in lines))
        return estimate

    def on_run(self) -> Job | None:
        # ipywidgets calls a handler even when its button is disabled: never a second engine
        if not self._one_run.acquire(blocking=False):
            self._say("A run is going already: Stop it, or wait for it to end.", error=True)
            return None
        try:
            self._apply()
            job = self.bench.prepare(self.on_progress)
        except SynthlibError as exc:
            self._one_run.release()
            self._say(str(exc), error=True)
            return None
        except BaseException:
            self._one_run.release()
            raise
        _install_interrupt_as_stop(job)
        self.run_button.disabled = True
        self.stop_button.disabled = self.cancel_button.disabled = False
        self.summary.outputs = ()
        self._say(f"Running on <b>{job.provider}</b> ({html.escape(job.model)}); "
                  f"checkpoint {html.escape(str(job.checkpoint.path))}.")  # fmt: skip
        for notice in job.notices:
            self.log.append_stdout(f"{time.strftime('%H:%M:%S')} {notice}\n")
        self.bar.max = max(1, len(job.config.words))
        job.start()  # here, not in the waiting thread: the job is running once Run returns
        threading.Thread(target=self._run, args=(job,), daemon=True).start()
        return job

    def _run(self, job: Job) -> None:
        try:
            self.bench.result = job.wait()
        except BaseException as exc:
            self._say(html.escape(str(exc)), error=True)
        finally:
            self._one_run.release()
            self.run_button.disabled = False
            self.stop_button.disabled = self.cancel_button.disabled = True
        # Output widgets capture only the main thread's output: append to them explicitly
        self._say("")
        self.bench.show_summary(
            progress=False,  # the status table above already shows it
            show=self.summary.append_display_data,
            say=lambda text: self.summary.append_stdout(text + "\n"),
        )

    def on_stop(self, *, cancel: bool = False) -> None:
        if self.bench.job is not None:
            self.bench.job.stop(cancel=cancel)
            self._say(
                "Cancelling batches in flight..."
                if cancel
                else "Stopping after the step in hand; batches in flight keep running for the "
                "next resume."
            )

    def on_progress(self, progress: Progress, message: str | None) -> None:
        with self._lock:
            if message:
                self.log.append_stdout(f"{time.strftime('%H:%M:%S')} {message}\n")
            now = time.monotonic()
            if now - self._last_draw < 0.25 and progress.phase == "running" and not message:
                return
            self._last_draw = now
            self.bar.max = max(1, progress.total)
            self.bar.value = progress.resolved
            rows = "".join(
                f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                f"<td style='text-align:right'>{html.escape(v)}</td></tr>"
                for k, v in progress.rows()
            )
            self.status.value = f"<table>{rows}</table>"

    def _say(self, text: str, *, error: bool = False) -> None:
        color = "#b00020" if error else "inherit"
        self.message.value = f"<span style='color:{color}'>{text}</span>" if text else ""


_current_job: list[Job] = []


def _install_interrupt_as_stop(job: Job) -> None:
    """The kernel's interrupt button stops a background run like the Stop button."""
    _current_job[:] = [job]
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGINT)
    if getattr(previous, "_synthlib", False):
        return

    def on_interrupt(signum: int, frame: Any) -> None:
        if _current_job and _current_job[0].running:
            _current_job[0].stop()
        elif callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    on_interrupt._synthlib = True  # type: ignore[attr-defined]
    signal.signal(signal.SIGINT, on_interrupt)
