"""The runner: words -> shards -> batches -> results -> store, with a checkpoint around every step
that moves money.

One loop, one thread, no event loop of its own (so it runs the same from a terminal, a background
thread, or inside a Jupyter kernel): poll the batches in flight, ingest those that ended, submit
new shards within the token budget and the cost cap, wait, repeat. The loop stops when every word
is resolved, or when :meth:`Engine.stop` is called (Ctrl+C, SIGTERM, a notebook's Stop button):
then it finishes the step in hand, saves the checkpoint and leaves batches in flight running
server-side for the next run to collect.

Order of writes, so that a crash between any two steps loses nothing and pays for nothing twice:
``planned`` (words reserved, before any upload) -> upload -> ``uploaded`` -> create (tagged with
the run id and shard key) -> ``created`` (the batch id) -> ... -> download to the spool -> entries
upserted into the store -> ``ended`` (words done or failed) -> spool and input file deleted.
On resume, a ``planned`` shard's batch is found by its tag (adopted) or known never to have been
created (abandoned); a batch with this run's tag that the checkpoint never heard of is adopted
from its own input file.

What the API says is trusted only when it says it: a batch is over when its *status* says so,
never because a read failed (a 404 may be stale, or come from another key or project). A batch
that stays unreadable stops the run with its words still reserved. Spend is what was billed:
each ended batch adds the ``usage`` the API reports on it (else the usage of every billed line
in its files), and the cost cap is checked against that plus the worst case of every batch in
flight (input tokens exact, output at each request's ``max_tokens``).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import failpoints, prompts, schema
from .backends.base import (
    Backend,
    BatchInfo,
    RejectedError,
    TransientError,
    UncertainError,
)
from .checkpoint import Checkpoint
from .errors import BackendError, StoreError, UsageError
from .ingest import Provenance, ingest_lines
from .pricing import Price
from .progress import Progress, ProgressListener, reasons_of
from .requests import RequestTemplate, build_requests, decode_custom_id, max_output_tokens
from .shards import Shard, plan_shards
from .state import Flight
from .store import Store
from .store.records import FailureRecord
from .tokens import request_tokens
from .words import WordList

log = logging.getLogger("synthlib")

RUN_TAG = "synthlib_run"
SHARD_TAG = "synthlib_shard"
MAX_POLL_INTERVAL = 300.0
POLL_GROWTH = 1.5
# Failed reads of one batch in a row (polls with growing waits: about 17 minutes at the default
# poll interval) before the run stops and says where to look. 404s come from another key,
# project or base URL more often than from a lost batch; network errors get longer.
MAX_NOT_FOUND_READS = 10
MAX_FAILED_READS = 30
# Store writes that failed in a row, waiting between them, before the run ends on an outage.
MAX_STORE_ATTEMPTS = 20


class BatchUnreadable(BackendError):
    """A batch of this run cannot be read; its words stay reserved in the checkpoint."""


class WrongAccount(UsageError):
    """The checkpoint's batches live on another base URL, organisation or project."""


@dataclass(frozen=True)
class EngineSettings:
    batch_size: int
    token_budget: int
    max_cost: float | None = None
    poll_interval: float = 10.0
    words_per_request: int = 1
    grounding: bool = False
    cancel_on_exit: bool = False
    expected_output_per_word: float = schema.DEFAULT_OUTPUT_TOKENS_PER_WORD[schema.SCHEMA_VERSION]


@dataclass(frozen=True)
class Outcome:
    """How a run ended. ``phase``: finished, interrupted, or budget (stopped at max_cost)."""

    phase: str
    progress: Progress
    given_up: dict[str, str]


class Engine:
    """Drives one run's batches on a :class:`Backend` and records every step in a checkpoint."""

    def __init__(
        self,
        backend: Backend,
        checkpoint: Checkpoint,
        store: Store,
        price: Price,
        settings: EngineSettings,
        *,
        model: str,
        words: WordList,
        spool: Path | None = None,
        listener: ProgressListener | None = None,
        clock: Callable[[], float] = time.monotonic,
        reference: Mapping[str, Any] | None = None,
    ) -> None:
        self.backend = backend
        self.cp = checkpoint
        self.state = checkpoint.state
        self.store = store
        self.price = price
        self.settings = settings
        self.model = model
        self.words = words
        self._infos: dict[str, BatchInfo] = {}  # the latest status seen of each batch
        self.template = RequestTemplate(price)
        self.counter = request_tokens(price.model)
        self.spool = spool or spool_dir(checkpoint.path)
        self.listener = listener
        self.clock = clock
        self.reference = reference
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._started = clock()
        self._resolved_at_start = self.state.resolved
        # batches a resume inherits did their work before this session: their words are not
        # counted in this session's rate (a resume collecting finished batches is not fast)
        self._inherited = set(self.state.flights)
        self._inherited_resolved = 0
        self._budget = settings.token_budget
        self._submit_after = 0.0
        self._limit_backoff = max(settings.poll_interval, 1.0)
        self._poll_wait = settings.poll_interval
        self._poll_cap = min(MAX_POLL_INTERVAL, max(settings.poll_interval * 30, 1.0))
        self._store_down_until = 0.0
        self._store_failures = 0
        self._budget_reached = False
        self._phase = "running"
        self._cancel = settings.cancel_on_exit
        self._failed_reads: dict[str, int] = {}  # batch id -> failed reads in a row
        self._not_found_reads: dict[str, int] = {}
        self._sweep_needed = False  # a create went unanswered: look for extra batches at the end
        self._fatal: BaseException | None = None
        self._recover_later = False

    # --- control ---------------------------------------------------------------------------

    def stop(self, *, cancel: bool = False) -> None:
        """Ask the run to stop after the step in hand (thread-safe, idempotent); with ``cancel``,
        batches in flight are cancelled instead of left running."""
        self._cancel = self._cancel or cancel
        self._stop.set()
        self._wake.set()

    # --- the loop ------------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Run until every word is resolved, the cost cap is reached, or :meth:`stop`."""
        self.spool.mkdir(parents=True, exist_ok=True)
        try:
            self._announce("resuming" if self.state.flights or self.state.seq else "starting")
            self._check_location()
            self._recover()
            while not self._stop.is_set() and self._fatal is None:
                changed = self._poll()
                changed |= self._ingest_ended()
                changed |= self._submit()
                if not self.state.flights and (
                    self.state.pending_count() == 0 or self._budget_reached
                ):
                    if not self._sweep_extras():
                        break
                    changed = True
                self._notify(None)
                self._wait(changed)
            if self._fatal is not None:
                self._phase = "stopped"
                raise self._fatal
            if self._stop.is_set():
                self._phase = "interrupted"
                if self._cancel:
                    self._cancel_in_flight()
            elif self._budget_reached and self.state.pending_count():
                self._phase = "budget"
            else:
                self._phase = "finished"
                self._clear_spool()
        finally:
            self.cp.save()
            self._record_failures()
        progress = self.progress()
        self._record_run(progress)
        self._notify(None)
        given_up = {w: self.state.failed.get(w, "") for w in self.state.given_up}
        return Outcome(self._phase, progress, given_up)

    def _wait(self, changed: bool) -> None:
        # waits start at poll_interval and grow while nothing changes, to a cap suited to real
        # batches (minutes); any change brings them back
        self._poll_wait = (
            self.settings.poll_interval
            if changed
            else min(self._poll_cap, self._poll_wait * POLL_GROWTH)
        )
        self._wake.wait(self._poll_wait)
        self._wake.clear()

    def _clear_spool(self) -> None:
        """A finished run has nothing waiting: its downloads (and the offline provider's files)
        are in the store now, so ``<checkpoint>.d`` goes."""
        if not self.state.flights:
            shutil.rmtree(self.spool, ignore_errors=True)

    # --- where the batches live -------------------------------------------------------------

    def _check_location(self) -> None:
        """Refuse to resume batches of another base URL, organisation or project: every read
        would 404 and their words would look lost. The checkpoint records where its batches
        live (never a key)."""
        try:
            here = {k: v for k, v in self.backend.location().items() if v}
        except (TransientError, RejectedError) as exc:
            self._notify(f"could not identify the account ({exc}); going on")
            return
        then = {k: v for k, v in self.cp.backend.items() if v}
        clash = [k for k in ("base_url", "organization", "project") if k in then and k in here
                 and then[k] != here[k]]  # fmt: skip
        if clash and self.state.flights:
            was = ", ".join(f"{k} {then[k]}" for k in clash)
            now = ", ".join(f"{k} {here[k]}" for k in clash)
            raise WrongAccount(
                f"{self.cp.path}: its {len(self.state.flights)} batches in flight live at {was}, "
                f"but this run talks to {now}; resume with the same OPENAI_BASE_URL and a key "
                "of the same project (nothing was spent)"
            )
        if here and here != then:
            self.cp.backend = {**then, **here}
            self.cp.save()

    # --- resume ------------------------------------------------------------------------------

    def _recover(self) -> None:
        """Re-attach to every batch of this run: planned ones by tag, unknown ones by input."""
        planned = [f for f in self.state.flights.values() if f.batch_id is None]
        known = self._known_batch_ids()
        if not self.state.seq:
            return  # a new run: no batch can carry its tag yet
        try:
            tagged = [b for b in self._run_batches() if b.id not in known]
        except TransientError as exc:
            self._notify(f"could not list batches to re-attach ({exc}); will try again")
            self._recover_later = True
            return
        except RejectedError as exc:  # an API without batch listing: nothing can be adopted
            self._notify(f"cannot list batches ({exc}); shards without a batch id go again")
            tagged = []
        by_shard = {b.metadata.get(SHARD_TAG): b for b in tagged}
        for flight in planned:
            batch = by_shard.pop(flight.shard, None)
            if batch is not None:
                self._notify(f"adopted batch {batch.id} created just before the last stop")
                self._record("created", shard=flight.shard, batch_id=batch.id,
                             status=batch.status, created_at=batch.created_at)  # fmt: skip
            elif flight.input_file_id is None:
                self._record("abandoned", shard=flight.shard)
            else:
                self._abandon(flight, "its batch was never created")
        for batch in by_shard.values():
            self._adopt_unknown(batch)

    def _run_batches(self) -> Iterator[BatchInfo]:
        """This run's batches on the backend, newest first, back to the run's start."""
        oldest = self._run_started_epoch() - 3600
        for batch in self.backend.list():
            if batch.metadata.get(RUN_TAG) == self.cp.run_id:
                yield batch
            if batch.created_at and batch.created_at < oldest:
                return

    def _run_started_epoch(self) -> float:
        from datetime import datetime

        try:
            return datetime.fromisoformat(self.cp.start_time).timestamp()
        except ValueError:
            return 0.0

    def _adopt_unknown(self, batch: BatchInfo) -> None:
        """A batch with this run's tag that the checkpoint does not know: created by a call
        whose answer was lost and then created again, or recorded in a write a crash tore. It
        is billed whatever we do, so it becomes a flight of its own: its results are collected
        and counted, for the words no other batch holds. When every one of its words is done or
        held elsewhere, it is cancelled (what it already ran is still billed, and counted)."""
        words = self._unclaimed_words(batch)
        key = f"x-{batch.id}"
        self._record("planned", shard=key, words=words, input_tokens=0)
        self._record("created", shard=key, batch_id=batch.id, status=batch.status,
                     created_at=batch.created_at)  # fmt: skip
        self._notify(f"adopted batch {batch.id} ({len(words)} words) found by this run's tag")
        if not words and not batch.terminal:
            try:
                info = self.backend.cancel(batch.id)
            except (TransientError, RejectedError) as exc:
                self._notify(f"could not cancel the extra batch {batch.id}: {exc}")
                return
            self._record("status", shard=key, status=info.status)
            self._notify(f"cancelling batch {batch.id}: its words are done or in other batches")

    def _unclaimed_words(self, batch: BatchInfo) -> list[str]:
        """The words of ``batch``'s input that are not done, given up or in another flight."""
        path = self.spool / f"{batch.id}.input.jsonl"
        try:
            self.backend.download(batch.input_file_id, path)
        except (TransientError, RejectedError) as exc:
            self._notify(f"input of batch {batch.id} unreadable ({exc}); its words stay queued")
            return []
        busy = self.state.in_flight_words()
        words: list[str] = []
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
                    positions = decode_custom_id(
                        _custom_id(line),
                        limit=len(self.state.words),
                        most=self.settings.words_per_request,
                    )
                    for pos in positions:
                        word = self.state.words[pos]
                        if not (word in busy or word in self.state.done
                                or word in self.state.given_up):  # fmt: skip
                            words.append(word)
                            busy.add(word)
        path.unlink(missing_ok=True)
        return words

    def _sweep_extras(self) -> bool:
        """After a create whose answer was lost, before the run ends: adopt any batch with this
        run's tag that is not known yet. True if one was found."""
        if not self._sweep_needed:
            return False
        try:
            extras = [b for b in self._run_batches() if b.id not in self._known_batch_ids()]
        except TransientError as exc:
            self._notify(f"could not list batches to look for extras ({exc}); will try again")
            return True
        except RejectedError:
            extras = []
        self._sweep_needed = False
        for batch in extras:
            self._adopt_unknown(batch)
        return bool(extras)

    def _known_batch_ids(self) -> set[str]:
        known = {f.batch_id for f in self.state.flights.values() if f.batch_id}
        return known | self.state.finished_batch_ids

    # --- polling -----------------------------------------------------------------------------

    def _poll(self) -> bool:
        if self._recover_later:
            self._recover_later = False
            self._recover()
        changed = False
        for flight in list(self.state.flights.values()):
            if self._stop.is_set():
                break
            if flight.batch_id is None:
                changed |= self._resolve_planned(flight)
                continue
            if _is_terminal(flight.status):
                continue
            failpoints.hit("poll")
            info = self._read(flight.batch_id)
            if info is None:
                continue
            self._infos[info.id] = info
            if flight.status == "validating" and info.status in ("in_progress", "finalizing",
                                                                 "completed"):  # fmt: skip
                # accepted under the enqueued-token limit: the limit's backoff starts over
                self._limit_backoff = max(self.settings.poll_interval, 1.0)
            if info.status != flight.status:
                self._record("status", shard=flight.shard, status=info.status)
                self._notify(f"batch {info.id}: {info.status} "
                             f"({info.completed + info.failed}/{info.total} requests)")  # fmt: skip
                changed = True
        return changed

    def _read(self, batch_id: str) -> BatchInfo | None:
        """The batch's status, or None for now when the read failed; a batch that stays
        unreadable stops the run (its words stay reserved: only its status can end it)."""
        try:
            info = self.backend.retrieve(batch_id)
        except TransientError as exc:
            self._unreadable(batch_id, exc, not_found=False)
            return None
        except RejectedError as exc:
            self._unreadable(batch_id, exc, not_found=True)
            return None
        self._failed_reads.pop(batch_id, None)
        self._not_found_reads.pop(batch_id, None)
        return info

    def _unreadable(self, what: str, exc: Exception, *, not_found: bool) -> None:
        """``what`` (a batch id, or its files) could not be read; past a bound, stop the run."""
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
        what = what if what.startswith("the files") else f"batch {what}"
        self._fatal = BatchUnreadable(
            f"{what} of {self.cp.path} stays unreadable at {where} ({exc}); likely "
            f"cause: {cause}. Its words stay reserved in the checkpoint; run again to resume"
        )
        self._stop.set()

    def _resolve_planned(self, flight: Flight) -> bool:
        """A shard whose create call got no answer: look for its batch before creating again."""
        try:
            tagged = [b for b in self._run_batches() if b.id not in self._known_batch_ids()]
        except TransientError:
            return False
        except RejectedError:
            tagged = []
        match = next((b for b in tagged if b.metadata.get(SHARD_TAG) == flight.shard), None)
        if match is not None:
            self._record("created", shard=flight.shard, batch_id=match.id, status=match.status,
                         created_at=match.created_at)  # fmt: skip
            self._notify(f"found batch {match.id} by its tag: its create call had taken effect")
            return True
        return self._create(flight)

    # --- ingest --------------------------------------------------------------------------------

    def _ingest_ended(self) -> bool:
        changed = False
        for flight in list(self.state.flights.values()):
            if self._stop.is_set() and changed:
                break
            if flight.batch_id and _is_terminal(flight.status):
                if self.clock() < self._store_down_until or self._fatal is not None:
                    break
                changed |= self._collect(flight)
        return changed

    def _collect(self, flight: Flight) -> bool:
        info = self._infos.pop(flight.batch_id, None)
        if info is None or not info.terminal:
            info = self._read(flight.batch_id)
            if info is None:
                return False
        return self._finish_flight(flight, info)

    def _finish_flight(self, flight: Flight, info: BatchInfo) -> bool:
        """Download, store and record one ended batch; False if it must wait (a file that
        cannot be read yet, the store down)."""
        failures: dict[str, str] = {}
        if info.status == "failed":
            reason = _validation_reason(info)
            failures = dict.fromkeys(flight.words, reason)
            if reason.startswith("token_limit_exceeded"):
                self._back_off_budget()
            self._record("ended", shard=flight.shard, done=[], failed=failures,
                         status="failed", usage=self._billed(info, None))  # fmt: skip
            self._cleanup(flight, info)
            self._notify(f"batch {flight.batch_id} failed validation: {reason}")
            return True
        files = f"the files of batch {info.id}"
        try:
            paths = self._download(info)
        except (TransientError, RejectedError) as exc:
            self._unreadable(files, exc, not_found=isinstance(exc, RejectedError))
            return False
        self._failed_reads.pop(files, None)
        self._not_found_reads.pop(files, None)
        provenance = Provenance(
            provider=self.backend.provider,
            model=self.model,
            prompt_version=prompts.PROMPT_VERSION,
            schema_version=schema.SCHEMA_VERSION,
            batch_id=flight.batch_id,
            run_id=self.cp.run_id,
            grounded=self.settings.grounding,
        )
        result = ingest_lines(
            _lines(paths), words=self.state.words, expected=flight.words, price=self.price,
            provenance=provenance, words_per_request=self.settings.words_per_request,
        )  # fmt: skip
        if result.anomalies():
            self._notify(f"batch {info.id}: {result.anomalies()}")
        failpoints.hit("before-store")
        try:
            self.store.upsert_entries(result.records)
            failpoints.hit("after-store")
        except StoreError as exc:
            # keep the spooled files: nothing paid for is lost; ingest again later or on resume
            self._store_unavailable(exc)
            return False
        self._store_failures = 0
        status = info.status
        if status in ("expired", "cancelled"):
            code = "expired" if status == "expired" else "cancelled"
            for word in flight.words:
                failures[word] = f"{code}: the batch {status} before this request ran"
        failures.update(result.failures)
        usage = self._billed(info, result.usage())
        self._record("ended", shard=flight.shard, done=[r.word for r in result.records],
                     failed=failures, status=status, usage=usage)  # fmt: skip
        self._budget = min(self.settings.token_budget, int(self._budget * 1.25) + 1)
        self._cleanup(flight, info, paths)
        self._notify(
            f"batch {flight.batch_id} {status}: {len(result.records)} entries, "
            f"{len(set(flight.words) - {r.word for r in result.records})} failed, "
            f"${usage['cost_usd']:.4f}"
        )
        return True

    def _billed(self, info: BatchInfo, lines: dict[str, Any] | None) -> dict[str, Any]:
        """What the batch cost: the usage the API reports on the batch (the bill itself, known
        even when a result file cannot be read), else the usage of its files' billed lines (an
        API that reports none, or zeros, as for batches made before 2025-09-07)."""
        best = lines or {"input_tokens": 0, "cached_tokens": 0, "output_tokens": 0}
        u = info.usage
        if u is not None and u.input_tokens + u.output_tokens > 0:
            best = {"input_tokens": u.input_tokens, "cached_tokens": u.cached_tokens,
                    "output_tokens": u.output_tokens}  # fmt: skip
        cost = self.price.cost(best["input_tokens"], best["output_tokens"],
                               best["cached_tokens"], batch=True)  # fmt: skip
        return {**best, "cost_usd": cost}

    def _store_unavailable(self, exc: StoreError) -> None:
        self._store_failures += 1
        if getattr(exc, "lasting", False) or self._store_failures >= MAX_STORE_ATTEMPTS:
            # a corrupt or read-only file, refused credentials, or an outage past its bound:
            # submit nothing more and end the run; the results wait in the spool for a resume
            self._fatal = StoreError(
                f"{exc}; no new batches were submitted, and results already paid for wait in "
                f"{self.spool} until the store is fixed and the run resumed"
            )
            self._stop.set()
            return
        wait = min(MAX_POLL_INTERVAL, max(self.settings.poll_interval, 5.0) * self._store_failures)
        self._store_down_until = self.clock() + wait
        self._notify(f"store unavailable, results kept in {self.spool}: {exc}")

    def _download(self, info: BatchInfo) -> list[Path]:
        paths = []
        for kind, file_id in (("output", info.output_file_id), ("errors", info.error_file_id)):
            if not file_id:
                continue
            path = self.spool / f"{info.id}.{kind}.jsonl"
            if not path.exists():  # a file spooled before a crash is not downloaded again
                part = path.with_suffix(".part")
                self.backend.download(file_id, part)  # failures: the caller reads again later
                part.replace(path)
                failpoints.hit("after-download")
            paths.append(path)
        return paths

    def _cleanup(self, flight: Flight, info: BatchInfo | None, paths: list[Path] = ()) -> None:
        for path in paths:
            path.unlink(missing_ok=True)
        file_id = flight.input_file_id or (info.input_file_id if info else None)
        if file_id:
            try:
                self.backend.delete_file(file_id)
            except (TransientError, RejectedError) as exc:
                self._notify(f"could not delete input file {file_id}: {exc}")

    # --- submission ----------------------------------------------------------------------------

    def _submit(self) -> bool:
        if self._stop.is_set() or self._budget_reached or self.clock() < self._submit_after:
            return False
        if self._store_failures:
            return False  # results are waiting for the store: buy no more until it is back
        if any(f.batch_id is None for f in self.state.flights.values()):
            return False  # an unresolved create comes first
        submitted = False
        while not self._stop.is_set():
            room = self._budget - self._in_flight_tokens()
            if room <= self.counter.fixed:
                break
            shard = self._next_shard(room)
            if shard is None:
                break
            if self._over_cost(shard):
                shard = self._shard_within_cost(room, shard)
            if shard is None:
                self._budget_reached = True
                self._notify(f"max cost ${self.settings.max_cost:.2f} reached: no new batches")
                break
            if not self._launch(shard):
                break
            submitted = True
        return submitted

    def _next_shard(self, room: int, batch_size: int | None = None) -> Shard | None:
        requests = build_requests(
            self.state.pending(),
            self.words._index,
            words_per_request=self.settings.words_per_request,
            reference=self.reference if self.settings.grounding else None,
        )
        shards = plan_shards(
            requests, self.template, self.counter,
            batch_size=batch_size or self.settings.batch_size, max_tokens=max(room, 1),
        )  # fmt: skip
        return next(shards, None)

    def _in_flight_tokens(self) -> int:
        return sum(f.input_tokens for f in self.state.flights.values())

    def _over_cost(self, shard: Shard) -> bool:
        """Whether billed spend, plus the worst case of every batch in flight and of ``shard``,
        would pass the cap: the cap holds whatever the answers' lengths turn out to be."""
        if self.settings.max_cost is None:
            return False
        projected = self.state.usage.cost_usd + self._worst_case(shard.input_tokens,
                                                                 shard.word_count)  # fmt: skip
        for flight in self.state.flights.values():
            projected += self._worst_case(flight.input_tokens, len(flight.words))
        return projected > self.settings.max_cost

    def _worst_case(self, input_tokens: int, words: int) -> float:
        per = self.settings.words_per_request
        requests = -(-words // per)
        return self.price.cost(input_tokens, requests * max_output_tokens(self.price, per))

    def _shard_within_cost(self, room: int, shard: Shard) -> Shard | None:
        """A smaller shard that fits under the cap, or None when not even one request does."""
        per_word = self._worst_case(shard.input_tokens, shard.word_count) / shard.word_count
        spent = self.state.usage.cost_usd + sum(
            self._worst_case(f.input_tokens, len(f.words)) for f in self.state.flights.values()
        )
        per = self.settings.words_per_request
        n = int((self.settings.max_cost - spent) / per_word) // per * per
        while n >= per:
            smaller = self._next_shard(room, batch_size=n)
            if smaller is None:
                return None
            if not self._over_cost(smaller):
                return smaller
            n = n // 2 // per * per
        return None

    def _launch(self, shard: Shard) -> bool:
        key = f"s-{self.state.next_shard}"
        self._record("planned", shard=key, words=list(shard.words), input_tokens=shard.input_tokens)
        flight = self.state.flights[key]
        path = self.spool / f"{self.cp.run_id}.{key}.input.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for request in shard.requests:
                fh.write(self.template.line(request))
                fh.write("\n")
        since = time.time() - 60  # the server's clock may run behind ours
        try:
            file_id = self.backend.upload(path)
        except UncertainError as exc:
            file_id = self._find_upload(path.name, since)
            if file_id is None:  # not there (or not visible): at worst an orphan file, unbilled
                self._record("abandoned", shard=key)
                path.unlink(missing_ok=True)
                self._pause_submissions(f"upload failed: {exc}")
                return False
        except (TransientError, RejectedError) as exc:
            self._record("abandoned", shard=key)
            path.unlink(missing_ok=True)
            self._pause_submissions(f"upload failed: {exc}")
            return False
        failpoints.hit("after-upload")
        self._record("uploaded", shard=key, input_file_id=file_id)
        path.unlink(missing_ok=True)
        return self._create(flight)

    def _find_upload(self, name: str, since: float) -> str | None:
        try:
            return self.backend.find_upload(name, since)
        except (TransientError, RejectedError):
            return None

    def _create(self, flight: Flight) -> bool:
        metadata = {RUN_TAG: self.cp.run_id, SHARD_TAG: flight.shard,
                    "synthlib_words": str(len(flight.words))}  # fmt: skip
        failpoints.hit("before-create")
        try:
            info = self.backend.create(flight.input_file_id, metadata)
            failpoints.hit("after-create")
        except UncertainError as exc:
            # the batch may exist: the next poll looks for it by tag before creating again
            self._sweep_needed = True
            self._pause_submissions(f"no answer creating a batch ({exc}); will look for it")
            return False
        except TransientError as exc:
            self._pause_submissions(f"cannot create a batch now: {exc}")
            return False
        except RejectedError as exc:
            reason = f"batch_failed: {exc}"
            failed = dict.fromkeys(flight.words, reason)
            self._record("ended", shard=flight.shard, done=[], failed=failed, status="rejected",
                         usage={})  # fmt: skip
            self._cleanup(flight, None)
            self._notify(f"batch for shard {flight.shard} rejected: {exc}")
            return False
        self._record("created", shard=flight.shard, batch_id=info.id, status=info.status,
                     created_at=info.created_at)  # fmt: skip
        self._notify(f"submitted batch {info.id} ({len(flight.words)} words, "
                     f"{flight.input_tokens:,} input tokens)")  # fmt: skip
        return True

    def _abandon(self, flight: Flight, why: str) -> None:
        if flight.input_file_id:
            with contextlib.suppress(TransientError, RejectedError):
                self.backend.delete_file(flight.input_file_id)
        self._record("abandoned", shard=flight.shard)
        self._notify(f"shard {flight.shard} returned to the queue: {why}")

    def _pause_submissions(self, why: str) -> None:
        self._submit_after = self.clock() + max(self.settings.poll_interval, 1.0)
        self._notify(why)

    def _back_off_budget(self) -> None:
        """The enqueued-token limit was hit: halve the budget and wait before submitting."""
        self._budget = max(self.counter.fixed * 2, self._budget // 2)
        self._submit_after = self.clock() + self._limit_backoff
        self._limit_backoff = min(MAX_POLL_INTERVAL, self._limit_backoff * 2)

    def _cancel_in_flight(self) -> None:
        for flight in list(self.state.flights.values()):
            if flight.batch_id and not _is_terminal(flight.status):
                try:
                    info = self.backend.cancel(flight.batch_id)
                except (TransientError, RejectedError) as exc:
                    self._notify(f"could not cancel {flight.batch_id}: {exc}")
                    continue
                self._record("status", shard=flight.shard, status=info.status)
                self._notify(f"cancelling batch {flight.batch_id}")

    # --- records and reporting ---------------------------------------------------------------

    def _record(self, type_: str, **data: object) -> None:
        before = self.state.resolved
        self.cp.record(self.state.event(type_, **data))
        if type_ == "ended" and data.get("shard") in self._inherited:
            self._inherited_resolved += self.state.resolved - before

    def _record_failures(self) -> None:
        failures = [
            FailureRecord(
                word=w,
                reason=self.state.failed[w],
                attempts=self.state.attempts.get(w, 0),
                given_up=w in self.state.given_up,
                run_id=self.cp.run_id,
            )
            for w in self.state.failed
            if w not in self.state.done
        ]
        if failures:
            try:
                self.store.record_failures(failures)
            except StoreError as exc:
                self._notify(f"failures not stored (they are in the checkpoint): {exc}")

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
            phase=self._phase,
            failure_reasons=reasons_of(s.failed, s.given_up),
        )

    def _announce(self, what: str) -> None:
        self._notify(f"{what} run {self.cp.run_id} on {self.backend.provider} ({self.model})")

    def _notify(self, message: str | None) -> None:
        if message:
            log.info(message)
        if self.listener is not None:
            self.listener(self.progress(), message)


def spool_dir(checkpoint: Path) -> Path:
    """Where a run keeps downloaded results until the store has them: ``<checkpoint>.d``."""
    return checkpoint.with_name(checkpoint.name + ".d")


def _is_terminal(status: str) -> bool:
    return status in ("completed", "failed", "expired", "cancelled")


def _validation_reason(info: BatchInfo) -> str:
    if not info.errors:
        return "batch_failed: the batch failed validation"
    first = info.errors[0]
    if first.code == "token_limit_exceeded":
        return f"token_limit_exceeded: {first.message}"
    return f"batch_failed: {first.code} {first.message}".strip()


def _lines(paths: list[Path]) -> Iterator[bytes]:
    for path in paths:
        with open(path, "rb") as fh:
            yield from fh


def _custom_id(line: str) -> str:
    import json

    return json.loads(line)["custom_id"]
