"""Launching: pending words -> shard -> input file -> batch.

Order of writes, so that a crash between any two steps loses nothing and pays for nothing twice:
``planned`` (words reserved in the store's ledger, before any upload) -> upload -> ``uploaded``
-> create (tagged with the run id and shard key) -> ``created`` (the batch id). A create without
an answer may have taken effect: it is never simply sent again here, the
:class:`~synthlib.engine.recover.Recoverer` looks for its batch first (and, on resume, for every
batch of this run the checkpoint does not know).

Every create is journalled first (``creating``: when, on the API's clock, and how many
requests), and marked in the store's ledger before that, so that a run finding this one gone
knows a create of the shard may exist. Only a create the API refused outright (a 429) is sent
again at once.

Times are the API's: a batch's ``created_at`` is compared with the API's time (the ``Date``
header of its answers, :meth:`~synthlib.providers.base.Backend.server_time`) and with the run's
start on the API's clock (kept in the checkpoint by :meth:`Submitter.check_location`), never
with this machine's clock, which may be hours off.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from ..core import failpoints
from ..core.errors import BackendError, StoreError, UsageError
from ..core.pricing import Price
from ..core.requests import OutputLimits, RequestTemplate, build_requests
from ..core.schema import Failure
from ..core.shards import Shard, plan_shards
from ..core.tokens import RequestTokens
from ..core.words import WordList
from ..providers.base import (
    RUN_TAG,
    SHARD_TAG,
    TERMINAL,
    BatchInfo,
    RejectedError,
    TransientError,
    UncertainError,
)
from ..providers.registry import batch_limits
from ..store.ledger import Reservation
from .crew import Crew, Part
from .reach import reach
from .skip import mark_already_done
from .state import Flight

__all__ = ["RUN_TAG", "SHARD_TAG", "SubmissionsFailing", "Submitter", "WrongAccount"]

# A batch created before an attempt began (by the API's clock) less this margin, or after the
# last attempt began plus the window, is not that attempt's: the margin covers the grain of the
# ``Date`` header and the time an answer takes, the window a slow create (the SDK's timeout is
# 120 s).
CLOCK_MARGIN_SECONDS = 60.0
CREATE_WINDOW_SECONDS = 600.0
# The run's start on the API's clock, in the checkpoint's ``backend`` record: the listing window
SERVER_STARTED = "server_started"


# Uploads refused in a row (a 4xx: the same file will be refused again), and the fewest failed
# submission calls in a row, before the run ends.
MAX_REFUSED_UPLOADS = 3


class SubmissionsFailing(BackendError):
    """Uploads, creates or the listings that find a batch again keep failing: uploads refused,
    or calls not answered for as long as the run may wait with nothing in flight."""


class WrongAccount(UsageError):
    """The checkpoint's batches live on another base URL, organisation or project."""


class Submitter(Part):
    """Plans, reserves, uploads and creates this run's batches within what :class:`Pacing`
    allows, after checking where the batches live. The
    :class:`~synthlib.engine.recover.Recoverer` is handed this part and uses its public
    calls (:meth:`create`, :meth:`created`, :meth:`abandon`, :meth:`call_failed`,
    :meth:`server_now`) and the words another run holds (:attr:`held`)."""

    def __init__(
        self,
        crew: Crew,
        *,
        price: Price,
        counter: RequestTokens,
        words: WordList,
        batch_size: int,
        words_per_request: int,
        reference: Mapping[str, Any] | None,
        unreachable_after: float = 60.0,
        redo: bool = False,
    ) -> None:
        super().__init__(crew)
        self.redo = redo  # send words even when the store has their entry
        self.template = RequestTemplate(price)
        self.counter = counter
        self.words = words
        self.batch_size = batch_size
        self.limits = batch_limits(getattr(self.backend, "provider", ""))  # one batch's most
        self.words_per_request = words_per_request
        self.reference = reference  # the lexicon for grounded requests, else None
        self.unreachable_after = unreachable_after  # seconds an API that does not answer is tried
        self._failures = 0  # submission calls (uploads, creates, listings) failed in a row
        self._failing_since = 0.0  # since when, on the pacing's clock, with nothing in flight
        # words another run holds (its reservation, as last read): never planned here
        self.held: dict[str, Reservation] = {}
        self.refused: set[str] = set()  # shards whose last create the API refused outright

    # --- where the batches live ----------------------------------------------------------------

    def check_location(self) -> None:
        """Reach the API (for at most ``unreachable_after`` seconds; a wrong URL, a closed port
        or a refused key ends the run naming it: :func:`~synthlib.engine.reach.reach`), then refuse
        to
        resume batches of another base URL, organisation or project: every read would 404 and
        their words would look lost. The checkpoint records where its batches live (never a
        key)."""
        found = reach(
            self.backend,
            within=self.unreachable_after,
            clock=self.pacing.clock,
            wait=self._stop.wait,
            notify=self._notify,
        )
        if found is None:
            return  # stopped while waiting
        here = {k: v for k, v in found.items() if v}
        then = {k: v for k, v in self.cp.backend.items() if v}
        keys = ("base_url", "organization", "project")
        clash = [k for k in keys if k in then and k in here and then[k] != here[k]]
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
        if SERVER_STARTED not in self.cp.backend:
            # the run's start on the API's clock: this machine's start time moved by the offset
            # just measured (a resumed checkpoint made before this was kept: an estimate)
            started = self.local_start() + self.server_now() - time.time()
            self.cp.backend = {**self.cp.backend, SERVER_STARTED: str(int(started))}
            self.cp.save()

    def server_now(self) -> float:
        """The API's time now (see :meth:`~synthlib.providers.base.Backend.server_time`)."""
        return float(getattr(self.backend, "server_time", time.time)())

    def local_start(self) -> float:
        try:
            return datetime.fromisoformat(self.cp.start_time).timestamp()
        except ValueError:
            return time.time()

    # --- submission ----------------------------------------------------------------------------

    def submit(self) -> bool:
        """Launch new shards while the budget has room and the cap allows; True if any went."""
        if self._stop.is_set() or not self.pacing.may_submit():
            return False
        if any(f.batch_id is None for f in self.state.flights.values()):
            return False  # an unresolved create comes first
        submitted = False
        while not self._stop.is_set():
            room = self.pacing.room(sum(f.input_tokens for f in self.state.flights.values()))
            shard = self._next_shard(room) if room else None
            if shard is None:
                break
            flights = list(self.state.flights.values())
            replan = functools.partial(self._next_shard, room)
            was_capped = self.pacing.capped
            spent = self.state.usage.cost_usd
            shard = self.pacing.within_cost(shard, spent, flights, replan)
            if shard is None and self.state.refit:
                # the words cut off before come first and need large requests: one of the
                # other words' smaller requests may still fit
                plain = functools.partial(self._next_shard, room, skip=self.state.refit.keys())
                first = plain()
                if first is not None:
                    shard = self.pacing.within_cost(first, spent, flights, plain)
            if shard is None:
                if not was_capped:
                    self._notify(self._cap_message(flights))
                break
            reserved = self._reserve(shard)
            if reserved is None:
                break
            if not reserved:
                continue  # another run holds some of its words: plan again without them
            if not self._launch(shard):
                break
            submitted = True
        return submitted

    def _cap_message(self, flights: list[Flight]) -> str:
        cap = f"max cost ${self.pacing.max_cost:.4g}"
        spent = f"${self.state.usage.cost_usd:.4f} spent"
        if flights:
            worst = self.pacing.committed(0.0, flights)
            return (
                f"{cap}: {spent}, up to ${worst:.4f} in flight; no room for another request "
                "until a batch ends"
            )
        return f"{cap} reached: {spent}, not one more request fits"

    def output_limits(self) -> OutputLimits:
        """The requests' output limits now: sized from this run's measured answers, with the
        words whose last answer was cut off given the request they need."""
        state = self.state
        return OutputLimits.measured(self.template.price, state.answer_tokens, state.refit)

    # --- the ledger ------------------------------------------------------------------------------

    def _reserve(self, shard: Shard) -> bool | None:
        """Reserve the shard's words in the store before anything is sent: True when every one
        is reserved by this run; False when another run holds some (they are set aside and the
        rest given back, to plan again); None when the store cannot be asked (nothing is sent)."""
        key = f"s-{self.state.next_shard}"
        positions = {w: self.words.positions[w] for w in shard.words}
        try:
            got = self.ledger.reserve(key, positions)
            if not self.redo:
                # another run may have made them since this run looked: reserved now, so an
                # entry not in the store yet is on its way through a reservation it would see
                before = set(self.state.done)
                mark_already_done(
                    self.state,
                    sorted(got),
                    store=self.ledger.store,
                    model=self.ledger.purchase.model,
                    record=self.cp.record,
                    prompt_version=self.ledger.purchase.prompt_version,
                    api_location=self.ledger.purchase.api_location,
                )
                made = [w for w in got if w in self.state.done and w not in before]
                if made:
                    self.ledger.settle(made, ())
                    got -= set(made)
            if len(got) == len(positions):
                return True
            refused = [w for w in shard.words if w not in got and w not in self.state.done]
            held = self.ledger.held_elsewhere(refused)
            if got:
                self.ledger.settle((), sorted(got))
            if not refused:
                return False  # all of them made elsewhere: plan again without them
        except StoreError as exc:
            self._pause(f"cannot reserve words in the store, nothing sent: {exc}")
            return None
        if not held:
            # released between the two reads: planned again at the next turn
            self._pause(f"{len(refused)} words changed hands in the store; trying again")
            return None
        self._hold(held)
        return False

    def _hold(self, held: Mapping[str, Reservation]) -> None:
        """Set aside words another run holds, and say so once per holder."""
        new: dict[str, list[str]] = {}
        for word, r in held.items():
            if word not in self.held:
                new.setdefault(r.run_id, []).append(word)
            self.held[word] = r
        for run_id, words in new.items():
            r = held[words[0]]
            where = f" (checkpoint {r.checkpoint})" if r.checkpoint else ""
            self._notify(
                f"{len(words):,} words are reserved by run {run_id}{where}: not sent again; "
                "waiting for their entries"
            )

    def _next_shard(
        self, room: int, batch_size: int | None = None, *, skip: Collection[str] = ()
    ) -> Shard | None:
        held = self.held
        requests = build_requests(
            (w for w in self.state.pending() if w not in held and w not in skip),
            self.words.positions,
            words_per_request=self.words_per_request,
            reference=self.reference,
            limits=self.output_limits(),
        )
        shards = plan_shards(
            requests,
            self.template,
            self.counter,
            batch_size=batch_size or self.batch_size,
            max_tokens=max(room, 1),
            max_requests=self.limits.requests,
            max_bytes=self.limits.bytes,
        )
        return next(shards, None)

    def _launch(self, shard: Shard) -> bool:
        key = f"s-{self.state.next_shard}"
        self._record(
            "planned",
            shard=key,
            words=list(shard.words),
            input_tokens=shard.input_tokens,
            shapes=shard.shapes,
        )
        flight = self.state.flights[key]
        path = self.spool / f"{self.cp.run_id}.{key}.input.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for request in shard.requests:
                fh.write(self.template.line(request))
                fh.write("\n")
        try:
            file_id = self._upload(path)
        except (TransientError, RejectedError) as exc:
            # not uploaded, or not found after an unanswered upload: at worst an orphan file,
            # which is never billed
            self._record("abandoned", shard=key)
            path.unlink(missing_ok=True)
            self.call_failed("uploads", exc)
            self._pause(f"upload failed: {exc}")
            return False
        self._call_worked()
        failpoints.hit("after-upload")
        self._record("uploaded", shard=key, input_file_id=file_id)
        path.unlink(missing_ok=True)
        return self.create(flight, requests=len(shard.requests))

    def _upload(self, path: Path) -> str:
        """Upload ``path``; after an unanswered upload, the file found by its name if it came."""
        since = self.server_now() - CLOCK_MARGIN_SECONDS
        try:
            return self.backend.upload(path)
        except UncertainError:
            try:
                file_id = self.backend.find_upload(path.name, since)
            except (TransientError, RejectedError):
                file_id = None
            if file_id is None:
                raise
            return file_id

    def create(self, flight: Flight, *, requests: int | None = None) -> bool:
        input_file_id = flight.input_file_id
        assert input_file_id is not None  # a batch is created from its uploaded file
        metadata = {
            RUN_TAG: self.cp.run_id,
            SHARD_TAG: flight.shard,
            "synthlib_words": str(len(flight.words)),
        }
        # journalled before the call: a lost answer is resolved by when (on the API's clock) and
        # how many requests
        count = requests if requests is not None else flight.create_requests
        count = count or sum(n for n, _, _ in flight.shapes)
        at = self.server_now()
        try:
            # marked in the store first: a run that finds this one gone then knows a create of
            # this shard may exist (none marked: none was sent)
            still_held = self.ledger.creating(flight.shard, at, count)
        except StoreError as exc:
            self._pause(f"cannot mark the create in the store, nothing sent: {exc}")
            return False
        if not still_held:
            # another run found this one gone (a lease run out, a machine asleep) and took the
            # shard's words: creating now would buy them twice
            self.abandon(flight, "another run took its words while this run seemed gone")
            return False
        self._record("creating", shard=flight.shard, at=at, requests=count)
        self.refused.discard(flight.shard)
        failpoints.hit("before-create")
        try:
            info = self.backend.create(input_file_id, metadata)
            failpoints.hit("after-create")
        except UncertainError as exc:
            # the batch may exist: the next passes look for it before creating again
            self._pause(f"no answer creating a batch ({exc}); will look for it")
            self.call_failed("creates", exc)
            return False
        except TransientError as exc:
            self.refused.add(flight.shard)  # refused before anything was done (a 429)
            self._pause(f"cannot create a batch now: {exc}")
            self.call_failed("creates", exc)
            return False
        except RejectedError as exc:
            self._rejected(flight, exc)
            return False
        # the create's window closes with its answer (by the API's clock)
        answered = max(self.server_now(), float(info.created_at or 0))
        self.created(flight.shard, info, answered_at=answered)
        self._notify(
            f"submitted batch {info.id} ({len(flight.words)} words, "
            f"{flight.input_tokens:,} input tokens)"
        )
        return True

    def created(self, shard: str, batch: BatchInfo, *, answered_at: float | None = None) -> None:
        self._call_worked()
        extra = {} if answered_at is None else {"answered_at": answered_at}
        self._record(
            "created",
            shard=shard,
            batch_id=batch.id,
            status=batch.status,
            created_at=batch.created_at,
            **extra,
        )

    def _rejected(self, flight: Flight, exc: RejectedError) -> None:
        """The API refused the batch: its words fail (and are retried like any failure)."""
        failed = dict.fromkeys(flight.words, Failure("batch_failed", str(exc)))
        self._record(
            "ended", shard=flight.shard, done=[], failed=failed, status="rejected", usage={}
        )
        if flight.input_file_id:
            try:
                self.backend.delete_file(flight.input_file_id)
            except (TransientError, RejectedError) as error:
                self._notify(f"could not delete input file {flight.input_file_id}: {error}")
        self._notify(f"batch for shard {flight.shard} rejected: {exc}")

    def abandon(self, flight: Flight, why: str) -> None:
        if flight.input_file_id:
            # an input file left behind is never billed
            with contextlib.suppress(TransientError, RejectedError):
                self.backend.delete_file(flight.input_file_id)
        self._record("abandoned", shard=flight.shard)
        self._notify(f"shard {flight.shard} returned to the queue: {why}")

    def call_failed(self, what: str, exc: TransientError | RejectedError) -> None:
        """Count a failed submission call (``what``: "uploads", "creates", "batch listings");
        end the run when they keep failing: uploads refused :data:`MAX_REFUSED_UPLOADS` times in
        a row (the same file cannot fare better), or calls not answered (a 429 is an answer)
        for ``unreachable_after`` seconds and as many attempts while the run has no batch in
        flight to follow (with one, the collector's bounds end a run the API stopped serving).
        A submission that works starts the count over (:meth:`_call_worked`)."""
        if isinstance(exc, TransientError) and exc.status == 429:
            return
        now = self.pacing.clock()
        if not self._failures or any(
            f.batch_id and f.status not in TERMINAL for f in self.state.flights.values()
        ):
            self._failing_since = now
        self._failures += 1
        failing_for = now - self._failing_since
        refused = isinstance(exc, RejectedError) and what == "uploads"
        if self._failures < MAX_REFUSED_UPLOADS or (
            not refused and failing_for < self.unreachable_after
        ):
            return
        where = self.cp.backend.get("base_url") or "the API"
        raise SubmissionsFailing(
            f"{self._failures} submission calls in a row failed at {where} over "
            f"{failing_for:.0f} s (last: {what}: {exc}); nothing more is sent. Batches in "
            f"flight keep their words in {self.cp.path}: run again to resume"
        )

    def _call_worked(self) -> None:
        self._failures = 0

    def _pause(self, why: str) -> None:
        self.pacing.pause()
        self._notify(why)
