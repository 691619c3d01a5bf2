"""The model pilot in the notebook: a sample of the word list on several models, compared side by
side, before the whole list is spent on one (:mod:`synthlib.jobs.pilots` does the work).

:class:`PilotView` is the JupyterLab face: the models (a comma list), the sample's size and seed,
Run pilot and Stop pilot (the pilot runs in a background thread; the view is redrawn as each
model's run ends), the comparison (one column per model: tokens per word, cost per 1,000 words,
the whole list's projected cost, valid entries, failures by reason, senses, examples, wall time,
marks), a word picker and that word's entry cards side by side, one per model, each with a
**Better** toggle (the mark is saved with the pilot, and the tally shown), and **Run the whole
list on <model>**, which hands the model to the workbench's Run (the words the pilot made with
it are copied, not sent again). The workbench shows the view in its "Pilot: compare models first"
section; :func:`synthlib.faces.workbench.show_pilot` shows it alone (``notebooks/pilot.ipynb``),
with the workbench's widgets below it for the full run. Headless (papermill, nbmake)
:func:`run_headless` runs the pilot from the parameters and prints the comparison.

Below the workbench: the view takes the workbench it serves as a :class:`Bench` and never imports
:mod:`.workbench`; the workbench imports it for its pilot section.
"""

from __future__ import annotations

import contextlib
import functools
import html
import math
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from ..core.errors import SynthlibError, UsageError, worded
from ..core.words import read_words
from ..engine.progress import Phase, Progress
from ..jobs.pilots import (
    DEFAULT_SAMPLE,
    NOTHING_TO_SEND,
    OFFLINE,
    ModelReport,
    Pilot,
    PilotPlan,
    latest_pilot,
    pilot_options,
    prepare_pilot,
    provider_of,
    run_pilot,
)
from ..providers import registry
from .notebook import EXAMPLE_WORDS, chosen_words, money, words_html
from .review import card_html
from .wording import WORKBENCH

if TYPE_CHECKING:
    from ..jobs.job import Job


class Bench(Protocol):
    """What the pilot takes from a workbench (:class:`synthlib.faces.workbench.Workbench` is
    one): its word list and run settings, and the widgets that run the whole list on a model."""

    params: dict[str, Any]
    words: Any
    words_name: str | None

    def run_widgets(self) -> RunWidgets: ...


class RunWidgets(Protocol):
    """The workbench's widgets, as the pilot drives them: their settings applied to the bench,
    and Run on the chosen model."""

    box: Any

    def _apply(self) -> None: ...

    def run_on(self, model: str) -> Job | None: ...


# Run settings the pilot does not take from the workbench: it sets model, provider and checkpoint
# for each model itself; starting over, redoing and an imported checkpoint are about the whole
# list's run, not the sample's.
NOT_FOR_PILOT = frozenset({"model", "provider", "checkpoint", "fresh", "redo", "import_checkpoint"})

# (key, label) of the comparison's rows, in order
FIGURES = (
    ("state", "state"),
    ("provider", "provider"),
    ("valid", "valid entries"),
    ("failures", "failures"),
    ("input", "input tokens/word"),
    ("output", "output tokens/word"),
    ("per_1000", "cost/1,000 words"),
    ("projected", "projected cost"),
    ("senses", "senses/entry"),
    ("examples", "examples/sense"),
    ("showing", "examples showing the word"),
    ("findings", "audit findings/100 entries"),
    ("wall", "wall time"),
    ("marks", "marked better"),
)
TABLE_EVERY = 0.5  # seconds between redraws of the comparison while models run
FRAME_COLUMNS = ["word", "model", "ok", "failure", "senses", "examples", "first_definition"]


# --- the library calls, shared by the widgets and the headless run ------------------------------


def plan_pilot(
    bench: Bench,
    *,
    models: str | Iterable[str],
    sample: int = DEFAULT_SAMPLE,
    sample_file: str | None = None,
    seed: int = 0,
) -> PilotPlan:
    """The pilot of ``bench``'s word list on ``models``, with ``bench``'s run settings (store,
    batch size, max cost, poll interval, ...) but for those in :data:`NOT_FOR_PILOT`."""
    shared = {k: v for k, v in bench.params.items() if k not in NOT_FOR_PILOT}
    return prepare_pilot(
        bench.words,
        words_name=bench.words_name,
        models=models,
        sample=sample,
        sample_file=sample_file,
        seed=seed,
        **shared,
    )


def comparison_frame(
    pilot: Pilot,
    order: Sequence[str] = (),
    progress: Mapping[str, Progress] | None = None,
    *,
    running: bool = False,
) -> pd.DataFrame:
    """:meth:`Pilot.comparison` for reading: one column per model (those in ``order`` first, in
    that order), one row per figure, as text (money as dollars, shares as percentages, the
    offline provider's costs as "free"). The first row is each model's state as it is: queued,
    running (with ``progress``'s counts), done, stopped, or failed with its reason; a model
    without results yet shows no figures ("–"), not zeros. ``running``: the pilot is going."""
    raw = pilot.comparison()
    columns: dict[str, list[str]] = {}
    for model in ordered_models(pilot, order):
        row = raw.loc[model]
        assert isinstance(row, pd.Series)  # the comparison has one row per model
        report = pilot.reports[model]
        state = model_state(report, (progress or {}).get(model), running=running)
        if report.phase not in ENDED_WITH_RESULTS:
            shown = dict.fromkeys((key for key, _ in FIGURES), "–")
            shown.update(state=state, provider=str(row["provider"]))
            columns[model] = [shown[key] for key, _ in FIGURES]
            continue
        free = not registry.paid(report.provider)
        shown = {
            "state": state,
            "provider": str(row["provider"]),
            "valid": f"{row['valid']:.0%} ({report.entries:,} of {report.words:,})",
            "failures": row["failures"] or "none",
            "input": f"{row['input tokens/word']:,.0f}",
            "output": f"{row['output tokens/word']:,.0f}",
            "per_1000": "free" if free else money(float(row["cost/1,000 words"])),
            "projected": "free" if free else projected_text(report),
            "senses": f"{row['senses/entry']:.1f}",
            "examples": f"{row['examples/sense']:.1f}",
            "showing": f"{row['examples showing word']:.0%}",
            "findings": "–"
            if _missing(row.get("findings/100 entries"))
            else (f"{row['findings/100 entries']:.1f}"),
            "wall": f"{row['wall s']:,.1f} s",
            "marks": f"{int(row['marked better']):,}",
        }
        columns[model] = [shown[key] for key, _ in FIGURES]
    labels = [_label(pilot, key, text) for key, text in FIGURES]
    return pd.DataFrame(columns, index=labels, dtype=object)


# phases after which a model's report holds its figures
ENDED_WITH_RESULTS = frozenset({Phase.FINISHED, Phase.INTERRUPTED, Phase.BUDGET})


def model_state(
    report: ModelReport, progress: Progress | None = None, *, running: bool = False
) -> str:
    """A model's state in a word or a few: queued, running 12 of 20 words, done, stopped (12 of
    20), stopped at max cost, failed: <why>; "not run" when no pilot is going."""
    if report.phase == Phase.FAILED:
        return f"failed: {report.error}" if report.error else "failed"
    if running and progress is not None and progress.phase in (Phase.RUNNING, Phase.STOPPING):
        verb = "stopping" if progress.phase == Phase.STOPPING else "running"
        flying = f", {progress.in_flight:,} in flight" if progress.in_flight else ""
        return f"{verb}: {progress.resolved:,} of {progress.total:,} words{flying}"
    if report.phase == Phase.FINISHED:
        return "done"
    if report.phase == Phase.INTERRUPTED:
        return f"stopped ({report.entries + sum(report.failures.values()):,} of {report.words:,})"
    if report.phase == Phase.BUDGET:
        return "stopped at max cost"
    if running and report.phase == Phase.NOT_RUN:
        return "queued" if progress is None else "running"
    return report.phase


def best_models(pilot: Pilot) -> dict[str, str]:
    """The figure's key -> the model that is best at it, where one model clearly is: the most
    valid entries, the lowest paid projection, the most examples showing the word, the most
    marks."""
    reports = [r for r in pilot.reports.values() if r.words and r.phase in ENDED_WITH_RESULTS]
    tally = pilot.tally()
    found: dict[str, str] = {}

    def one_best(key: str, value: Callable[[ModelReport], float | None], *, low: bool) -> None:
        scored = [(v, r.model) for r in reports if (v := value(r)) is not None]
        if len(scored) < 2:
            return
        scored.sort(reverse=not low)
        if scored[0][0] != scored[1][0]:
            found[key] = scored[0][1]

    one_best("valid", lambda r: r.valid_share, low=False)
    one_best(
        "projected",
        lambda r: r.projected_cost_usd if registry.paid(r.provider) else None,
        low=True,
    )
    one_best("showing", lambda r: r.examples_showing_word if r.entries else None, low=False)
    one_best("findings", lambda r: r.findings_per_100 if r.entries else None, low=True)
    one_best("marks", lambda r: tally.get(r.model, 0), low=False)
    return found


def comparison_html(
    pilot: Pilot,
    order: Sequence[str] = (),
    progress: Mapping[str, Progress] | None = None,
    *,
    running: bool = False,
) -> str:
    """The comparison as an HTML table, one column per model; the best model of a figure bold
    (see :func:`comparison_frame` for ``progress`` and ``running``)."""
    frame = comparison_frame(pilot, order, progress, running=running)
    best = best_models(pilot)
    head = "".join(f"<th>{html.escape(m)}</th>" for m in frame.columns)
    rows = []
    for (key, _), (label, values) in zip(FIGURES, frame.iterrows(), strict=True):
        cells = "".join(
            f"<td class='sl-best'>{html.escape(str(v))}</td>"
            if best.get(key) == model
            else f"<td>{html.escape(str(v))}</td>"
            for model, v in values.items()
        )
        rows.append(f"<tr><th>{html.escape(str(label))}</th>{cells}</tr>")
    return (
        f"<table class='sl-pilot-table'><thead><tr><th></th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def ordered_models(pilot: Pilot, order: Sequence[str] = ()) -> list[str]:
    """The pilot's models, those in ``order`` (the models field's) first and in that order: a
    pilot's record lists them as their runs ended."""
    first = [m for m in order if m in pilot.reports]
    return first + [m for m in pilot.models if m not in first]


def tally_text(pilot: Pilot, order: Sequence[str] = ()) -> str:
    """The marks as one line: ``Marked better: a 2, b 1, offline 0 (3 of 7 words marked)``."""
    tally = pilot.tally()
    counts = ", ".join(f"{m} {tally.get(m, 0):,}" for m in ordered_models(pilot, order))
    marked = sum(tally.values())
    return f"Marked better: {counts} ({marked:,} of {len(pilot.sample):,} words marked)"


def pilot_line(pilot: Pilot) -> str:
    """What the pilot is: its id, sample and list, and where the sample came from."""
    source = f"given by {pilot.sample_name}" if pilot.sample_name else "drawn by frequency band"
    return (
        f"Pilot {pilot.id}: {len(pilot.sample):,} of the {pilot.list_words:,} words of "
        f"{pilot.list_name}, {source}"
    )


def report_line(report: ModelReport) -> str:
    """One model's run, as it ends."""
    if report.phase == Phase.FAILED:
        return f"{report.model}: failed: {report.error or 'see the message below'}"
    failed = sum(report.failures.values())
    line = (
        f"{report.model}: {report.entries:,} of {report.words:,} words have entries"
        f"{f', {failed:,} failed' if failed else ''} in {report.wall_seconds:,.1f} s"
    )
    return line if report.phase == Phase.FINISHED else f"{line} ({report.phase})"


def run_headless(
    bench: Bench,
    *,
    models: str | Iterable[str] = OFFLINE,
    sample: int = DEFAULT_SAMPLE,
    sample_file: str | None = None,
    seed: int = 0,
) -> Pilot:
    """Run the pilot from the parameters and print it: each model as it ends, the comparison,
    the tally and the first words' rows of :meth:`Pilot.frame`."""
    from IPython.display import display

    plan = plan_pilot(bench, models=models, sample=sample, sample_file=sample_file, seed=seed)
    print(f"{pilot_line(plan.record)}; models: {', '.join(plan.configs)}", flush=True)
    if plan.nothing_to_send():
        print(NOTHING_TO_SEND, flush=True)
    record = run_pilot(plan, on_model_done=lambda r: print(report_line(r), flush=True))
    order = list(plan.configs)
    print(f"Comparison (projected cost: {PROJECTION_NOTE}):")
    with pd.option_context("display.max_colwidth", None):
        display(comparison_frame(record, order))
    print(tally_text(record, order))
    rows = record.frame()
    shown = rows[rows["word"].isin(record.sample[:3])][FRAME_COLUMNS]
    print(f"The first words, one row per word and model (pilot.frame() has all {len(rows):,}):")
    with pd.option_context("display.max_colwidth", 80):
        display(shown.reset_index(drop=True))
    return record


PROJECTION_NOTE = (
    "the whole list at batch prices, from the pilot's billed tokens per sample word (failures "
    "included); in brackets, the 90% bootstrap band of the sample's words"
)


def projected_text(report: ModelReport) -> str:
    """The projected cost and its band, e.g. ``$0.2012 ($0.1944–$0.2058)``; "–" when none."""
    cost, low, high = report.projected_cost_usd, report.projected_low_usd, report.projected_high_usd
    if cost is None or _missing(cost):
        return "–"
    if low is None or high is None or _missing(low) or _missing(high) or low == high:
        return money(cost)
    return f"{money(cost)} ({money(low)}–{money(high)})"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _label(pilot: Pilot, key: str, text: str) -> str:
    if key == "projected":
        return f"projected cost, {pilot.list_words:,} words"
    return text


# --- the widgets ---------------------------------------------------------------------------------

_CSS = """<style>
.synthlib-pilot .sl-muted {color: var(--jp-ui-font-color2)}
.synthlib-pilot .sl-error {color: var(--jp-error-color1, #b00020)}
.synthlib-pilot .sl-warn {color: var(--jp-warn-color1, #9a6700)}
.synthlib-pilot .widget-html-content {white-space: normal; line-height: 1.4}
.synthlib-pilot .sl-pilot-table {border-collapse: collapse; margin: 4px 0;
  font-variant-numeric: tabular-nums}
.synthlib-pilot .sl-pilot-table th, .synthlib-pilot .sl-pilot-table td {
  padding: 2px 14px 2px 0; white-space: nowrap; line-height: 20px}
.synthlib-pilot .sl-pilot-table thead th {text-align: right;
  border-bottom: 1px solid var(--jp-border-color2)}
.synthlib-pilot .sl-pilot-table tbody th {text-align: left; font-weight: normal;
  color: var(--jp-ui-font-color2)}
.synthlib-pilot .sl-pilot-table td {text-align: right}
.synthlib-pilot .sl-pilot-table td.sl-best {font-weight: bold}
.synthlib-pilot .sl-slot {border: 1px solid var(--jp-border-color2); border-radius: 6px;
  padding: 4px}
.synthlib-pilot .sl-slot.sl-marked {border: 2px solid var(--jp-success-color1, #2e7d32)}
.synthlib-pilot .sl-slot-head {font-size: 1.05em; line-height: 1.3}
.synthlib-pilot .sl-slot-detail {font-size: .85em; overflow-wrap: anywhere}
.synthlib-pilot .synthlib-card {max-width: none; border: none; padding: .3em .5em}
.synthlib-pilot .sl-no-entry {padding: .6em .5em; color: var(--jp-ui-font-color2)}
.synthlib-pilot .sl-upload {font-size: 0}
.synthlib-pilot .sl-upload i, .synthlib-pilot .sl-upload::after {
  font-size: var(--jp-widgets-font-size)}
.synthlib-pilot .sl-upload::after {content: "Upload words"; margin-left: 4px}
</style>"""


def _action(method: Callable[..., Any]) -> Callable[..., Any]:
    """A user's action: one at a time (JupyterLab may deliver widget messages on two threads),
    it replaces the previous notice, and its error shows in the notice line instead of being
    lost in the kernel's log."""

    @functools.wraps(method)
    def act(self: PilotView, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self._say("")
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:
                self._error(exc)
                return None

    return act


@dataclass
class _Slot:
    """One model's place beside the others: its name and figures, the Better toggle, the card."""

    box: Any
    head: Any
    better: Any
    card: Any


class PilotView:
    """The pilot in JupyterLab (see the module docstring). ``bench`` is the workbench whose
    word list and settings the pilot uses and whose Run the chosen model is handed to (a
    :class:`~synthlib.faces.workbench.Workbench`). ``host``: the workbench's widgets when the
    view is their pilot section; without one, the view stands alone and the bench's
    :meth:`~Bench.run_widgets` are made, below the view, when a model is chosen. ``models`` is
    the models field's first value (default: the workbench's model and offline; offline alone
    when no OpenAI key is set). The latest pilot beside the store is shown at once, marks and
    all."""

    def __init__(
        self,
        bench: Bench,
        *,
        models: str | Iterable[str] | None = None,
        sample: int = DEFAULT_SAMPLE,
        sample_file: str | None = None,
        seed: int = 0,
        host: RunWidgets | None = None,
    ) -> None:
        import ipywidgets as w

        self.workbench: RunWidgets | None = host
        self.bench: Bench = bench
        self.sample_file = sample_file
        options = pilot_options()
        models_given = models is not None and models != OFFLINE  # as the notebook ships it
        if models is None:  # without its provider's key the model would only fail: offline alone
            paid = registry.spec_for_model(self.bench.params["model"]).key() is not None
            models = [self.bench.params["model"], OFFLINE] if paid else [OFFLINE]
        shown_models = models if isinstance(models, str) else ", ".join(models)
        self.pilot: Pilot | None = None
        self._entries: dict[tuple[str, str], Any] = {}
        self._failures: dict[tuple[str, str], Any] = {}
        self._lock = threading.RLock()
        self._busy = False
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._quiet = False  # while the view sets a widget's value itself
        self._chosen_by_hand = False
        self._done: list[str] = []
        self._order: list[str] = []  # the models field's order, for a pilot run here
        self._progress: dict[str, Progress] = {}  # each model's run as it goes
        self._last_table = 0.0

        where = (
            "the word list (above) on each model, with the settings above"
            if self.workbench is not None
            else "the word list on each model"
        )
        self.intro = w.HTML(
            _CSS + f"<span class='sl-muted'>A sample of {where}; each model's run is an "
            "ordinary run, resumed if stopped. Compare the figures and the entries, mark the "
            "better entry of a word, then run the whole list on the model you choose.</span>"
        )
        # standing alone (pilot.ipynb), the view has its own word list field: a path or an upload
        self._initial_words = self.bench.words
        self._uploaded: tuple[str, bytes] | None = None
        given = self.bench.words if isinstance(self.bench.words, str | Path) else None
        self.words_path = w.Text(
            value="" if given is None or given == EXAMPLE_WORDS else str(given),
            description="Word list",
            placeholder="a path, e.g. examples/words.txt (Enter to use); empty: the example list",
            continuous_update=False,
            layout=w.Layout(width="460px"),
        )
        self.words_path.style.description_width = "60px"
        self.words_upload = w.FileUpload(
            accept=".txt,.csv,.tsv,.jsonl,.json",
            multiple=False,
            description="Upload words",
            tooltip="A word list: .txt, .csv, .tsv, .jsonl or .json",
        )
        self.words_upload.add_class("sl-upload")  # its label without the "(1)" count: see _CSS
        self.words_info = w.HTML()
        self.words_row = w.HBox(
            [self.words_path, self.words_upload, self.words_info],
            layout=w.Layout(align_items="center"),
        )
        self.models = w.Text(
            value=shown_models,
            description="Models",
            tooltip=options["models"].metadata["help"],
            placeholder="e.g. gpt-4o-mini, gpt-4.1-mini, offline",
            continuous_update=False,
            layout=w.Layout(width="460px"),
        )
        self.sample = w.BoundedIntText(
            value=sample,
            min=options["sample"].metadata["kind"].least,
            max=1_000_000,
            description="Sample",
            tooltip=options["sample"].metadata["help"],
            layout=w.Layout(width="170px"),
        )
        self.seed = w.BoundedIntText(
            value=seed,
            min=options["seed"].metadata["kind"].least,
            max=2**31 - 1,
            description="Seed",
            tooltip=options["seed"].metadata["help"],
            layout=w.Layout(width="150px"),
        )
        if sample_file is not None:  # the sample is the file's words: nothing is drawn
            self.sample.disabled = self.seed.disabled = True
            self.sample.tooltip = self.seed.tooltip = f"the sample is the words of {sample_file}"
        for labelled in (self.models, self.sample, self.seed):
            labelled.style.description_width = "60px"
        self.run_button = w.Button(description="Run pilot", button_style="success", icon="play")
        self.stop_button = w.Button(
            description="Stop pilot", button_style="warning", icon="stop", disabled=True
        )
        self.status = w.HTML(
            "<span class='sl-muted'>No pilot yet: set the models and press Run pilot.</span>"
        )
        self.notice = w.HTML()
        self.table = w.HTML()
        self.tally = w.HTML()
        self.word = w.Dropdown(description="Word", layout=w.Layout(width="260px"))
        self.word.style.description_width = "60px"
        self.previous = w.Button(
            icon="chevron-left", tooltip="previous word", layout=w.Layout(width="40px")
        )
        self.next = w.Button(
            icon="chevron-right", tooltip="next word", layout=w.Layout(width="40px")
        )
        self.position = w.HTML()
        self.slots: dict[str, _Slot] = {}
        self.cards = w.HBox(layout=w.Layout(width="100%", align_items="flex-start", grid_gap="8px"))
        self.choice = w.Dropdown(description="Choose", layout=w.Layout(width="260px"))
        self.choice.style.description_width = "60px"
        self.choose_button = w.Button(
            description="Run the whole list on ...",
            button_style="primary",
            icon="play",
            disabled=True,
            layout=w.Layout(width="auto"),
        )
        self.choose_info = w.HTML()
        self.full_run = w.VBox()  # the workbench, when the view stands alone

        # shown once a pilot has a model's entries
        self.word_row = w.HBox(
            [self.word, self.previous, self.next, self.position], layout=w.Layout(display="none")
        )
        self.choose_row = w.HBox([self.choice, self.choose_button], layout=w.Layout(display="none"))
        self.cards.layout.display = "none"

        self.run_button.on_click(lambda _: self.on_run())
        self.stop_button.on_click(lambda _: self.on_stop())
        self.word.observe(lambda _: None if self._quiet else self.on_word(), names="value")
        self.previous.on_click(lambda _: self.step(-1))
        self.next.on_click(lambda _: self.step(+1))
        self.choice.observe(lambda _: self.on_choice(), names="value")
        self.choose_button.on_click(lambda _: self.on_choose())

        # inside the workbench the view uses the workbench's word list: no second field on the page
        alone = [self.words_row] if self.workbench is None else []
        self.box = w.VBox(
            [
                self.intro,
                *alone,
                w.HBox([self.models, self.sample, self.seed]),
                w.HBox([self.run_button, self.stop_button]),
                self.status,
                self.notice,
                self.table,
                self.tally,
                self.word_row,
                self.cards,
                self.choose_row,
                self.choose_info,
                self.full_run,
            ]
        )
        for widget, name in (
            (self.models, "pilot-models"),
            (self.sample, "pilot-sample"),
            (self.seed, "pilot-seed"),
            (self.status, "pilot-status"),
            (self.notice, "pilot-notice"),
            (self.table, "pilot-comparison"),
            (self.tally, "pilot-tally"),
            (self.word, "pilot-word"),
            (self.position, "pilot-position"),
            (self.cards, "pilot-cards"),
            (self.choice, "pilot-choice"),
            (self.choose_info, "pilot-choose-info"),
            (self.words_path, "pilot-words"),
            (self.words_info, "pilot-words-info"),
        ):
            widget.add_class(f"sl-{name}")
        self.box.add_class("synthlib-pilot")
        self.words_path.observe(lambda _: self.on_words_path(), names="value")
        self.words_upload.observe(lambda _: self.on_words_upload(), names="value")
        given_fields = _fields_key(self.bench, shown_models, sample, seed)
        self._given = given_fields
        self._show_latest()
        untouched = sample == DEFAULT_SAMPLE and seed == 0 and not models_given
        self._restore_fields(given_fields, follow_pilot=untouched)
        for field_ in (self.models, self.sample, self.seed):
            field_.observe(lambda _: self._remember(), names="value")
        self._show_words()

    def display(self) -> None:
        from IPython.display import display

        display(self.box)

    # --- the word list and the fields (standing alone) ----------------------------------------

    def _words_source(self) -> tuple[Any, str | None]:
        """The word list in use: the typed path, else the upload, else the notebook's."""
        return chosen_words(self.words_path.value, self._uploaded, self._initial_words)

    def _show_words(self) -> None:
        if self.workbench is not None:
            return
        self.words_info.value = words_html(
            self.words_path.value, self._uploaded, self._initial_words, compact=True
        )

    @_action
    def on_words_path(self) -> None:
        if self.words_path.value.strip():
            self._uploaded = None  # a typed path replaces an upload
        self._show_words()
        self._remember()

    @_action
    def on_words_upload(self) -> None:
        files = self.words_upload.value
        if not files:
            return
        upload = files[0] if isinstance(files, list | tuple) else next(iter(files.values()))
        name, data = upload["name"], bytes(upload["content"])
        read_words(data, name=name)  # a bad file is an error here, not at Run pilot
        self._uploaded = (name, data)
        self.words_path.value = ""  # an upload replaces a typed path
        self.words_upload.value = ()  # the view keeps the bytes; the widget needs no copy
        self._show_words()
        self._remember()

    def _apply_words(self) -> None:
        if self.workbench is None:
            self.bench.words, self.bench.words_name = self._words_source()

    def _remember(self) -> None:
        """Keep the fields for a view made again by re-running the notebook's cells."""
        _REMEMBERED[_store_key(self.bench)] = (
            self._given,
            {
                "models": self.models.value,
                "sample": self.sample.value,
                "seed": self.seed.value,
                "words_path": self.words_path.value,
                "uploaded": self._uploaded,
            },
        )

    def _restore_fields(self, given: tuple[Any, ...], *, follow_pilot: bool) -> None:
        """The fields as the user left them when the cells ran before with the same parameters
        (this kernel); else, with the parameters as the notebook ships them (``follow_pilot``)
        and the latest pilot shown, its models and sample, so that the fields and the table
        agree; else the parameters."""
        remembered = _REMEMBERED.get(_store_key(self.bench))
        if remembered is not None and remembered[0] == given:
            fields = remembered[1]
            self.models.value = fields["models"]
            self.sample.value = fields["sample"]
            self.seed.value = fields["seed"]
            if self.workbench is None:
                self._uploaded = fields["uploaded"]
                self.words_path.value = fields["words_path"]
            return
        pilot = self.pilot
        if follow_pilot and pilot is not None and pilot.reports:
            self.models.value = ", ".join(pilot.models)
            self.sample.value = max(1, len(pilot.sample))

    # --- running the pilot -------------------------------------------------------------------

    @_action
    def on_run(self) -> threading.Thread | None:
        """Run pilot: the pilot of the models field in a background thread."""
        if self._busy:
            self._say("The pilot is running already: Stop pilot, or wait for it to end.", warn=True)
            return None
        if self.workbench is not None:
            self.workbench._apply()  # the word list and settings as the workbench shows them
        self._apply_words()
        plan = plan_pilot(
            self.bench,
            models=self.models.value,
            sample=self.sample.value,
            sample_file=self.sample_file,
            seed=self.seed.value,
        )
        self._busy = True
        self._set_running(True)
        self._stop = stop = threading.Event()
        self._done = []
        self._progress = {}
        self._order = list(plan.configs)
        self._show(plan.record)
        self._status_running(plan)
        self._thread = threading.Thread(
            target=self._run, args=(plan, stop), daemon=True, name="synthlib-pilot"
        )
        self._thread.start()
        return self._thread

    def _run(self, plan: PilotPlan, stop: threading.Event) -> None:
        failure: BaseException | None = None
        try:
            run_pilot(
                plan,
                on_model_done=lambda r: self._model_done(plan, r),
                stop=stop,
                on_progress=self._on_progress,
            )
        except BaseException as exc:
            failure = exc
        with self._lock:
            try:
                self._show(plan.record)
            except Exception as exc:  # a daemon thread's error would be lost: show it
                failure = failure or exc
            finally:
                self._busy = False
                self._set_running(False)
            with contextlib.suppress(Exception):  # the states as they are now nothing runs
                self._draw_table()
            line = html.escape(pilot_line(plan.record))
            if failure is not None:
                self._error(failure)
                self.status.value = (
                    f"{line}. <b>The pilot failed</b> (what ran is kept): see the message below."
                )
                return
            reports = [plan.record.reports[m] for m in self._models()]
            ended = all(r.phase == Phase.FINISHED for r in reports)
            what = "<b>Finished</b>" if ended else "<b>Stopped</b> (Run pilot resumes it)"
            done = html.escape("; ".join(report_line(r) for r in reports))
            self.status.value = f"{line}. {what}: {done}."

    def _model_done(self, plan: PilotPlan, report: ModelReport) -> None:
        """A model's run ended (on the pilot's thread): its column, cards and choice appear."""
        with self._lock:
            self._done.append(report.model)
            try:
                self._show(plan.record)
                self._status_running(plan)
            except Exception as exc:  # the other models' runs go on
                self._error(exc)

    def _on_progress(self, model: str, progress: Progress) -> None:
        """A model's run moved (on its run's thread): its state in the comparison, redrawn at
        most every TABLE_EVERY seconds, and never waiting for the view's other work."""
        self._progress[model] = progress
        now = time.monotonic()
        if now - self._last_table < TABLE_EVERY and progress.phase == Phase.RUNNING:
            return
        if not self._lock.acquire(blocking=False):
            return  # the view is busy drawing: the next step draws this one too
        try:
            self._last_table = now
            self._draw_table()
        except Exception as exc:  # the runs go on
            self._error(exc)
        finally:
            self._lock.release()

    def _status_running(self, plan: PilotPlan) -> None:
        going = [m for m in plan.configs if m not in self._done]
        done = [report_line(plan.record.reports[m]) for m in self._done]
        parts = [f"{html.escape(pilot_line(plan.record))}."]
        if going:
            parts.append(f"<b>Running</b> on {html.escape(', '.join(going))}...")
        if done:
            parts.append(f"Ended: {html.escape('; '.join(done))}.")
        self.status.value = " ".join(parts)

    @_action
    def on_stop(self) -> None:
        if not self._busy or self._stop is None:
            self._say("No pilot is running.")
            return
        self._stop.set()
        self.status.value += (
            " <span class='sl-warn'>Stopping after the step in hand; Run pilot resumes it.</span>"
        )

    def wait(self, timeout: float | None = None) -> Pilot | None:
        """Wait for the pilot's thread (for tests and scripts); the pilot shown."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.pilot

    # --- showing a pilot ---------------------------------------------------------------------

    def _show_latest(self) -> None:
        try:
            found = latest_pilot(self.bench.params["store"])
        except SynthlibError as exc:
            self._error(exc)
            return
        if found is None or not found.reports:
            return
        self._show(found)
        self.status.value = (
            f"The last pilot beside the store: {html.escape(pilot_line(found))}, on "
            f"{html.escape(', '.join(found.models))}. Run pilot with the same list, sample and "
            "seed resumes it; other models are added to it."
        )

    def _show(self, pilot: Pilot) -> None:
        """Draw ``pilot``: the comparison, the tally, the word picker, the cards and the choice."""
        self.pilot = pilot
        if pilot.reports:
            self._entries, self._failures = pilot.entries(), pilot.failures()
        else:
            self._entries, self._failures = {}, {}
        self._draw_table()
        for row in (self.word_row, self.cards, self.choose_row):
            row.layout.display = None if pilot.reports else "none"
        self._fill_words()
        self._fill_slots()
        self._fill_choice()
        self._draw_cards()
        self._show_tally()

    def _fill_words(self) -> None:
        assert self.pilot is not None
        sample = list(self.pilot.sample) if self.pilot.reports else []
        if list(self.word.options) == sample:
            return
        keep = self.word.value
        self._quiet = True
        try:
            self.word.options = sample
            self.word.value = keep if keep in sample else (sample[0] if sample else None)
        finally:
            self._quiet = False

    def _fill_slots(self) -> None:
        import ipywidgets as w

        assert self.pilot is not None
        models = self._models()
        if list(self.slots) == models:
            return
        self.slots = {}
        for model in models:
            head = w.HTML(layout=w.Layout(width="auto"))
            head.add_class("sl-slot-head")
            better = w.ToggleButton(
                description="Better",
                icon="thumbs-up",
                tooltip=f"mark {model}'s entry of this word the better one",
                layout=w.Layout(width="100px", flex="0 0 auto"),
            )
            better.observe(functools.partial(self._on_better, model), names="value")
            card = w.HTML(layout=w.Layout(width="auto"))
            box = w.VBox(
                [w.HBox([head, better], layout=w.Layout(justify_content="space-between")), card],
                layout=w.Layout(flex="1 1 0", min_width="0"),
            )
            box.add_class("sl-slot")
            box.add_class(f"sl-slot-{_css_name(model)}")
            self.slots[model] = _Slot(box, head, better, card)
        self.cards.children = [slot.box for slot in self.slots.values()]

    def _fill_choice(self) -> None:
        assert self.pilot is not None
        reports = [self.pilot.reports[m] for m in self._models()]
        options = [(_choice_label(r), r.model) for r in reports]
        keep = self.choice.value
        self._quiet = True
        try:
            self.choice.options = options
            models = [r.model for r in reports]
            if keep in models and self._chosen_by_hand:
                self.choice.value = keep
            else:
                self.choice.value = _leader(self.pilot, models)
        finally:
            self._quiet = False
        self._label_choose()

    def _label_choose(self) -> None:
        model = self.choice.value
        self.choose_button.disabled = model is None
        self.choose_button.description = f"Run the whole list on {model or '...'}"

    def _draw_cards(self) -> None:
        word = self.word.value
        pilot = self.pilot
        if pilot is None or word is None:
            self.position.value = ""
            return
        at = pilot.sample.index(word) + 1
        self.position.value = (
            f"<span class='sl-muted'>{at:,} of {len(pilot.sample):,} · frequency band "
            f"{pilot.bands.get(word, 0) or 'unknown'}</span>"
        )
        marked = pilot.marks.get(word)
        self._quiet = True
        try:
            for model, slot in self.slots.items():
                record = self._entries.get((word, model))
                slot.head.value = _slot_head(model, pilot.reports.get(model), record)
                slot.card.value = card_html(record) if record else self._no_entry(word, model)
                slot.better.value = marked == model
                slot.better.button_style = "success" if marked == model else ""
                slot.better.disabled = record is None
                if marked == model:
                    slot.box.add_class("sl-marked")
                else:
                    slot.box.remove_class("sl-marked")
        finally:
            self._quiet = False

    def _no_entry(self, word: str, model: str) -> str:
        failure = self._failures.get((word, model))
        report = self.pilot.reports.get(model) if self.pilot else None
        if failure is not None:
            reason = failure.reason or failure.code
            why = reason if reason.startswith(failure.code) else f"{failure.code}: {reason}"
            text = f"No entry: {why}"
        elif report is None or report.phase != Phase.FINISHED:
            text = "No entry yet: this model's run has not ended."
        else:
            text = "No entry."
        return f"<div class='sl-no-entry'>{html.escape(text)}</div>"

    def _show_tally(self) -> None:
        pilot = self.pilot
        shown = tally_text(pilot, self._order) if pilot and pilot.reports else ""
        self.tally.value = f"<b>{html.escape(shown)}</b>" if shown else ""

    def _draw_table(self) -> None:
        pilot = self.pilot
        if pilot is None or not pilot.reports:
            self.table.value = ""
            return
        self.table.value = comparison_html(
            pilot, self._order, self._progress, running=self._busy
        ) + (
            f"<div class='sl-muted'>Projected cost: {PROJECTION_NOTE}. "
            "Bold: the best of a figure.</div>"
        )

    def _models(self) -> list[str]:
        return ordered_models(self.pilot, self._order) if self.pilot else []

    # --- reading and marking -----------------------------------------------------------------

    @_action
    def on_word(self) -> None:
        self._draw_cards()

    @_action
    def step(self, by: int) -> None:
        """Previous (-1) or next (+1) word of the sample."""
        words = list(self.word.options)
        if not words:
            return
        at = words.index(self.word.value) if self.word.value in words else -by
        self.word.value = words[max(0, min(len(words) - 1, at + by))]

    def _on_better(self, model: str, change: dict[str, Any]) -> None:
        if not self._quiet:
            self.on_better(model, bool(change["new"]))

    @_action
    def on_better(self, model: str, better: bool) -> None:
        """The Better toggle of ``model``'s card: mark its entry of the word shown the better
        one (the other cards' marks go), or clear the mark; saved with the pilot."""
        pilot, word = self.pilot, self.word.value
        if pilot is None or word is None:
            return
        if better:
            pilot.mark(word, model)
        elif pilot.marks.get(word) == model:
            pilot.mark(word, None)
        self._after_marking()

    def _after_marking(self) -> None:
        assert self.pilot is not None
        self._draw_cards()
        self._show_tally()
        self._draw_table()
        self._fill_choice()

    # --- choosing ----------------------------------------------------------------------------

    def on_choice(self) -> None:
        if not self._quiet:
            self._chosen_by_hand = True
        self._label_choose()

    @_action
    def on_choose(self) -> Job | None:
        """Run the whole list on the chosen model: the workbench's Provider and Model set to it
        and its Run started; the words this pilot made with it are copied, not sent again."""
        model = self.choice.value
        if self.pilot is None or model is None:
            raise UsageError("no pilot yet: Run pilot first, then choose a model")
        if self._busy:
            raise UsageError("the pilot is still running: wait for it to end, or press Stop pilot")
        workbench = self._workbench()
        job = workbench.run_on(model)
        if job is None:
            self._say("The run did not start: see the workbench's message.", warn=True)
            return None
        copied = [worded(n, WORKBENCH) for n in job.notices if "pilot" in n]
        self.choose_info.value = (
            f"Started the whole list ({len(job.config.words):,} words) on "
            f"<b>{html.escape(model)}</b> ({html.escape(provider_of(model))}): its progress is "
            "at the top of the workbench."
            + "".join(f"<div class='sl-muted'>{html.escape(n)}</div>" for n in copied)
        )
        return job

    def _workbench(self) -> RunWidgets:
        """The workbench's widgets that run the chosen model: the host's, or new ones below."""
        if self.workbench is None:
            self.workbench = self.bench.run_widgets()
            self.full_run.children = [self.workbench.box]
        return self.workbench

    # --- display helpers ---------------------------------------------------------------------

    def _set_running(self, running: bool) -> None:
        self.run_button.disabled = running
        self.stop_button.disabled = not running
        self.choose_button.disabled = running or self.choice.value is None

    def _error(self, exc: BaseException) -> None:
        if isinstance(exc, SynthlibError):
            text = exc.worded(WORKBENCH)
        else:
            text = f"{type(exc).__name__}: {exc}"
            traceback.print_exception(exc)  # the kernel's log keeps the unexpected
        self._say(text, error=True)

    def _say(self, text: str, *, error: bool = False, warn: bool = False) -> None:
        if not text:
            self.notice.value = ""
            return
        style = "sl-error" if error else "sl-warn" if warn else ""
        mark = "&#9888; " if error or warn else ""
        self.notice.value = f"<span class='{style}'>{mark}{html.escape(text)}</span>"


# the fields of the last view per store, for a view made again when the cells are re-run
_REMEMBERED: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}


def _store_key(bench: Bench) -> str:
    """The store the view's pilots sit beside, as one text (a relative default is per folder)."""
    store = str(bench.params.get("store") or "synthlib.db")
    return store if "://" in store else os.path.abspath(store)


def _fields_key(bench: Bench, models: str, sample: int, seed: int) -> tuple[Any, ...]:
    """What the notebook gave the view (its parameters): remembered fields are restored only
    for the same ones (edited parameters win)."""
    words = bench.words if isinstance(bench.words, str | Path) else repr(bench.words)[:200]
    return (str(words), models, sample, seed)


def _leader(pilot: Pilot, models: list[str]) -> str | None:
    """The model of ``models`` most often marked better; the first when none is."""
    tally = pilot.tally()
    if not models:
        return None
    return max(models, key=lambda m: (tally.get(m, 0), -models.index(m)))


def _choice_label(report: ModelReport) -> str:
    if not registry.paid(report.provider):
        return f"{report.model} (free)"
    if report.projected_cost_usd is None:
        return report.model
    return f"{report.model} ({money(report.projected_cost_usd)})"


def _slot_head(model: str, report: ModelReport | None, record: Any) -> str:
    bits = [report.recorded_model if report and report.recorded_model != model else ""]
    bits.append(report.provider if report else provider_of(model))
    bits = [b for b in dict.fromkeys(bits) if b and b != model]
    if record is not None:
        tokens = (record.input_tokens or 0) + (record.output_tokens or 0)
        if tokens:
            bits.append(f"{tokens:,} tokens")
        if record.cost_usd:
            bits.append(money(record.cost_usd))
    detail = html.escape(" · ".join(bits))
    return f"<b>{html.escape(model)}</b><div class='sl-muted sl-slot-detail'>{detail}</div>"


def _css_name(model: str) -> str:
    return "".join(c if c.isalnum() or c == "-" else "-" for c in model)


__all__ = [
    "PilotView",
    "comparison_frame",
    "comparison_html",
    "plan_pilot",
    "run_headless",
    "tally_text",
]
