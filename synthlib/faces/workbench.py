"""The notebook face of synthlib: ipywidgets in JupyterLab, plain output under papermill.

``notebooks/run.ipynb`` only builds a :class:`Workbench` from its parameters and calls
:meth:`Workbench.show`. In a JupyterLab kernel it shows the widgets and spends nothing until Run
is clicked: the run's status and progress on top, then the word list (upload or path), the
settings, the buttons (Estimate, Run, Stop, Cancel in-flight batches, Start over), the model pilot
(folded: :class:`synthlib.faces.pilot_view.PilotView`), the estimate's deciding figures (the whole
table folded), Export, the log and the summary of the last run.
Headless (papermill, nbmake: no Jupyter server session) it runs from the parameters and prints
progress as occasional plain lines, so the output notebook stays small.

``notebooks/pilot.ipynb`` calls :func:`show_pilot`: the pilot view alone, with the workbench's
widgets below it for the full run. The top of the notebook faces: it imports the pilot view, the
review and :mod:`.notebook`, and none of them imports it.
"""

from __future__ import annotations

import functools
import html
import math
import os
import signal
import sys
import threading
import time
import traceback
from argparse import ArgumentTypeError
from collections.abc import Callable, Iterable
from dataclasses import Field
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.cost import Estimate
from ..core.errors import SynthlibError, UsageError, worded
from ..core.extras import require
from ..core.words import read_words
from ..engine.progress import ENDINGS, Phase, Progress, ProgressListener
from ..jobs.config import (
    Amount,
    Choice,
    RunConfig,
    Switch,
    Whole,
    check_names,
    with_settings,
)
from ..jobs.config import settings as config_settings
from ..jobs.frames import load_entries
from ..jobs.job import Job, RunResult, build_config
from ..jobs.pilots import DEFAULT_SAMPLE, OFFLINE, Pilot
from ..providers import registry
from ..store import Store, default_store, has_secret, mask_uri
from .wording import NOT_FIELDS, WORKBENCH, field_label

# one line naming the extra if it is missing, before the faces below (which need it too) fail
require("notebook", "the workbench")

from .notebook import (  # noqa: E402
    EXAMPLE_WORDS,
    chosen_words,
    interactive_session,
    money,
    show_errors_in_one_line,
    status_html,
    words_html,
)
from .pilot_view import PilotView, run_headless  # noqa: E402

HEADLESS_LINE_EVERY = 30.0
PREVIEW_COLUMNS = [
    "word",
    "ipa",
    "parts_of_speech",
    "sense_count",
    "frequency_band",
    "cefr_level",
    "provider",
    "model",
]
PREVIEW_HEADERS = {
    "ipa": "IPA",
    "parts_of_speech": "parts of speech",
    "sense_count": "senses",
    "frequency_band": "frequency",
    "cefr_level": "CEFR",
}
GIVEN_UP_ROWS = 50  # given-up words listed by name in a summary; the rest are counted


class Preview(pd.DataFrame):
    """A summary's preview of entries: the frame itself (its raw values), shown in a notebook as
    the review shows its tables (cells as text, one line each but for prose, headers in words,
    no index), scrolling sideways in a narrow window instead of being cut off."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame  # what is made from a preview is a plain frame

    def _repr_html_(self) -> str:
        from .review import table

        shown = table(pd.DataFrame(self).rename(columns=PREVIEW_HEADERS), hide_empty=False)
        return f'<div style="overflow-x: auto; max-width: 100%">{shown.to_html()}</div>'

    def __repr__(self) -> str:
        from .review import clean

        return clean(pd.DataFrame(self), hide_empty=False).to_string(index=False)


EXPORT_FORMATS = {"parquet": "Parquet", "csv": "CSV", "jsonl": "JSONL"}
EXPORT_SCOPES = {"run": "This run", "store": "Whole store"}


def table(rows: list[tuple[str, str]]) -> pd.DataFrame:
    """(label, value) rows as a two-column frame without header rows to spare."""
    return pd.DataFrame(rows, columns=["item", "value"]).set_index("item").rename_axis(None)


def parse_max_cost(text: str) -> float | None:
    """The Max cost field: blank is no limit; otherwise dollars (``25``, ``$2.50``), 0 or more."""
    cleaned = text.strip().removeprefix("$").strip()
    if not cleaned:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise UsageError(
            f"Max cost {text.strip()!r} is not an amount of dollars: type a number such as 25 "
            "or 2.50, or leave it blank for no limit"
        )
    return value


def provider_note(choice: str) -> tuple[str, bool]:
    """What the provider setting resolves to, as the dropdown's side note; True: a problem."""
    if choice == "auto":
        spec = registry.auto()
        if not spec.paid:
            return f"auto: {spec.name} (no API key; {spec.summary})", False
        return f"auto: {spec.name}{_at(spec)} ({spec.key()} is set; batches are paid)", False
    spec = registry.spec(choice)
    if not spec.paid:
        return f"{spec.name}: {spec.summary}", False
    if not spec.key():
        keys = " or ".join(spec.key_variables)
        return f"{spec.name}: needs {keys}, which is not set", True
    what = f"{spec.summary}; " if spec.summary else ""
    return f"{spec.name}{_at(spec)} ({what}batches are paid)", False


def _at(spec: registry.ProviderSpec) -> str:
    """`` at <base URL>`` when the environment points the provider's SDK elsewhere."""
    base = os.environ.get(spec.base_url_variable) if spec.base_url_variable else None
    return f" at {mask_uri(base)}" if base else ""


def estimate_html(estimate: Estimate) -> str:
    """The figures that decide a run, as a row of cards (the whole table is folded below)."""
    e = estimate
    cards = [
        (f"{e.words_total:,}", "words in the list"),
        (f"{e.already_processed:,}", "already done"),
    ]
    if e.in_flight:
        cards.append((f"{e.in_flight:,}", "in flight"))
    if e.given_up:
        cards.append((f"{e.given_up:,}", "given up"))
    if e.held_elsewhere:
        cards.append((f"{e.held_elsewhere:,}", "held by other runs: waited for, not bought"))
    cards += [
        (f"{e.remaining:,}", "remaining"),
        (f"{e.batch_jobs:,}", "batch" if e.batch_jobs == 1 else "batches"),
        (money(e.batch_cost), "Batch API cost"),
        (money(e.savings), "saved vs regular API"),
        (money(e.cost_per_1000_words), "per 1,000 words"),
    ]
    shown = "".join(
        f"<div class='sl-card'><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>"
        for v, k in cards
    )
    return f"<div class='sl-cards'>{shown}</div>"


def tell_the_terminal(line: str) -> None:
    """Write ``line`` to the terminal that started this kernel (papermill's), not only into the
    notebook: ipykernel sends ``print`` to the notebook, and its stderr's ``fileno()`` is the
    kernel process's original standard error, which papermill's terminal shares (without fd
    capture, ``sys.__stderr__`` is that stream itself). Nothing is written when standard error
    is the process's own: a plain Python run shows the printed line already."""
    if sys.stderr is None or sys.stderr is sys.__stderr__:
        return
    text = f"\n{line}\n"
    try:
        os.write(sys.stderr.fileno(), text.encode())
        return
    except (AttributeError, OSError, ValueError):
        pass  # no descriptor behind the kernel's stream: its process's own stderr then
    if sys.__stderr__ is not None:
        try:
            sys.__stderr__.write(text)
            sys.__stderr__.flush()
        except (OSError, ValueError):
            pass


def _blank_status() -> list[tuple[str, str]]:
    labels = Progress(0, 0, 0, 0, 0, 0, {}, 0, 0, 0.0, 0.0, 0).rows()
    return [(label, "–") for label, _ in labels]


# --- the settings' fields, made from their declaration (synthlib.jobs.config.setting) -----------

# The fields under Settings, as the workbench has always shown them; every other setting's field
# is under "More settings" (folded), in the order the settings are declared.
FIRST_FIELDS = ("provider", "model", "batch_size", "words_per_request", "max_cost", "store")
BLANK = {"max_cost": "no limit"}  # what a blank field means, when not "default"


def setting_field(name: str, declared: Field[Any], value: Any, *, prices: Any = None) -> Any:
    """The widget of one setting, from its declaration: a dropdown of a choice's options (of the
    priced models for ``model``, with ``prices``), a checkbox for a switch, a whole number, a
    text otherwise (blank: the default); labelled with :func:`field_label`, the setting's help as
    its tooltip. ``value`` is the notebook's (None: the default)."""
    import ipywidgets as w

    kind = declared.metadata["kind"]
    label = field_label(name)
    if value is None:
        value = declared.default
    widget: Any
    if name == "model":  # a dropdown, as ever: one of the priced models, or the notebook's own
        widget = w.Dropdown(options=model_options(value, prices), value=value, description=label)
    elif isinstance(kind, Choice):
        widget = w.Dropdown(options=list(kind.options), value=value, description=label)
    elif isinstance(kind, Switch):
        widget = w.Checkbox(value=bool(value), description=label)
    elif isinstance(kind, Whole):
        # unbounded: the declaration checks it (a bounded field would clamp a value past its
        # bound silently, where the library refuses it naming the limit)
        widget = w.IntText(value=value, description=label)
    else:
        shown = "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
        widget = w.Text(value=shown, placeholder=BLANK.get(name, "default"), description=label)
    widget.tooltip = declared.metadata["help"]
    widget.style.description_width = "100px"
    widget.add_class(f"sl-{name.replace('_', '-')}")
    return widget


def field_value(name: str, declared: Field[Any], widget: Any) -> Any:
    """The setting a field holds (None: blank, the default); a :class:`UsageError` naming the
    field when its text is not what the setting takes."""
    kind = declared.metadata["kind"]
    if isinstance(kind, Choice | Switch | Whole):
        return widget.value
    text = widget.value.strip()
    if not text:
        return None
    if isinstance(kind, Amount):
        try:
            return kind.parse(text)
        except ArgumentTypeError as exc:
            raise UsageError(f"{field_label(name)} {text!r}: {exc}") from None
    return text


def model_options(model: str, prices: Any) -> list[str]:
    """The Model dropdown's options: the priced models (``prices``' too) and the notebook's model,
    whatever it is (an unknown one is the library's error at Estimate, not a broken dropdown)."""
    try:
        priced = registry.price_table(prices)
    except (SynthlibError, TypeError):  # a bad price file: said at Estimate
        priced = registry.prices()
    return sorted({*priced, model})


def export_path(location: str, format: str, run_id: str | None = None) -> Path:
    """Where Export writes: beside the store file (the working directory for MongoDB), named
    after the store and, for one run's entries, the run."""
    text = location.strip().removeprefix("sqlite://")
    if "://" in text:
        folder, stem = Path.cwd(), "entries"
    else:
        store = Path(text)
        folder, stem = store.parent, store.stem
    name = f"{stem}-{run_id}" if run_id else f"{stem}-entries"
    return (folder / f"{name}.{format}").absolute()


def _owner_title(model: str) -> str:
    """The title of the provider whose spec serves ``model`` (``Gemini``); "its provider" for a
    model only a price file knows."""
    try:
        return registry.spec_for_model(model).title
    except UsageError:
        return "its provider"


@with_settings
class Workbench:
    """A run's settings plus the displays around it: ``words``, ``dry_run`` and every run
    setting (the same as ``batch-synthesis``'s flags and :func:`synthlib.run`'s keywords)."""

    def __init__(
        self,
        *,
        words: Any = None,
        dry_run: bool = False,
        preview_rows: int = 10,
        **settings: Any,
    ) -> None:
        check_names(settings)
        # a notebook's "none" for these may be "" or 0 (max_cost 0: no limit, as in the field)
        for name in ("max_cost", "import_checkpoint"):
            if not settings.get(name, True):
                settings[name] = None
        self.params = {name: settings.get(name, f.default) for name, f in config_settings().items()}
        self.words = words if words is not None else EXAMPLE_WORDS
        self.words_name: str | None = None
        self.dry_run = dry_run
        self.preview_rows = preview_rows
        self.job: Job | None = None
        self.result: RunResult | None = None
        self._ui: _Widgets | None = None

    # --- the library calls every face shares ---------------------------------------------------

    def config(self, **overrides: Any) -> RunConfig:
        """The run's settings (``overrides`` replace parameters, e.g. ``fresh=True``)."""
        return build_config(self.words, words_name=self.words_name, **{**self.params, **overrides})

    def estimate(self) -> Estimate:
        from ..jobs.plan import estimate_config

        return estimate_config(self.config())

    def prepare(
        self,
        listener: ProgressListener | None = None,
        *,
        fresh: bool | None = None,
    ) -> Job:
        """An opened :class:`Job` for the current settings, about to run (``fresh``: start over,
        or not, whatever the ``fresh`` parameter says): the checkpoint is locked, set aside when
        starting over, loaded or created; nothing is spent yet."""
        if self.job is not None and not self.job.running:
            self.job.close()  # a job built before (and not running) lets go of the checkpoint
        overrides = {} if fresh is None else {"fresh": fresh}
        self.job = Job(self.config(**overrides), listener=listener).open()
        return self.job

    def run_widgets(self) -> _Widgets:
        """The workbench's widgets without a pilot section: what a pilot view standing alone
        shows below itself to run the whole list on the chosen model."""
        return _Widgets(self, pilot=False)

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
            print(note)  # str(): its settings named as the notebook's parameters
        print(f"Estimate for {estimate.words_total:,} words ({self.params['model']}):")
        with pd.option_context("display.max_colwidth", None):
            display(table(estimate.rows()))
        if self.dry_run:
            print("Dry run: nothing was sent.")
            return None
        # a text bar on standard output: it lands in papermill's output notebook as a few lines
        # (redrawn at most every HEADLESS_LINE_EVERY seconds), where a widget would only keep
        # its first state
        from tqdm.std import tqdm

        bar = tqdm(
            total=len(self.config().words),
            unit=" words",
            desc="Words",
            file=sys.stdout,
            mininterval=HEADLESS_LINE_EVERY,
            maxinterval=HEADLESS_LINE_EVERY * 10,
            ncols=100,
            ascii=True,
        )

        def listener(progress: Progress, message: str | None) -> None:
            bar.n = progress.resolved
            bar.set_postfix_str(
                f"{progress.in_flight:,} in flight, ${progress.cost_usd:,.4f}", refresh=False
            )
            bar.update(0)  # redraws only when mininterval has passed

        job = self.prepare(listener)
        print(
            f"Provider: {job.provider}; model: {job.model}; store: {job.store.location}; "
            f"checkpoint: {job.checkpoint.path}"
        )
        try:
            self.result = job.run()
        finally:
            bar.close()
        self.show_summary()
        result = self.result
        line = f"{result.progress.result_line()}; entries in {result.store}"
        print(line, flush=True)  # the output notebook's last line
        tell_the_terminal(f"synthlib: {line}")
        return self.result

    def show_summary(
        self,
        show: Callable[[Any], None] | None = None,
        say: Callable[[str], None] = print,
        *,
        progress: bool = True,
    ) -> None:
        """The summary of the last run, about that run only: how it ended (``progress``: with
        the status table), its given-up words by reason and by name, and a preview of the entries
        it made (of its words' entries when it made none: they were in the store already);
        through ``show`` (IPython's display by default) and ``say``."""
        if show is None:
            from IPython.display import display

            show = display
        result = self.result
        if result is None:
            return
        say(str(ENDINGS[result.phase]))
        if progress:
            show(table(result.progress.rows()))
        if result.given_up:
            codes = pd.Series([f.code for f in result.given_up.values()], dtype=str)
            n = len(result.given_up)
            say(f"{n:,} word{'' if n == 1 else 's'} given up, by reason:")
            show(codes.value_counts().rename("words").to_frame().rename_axis(None))
            named = sorted((word, str(why)) for word, why in result.given_up.items())
            shown = pd.DataFrame(named[:GIVEN_UP_ROWS], columns=["word", "reason"])
            with pd.option_context("display.max_colwidth", None):
                show(shown.set_index("word").rename_axis(None))
            if len(named) > GIVEN_UP_ROWS:
                say(
                    f"... and {len(named) - GIVEN_UP_ROWS:,} more: the review notebook lists "
                    f"them all (run_id {result.run_id})"
                )
        # the run's own store (open) when this bench made the job, else the settings' store
        store = (
            self.job.store
            if self.job and isinstance(self.job.store, Store)
            else self.params["store"]
        )
        entries = load_entries(store, run_id=result.run_id) if result.run_id else None
        if entries is not None and len(entries):
            say(f"{len(entries):,} entries made by this run in {result.store}; a preview:")
        else:
            words = self.job.config.words if self.job else self.config().words
            sample = [w for w in words if w not in result.given_up][: self.preview_rows]
            entries = load_entries(store, words=sample)
            if not len(entries):
                say(f"This run made no entries in {result.store}.")
                return
            say(
                f"This run made no new entries: its words had entries in {result.store} "
                "already. A preview of them:"
            )
        show(Preview(entries[PREVIEW_COLUMNS].head(self.preview_rows)))


def show_pilot(
    words: Any = None,
    *,
    models: str | Iterable[str] | None = None,
    sample: int = DEFAULT_SAMPLE,
    sample_file: str | None = None,
    seed: int = 0,
    **settings: Any,
) -> PilotView | Pilot:
    """The pilot notebook's one call: the view in JupyterLab (nothing runs until Run pilot), the
    pilot of ``models`` (default: offline) run and printed anywhere else. ``models``, ``sample``,
    ``sample_file`` and ``seed`` are the pilot's options (:class:`~synthlib.jobs.pilots.
    PilotOptions`: the names of :func:`synthlib.pilot`'s keywords and the command line's flags);
    ``settings`` are run settings (``store``, ``poll_interval``, ...), as the workbench takes
    them."""
    show_errors_in_one_line()
    bench = Workbench(words=words, **settings)
    if interactive_session():
        view = PilotView(bench, models=models, sample=sample, sample_file=sample_file, seed=seed)
        view.display()
        return view
    return run_headless(
        bench, models=models or OFFLINE, sample=sample, sample_file=sample_file, seed=seed
    )


_CSS = """<style>
.synthlib-wb h3 {margin: 4px 0 2px 0}
.synthlib-wb .sl-section {font-weight: bold; margin-top: 6px;
  border-bottom: 1px solid var(--jp-border-color2)}
.synthlib-wb .sl-status-table {border-collapse: collapse; margin: 2px 0; line-height: 22px}
.synthlib-wb .sl-status-table th {text-align: left; font-weight: normal; padding: 1px 6px 1px 0;
  color: var(--jp-ui-font-color2); white-space: nowrap}
.synthlib-wb .sl-status-table td {text-align: right; padding: 1px 22px 1px 0; min-width: 6em;
  max-width: 14em; font-variant-numeric: tabular-nums}
.synthlib-wb .sl-cards {display: flex; flex-wrap: wrap; gap: 6px; margin: 4px 0}
.synthlib-wb .sl-card {border: 1px solid var(--jp-border-color2); border-radius: 4px;
  padding: 3px 10px; min-width: 84px; line-height: 1.3}
.synthlib-wb .sl-card b {display: block; font-size: 1.2em}
.synthlib-wb .sl-card span {color: var(--jp-ui-font-color2); font-size: 0.9em}
.synthlib-wb .sl-muted {color: var(--jp-ui-font-color2)}
.synthlib-wb .sl-error {color: var(--jp-error-color1, #b00020)}
.synthlib-wb .sl-warn {color: var(--jp-warn-color1, #9a6700)}
.synthlib-wb .sl-notice .widget-html-content {white-space: normal; line-height: 1.4}
.synthlib-wb .sl-upload {font-size: 0}
.synthlib-wb .sl-upload i, .synthlib-wb .sl-upload::after {
  font-size: var(--jp-widgets-font-size)}
.synthlib-wb .sl-upload::after {content: "Upload words"; margin-left: 4px}
</style>"""


def _action(method: Callable[..., Any]) -> Callable[..., Any]:
    """A user's action: it replaces the previous notice (errors stay until then), closes the
    Start over question, and shows its own error instead of losing it in the kernel's log."""

    @functools.wraps(method)
    def act(self: _Widgets, *args: Any, **kwargs: Any) -> Any:
        self._say("")
        self.confirm_box.layout.display = "none"
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            self._error(exc)
            return None

    return act


class _Widgets:
    """The JupyterLab workbench: every callback calls the library and only displays."""

    def __init__(self, bench: Workbench, *, pilot: bool = True) -> None:
        import ipywidgets as w

        self.bench = bench
        p = bench.params
        wide = w.Layout(width="460px")

        # status, on top: visible while the settings below are scrolled past
        self.title = w.HTML(_CSS + "<h3>synthlib workbench</h3>")
        self.headline = w.HTML(
            "No run yet: choose a word list and settings below, then "
            "<b>Estimate</b> and <b>Run</b>."
        )
        self.bar = w.IntProgress(
            value=0, min=0, max=1, description="Words", layout=w.Layout(width="460px")
        )
        self.bar_text = w.HTML()
        self.status = w.HTML(status_html(_blank_status()))
        self.notice = w.HTML()
        self.notice.add_class("sl-notice")
        self.confirm_text = w.HTML()
        self.confirm_button = w.Button(
            description="Yes, start over",
            button_style="danger",
            icon="refresh",
            layout=w.Layout(width="150px"),
        )
        self.keep_button = w.Button(description="No, keep it", layout=w.Layout(width="110px"))
        self.confirm_box = w.VBox(
            [self.confirm_text, w.HBox([self.confirm_button, self.keep_button])],
            layout=w.Layout(display="none"),
        )

        # the word list
        self._initial_words = bench.words
        self._uploaded: tuple[str, bytes] | None = None
        given = bench.words if isinstance(bench.words, str | Path) else None
        self.upload = w.FileUpload(
            accept=".txt,.csv,.tsv,.jsonl,.json",
            multiple=False,
            description="Upload words",
            tooltip="A word list: .txt, .csv, .tsv, .jsonl or .json",
        )
        self.upload.add_class("sl-upload")  # its label without the "(1)" count: see _CSS
        self.path = w.Text(
            value="" if given is None or given == EXAMPLE_WORDS else str(given),
            placeholder="e.g. examples/words.txt (Enter to use)",
            description="or path",
            continuous_update=False,
            layout=wide,
        )
        self.words_info = w.HTML()

        # settings: a field per setting, made from its declaration (but NOT_FIELDS)
        # (the store's password masked from the start: a field's value is what JupyterLab saves
        # with the notebook's widget state)
        shown = {**p, "store": mask_uri(p["store"] or default_store())}
        self.fields: dict[str, Any] = {
            name: setting_field(name, f, shown[name], prices=p["prices"])
            for name, f in config_settings().items()
            if name not in NOT_FIELDS
        }
        self.provider = self.fields["provider"]
        self.provider_info = w.HTML()
        self.model = self.fields["model"]
        self.batch_size = self.fields["batch_size"]
        self.per_request = self.fields["words_per_request"]
        self.max_cost = self.fields["max_cost"]
        self.max_cost_info = w.HTML()
        # sent when typing ends (Enter, or leaving the field): a password is masked at once
        self.store = self.fields["store"]
        self.store.continuous_update = False
        self.store.layout = wide
        self._store_value = p["store"]
        self.path.style.description_width = "100px"
        more = [widget for name, widget in self.fields.items() if name not in FIRST_FIELDS]
        self.more_settings = w.Accordion(
            children=[w.VBox(more)], titles=("More settings",), selected_index=None
        )
        self.more_settings.add_class("sl-more-settings")

        # actions
        self.estimate_button = w.Button(description="Estimate", icon="calculator")
        self.run_button = w.Button(description="Run", button_style="success", icon="play")
        self.stop_button = w.Button(
            description="Stop", button_style="warning", icon="stop", disabled=True
        )
        self.cancel_button = w.Button(
            description="Cancel in-flight batches",
            icon="ban",
            button_style="danger",
            disabled=True,
            layout=w.Layout(width="200px"),
        )
        self.start_over_button = w.Button(
            description="Start over",
            icon="refresh",
            tooltip="Set this job's checkpoint aside and run the list anew",
        )

        # the estimate: the deciding figures, the whole table folded
        self._estimate: Estimate | None = None
        self._estimate_when = ""
        self._estimate_stale = False
        self.estimate_view = w.HTML()
        self.estimate_out = w.Output()
        self.estimate_more = w.Accordion(
            children=[self.estimate_out],
            titles=("Full estimate table",),
            selected_index=None,
            layout=w.Layout(width="640px", display="none"),
        )

        # export
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            default_format = "csv"  # Parquet needs pyarrow
        else:
            default_format = "parquet"
        self.export_format = w.Dropdown(
            options=[(label, key) for key, label in EXPORT_FORMATS.items()],
            value=default_format,
            description="Format",
            layout=w.Layout(width="200px"),
        )
        self.export_scope = w.Dropdown(
            options=[(label, key) for key, label in EXPORT_SCOPES.items()],
            value="run",
            description="Entries",
            layout=w.Layout(width="220px"),
        )
        self.export_format.style.description_width = self.export_scope.style.description_width = (
            "60px"
        )
        self.export_button = w.Button(description="Export", icon="download")
        self.export_info = w.HTML()

        self.log = w.Output(layout=w.Layout(max_height="140px", overflow="auto"))
        self.summary = w.Output()

        self.estimate_button.on_click(lambda _: self.on_estimate())
        self.run_button.on_click(lambda _: self.on_run())
        self.stop_button.on_click(lambda _: self.on_stop())
        self.cancel_button.on_click(lambda _: self.on_stop(cancel=True))
        self.start_over_button.on_click(lambda _: self.on_start_over())
        self.confirm_button.on_click(lambda _: self.on_start_over_confirmed())
        self.keep_button.on_click(lambda _: self.on_keep())
        self.export_button.on_click(lambda _: self.on_export())
        self.store.observe(lambda _: self._store_typed(), names="value")
        self.upload.observe(lambda _: self.on_upload(), names="value")
        self.path.observe(lambda _: self.on_path(), names="value")
        self.provider.observe(lambda _: self._show_provider(), names="value")
        self.max_cost.observe(lambda _: self._check_max_cost(), names="value")
        for setting in (*self.fields.values(), self.path):
            setting.observe(lambda _: self._settings_changed(), names="value")

        self._lock = threading.Lock()  # progress drawing
        self._state = threading.Lock()  # whether a run is going, and the buttons saying so
        self._busy = False  # from Run until that run's summary is shown
        self._stopping = ""
        self._last_draw = 0.0
        self._run_label = ""

        def section(text: str) -> Any:
            return w.HTML(f"<div class='sl-section'>{text}</div>")

        # the model pilot, folded: a sample on several models before the whole list on one
        # (``pilot=False``: the pilot view shows these widgets itself, below it)
        self.pilot_view: Any = None
        pilot_section: list[Any] = []
        if pilot:
            self.pilot_view = PilotView(bench, host=self)
            self.pilot_section = w.Accordion(
                children=[self.pilot_view.box],
                titles=("Pilot: compare models first",),
                selected_index=None,
            )
            self.pilot_section.add_class("sl-pilot-section")
            pilot_section = [self.pilot_section]

        self.box = w.VBox(
            [
                self.title,
                self.headline,
                w.HBox([self.bar, self.bar_text]),
                self.status,
                w.HBox(
                    [
                        self.estimate_button,
                        self.run_button,
                        self.stop_button,
                        self.cancel_button,
                        self.start_over_button,
                    ]
                ),
                self.notice,
                self.confirm_box,
                section("Word list"),
                w.HBox([self.upload, self.path]),
                self.words_info,
                section("Settings"),
                w.HBox([self.provider, self.provider_info]),
                self.model,
                w.HBox([self.batch_size, self.per_request]),
                w.HBox([self.max_cost, self.max_cost_info]),
                self.store,
                self.more_settings,
                *pilot_section,
                section("Estimate"),
                self.estimate_view,
                self.estimate_more,
                section("Export"),
                w.HBox([self.export_format, self.export_scope, self.export_button]),
                self.export_info,
                section("Log"),
                self.log,
                section("Last run"),
                self.summary,
            ]
        )
        # names for the browser test (and for anyone styling the workbench)
        for widget, name in (
            (self.headline, "headline"),
            (self.bar, "bar"),
            (self.bar_text, "bar-text"),
            (self.status, "status"),
            (self.words_info, "words-info"),
            (self.path, "path"),
            (self.provider_info, "provider-info"),
            (self.max_cost_info, "max-cost-info"),
            (self.estimate_view, "estimate"),
            (self.estimate_more, "estimate-more"),
            (self.export_format, "export-format"),
            (self.export_scope, "export-scope"),
            (self.export_info, "export-info"),
            (self.log, "log"),
            (self.summary, "summary"),
        ):
            widget.add_class(f"sl-{name}")
        self.box.add_class("synthlib-wb")
        self.estimate_view.value = "<span class='sl-muted'>Press Estimate for the cost.</span>"
        self._show_provider()
        self._check_max_cost()
        self._show_words()

    def display(self) -> None:
        from IPython.display import display

        display(self.box)

    # --- settings ----------------------------------------------------------------------------

    def _store_typed(self) -> str | None:
        """The store the field names (its password kept here, masked in the field)."""
        store_text = self.store.value.strip()
        if store_text != mask_uri(self._store_value or default_store()):
            self._store_value = store_text or None
            if has_secret(store_text):
                self.store.value = mask_uri(store_text)  # observed again: now unchanged
        return self._store_value

    def _apply(self) -> None:
        """The widgets' settings into the workbench's parameters (UsageError when one is bad)."""
        b = self.bench
        declared = config_settings()
        values = {
            name: field_value(name, declared[name], widget)
            for name, widget in self.fields.items()
            if name not in ("max_cost", "store")
        }
        values.update(max_cost=parse_max_cost(self.max_cost.value), store=self._store_typed())
        b.params.update(values)
        b.words, b.words_name = self._words_source()

    def _words_source(self) -> tuple[Any, str | None]:
        """The word list in use: the typed path, else the upload, else the notebook's."""
        return chosen_words(self.path.value, self._uploaded, self._initial_words)

    def _show_words(self) -> None:
        self.words_info.value = words_html(self.path.value, self._uploaded, self._initial_words)

    def _show_provider(self) -> None:
        text, problem = provider_note(self.provider.value)
        style = "sl-error" if problem else "sl-muted"
        self.provider_info.value = f"<span class='{style}'>{html.escape(text)}</span>"

    def _check_max_cost(self) -> None:
        try:
            value = parse_max_cost(self.max_cost.value)
        except UsageError as exc:
            self.max_cost_info.value = f"<span class='sl-error'>{html.escape(str(exc))}</span>"
            return
        text = (
            "blank: no limit"
            if value is None
            else f"no new batch once the spend would pass {money(value)}"
        )
        self.max_cost_info.value = f"<span class='sl-muted'>{text}</span>"

    def _settings_changed(self) -> None:
        if self._estimate is not None and not self._estimate_stale:
            self._estimate_stale = True
            self._show_estimate(self._estimate, self._estimate_when)

    # --- callbacks ---------------------------------------------------------------------------

    @_action
    def on_upload(self) -> None:
        files = self.upload.value
        if not files:
            return
        upload = files[0] if isinstance(files, list | tuple) else next(iter(files.values()))
        name, data = upload["name"], bytes(upload["content"])
        self._uploaded = (name, data)
        self.bench.words, self.bench.words_name = data, name
        self.path.value = ""  # an upload replaces a typed path
        self.upload.value = ()  # the workbench keeps the bytes; the widget needs no copy
        self._show_words()
        self._settings_changed()
        words = read_words(data, name=name)  # a bad file is an error here, not at Run
        self._say(f"Uploaded {name}: {len(words):,} words.")

    def on_path(self) -> None:
        if self.path.value.strip():
            self._uploaded = None  # a typed path replaces an upload
        self._show_words()

    @_action
    def on_estimate(self) -> Estimate | None:
        self._apply()
        estimate = self.bench.estimate()
        self._show_estimate(estimate, "")
        return estimate

    def _show_estimate(self, estimate: Estimate, when: str) -> None:
        if estimate is not self._estimate:
            self._estimate, self._estimate_when, self._estimate_stale = estimate, when, False
            self.estimate_out.outputs = ()
            with pd.option_context("display.max_colwidth", None):  # formatted right here
                self.estimate_out.append_display_data(table(estimate.rows()))
            self.estimate_more.layout.display = None
        head = f"{html.escape(estimate.model)} on <b>{html.escape(estimate.provider)}</b>"
        if estimate.free:
            head += (
                " <span class='sl-muted'>(free: the costs are what "
                f"{html.escape(estimate.model)} would cost on "
                f"{html.escape(_owner_title(estimate.model))})</span>"
            )
        if when:
            head += f" <span class='sl-muted'>{html.escape(when)}</span>"
        lines = [head, estimate_html(estimate)]
        lines += [html.escape(worded(note, WORKBENCH)) for note in estimate.notes]
        if estimate.checkpoint:
            lines.append(
                f"<span class='sl-muted'>Checkpoint: {html.escape(estimate.checkpoint)}</span>"
            )
        if self._estimate_stale:
            lines.insert(
                0,
                "<span class='sl-warn'>Settings changed since: press Estimate for "
                "new figures.</span>",
            )
        self.estimate_view.value = "".join(f"<div>{line}</div>" for line in lines)

    @_action
    def on_run(self) -> Job | None:
        return self._start(fresh=False)

    @_action
    def run_on(self, model: str) -> Job | None:
        """Run the whole list on ``model`` (a pilot's choice): Provider and Model set to it
        (the offline provider for ``offline``), then Run. The words the pilot made with it are
        copied from the pilot, not sent again (the library's skip of words already done)."""
        from ..jobs.pilots import provider_of

        provider = provider_of(model)
        paid = registry.paid(provider)
        if paid and model not in self.model.options:
            self.model.options = sorted({*self.model.options, model})
        self.provider.value = provider
        if paid:
            self.model.value = model
        return self._start(fresh=False)

    @_action
    def on_start_over(self) -> None:
        """The first step of Start over: say what it does and ask; refused (with the library's
        reason) while the checkpoint has batches in flight."""
        from ..engine.checkpoint import refuse_fresh_over_flights

        if self._busy:
            self._say("A run is going already: Stop it, or wait for it to end.", warn=True)
            return
        self._apply()
        config = self.bench.config()
        if config.checkpoint is not None:
            refuse_fresh_over_flights(config.checkpoint)  # the same check the run makes
        self.confirm_text.value = (
            "<b>Start over?</b> The checkpoint of this job is set aside (kept, renamed) and the "
            "whole list runs anew. Words whose entries are in the store for this model are not "
            "sent again, so nothing is paid twice; given-up words are tried again."
        )
        self.confirm_box.layout.display = None

    @_action
    def on_start_over_confirmed(self) -> Job | None:
        return self._start(fresh=True)

    @_action
    def on_keep(self) -> None:
        self._say("Kept the checkpoint: Run resumes it.")

    def _start(self, *, fresh: bool) -> Job | None:
        # ipywidgets calls a handler even when its button is disabled: never a second engine
        with self._state:
            if self._busy:
                self._say("A run is going already: Stop it, or wait for it to end.", warn=True)
                return None
            self._busy = True
        try:
            self._reset_status("Starting over..." if fresh else "Starting...")
            self._apply()
            job = self.bench.prepare(self.on_progress, fresh=fresh)
            self.bench.result = None
            _install_interrupt_as_stop(job)
            self._set_running(True)
            self._run_label = f"<b>{html.escape(job.provider)}</b> ({html.escape(job.model)})"
            # the estimate of what this run starts from: a resume counts what is done
            when = "(at the start of this Run" + (": started over)" if fresh else ")")
            self._show_estimate(job.estimate, when)
            if job.set_aside is not None:
                self._log(f"set the old checkpoint aside: {job.set_aside}")
            for notice in [*job.notices, *([job.fallback] if job.fallback else [])]:
                self._log(worded(notice, WORKBENCH))
            self.bar.max = max(1, len(job.config.words))
            self.headline.value = f"Running on {self._run_label}..."
            job.start()  # here, not in the waiting thread: the job is running once Run returns
            threading.Thread(
                target=self._run, args=(job,), daemon=True, name="synthlib-workbench"
            ).start()
        except BaseException:
            with self._state:  # not busy before Run looks enabled: a click then is welcome
                self._busy = False
                self._set_running(False)
            self.headline.value = "The run did not start: see the message below."
            raise
        return job

    def _run(self, job: Job) -> None:
        try:
            try:
                result = job.wait()
                assert result is not None  # a started job, waited for without a timeout
                self.bench.result = result
            except BaseException as exc:
                self._error(exc)
                self.bar.bar_style = "danger"
                self.headline.value = "The run failed: see the message below."
                return
            self._ended(result)
            # Output widgets capture only the main thread's output: append to them explicitly
            self.bench.show_summary(
                progress=False, show=self.summary.append_display_data, say=self._summary_line
            )
        except Exception as exc:  # a daemon thread's error would be lost: show it
            self._error(exc, during="The summary")
        finally:
            with self._state:  # not busy before Run looks enabled: a click then is welcome
                self._busy = False
                self._set_running(False)

    def _ended(self, result: RunResult) -> None:
        progress = result.progress
        self.on_progress(progress, None)
        done = f"{progress.processed:,} of {progress.total:,} words have entries"
        if progress.given_up:
            done += f", {progress.given_up:,} given up"
        if result.phase == Phase.FINISHED:
            self.bar.bar_style = "success"
            self.headline.value = f"<b>Finished</b> on {self._run_label}: {done}. Summary below."
        elif result.phase == Phase.BUDGET:
            self.bar.bar_style = "warning"
            self.headline.value = (
                f"<b>Stopped at Max cost</b>: {done}. Raise Max cost and Run to go on."
            )
        else:
            self.bar.bar_style = "warning"
            self.headline.value = (
                f"<b>Stopped</b>; state saved: {done}. Run resumes it "
                "(batches in flight are collected)."
            )

    def _summary_line(self, text: str) -> None:
        from IPython.display import HTML

        self.summary.append_display_data(HTML(f"<p><b>{html.escape(text)}</b></p>"))

    @_action
    def on_stop(self, *, cancel: bool = False) -> None:
        job = self.bench.job
        if job is None or not job.running:
            self._say("No run is going.")
            return
        job.stop(cancel=cancel)
        self._stopping = (
            "Cancelling the batches in flight..."
            if cancel
            else "Stopping after the step in hand; batches in flight keep running for the "
            "next Run to collect..."
        )
        self.headline.value = html.escape(self._stopping)

    @_action
    def on_export(self) -> Path | None:
        """Entries into a file beside the store: this run's (the last Run) or the whole store's."""
        from ..jobs.export import export_entries

        self._apply()
        fmt, scope = self.export_format.value, self.export_scope.value
        if scope == "run":
            result, job = self.bench.result, self.bench.job
            if result is None or job is None or not result.run_id:
                raise UsageError("no finished run to export yet: Run first, or choose Whole store")
            store: Any = job.store
            location, run_id = job.store.location, result.run_id
        else:
            store = self.bench.params["store"] or default_store()
            location, run_id = store, None
        target = export_path(location, fmt, run_id)
        try:
            count = export_entries(store, target, format=fmt, run_id=run_id)
        except ImportError as exc:  # Parquet without pyarrow
            raise UsageError(
                f"{EXPORT_FORMATS[fmt]} export needs {exc.name or 'pyarrow'}: "
                "install it, or choose CSV or JSONL"
            ) from None
        what = "entries of this run" if run_id else "entries"
        self.export_info.value = (
            f"Wrote {count:,} {what} to <code>{html.escape(str(target))}</code>"
        )
        self._say(f"Exported {count:,} {what}: {target}")
        return target

    def on_progress(self, progress: Progress, message: str | None) -> None:
        with self._lock:
            if message:
                self._log(worded(message, WORKBENCH))
            now = time.monotonic()
            if now - self._last_draw < 0.25 and progress.phase == Phase.RUNNING and not message:
                return
            self._last_draw = now
            self.bar.max = max(1, progress.total)
            self.bar.value = progress.resolved
            share = progress.resolved / progress.total if progress.total else 0.0
            self.bar_text.value = f"{progress.resolved:,} / {progress.total:,} ({share:.0%})"
            self.status.value = status_html(progress.rows())
            if progress.phase == Phase.RUNNING and not self._stopping:
                self.headline.value = (
                    f"Running on {self._run_label}: {progress.resolved:,} of {progress.total:,}"
                    f" words resolved, {progress.in_flight:,} in flight."
                )

    # --- display helpers ---------------------------------------------------------------------

    def _reset_status(self, headline: str) -> None:
        """Fresh figures from the moment Run is pressed: nothing of the previous run stays."""
        with self._lock:
            self._stopping = ""
            self._last_draw = 0.0
            self.bar.bar_style = ""
            self.bar.value = 0
            self.bar_text.value = ""
            self.status.value = status_html(_blank_status())
            self.headline.value = html.escape(headline)
        self.summary.outputs = ()
        self.log.outputs = ()

    def _set_running(self, running: bool) -> None:
        self.run_button.disabled = self.start_over_button.disabled = running
        self.stop_button.disabled = self.cancel_button.disabled = not running

    def _log(self, text: str) -> None:
        self.log.append_stdout(f"{time.strftime('%H:%M:%S')} {text}\n")

    def _error(self, exc: BaseException, *, during: str | None = None) -> None:
        """An error, in the workbench's words, kept until the next action; an unexpected one
        also leaves its traceback in the log."""
        if isinstance(exc, SynthlibError):
            text = exc.worded(WORKBENCH)
        else:
            text = f"{type(exc).__name__}: {exc}"
            self.log.append_stderr("".join(traceback.format_exception(exc)))
        self._say(f"{during} failed: {text}" if during else text, error=True)

    def _say(self, text: str, *, error: bool = False, warn: bool = False) -> None:
        if not text:
            self.notice.value = ""
            return
        style = "sl-error" if error else "sl-warn" if warn else ""
        mark = "&#9888; " if error or warn else ""
        self.notice.value = f"<span class='{style}'>{mark}{html.escape(text)}</span>"


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
