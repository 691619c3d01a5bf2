"""One progress model for every display (terminal bar and table, notebook widgets, plain logs)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from .schema import Failure

ENDINGS = {  # how a run ended, said the same way by every face (each names its own controls)
    "finished": "Finished.",
    "interrupted": "Stopped; state saved. Run the same command again to resume.",
    "budget": "Stopped at --max-cost; run again with a higher cap to go on.",
}


@dataclass(frozen=True)
class Progress:
    """A moment of a run, as displays show it. Rates count this session's work only."""

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
    elapsed: float
    resolved_this_session: int
    phase: str = "running"  # running | stopping | finished | interrupted | budget
    failure_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def resolved(self) -> int:
        return self.processed + self.given_up

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def success_rate(self) -> float:
        return self.processed / self.resolved if self.resolved else 0.0

    @property
    def words_per_minute(self) -> float:
        return self.resolved_this_session / self.elapsed * 60 if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        left = self.total - self.resolved
        if not left:
            return 0.0
        rate = self.words_per_minute / 60
        return left / rate if rate > 0 else None

    def rows(self) -> list[tuple[str, str]]:
        """The status table as (label, value) rows."""
        batches = ", ".join(f"{n} {s}" for s, n in sorted(self.batches.items())) or "none"
        return [
            ("Total words", f"{self.total:,}"),
            ("Processed", f"{self.processed:,}"),
            ("Failed (given up)", f"{self.given_up:,}"),
            ("Retrying", f"{self.retrying:,}"),
            ("In flight", f"{self.in_flight:,} ({batches})"),
            ("Success rate", f"{self.success_rate:.1%}"),
            ("Words/minute", f"{self.words_per_minute:,.1f}"),
            (
                "Tokens",
                f"{self.total_tokens:,} ({self.input_tokens:,} in, {self.output_tokens:,} out)",
            ),
            ("Cost", f"${self.cost_usd:,.4f}"),
            ("Elapsed", format_duration(self.elapsed)),
            ("ETA", format_duration(self.eta_seconds)),
        ]

    def line(self) -> str:
        """One plain line (logs, papermill outputs, terminals that are not terminals)."""
        eta = format_duration(self.eta_seconds)
        return (
            f"{self.resolved:,}/{self.total:,} words resolved ({self.processed:,} ok, "
            f"{self.given_up:,} given up, {self.retrying:,} retrying), {self.in_flight:,} in "
            f"flight, ${self.cost_usd:,.4f}, {self.total_tokens:,} tokens, "
            f"{format_duration(self.elapsed)} elapsed, ETA {eta}"
        )


class ProgressListener(Protocol):
    def __call__(self, progress: Progress, message: str | None) -> None: ...


def reasons_of(failed: Mapping[str, Failure], given_up: Iterable[str]) -> dict[str, int]:
    """Given-up words counted by failure code."""
    return dict(Counter(failed[w].code for w in given_up if w in failed))


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
