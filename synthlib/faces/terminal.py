"""The terminal run: counts, estimate, confirmation, live progress, summary."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from itertools import islice
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TaskProgressColumn, TextColumn
from rich.progress import Progress as Bar
from rich.table import Table

from ..core.cost import Estimate
from ..core.errors import SpendRefused, worded
from ..engine.progress import ENDINGS, Phase, Progress
from ..jobs.config import RunConfig, settings
from ..jobs.job import Job, RunResult
from ..providers import registry
from ..store import RunStore, default_store, mask_uri
from .display import print_estimate, rows_table
from .wording import COMMAND_LINE

if TYPE_CHECKING:  # the lean core loads neither
    import pandas as pd

    from ..jobs.pilots import ModelReport

PLAIN_EVERY_SECONDS = 15.0


def given_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings named on the command line (None where a flag was left out: the default)."""
    return {name: getattr(args, name) for name in settings()}


def run_in_terminal(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    config = RunConfig.build(args.words, **given_settings(args))
    words = config.words
    dup = ""
    if words.duplicate_count:
        shown = ", ".join(words.duplicates[:5]) + (", ..." if len(words.duplicates) > 5 else "")
        dup = f" ({words.duplicate_count:,} duplicate lines dropped: {shown})"
    print(f"Loaded {len(words):,} words from {words.source}{dup}", file=out)
    display = TerminalDisplay(out)
    job = Job(config, listener=display)  # reads only: nothing is renamed, written or locked yet
    free = not registry.paid(job.provider)
    why = " (no API key)" if free and config.provider == "auto" else ""
    print(f"Provider: {job.provider}{why}; model: {job.model}", file=out)
    store = mask_uri(os.fspath(config.store or default_store()))
    resuming = " (resuming)" if job.resumed else ""
    print(f"Checkpoint: {config.checkpoint}{resuming}; store: {store}", file=out)
    for notice in job.notices:
        print(worded(notice, COMMAND_LINE), file=out)
    print_estimate(job.estimate, title="Cost estimate", file=out)
    if job.fallback:
        print(worded(job.fallback, COMMAND_LINE), file=out)
        if not args.yes:
            _confirm(out, "Make offline entries anyway?")
    # words other runs hold are bought too if those runs let them go: asked about as well
    to_buy = job.estimate.remaining or job.estimate.held_elsewhere
    if registry.paid(job.provider) and not args.yes and to_buy:
        _confirm(out)
    job.open()
    if job.set_aside:
        print(f"Previous checkpoint set aside as {job.set_aside}; starting afresh", file=out)
    with display:
        result = job.run()
    _summary(result, out, job.store, list(islice(job.checkpoint.state.done, 50)))
    return result.exit_code


def repair_in_terminal(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """``batch-synthesis repair``: the words with findings of ``args.severity`` sent again with
    their findings (:mod:`synthlib.jobs.repair`), as :func:`run_in_terminal` runs a list."""
    from ..jobs.findings import audit
    from ..jobs.repair import plan_repair, repair_job

    out = out or sys.stdout
    location = os.fspath(args.store or default_store())
    plan = plan_repair(location, severity=args.severity, run=args.run)
    disputed = sum(len(v) for v in plan.disagreements.values())
    kept = f"; {disputed:,} findings kept as disagreements (disputed twice)" if disputed else ""
    print(
        f"{len(plan.words):,} words in {mask_uri(location)} have {args.severity}s to repair{kept}",
        file=out,
    )
    if not plan.words:
        return 0
    display = TerminalDisplay(out)
    job = repair_job(plan, location, given_settings(args), listener=display)
    auto = job.config.provider == "auto"
    why = " (no API key)" if not registry.paid(job.provider) and auto else ""
    print(f"Provider: {job.provider}{why}; model: {job.model}", file=out)
    print(f"Checkpoint: {job.config.checkpoint}{' (resuming)' if job.resumed else ''}", file=out)
    for notice in job.notices:
        print(worded(notice, COMMAND_LINE), file=out)
    print_estimate(job.estimate, title="Cost estimate (repair)", file=out)
    if job.fallback:  # no key: auto fell back to offline over the paid entries being repaired
        print(worded(job.fallback, COMMAND_LINE), file=out)
    if args.dry_run:
        return 0
    if job.fallback and not args.yes:
        _confirm(out, "Make offline entries anyway?")
    if registry.paid(job.provider) and not args.yes and job.estimate.remaining:
        _confirm(out)
    job.open()
    with display:
        result = job.run()
    _summary(result, out, job.store, list(islice(job.checkpoint.state.done, 50)))
    # the repaired entries (this run's), not the versions before them kept beside them
    after = audit(location, run=result.run_id or None, words=plan.words, workers=1)
    s = after.severities
    print(
        f"Audited again: {s['error']:,} errors, {s['warning']:,} warnings in "
        f"{after.entries:,} entries (before: the findings sent)",
        file=out,
    )
    return result.exit_code


def _confirm(out: TextIO, question: str = "Proceed with batch synthesis?") -> None:
    if not sys.stdin.isatty():
        raise SpendRefused(
            f"no terminal to ask {question!r}; nothing was spent. "
            "Pass --yes to proceed, or --dry-run to see the estimate only"
        )
    print(f"{question} [y/N] ", end="", file=out, flush=True)
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        print("Cancelled; nothing was spent.", file=out)
        raise SystemExit(0)


class TerminalDisplay:
    """Live bar and status table on a terminal while the run goes (gone when it ends: the end
    summary says it once); plain periodic lines otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self._last_plain = 0.0
        self._live: Live | None = None
        self._bar: Bar | None = None
        self._task: TaskID | None = None
        self._latest: Progress | None = None

    def __enter__(self) -> TerminalDisplay:
        if self.tty:
            self._bar = Bar(
                TextColumn("words"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[eta]}"),  # the Progress's own ETA, not rich's guess
            )
            self._task = self._bar.add_task("words", total=None, eta="")
            self._live = Live(
                self._renderable(),
                console=Console(file=self.out),
                refresh_per_second=4,
                transient=True,
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def __call__(self, progress: Progress, message: str | None) -> None:
        message = worded(message, COMMAND_LINE) if message else message
        self._latest = progress
        if self._live is not None and self._bar is not None and self._task is not None:
            eta = f"ETA {progress.eta}" if progress.eta else ""
            self._bar.update(self._task, total=progress.total, completed=progress.resolved, eta=eta)
            if message:
                self._live.console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {message}")
            self._live.update(self._renderable())
            return
        now = time.monotonic()
        if message:
            print(f"{time.strftime('%H:%M:%S')} {message}", file=self.out, flush=True)
        going = progress.phase in (Phase.RUNNING, Phase.STOPPING)  # once ended, the summary says it
        if going and now - self._last_plain >= PLAIN_EVERY_SECONDS:
            self._last_plain = now
            print(f"{time.strftime('%H:%M:%S')} {progress.line()}", file=self.out, flush=True)

    def _renderable(self) -> Group:
        parts: list[Bar | Table] = [self._bar] if self._bar is not None else []
        if self._latest is not None:
            parts.append(status_table(self._latest))
        return Group(*parts)


def status_table(progress: Progress, *, title: str = "Status") -> Table:
    return rows_table(progress.rows(), title=title)


def _summary(
    result: RunResult, out: TextIO, job_store: RunStore, done: list[str] | None = None
) -> None:
    p = result.progress
    print(f"\n{worded(ENDINGS[result.phase], COMMAND_LINE)}", file=out)
    if out.isatty():  # the live table is gone (transient): this is the one summary
        Console(file=out).print(status_table(p, title="Summary"))
    else:
        for label, value in p.rows():
            print(f"  {label:<26} {value}", file=out)
    if result.given_up:
        n = len(result.given_up)
        print(f"\nGiven up ({n:,} word{'' if n == 1 else 's'}), by reason:", file=out)
        for code, n in sorted(p.failure_reasons.items(), key=lambda kv: -kv[1]):
            print(f"  {code:<22} {n:,}", file=out)
        listed = list(result.given_up.items())
        for word, reason in listed[:20]:
            print(f"  - {word}: {reason}", file=out)
        if len(listed) > 20:
            print(f"  ... and {len(listed) - 20:,} more (see {result.checkpoint})", file=out)
    _preview(job_store, out, result.run_id, done or [])
    print(f"\nEntries: {result.store}; checkpoint: {result.checkpoint}", file=out)
    out.flush()


def _preview(store: RunStore, out: TextIO, run_id: str, words: list[str], rows: int = 5) -> None:
    """A few of this run's entries (never other runs' words that share the store)."""
    lines = []
    for record in store.iter_entries(words=words):
        if record.run_id != run_id:
            continue  # done by another run (the store had it): not this run's work
        group = (record.entry.get("parts_of_speech") or [{}])[0]
        senses = group.get("senses") or [{}]
        definition = str(senses[0].get("definition") or "")
        definition = definition if len(definition) < 70 else definition[:67] + "..."
        lines.append(f"  {record.word} ({group.get('part_of_speech', '?')}): {definition}")
        if len(lines) == rows:
            break
    if lines:
        print("\nA few of this run's entries:", file=out)
        print("\n".join(lines), file=out)


def pilot_in_terminal(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """``--pilot N --models a,b`` (or ``--models a,b --sample N``): the sample on each model,
    then the comparison."""
    from ..core.errors import UsageError
    from ..jobs.pilots import NOTHING_TO_SEND, pilot_options, prepare_pilot, run_pilot

    out = out or sys.stdout
    options = {n: getattr(args, n) for n in pilot_options() if getattr(args, n) is not None}
    if args.pilot not in (None, True):  # --pilot N: a sample of N words
        if options.get("sample", args.pilot) != args.pilot:
            raise UsageError("--pilot N and --sample M disagree: give the sample's size once")
        options["sample"] = args.pilot
    if not options.get("models"):
        raise UsageError(
            "the pilot (--pilot/--sample/--seed/--sample-file) needs --models, "
            "e.g. --models gpt-4o-mini,gpt-4.1-mini"
        )
    settings = {k: v for k, v in given_settings(args).items() if v is not None}
    for name in ("model", "provider", "checkpoint"):
        if name in settings:
            raise UsageError(f"--pilot sets --{name} for each model itself; give --models")
    plan = prepare_pilot(args.words, **options, **settings)
    record = plan.record
    bands = ", ".join(
        f"band {band}: {n}"
        for band, n in sorted(Counter(record.bands.values()).items(), reverse=True)
    )
    print(
        f"Pilot {record.id}: {len(record.sample):,} of {len(plan.full):,} words ({bands}) on "
        f"{len(plan.configs)} model{'s' if len(plan.configs) > 1 else ''}; record: {record.path}",
        file=out,
    )
    paid = to_send = False
    for model in plan.configs:
        estimate = plan.estimate(model)
        free = estimate.free
        paid |= not free and estimate.remaining > 0
        to_send |= estimate.remaining > 0
        cost = "free" if free else f"about ${estimate.batch_cost:.4f} at batch prices"
        n = estimate.remaining
        if n == 0:
            cost = _nothing_to_send(estimate)
        print(f"  {model}: {n:,} word{'' if n == 1 else 's'} to send, {cost}", file=out)
    if not to_send:
        print(NOTHING_TO_SEND, file=out)
    if args.dry_run:
        return 0
    if paid and not args.yes:
        _confirm(out)

    def done(report: ModelReport) -> None:
        print(
            f"{report.model}: {report.phase} in {report.wall_seconds:,.1f} s, {report.entries:,} "
            f"of {report.words:,} entries, ${report.cost_usd:.4f}",
            file=out,
            flush=True,
        )

    pilot = run_pilot(plan, on_model_done=done)
    frame = pilot.comparison()
    print("", file=out)
    print(_comparison_text(frame), file=out)
    best = max(pilot.reports.values(), key=lambda r: (r.valid_share, -r.cost_per_1000))
    print(
        f"\nRun the whole list on one model: {PROG_NAME} {args.words} --model {best.model}"
        f" (the pilot's entries from it are kept, not sent again)",
        file=out,
    )
    return 0


PROG_NAME = "batch-synthesis"


def _nothing_to_send(estimate: Estimate) -> str:
    """Why a pilot model sends nothing: what its sample's words already are."""
    parts = [
        f"{n:,} {what}"
        for n, what in (
            (estimate.already_processed, "done"),
            (estimate.given_up, "given up"),
            (estimate.in_flight, "in flight (collected, not sent again)"),
        )
        if n
    ]
    return "nothing to pay" + (f" ({', '.join(parts)})" if parts else "")


def _comparison_text(frame: pd.DataFrame) -> str:
    shown = frame.copy()
    for column, fmt in (
        ("valid", "{:.0%}"),
        ("examples showing word", "{:.0%}"),
        ("input tokens/word", "{:,.0f}"),
        ("output tokens/word", "{:,.0f}"),
        ("cost/1,000 words", "${:,.4f}"),
        ("senses/entry", "{:.1f}"),
        ("examples/sense", "{:.1f}"),
        ("wall s", "{:,.1f}"),
    ):
        shown[column] = [fmt.format(v) for v in shown[column]]
    if "findings/100 entries" in shown:  # the audit of the pilot's entries
        shown["findings/100 entries"] = [
            "n/a" if v is None or v != v else f"{v:.1f}" for v in shown["findings/100 entries"]
        ]
    shown["projected cost"] = [_usd(v) for v in shown["projected cost"]]
    shown["projected 90% band"] = [
        "n/a" if _usd(low) == "n/a" or _usd(high) == "n/a" else f"{_usd(low)}-{_usd(high)}"
        for low, high in zip(shown.pop("projected low"), shown.pop("projected high"), strict=True)
    ]
    if not shown["error"].astype(bool).any():
        shown = shown.drop(columns="error")
    return shown.T.to_string()


def _usd(value: float | None) -> str:
    if value is None or value != value:
        return "n/a"
    return f"${value:,.2f}" if value >= 1 else f"${value:,.4f}"
