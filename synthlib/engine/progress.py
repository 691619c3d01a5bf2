"""One progress model for every display (terminal bar and table, notebook widgets, plain logs)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from ..core.errors import Said

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ..core.schema import Failure


class Phase(StrEnum):
    """Where a run is (equal to the strings displays, logs and pilot tables show)."""

    RUNNING = "running"
    STOPPING = "stopping"  # asked to stop: the batches in hand are still being handled
    FINISHED = "finished"  # nothing left to send or collect
    INTERRUPTED = "interrupted"  # stopped by the user (or a signal): resumable
    BUDGET = "budget"  # stopped at the cost cap with words left
    STOPPED = "stopped"  # a fault ended it (raised to the caller)
    # a pilot's model only (see synthlib.jobs.pilots)
    NOT_RUN = "not run"
    FAILED = "failed"  # its run raised: the report carries the error


ENDINGS = {  # how a run ended, said the same way by every face (each names its own controls)
    Phase.FINISHED: "Finished.",
    Phase.INTERRUPTED: "Stopped; state saved. Run the same command again to resume.",
    Phase.BUDGET: Said("Stopped at {max_cost}; run again with a higher cap to go on.", "max_cost"),
}


@dataclass(frozen=True)
class Progress:
    """A moment of a run, as every display shows it: the figures are computed here only.

    Counts (processed, given up, retrying, ...) are the whole checkpoint's; the rate and the
    elapsed time are this run's own (a resumed run counts from its own start, and words it only
    collected from batches an earlier run sent are shown apart, not in its rate)."""

    total: int
    processed: int
    given_up: int
    retrying: int
    in_flight: int
    pending: int
    batches: dict[str, int]  # in-flight batches by status
    input_tokens: int
    output_tokens: int
    cost_usd: float
    elapsed: float  # seconds since this run started
    resolved_this_session: int  # words this run sent and resolved
    phase: Phase = Phase.RUNNING
    failure_reasons: dict[str, int] = field(default_factory=dict)
    collected_this_session: int = 0  # words resolved from batches an earlier run sent
    resumed: bool = False
    failed_cost_usd: float = 0.0  # of cost_usd: billed answers that made no entry (retried)

    @property
    def resolved(self) -> int:
        return self.processed + self.given_up

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def success_rate(self) -> float | None:
        """Entries over resolved words (retrying words are not resolved yet); None before any."""
        return self.processed / self.resolved if self.resolved else None

    @property
    def words_per_minute(self) -> float:
        return self.resolved_this_session / self.elapsed * 60 if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at this run's rate; None when unknown or when the run is not going."""
        if self.phase != Phase.RUNNING:
            return None
        left = self.total - self.resolved
        if not left:
            return 0.0
        rate = self.words_per_minute / 60
        return left / rate if rate > 0 else None

    @property
    def eta(self) -> str:
        """The ETA as shown: empty once the run is not going (stopped, finished)."""
        if self.phase != Phase.RUNNING:
            return ""
        return format_duration(self.eta_seconds)

    def success_text(self) -> str:
        rate = self.success_rate
        text = "none resolved yet" if rate is None else f"{rate:.1%} of {self.resolved:,} resolved"
        if self.retrying:
            text += f"; {self.retrying:,} retrying"
        return text

    def rate_text(self) -> str:
        text = f"{self.words_per_minute:,.1f}"
        if self.collected_this_session:
            text += f" ({self.collected_this_session:,} collected from earlier batches not counted)"
        return text

    def rows(self) -> list[tuple[str, str]]:
        """The status table as (label, value) rows (no ETA once the run is not going)."""
        batches = ", ".join(f"{n} {s}" for s, n in sorted(self.batches.items())) or "none"
        this_run = "Elapsed (this resumed run)" if self.resumed else "Elapsed"
        rows = [
            ("Total words", f"{self.total:,}"),
            ("Processed", f"{self.processed:,}"),
            ("Failed (given up)", f"{self.given_up:,}"),
            ("Retrying", f"{self.retrying:,}"),
            ("In flight", f"{self.in_flight:,} ({batches})"),
            ("Success rate", self.success_text()),
            ("Words/minute", self.rate_text()),
            (
                "Tokens",
                f"{self.total_tokens:,} ({self.input_tokens:,} in, {self.output_tokens:,} out)",
            ),
            ("Cost", f"${self.cost_usd:,.4f}{self._retries()}"),
            (this_run, format_duration(self.elapsed)),
        ]
        if self.phase == Phase.RUNNING:
            rows.append(("ETA", self.eta))
        return rows

    def _retries(self) -> str:
        if not self.failed_cost_usd:
            return ""
        return f" (${self.failed_cost_usd:,.4f} of it on answers that made no entry)"

    def line(self) -> str:
        """One plain line (logs, papermill outputs, terminals that are not terminals)."""
        eta = f", ETA {self.eta}" if self.eta else ""
        return (
            f"{self.resolved:,}/{self.total:,} words resolved ({self.processed:,} ok, "
            f"{self.given_up:,} given up, {self.retrying:,} retrying), {self.in_flight:,} in "
            f"flight, ${self.cost_usd:,.4f}, {self.total_tokens:,} tokens, "
            f"{format_duration(self.elapsed)} elapsed{eta}"
        )

    def result_line(self) -> str:
        """How a run ended in one line: "13 ok, 2 given up, $0.0021" and the rest."""
        ended = {Phase.FINISHED: "Finished", Phase.BUDGET: "Stopped at the cost cap"}.get(
            self.phase, "Stopped"
        )
        retrying = f", {self.retrying:,} retrying" if self.retrying else ""
        return (
            f"{ended}: {self.processed:,} ok, {self.given_up:,} given up{retrying} of "
            f"{self.total:,} words, ${self.cost_usd:,.4f}, {self.total_tokens:,} tokens, "
            f"{format_duration(self.elapsed)}"
        )


class ProgressListener(Protocol):
    def __call__(self, progress: Progress, message: str | None) -> None: ...


def reasons_of(failed: Mapping[str, Failure], given_up: Iterable[str]) -> dict[str, int]:
    """Given-up words counted by failure code."""
    return dict(Counter(failed[w].code for w in given_up if w in failed))


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 9.95:  # a short run's rate is read against its tenths, not "0s"
        return f"{seconds:.1f}s"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
