"""The runner: words -> shards -> batches -> results -> store, with a checkpoint around every step
that moves money.

One loop, one thread, no event loop of its own (so it runs the same from a terminal, a background
thread, or inside a Jupyter kernel): poll the batches in flight, end those that are over, submit
new shards within the token budget and the cost cap, wait, repeat. The loop stops when every word
is resolved, or when :meth:`Engine.stop` is called (Ctrl+C, SIGTERM, a notebook's Stop button):
then it finishes the step in hand, saves the checkpoint and leaves batches in flight running
server-side for the next run to collect.

The work is done by four parts, composed here:

- :class:`~synthlib.engine.submit.Submitter`: plan, reserve, upload and create batches.
- :class:`~synthlib.engine.recover.Recoverer`: find this run's batches again after a lost answer
  or a crash, and adopt those of gone runs (handed the Submitter, to create and record through).
- :class:`~synthlib.engine.collect.Collector`: poll batches, and end each one that is over
(download,
  ingest, store, record, clean up).
- :class:`~synthlib.engine.pacing.Pacing`: the token budget, backoffs, poll waits and the cost cap;
pure.

The engine owns the record path they share: every event goes to the checkpoint's journal, and a
batch's end also writes its words' failures to the store, with the batch id.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import failpoints
from ..core.errors import StoreError
from ..core.pricing import Price
from ..core.schema import Failure, FailureCode
from ..core.tokens import request_tokens
from ..core.words import WordList
from ..providers.base import Backend
from ..providers.registry import token_scale
from ..store import RunStore
from ..store.records import GIVEN_UP_WORDS, FailureRecord
from .checkpoint import Checkpoint
from .collect import MAX_FAILED_READS, MAX_NOT_FOUND_READS, BatchUnreadable, Collector
from .crew import Crew
from .ledger import RunLedger
from .pacing import MAX_POLL_INTERVAL, MAX_STORE_ATTEMPTS, POLL_GROWTH, Pacing
from .progress import Phase, Progress, ProgressListener, reasons_of
from .recover import Recoverer
from .submit import RUN_TAG, SHARD_TAG, Submitter, WrongAccount

__all__ = [
    "MAX_FAILED_READS",
    "MAX_NOT_FOUND_READS",
    "MAX_POLL_INTERVAL",
    "MAX_STORE_ATTEMPTS",
    "POLL_GROWTH",
    "RUN_TAG",
    "SHARD_TAG",
    "BatchUnreadable",
    "Engine",
    "EngineSettings",
    "RunResult",
    "WrongAccount",
    "spool_dir",
]

log = logging.getLogger("synthlib")


_UNKNOWN = Failure(FailureCode.NO_RESULT, "no reason was recorded")


@dataclass(frozen=True)
class EngineSettings:
    batch_size: int
    token_budget: int
    max_cost: float | None = None
    poll_interval: float = 10.0
    words_per_request: int = 1
    grounding: bool = False
    cancel_on_exit: bool = False
    unreachable_after: float = 60.0  # seconds the first call is tried before the run stops
    lost_results: str = "retry"  # or give_up: the words of a batch whose results file is gone
    redo: bool = False  # send words even when the store has their entry


@dataclass(frozen=True)
class RunResult:
    """How a run ended, with where its results are."""

    phase: Phase  # finished | interrupted | budget (stopped at max_cost)
    progress: Progress
    given_up: dict[str, Failure]  # word -> why (str() gives "code: detail")
    checkpoint: Path
    store: str
    provider: str
    model: str
    run_id: str = ""  # the entries this run made carry it: load_entries(store, run_id=...)

    @property
    def exit_code(self) -> int:
        return 130 if self.phase == Phase.INTERRUPTED else 0


class Engine:
    """Drives one run's batches on a :class:`Backend` and records every step in a checkpoint."""

    def __init__(
        self,
        backend: Backend,
        checkpoint: Checkpoint,
        store: RunStore,
        price: Price,
        settings: EngineSettings,
        *,
        model: str,
        words: WordList,
        spool: Path | None = None,
        listener: ProgressListener | None = None,
        clock: Callable[[], float] = time.monotonic,
        reference: Mapping[str, Any] | None = None,
        resumed: bool | None = None,
        ledger: RunLedger | None = None,
    ) -> None:
        self.backend = backend
        self.cp = checkpoint
        self.state = checkpoint.state
        self.store = store
        self.price = price
        self.settings = settings
        self.model = model
        self.words = words
        self.spool = spool or spool_dir(checkpoint.path)
        self.listener = listener
        self.clock = clock
        self.reference = reference
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._cancel = settings.cancel_on_exit
        self._phase = Phase.RUNNING
        # whether this run goes on from an earlier one's checkpoint (None: judged from the state;
        # a Job knows, and words the store had are journalled before the first step)
        self.resumed = bool(self.state.flights or self.state.seq) if resumed is None else resumed
        self._started = clock()
        self._resolved_at_start = self.state.resolved
        # batches a resume inherits did their work before this session: their words are not
        # counted in this session's rate (a resume collecting finished batches is not fast)
        self._inherited = set(self.state.flights)
        self._inherited_resolved = 0
        self._unstored_failures: dict[str, str | None] = {}  # word -> batch id, to write again
        counter = request_tokens(price.model, token_scale(str(backend.provider)))
        self.pacing = Pacing(
            price=price,
            token_budget=settings.token_budget,
            fixed_tokens=counter.fixed,
            poll_interval=settings.poll_interval,
            clock=clock,
            max_cost=settings.max_cost,
            words_per_request=settings.words_per_request,
        )
        self.ledger = ledger or RunLedger.for_run(
            store, backend, model, checkpoint.run_id, checkpoint.path, grounding=settings.grounding
        )
        crew = Crew(
            backend,
            checkpoint,
            self.pacing,
            self.spool,
            self._stop,
            self._record,
            self._notify,
            self.ledger,
        )
        self.submitter = Submitter(
            crew,
            price=price,
            counter=counter,
            words=words,
            batch_size=settings.batch_size,
            words_per_request=settings.words_per_request,
            reference=reference if settings.grounding else None,
            unreachable_after=settings.unreachable_after,
            redo=settings.redo,
        )
        self.recoverer = Recoverer(crew, self.submitter)
        self.collector = Collector(
            crew,
            store,
            price=price,
            model=model,
            grounding=settings.grounding,
            lost_results=settings.lost_results,
        )

    def stop(self, *, cancel: bool = False) -> None:
        """Ask the run to stop after the step in hand (thread-safe, idempotent); with ``cancel``,
        batches in flight are cancelled instead of left running."""
        self._cancel = self._cancel or cancel
        self._stop.set()
        self._wake.set()

    # --- the loop ------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Run until every word is resolved, the cost cap is reached, or :meth:`stop`."""
        self.spool.mkdir(parents=True, exist_ok=True)
        try:
            how = "resuming" if self.resumed else "starting"
            self._notify(f"{how} run {self.cp.run_id} on {self.backend.provider} ({self.model})")
            self.submitter.check_location()
            self._renew()
            self.recoverer.recover()
            while not self._stop.is_set() and self.collector.fatal is None:
                self._renew()
                self.recoverer.recover_if_due()
                changed = self.collector.poll()
                changed |= self.recoverer.resolve_planned()
                changed |= self.collector.collect_ended()
                changed |= self.recoverer.check_held()
                changed |= self.submitter.submit()
                left = self.state.pending_count() - self.recoverer.left_to_their_owners()
                if not self.state.flights and (left == 0 or self.pacing.capped):
                    # the last look for batches of this run nobody knows (None: none left)
                    swept = self.recoverer.sweep_extras()
                    if swept is None:
                        break
                    changed |= swept
                self._notify(None)
                self._wake.wait(self.pacing.next_wait(changed))
                self._wake.clear()
            self._end_phase()
        finally:
            failpoints.hit("before-final-save")  # every step is in the journal, none snapshotted
            self.cp.save()
            self._store_failures_again()
            self._end_lease()
        progress = self.progress()
        self._record_run(progress)
        self._notify(None)
        return RunResult(
            phase=self._phase,
            progress=progress,
            given_up={w: self.state.failed.get(w, _UNKNOWN) for w in self.state.given_up},
            checkpoint=self.cp.path,
            store=self.store.location,
            provider=self.backend.provider,
            model=self.model,
            run_id=self.cp.run_id,
        )

    def _end_phase(self) -> None:
        """Set the phase the loop ended in; a fault that ended it is raised."""
        if self.collector.fatal is not None:
            self._phase = Phase.STOPPED
            raise self.collector.fatal
        if self._stop.is_set():
            self._phase = Phase.INTERRUPTED
            if self._cancel:
                self.collector.cancel_in_flight()
        elif self.pacing.capped and self.state.pending_count():
            self._phase = Phase.BUDGET
        else:
            self._phase = Phase.FINISHED
            if not self.state.flights:
                # the downloads (and the offline provider's files) are in the store now
                shutil.rmtree(self.spool, ignore_errors=True)

    # --- the ledger ----------------------------------------------------------------------------

    def _renew(self) -> None:
        """Renew the run's lease in the store (a store error is said, and tried again)."""
        try:
            self.ledger.renew()
        except StoreError as exc:
            self._notify(f"could not renew this run's reservations (will try again): {exc}")

    def _end_lease(self) -> None:
        try:
            self.ledger.end(keep=self.state.in_flight_words())
        except StoreError as exc:
            self._notify(f"could not release this run's reservations: {exc}")

    def _settle(self, type_: str, flight: Any, data: Mapping[str, object]) -> None:
        """Keep the ledger in step with an event: a batch exists, ended, or its shard went back."""
        try:
            if type_ == "created":
                self.ledger.attach(str(data["shard"]), str(data["batch_id"]))
            elif type_ == "ended" and flight is not None:
                done = set(self.state.done)
                self.ledger.settle(
                    [w for w in flight.words if w in done],
                    [w for w in flight.words if w not in done],
                )
            elif type_ == "abandoned" and flight is not None:
                self.ledger.settle((), flight.words)
        except StoreError as exc:
            self._notify(f"the store's ledger is behind (will try again): {exc}")

    # --- records and reporting -----------------------------------------------------------------

    def _record(self, type_: str, **data: object) -> None:
        """Journal one event. A batch's end also counts toward this session's rate (unless an
        earlier session ran the batch) and writes its words' failures to the store; the ledger
        follows batches created, ended and abandoned."""
        flight = self.state.flights.get(str(data.get("shard")))
        ended = flight if type_ == "ended" else None
        if ended is not None and data.get("failed"):
            data["failed"] = _with_suggestions(data["failed"])  # type: ignore[arg-type]
        before = self.state.resolved
        self.cp.record(self.state.event(type_, **data))
        self._settle(type_, flight, data)
        if type_ in ("ended", "abandoned"):
            self.pacing.flight_settled()  # what it may still cost is known: weigh the cap again
        if ended is None:
            return
        if ended.shard in self._inherited:
            self._inherited_resolved += self.state.resolved - before
        self._store_failures({w: ended.batch_id for w in ended.words})

    def _store_failures(self, batch_of: Mapping[str, str | None]) -> bool:
        """Write the failure records of these words (those that failed), each with its batch id;
        a write that fails is tried again at the end of the run."""
        state = self.state
        failures = [
            FailureRecord(
                word=w,
                reason=str(state.failed[w]),
                attempts=state.attempts.get(w, 0),
                given_up=w in state.given_up,
                batch_id=batch_id,
                run_id=self.cp.run_id,
            )
            for w, batch_id in batch_of.items()
            if w in state.failed and w not in state.done
        ]
        if not failures:
            return True
        try:
            self.store.record_failures(failures)
        except StoreError as exc:
            self._unstored_failures.update((f.word, f.batch_id) for f in failures)
            self._notify(f"failures not stored (they are in the checkpoint): {exc}")
            return False
        for f in failures:
            self._unstored_failures.pop(f.word, None)
        return True

    def _store_failures_again(self) -> None:
        if self._unstored_failures and self._store_failures(dict(self._unstored_failures)):
            self._unstored_failures.clear()

    def _record_run(self, progress: Progress) -> None:
        """The run's summary beside its entries, for review (the checkpoint has it too)."""
        summary = {
            "run_id": self.cp.run_id,
            "provider": self.backend.provider,
            "model": self.model,
            "phase": progress.phase,
            "words": progress.total,
            "processed": progress.processed,
            "given_up": progress.given_up,
            "input_tokens": progress.input_tokens,
            "output_tokens": progress.output_tokens,
            "cost_usd": progress.cost_usd,
            "batches": len(self.state.finished),
            "failure_reasons": progress.failure_reasons,
            "start_time": self.cp.start_time,
            # the run's own given-up words: its failures, whatever the store holds for others
            GIVEN_UP_WORDS: {
                w: {
                    "reason": str(self.state.failed.get(w, _UNKNOWN)),
                    "attempts": self.state.attempts.get(w, 0),
                }
                for w in self.state.given_up
            },
        }
        try:
            self.store.record_run(summary)
        except StoreError as exc:
            self._notify(f"run summary not stored (it is in the checkpoint): {exc}")

    def progress(self) -> Progress:
        s = self.state
        batches: dict[str, int] = {}
        for f in s.flights.values():
            batches[f.status] = batches.get(f.status, 0) + 1
        in_flight = sum(len(f.words) for f in s.flights.values())
        retrying = sum(1 for w in s.failed if w not in s.given_up and w not in s.done)
        return Progress(
            total=len(s.words),
            processed=len(s.done),
            given_up=len(s.given_up),
            retrying=retrying,
            in_flight=in_flight,
            pending=s.pending_count(),
            batches=batches,
            input_tokens=s.usage.input_tokens,
            output_tokens=s.usage.output_tokens,
            cost_usd=s.usage.cost_usd,
            elapsed=self.clock() - self._started,
            resolved_this_session=s.resolved - self._resolved_at_start - self._inherited_resolved,
            phase=Phase.STOPPING
            if self._phase == Phase.RUNNING and self._stop.is_set()
            else self._phase,
            failure_reasons=reasons_of(s.failed, s.given_up),
            collected_this_session=self._inherited_resolved,
            resumed=self.resumed,
            failed_cost_usd=s.failed_cost,
        )

    def _notify(self, message: str | None) -> None:
        if message:
            log.info(message)
        if self.listener is not None:
            self.listener(self.progress(), message)


def _with_suggestions(failed: Mapping[str, Failure | str]) -> dict[str, Failure]:
    """``failed`` with "did you mean" suggestions in the reason of each word no source knows
    (computed here, from local lists: never asked of a paid API)."""
    # loaded only when a batch ends with failures: the lexicon package takes a moment to import
    from ..lexicon.suggest import SUGGESTED_CODES, suggest, with_suggestions

    out: dict[str, Failure] = {}
    for word, why in failed.items():
        failure = Failure.parse(why)
        if failure.code in SUGGESTED_CODES:
            detail = with_suggestions(failure.detail, suggest(word))
            failure = Failure(failure.code, detail)
        out[word] = failure
    return out


def spool_dir(checkpoint: Path) -> Path:
    """Where a run keeps downloaded results until the store has them: ``<checkpoint>.d``."""
    return checkpoint.with_name(checkpoint.name + ".d")
