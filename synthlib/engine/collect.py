"""Collecting: poll the batches in flight, and end each one that is over: download its files to
the spool, ingest them, upsert the entries into the store, record its end, clean up.

What the API says is trusted only when it says it: a batch is over when its *status* says so,
never because a read failed (a 404 may be stale, or come from another key or project), and only
a terminal status ends it: a read that answers an older, unfinished status (a lagging replica
saying ``in_progress`` of a batch already seen ``completed``) is read again later, its results
(maybe already in the spool) kept. A batch that stays unreadable, or keeps answering an older
status, stops the run with its words still reserved. Downloads wait in the spool
until the store has their entries, so a store outage or a crash loses nothing already paid for.
Spend is what was billed: the ``usage`` the API reports on the batch, else the usage of every
billed line in its files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from ..core import failpoints
from ..core.errors import BackendError, StoreError
from ..core.limits import MAX_WORDS_PER_REQUEST
from ..core.pricing import Price, Usage
from ..core.requests import OutputLimits, model_max_output
from ..core.schema import Failure, FailureCode
from ..providers.base import (
    ACCEPTED,
    TERMINAL,
    BatchInfo,
    BatchStatus,
    RejectedError,
    TransientError,
)
from ..store import RunStore
from .crew import Crew, Part
from .ingest import BilledWords, Ingested, Provenance, ingest_lines
from .state import UNREADABLE, Flight

# Failed reads of one batch in a row (polls with growing waits: about 17 minutes at the default
# poll interval) before the run stops and says where to look. 404s come from another key,
# project or base URL more often than from a lost batch; network errors get longer.
MAX_NOT_FOUND_READS = 10
MAX_FAILED_READS = 30


class BatchUnreadable(BackendError):
    """A batch of this run cannot be read; its words stay reserved in the checkpoint."""


class _Part(Enum):
    STATUS = "batch"
    FILES = "the files of batch"
    LAGGING = "the status after the end of batch"


@dataclass(frozen=True)
class _Read:
    """What is read of a batch, its failed reads counted apart: its status, its result files,
    or its status again once it was seen ended (a lagging read)."""

    batch_id: str
    part: _Part = _Part.STATUS

    def __str__(self) -> str:
        return f"{self.part.value} {self.batch_id}"


class Collector(Part):
    """Follows the batches in flight and brings the results of ended ones into the store.

    A fault that must end the run (a batch that stays unreadable, a store that is broken) is
    kept in :attr:`fatal` and sets ``stop``."""

    def __init__(
        self,
        crew: Crew,
        store: RunStore,
        *,
        price: Price,
        model: str,
        grounding: bool,
        lost_results: str = "retry",
    ) -> None:
        super().__init__(crew)
        self.store = store
        self.price = price
        self.model = model
        self.grounding = grounding
        self.fatal: BaseException | None = None
        self._infos: dict[str, BatchInfo] = {}  # the latest status seen of each batch
        self._failed_reads: dict[_Read, int] = {}  # failed reads in a row
        self._not_found_reads: dict[_Read, int] = {}
        # batch id -> why its results file is gone (expired, deleted): ended without it
        self._gone: dict[str, str] = {}
        self.lost_results = lost_results  # retry | give_up: the words such a batch leaves

    # --- polling -------------------------------------------------------------------------------

    def poll(self) -> bool:
        """Read the status of every batch in flight; True if one changed."""
        changed = False
        for flight in list(self.state.flights.values()):
            if self._stop.is_set():
                break
            if flight.batch_id is None or flight.status in TERMINAL:
                continue
            failpoints.hit("poll")
            info = self._read(flight.batch_id)
            if info is None:
                continue
            self._infos[info.id] = info
            if flight.status == BatchStatus.VALIDATING and info.status in ACCEPTED:
                self.pacing.limit_cleared()
            if info.status != flight.status:
                self._record("status", shard=flight.shard, status=info.status)
                counts = info.counts()
                self._notify(f"batch {info.id}: {info.status}{f' ({counts})' if counts else ''}")
                changed = True
        return changed

    def _read(self, batch_id: str) -> BatchInfo | None:
        """The batch's status, or None for now when the read failed; a batch that stays
        unreadable stops the run (its words stay reserved: only its status can end it)."""
        try:
            info = self.backend.retrieve(batch_id)
        except TransientError as exc:
            self._unreadable(_Read(batch_id), exc, not_found=False)
            return None
        except RejectedError as exc:
            self._unreadable(_Read(batch_id), exc, not_found=True)
            return None
        self._readable(_Read(batch_id))
        return info

    def _readable(self, what: _Read) -> None:
        self._failed_reads.pop(what, None)
        self._not_found_reads.pop(what, None)

    def _unreadable(self, what: _Read, exc: Exception, *, not_found: bool) -> None:
        """``what`` (a batch's status, or its files) could not be read; past a bound, stop the
        run."""
        counts = self._not_found_reads if not_found else self._failed_reads
        counts[what] = counts.get(what, 0) + 1
        limit = MAX_NOT_FOUND_READS if not_found else MAX_FAILED_READS
        self._notify(f"{what} unreadable for now ({counts[what]}/{limit}): {exc}")
        if counts[what] < limit:
            return
        where = self.cp.backend.get("base_url") or "the API"
        cause = (
            "the key, project or OPENAI_BASE_URL differs from the run that created it"
            if not_found
            else "the API is unreachable"
        )
        way_out = ""
        if not_found and what.part is _Part.STATUS:
            # not found for good, as far as this run can tell, and so every batch not found
            # each time this run read it: --fresh may set them aside
            for flight in list(self.state.flights.values()):
                read = _Read(flight.batch_id or "")
                if read in counts and flight.status != UNREADABLE:
                    self._record("status", shard=flight.shard, status=UNREADABLE)
            way_out = (
                ", or {pass fresh=True} to set this checkpoint aside and start anew (if the "
                "batch lives under another key or project, its words are then paid again)"
            )
        self._fail(
            BatchUnreadable(
                f"{what} of {self.cp.path} stays unreadable at {where} ({exc}); likely "
                f"cause: {cause}. Its words stay reserved in the checkpoint; run again to "
                f"resume{way_out}",
                settings="fresh",
            )
        )

    def _lagging(self, flight: Flight, info: BatchInfo) -> None:
        """A batch seen ended before now reads as unfinished: read it again later; past a bound,
        stop the run (its words stay reserved, its spooled results kept)."""
        what = _Read(info.id, _Part.LAGGING)
        self._failed_reads[what] = self._failed_reads.get(what, 0) + 1
        count = self._failed_reads[what]
        self._notify(
            f"batch {info.id} reads {info.status} after {flight.status} (a lagging read, "
            f"{count}/{MAX_FAILED_READS}); reading it again later"
        )
        if count < MAX_FAILED_READS:
            return
        self._fail(
            BatchUnreadable(
                f"batch {info.id} of {self.cp.path} keeps answering {info.status} after the "
                f"API said {flight.status}; its words stay reserved in the checkpoint and its "
                "results stay in the spool; run again to resume"
            )
        )

    def _fail(self, error: BaseException) -> None:
        self.fatal = error
        self._stop.set()

    # --- ending batches ------------------------------------------------------------------------

    def collect_ended(self) -> bool:
        """End every batch whose status says it is over; True if one ended."""
        changed = False
        for flight in list(self.state.flights.values()):
            if self._stop.is_set() and changed:
                break
            if flight.batch_id and flight.status in TERMINAL:
                if self.pacing.store_resting() or self.fatal is not None:
                    break
                changed |= self._collect(flight)
        return changed

    def _collect(self, flight: Flight) -> bool:
        """End one batch; False if it must wait (a file not readable yet, the store down)."""
        batch_id = flight.batch_id
        assert batch_id is not None  # only a flight with a batch is collected
        info = self._infos.pop(batch_id, None)
        if info is None or not info.terminal:
            info = self._read(batch_id)
            if info is None:
                return False
        if not info.terminal:
            # its status was terminal before: this read comes from a replica that lags behind
            self._lagging(flight, info)
            return False
        if info.status == BatchStatus.FAILED:
            self._end_invalid(flight, info)
            return True
        paths = self._download(info)
        if paths is None:
            return False
        result = self._ingest(flight, info, paths)
        if not self._store(result):
            return False  # the spooled files stay: ingested again later or on resume
        if isinstance(self.store, BilledWords) and flight.batch_id:
            self.store.record_billed(flight.batch_id, result.billed)
        self._end(flight, info, result, paths)
        if info.id in self._gone:
            self._end_lost(flight, info, result)
        return True

    def _end_invalid(self, flight: Flight, info: BatchInfo) -> None:
        """A batch that failed validation: nothing ran, its words fail (token limit: uncharged)."""
        failure = _validation_failure(info)
        if failure.code == FailureCode.TOKEN_LIMIT_EXCEEDED:
            self.pacing.limit_hit()
        failed = dict.fromkeys(flight.words, failure)
        usage = self._billed(info, None)
        self._record(
            "ended",
            shard=flight.shard,
            done=[],
            failed=failed,
            status=BatchStatus.FAILED,
            usage=usage,
        )
        self._cleanup(flight, info)
        self._notify(f"batch {flight.batch_id} failed validation: {failure}")

    def _download(self, info: BatchInfo) -> list[Path] | None:
        """The batch's output and error files in the spool, or None while they are unreadable.
        A file spooled before a crash is not downloaded again. A file of an ended batch that
        stays not found (:data:`MAX_NOT_FOUND_READS` in a row: a 404 may be stale) is gone
        (expired, deleted): the batch is then ended with the files that are left, and its id
        kept in ``_gone`` (see :meth:`_end_lost`)."""
        files = _Read(info.id, _Part.FILES)
        paths = []
        missing: RejectedError | None = None
        for kind, file_id in (("output", info.output_file_id), ("errors", info.error_file_id)):
            if not file_id:
                continue
            path = self.spool / f"{info.id}.{kind}.jsonl"
            if not path.exists():
                part = path.with_suffix(".part")
                try:
                    self.backend.download(file_id, part)
                except TransientError as exc:
                    self._unreadable(files, exc, not_found=False)
                    return None
                except RejectedError as exc:
                    part.unlink(missing_ok=True)
                    missing = missing or exc
                    continue
                part.replace(path)
                failpoints.hit("after-download")
            paths.append(path)
        if missing is not None and info.id not in self._gone:
            reads = self._not_found_reads.get(files, 0) + 1
            if reads < MAX_NOT_FOUND_READS:
                self._not_found_reads[files] = reads
                self._notify(
                    f"{files} not found for now ({reads}/{MAX_NOT_FOUND_READS}): {missing}"
                )
                return None
            self._gone[info.id] = str(missing)
        self._readable(files)
        return paths

    def _ingest(self, flight: Flight, info: BatchInfo, paths: list[Path]) -> Ingested:
        provenance = Provenance(
            provider=self.backend.provider,
            model=self.model,
            prompt_version=self.ledger.purchase.prompt_version,
            schema_version=self.ledger.purchase.schema_version,
            batch_id=flight.batch_id,
            run_id=self.cp.run_id,
            grounded=self.grounding,
            api_location=self.ledger.purchase.api_location,
        )
        result = ingest_lines(
            _lines(paths),
            words=flight.word_places(self.state.words),
            expected=flight.words,
            price=self.price,
            provenance=provenance,
            # a custom_id made with other packing (a resume with another --words-per-request)
            words_per_request=MAX_WORDS_PER_REQUEST,
        )
        if result.anomalies():
            self._notify(f"batch {info.id}: {result.anomalies()}")
        return result

    def _store(self, result: Ingested) -> bool:
        """Upsert the entries; False when the store failed (the run waits, or ends on it)."""
        failpoints.hit("before-store")
        try:
            self.store.upsert_entries(result.records)
            failpoints.hit("after-store")
        except StoreError as exc:
            if self.pacing.store_failed(lasting=getattr(exc, "lasting", False)):
                # a corrupt or read-only file, refused credentials, or an outage past its
                # bound: submit nothing more and end the run; the results wait in the spool
                self._fail(
                    StoreError(
                        f"{exc}; no new batches were submitted, and results already paid for "
                        f"wait in {self.spool} until the store is fixed and the run resumed"
                    )
                )
            else:
                self._notify(f"store unavailable, results kept in {self.spool}: {exc}")
            return False
        self.pacing.store_ok()
        return True

    def _end(self, flight: Flight, info: BatchInfo, result: Ingested, paths: list[Path]) -> None:
        """Record the end of a batch whose entries are stored, then let its files go."""
        failures: dict[str, Failure] = {}
        if info.status in (BatchStatus.EXPIRED, BatchStatus.CANCELLED):
            unrun = Failure(info.status, f"the batch {info.status} before this request ran")
            failures = dict.fromkeys(flight.words, unrun)
        failures.update(result.failures)
        refit = self._refit(flight, failures)
        usage = self._billed(info, result.usage)
        done = [r.word for r in result.records]
        give_up: list[str] = []
        if info.id in self._gone:  # its results file is gone: the words without a result
            lost = Failure(
                FailureCode.RESULTS_LOST,
                f"the batch's results file is gone ({self._gone[info.id]})",
            )
            for word in set(flight.words) - set(done) - set(result.failures):
                failures[word] = lost
                if self.lost_results == "give_up":
                    give_up.append(word)
        self._record(
            "ended",
            shard=flight.shard,
            done=done,
            failed=failures,
            status=info.status,
            usage=usage,
            measured={str(b): n for b, n in result.measured().items()},
            refit=refit,
            failed_cost=result.failed_cost,
            **({"give_up": sorted(give_up)} if give_up else {}),
        )
        self.pacing.batch_ended()
        self._failed_reads.pop(_Read(info.id, _Part.LAGGING), None)
        self._cleanup(flight, info, paths)
        self._notify(
            f"batch {flight.batch_id} {info.status}: {len(result.records)} entries, "
            f"{len(set(flight.words) - set(done))} failed, ${usage.cost_usd:.4f}"
        )

    def _refit(self, flight: Flight, failures: dict[str, Failure]) -> dict[str, list[int]]:
        """The request each word whose answer was cut off needs next (a pack split, else twice
        the limit); a word cut off alone at the model's largest output cannot fit, and its
        failure becomes ``too_long`` (given up). Changes ``failures`` in place."""
        most = model_max_output(self.price)
        limits = OutputLimits(per_word=0, most=most)
        refit: dict[str, list[int]] = {}
        cut = {word for word, failure in failures.items() if failure.code == FailureCode.TRUNCATED}
        shapes = flight.requests_of(cut) if cut else {}
        for word, failure in list(failures.items()):
            shape = shapes.get(word)
            if failure.code != FailureCode.TRUNCATED or shape is None:
                continue  # (no shape: a flight journalled before its requests' limits were)
            nxt = limits.after_truncation(*shape)
            if nxt is None:
                failures[word] = Failure(
                    FailureCode.TOO_LONG,
                    f"the entry does not fit in {most:,} output tokens, the most "
                    f"{self.model} gives one answer ({failure.detail})",
                )
            else:
                refit[word] = list(nxt)
        return refit

    def _end_lost(self, flight: Flight, info: BatchInfo, result: Ingested) -> None:
        """Tell what became of a batch whose results file is gone (its end is recorded: its
        words without a result failed as ``results_lost``, given back to the queue or given up
        as ``lost_results`` says; its spend counted from the usage on the batch)."""
        why = self._gone.pop(info.id)
        lost = set(flight.words) - {r.word for r in result.records} - set(result.failures)
        where = "given up" if self.lost_results == "give_up" else "back in the queue"
        reported = info.usage is not None and info.usage.input_tokens + info.usage.output_tokens
        spend = (
            "its spend is counted from the usage the API reports on the batch"
            if reported
            else "the API reports no usage on the batch, so its spend is not counted"
        )
        self._notify(
            f"batch {info.id} {info.status}, but its results file is gone ({why}); "
            f"{len(lost)} words without a result are {where} (lost_results={self.lost_results}); "
            f"{spend}"
        )

    def _billed(self, info: BatchInfo, lines: Usage | None) -> Usage:
        """What the batch cost: the usage the API reports on the batch (the bill itself, known
        even when a result file cannot be read), else the usage of its files' billed lines (an
        API that reports none, or zeros, as for batches made before 2025-09-07)."""
        best = lines or Usage()
        if info.usage is not None and info.usage.total_tokens > 0:
            best = info.usage
        return best.priced(self.price)

    def _cleanup(self, flight: Flight, info: BatchInfo, paths: Iterable[Path] = ()) -> None:
        for path in paths:
            path.unlink(missing_ok=True)
        file_id = flight.input_file_id or info.input_file_id
        if file_id:
            try:
                self.backend.delete_file(file_id)
            except (TransientError, RejectedError) as exc:
                self._notify(f"could not delete input file {file_id}: {exc}")

    # --- stopping ------------------------------------------------------------------------------

    def cancel_in_flight(self) -> None:
        """Ask the API to cancel every batch in flight (what already ran is still billed)."""
        for flight in list(self.state.flights.values()):
            if not flight.batch_id or flight.status in TERMINAL:
                continue
            try:
                info = self.backend.cancel(flight.batch_id)
            except (TransientError, RejectedError) as exc:
                self._notify(f"could not cancel {flight.batch_id}: {exc}")
                continue
            self._record("status", shard=flight.shard, status=info.status)
            self._notify(f"cancelling batch {flight.batch_id}")


def _validation_failure(info: BatchInfo) -> Failure:
    if not info.errors:
        return Failure(FailureCode.BATCH_FAILED, "the batch failed validation")
    first = info.errors[0]
    if first.code == "token_limit_exceeded":
        return Failure(FailureCode.TOKEN_LIMIT_EXCEEDED, first.message)
    return Failure(FailureCode.BATCH_FAILED, f"{first.code} {first.message}".strip())


def _lines(paths: list[Path]) -> Iterator[bytes]:
    for path in paths:
        with open(path, "rb") as fh:
            yield from fh
