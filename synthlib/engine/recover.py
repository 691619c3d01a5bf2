"""Recovering: finding what a crash or a lost answer left, and adopting it.

A create without an answer may have taken effect (see :mod:`synthlib.engine.submit` for the
order of writes), so before creating again the shard's batch is looked for by its tag; on
resume, a ``planned`` shard's batch is adopted the same way or the shard is abandoned (its words
go back), and a batch with this run's tag that the checkpoint never heard of is adopted from its
input file.

A listing that does not show a batch proves little at once: listings lag behind creates
(Anthropic documents it). So after a create without an answer, or a crash after ``creating``,
the shard's batch is looked for over a grace period before it is created again: at least
:data:`GRACE_LISTINGS` listings, the waits between them growing as the run's polls do, the last
one :data:`GRACE_SECONDS` or more after the last attempt by the API's clock. Listings go back
to the run's start on the API's clock (never this machine's).

A backend whose batches carry no metadata (Anthropic's: the tags are in every custom_id, readable
only from the results of an ended batch; ``metadata_before_end`` False) cannot be searched by tag
while a batch runs. There, after a create without an answer, the candidates are the batches not
known to this run, created within the attempts' window and holding exactly that many requests.
Nothing is created again while a candidate is undecided: each is confirmed, or ruled out
(journalled), from the tags in its results once it ends; the shard's words stay reserved
meanwhile, and no new shard is launched. Another process, another run or a hand-made batch with
the same key may make candidates too: only the tags decide, so each is only ever adopted by the
shard it was made for. When no candidate is left after the grace period, the create never took
effect, and it is sent again. Any other batch whose results carry this run's tag (a proxy that
retried a create, a create answered after the run gave up on it) is adopted and counted: at
start-up, while creates are unresolved and in a final sweep before the run ends. Only batches
made inside one of this run's journalled create windows (from a create sent to its answer, or
to :data:`~synthlib.engine.submit.CREATE_WINDOW_SECONDS` later when none came; the API's clock)
can be its own: the run never waits for another run's batch, or one made by hand, made outside
them. An ended batch whose results stay unreadable (:data:`UNREADABLE_TAG_READS` failed reads)
is not counted as this run's, nor as a gone run's: neither waits for it.

Words another run holds in the store's ledger are looked at again here: a gone run's batches
that this run can read are adopted (their reservations taken over), and a gone run's shard with
no batch known is resolved from its create mark in the store.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Collection, Iterator, Mapping

from ..core.errors import StoreError
from ..core.limits import MAX_WORDS_PER_REQUEST
from ..core.prompts import payload
from ..core.requests import decode_custom_id
from ..providers import registry
from ..providers.base import RUN_TAG, SHARD_TAG, BatchInfo, RejectedError, TransientError
from ..store.ledger import Reservation
from .crew import Crew, Part
from .skip import mark_already_done
from .state import Flight
from .submit import CLOCK_MARGIN_SECONDS, CREATE_WINDOW_SECONDS, SERVER_STARTED, Submitter

__all__ = ["Recoverer"]

# How long a create without an answer is looked for before it is sent again (see module doc).
GRACE_SECONDS = 30.0
GRACE_LISTINGS = 3
# Batches of this run are looked for back to its start less this (a checkpoint made before the
# start was kept on the API's clock has only an estimate)
LISTING_MARGIN_SECONDS = 3600.0
# Failed reads of an ended batch's results (Anthropic: its tags are in them) before the run stops
# waiting to tell whether it is this run's
UNREADABLE_TAG_READS = 10


class Recoverer(Part):
    """Re-attaches to batches whose create was not answered or not journalled, sweeps for this
    run's unknown batches before it ends, and adopts the batches and shards of gone runs. It
    creates, records and counts failed calls through the launching part it is handed
    (``launcher``)."""

    def __init__(self, crew: Crew, launcher: Submitter) -> None:
        super().__init__(crew)
        self.launcher = launcher
        self.words = launcher.words
        self.counter = launcher.counter
        self.words_per_request = launcher.words_per_request
        self._recover_later = False  # listing batches failed at the start: try again
        self._waiting: set[str] = set()  # shards told to wait for their candidates to end
        # words whose holder (in ``launcher.held``) is gone: left to their run, which collects
        # them when it resumes
        self._orphaned: set[str] = set()
        self._looks: dict[str, int] = {}  # shard -> listings without its batch since its create
        self._not_ours: set[str] = set()  # batches whose results carry no tag of this run
        self._unread: dict[str, int] = {}  # ended batch -> failed reads of its results' tags
        self._undecided = 0  # batches that may be this run's, not ended: their tags unknown yet
        self._handed_over: set[str] = set()  # this run's batches another run adopted meanwhile
        # words of a gone run's shard with no batch known, while its batch is looked for; and
        # the listings made for each such shard (run:shard) without finding it
        self._resolving: set[str] = set()
        self._gone_runs: set[str] = set()  # the holders of ``held`` found gone at the last look
        self._orphan_looks: dict[str, int] = {}

    @property
    def _tagged_at_creation(self) -> bool:
        """Whether the backend shows a batch's tags from its creation (see the module doc)."""
        return getattr(self.backend, "metadata_before_end", True)

    @property
    def _newest_first(self) -> bool:
        """Whether the backend's provider says it lists batches newest first (its spec's
        :attr:`~synthlib.providers.spec.ProviderSpec.lists_newest_first`); an unknown provider
        does not. See :meth:`_made_since`."""
        spec = registry.find(str(getattr(self.backend, "provider", "")))
        return spec is not None and spec.lists_newest_first

    def _made_since(self, oldest: float) -> Iterator[BatchInfo]:
        """The backend's batches made at ``oldest`` or later (and those with no time). The
        listing stops at the first older batch only where the provider says it lists newest
        first and the listing itself has shown it (a batch after a later one, and never one
        after an earlier); otherwise every page is read: stopping early could miss the batch
        of a create whose answer was lost, and buy it again."""
        newest_first = self._newest_first
        shown = False  # the listing has shown itself newest first
        previous = 0.0
        for batch in self.backend.list():
            at = batch.created_at
            if at and previous:
                if at > previous:
                    newest_first = False  # not newest first, whatever the provider says
                elif at < previous:
                    shown = True
            previous = at or previous
            if at and at < oldest:
                if newest_first and shown:
                    return  # the rest are older
                continue
            yield batch

    def _run_started_on_server(self) -> float:
        """When the run began, on the API's clock."""
        try:
            return float(self.cp.backend[SERVER_STARTED])
        except (KeyError, ValueError):
            return self.launcher.local_start() + self.launcher.server_now() - time.time()

    # --- resume --------------------------------------------------------------------------------

    def recover(self) -> None:
        """Re-attach to every batch of this run: planned ones by tag, unknown ones by input."""
        self._recover_later = False
        if not self.state.seq:
            return  # a new run: no batch can carry its tag yet
        self._reclaim_flights()
        planned = [f for f in self.state.flights.values() if f.batch_id is None]
        try:
            tagged = self._unknown_batches()
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
                self.launcher.created(flight.shard, batch)
            elif flight.create_since is not None:
                continue  # a create was sent, maybe: resolve_planned looks for it a while more
            elif flight.input_file_id is None:
                self._record("abandoned", shard=flight.shard)
            else:
                self.launcher.abandon(flight, "its batch was never created")
        for batch in by_shard.values():
            self._adopt_unknown(batch)

    def recover_if_due(self) -> None:
        """Try :meth:`recover` again if listing batches failed when the run started."""
        if self._recover_later:
            self.recover()

    def resolve_planned(self) -> bool:
        """Shards whose create got no answer: adopt their batch if it exists, else create it."""
        changed = False
        for flight in list(self.state.flights.values()):
            if self._stop.is_set():
                break
            if flight.batch_id is None:
                changed |= self._resolve(flight)
        return changed

    def sweep_extras(self) -> bool | None:
        """Before the run ends: adopt every batch of this run that the checkpoint does not know
        (a create whose answer was lost, a proxy's retry). True: some were adopted; False: look
        again later (the listing failed, or a batch that may be this run's has not ended yet);
        None: there are none, the run may end."""
        try:
            extras = self._unknown_batches()
        except TransientError as exc:
            self._notify(f"could not list batches to look for extras ({exc}); will try again")
            self.launcher.call_failed("batch listings", exc)
            return False
        except RejectedError:
            return None
        for batch in extras:
            self._adopt_unknown(batch)
        if extras:
            return True
        if self._undecided:
            self._notify(
                f"waiting for {self._undecided} batch(es) to end to tell from their results "
                "whether they are this run's"
            )
            return False
        return None

    def _resolve(self, flight: Flight) -> bool:
        if flight.shard in self.launcher.refused:
            return self._create_again(flight)  # the API refused it outright: nothing to look for
        if not self._tagged_at_creation:
            if flight.create_since is None:
                return self._create_again(flight)
            return self._resolve_by_attempt(flight)
        try:
            tagged = self._unknown_batches()
        except TransientError as exc:
            self.launcher.call_failed("batch listings", exc)
            return False
        except RejectedError:
            tagged = []
        match = next((b for b in tagged if b.metadata.get(SHARD_TAG) == flight.shard), None)
        if match is not None:
            self._looks.pop(flight.shard, None)
            self.launcher.created(flight.shard, match)
            self._notify(f"found batch {match.id} by its tag: its create call had taken effect")
            return True
        if flight.create_since is not None and not self._grace_over(flight):
            return False
        return self._create_again(flight)

    def _create_again(self, flight: Flight) -> bool:
        """Send the shard's create (again): its listings without a batch start over."""
        self._looks.pop(flight.shard, None)
        return self.launcher.create(flight)

    def _grace_over(self, flight: Flight) -> bool:
        """After one more listing without the shard's batch: whether the grace period is over
        (enough listings, the last long enough after the last attempt by the API's clock)."""
        looks = self._looks[flight.shard] = self._looks.get(flight.shard, 0) + 1
        last = flight.create_until if flight.create_until is not None else flight.create_since
        waited = self.launcher.server_now() - (last or 0.0)
        if looks >= GRACE_LISTINGS and waited >= GRACE_SECONDS:
            del self._looks[flight.shard]
            self._notify(
                f"no batch of shard {flight.shard} in {looks} listings over {waited:.0f} s: its "
                "create never took effect; creating it again"
            )
            return True
        if looks == 1:
            self._notify(
                f"no batch of shard {flight.shard} listed yet; looking again for "
                f"{GRACE_SECONDS:.0f} s before creating it again (a listing may lag)"
            )
        return False

    def _resolve_by_attempt(self, flight: Flight) -> bool:
        """A create without an answer, on a backend whose batches show their tags only once
        ended: adopt the candidate whose results carry this shard's tags; rule out those whose
        results do not; wait while one is undecided; create again when none is left after the
        grace period."""
        try:
            candidates = self._candidates(flight)
        except (TransientError, RejectedError) as exc:
            self._notify(f"could not list batches to find shard {flight.shard}'s ({exc})")
            self.launcher.call_failed("batch listings", exc)
            return False
        undecided: list[str] = []
        ruled_out: list[str] = []
        match: BatchInfo | None = None
        for batch in candidates:
            info = batch
            if batch.terminal and not batch.metadata:
                try:
                    info = self.backend.retrieve(batch.id)  # reads its tags from its results
                except (TransientError, RejectedError):
                    undecided.append(batch.id)
                    continue
            if not info.terminal and not info.metadata:
                undecided.append(batch.id)
            elif self._is_flights(info, flight) and match is None:
                match = info
            elif not self._is_flights(info, flight):
                ruled_out.append(batch.id)
            # a second batch with this shard's tags (a proxy's retry) is an extra: swept later
        if ruled_out:
            self._record("ruled_out", shard=flight.shard, batch_ids=ruled_out)
            self._notify(f"batches {', '.join(ruled_out)} are not shard {flight.shard}'s")
        if match is not None:
            self._waiting.discard(flight.shard)
            self._looks.pop(flight.shard, None)
            self.launcher.created(flight.shard, match)
            self._notify(
                f"found batch {match.id} by the tags in its results: its create call had "
                "taken effect"
            )
            return True
        if undecided:
            if flight.shard not in self._waiting:
                self._waiting.add(flight.shard)
                self._notify(
                    f"waiting for {len(undecided)} batch(es) to end to tell whether one is "
                    f"shard {flight.shard}'s, before creating it again"
                )
            return bool(ruled_out)
        self._waiting.discard(flight.shard)
        if not self._grace_over(flight):
            return bool(ruled_out)
        return self._create_again(flight)

    def _is_flights(self, batch: BatchInfo, flight: Flight) -> bool:
        tags = batch.metadata
        return tags.get(RUN_TAG) == self.cp.run_id and tags.get(SHARD_TAG) == flight.shard

    def _candidates(self, flight: Flight) -> list[BatchInfo]:
        """Batches that may be the one a create attempt of ``flight`` made: unknown to this
        run, not ruled out, created within the attempts' window, with as many requests."""
        assert flight.create_since is not None and flight.create_until is not None
        known = {f.batch_id for f in self.state.flights.values() if f.batch_id}
        known |= self.state.finished_batch_ids
        known |= set(flight.ruled_out) | self._not_ours
        since = flight.create_since - CLOCK_MARGIN_SECONDS
        until = flight.create_until + CREATE_WINDOW_SECONDS
        found = []
        for batch in self._made_since(since):
            if batch.id in known or batch.total != flight.create_requests:
                continue
            if batch.created_at > until:
                continue
            if batch.metadata and not self._is_flights(batch, flight):
                continue  # its tags are known, and are another shard's or another run's
            found.append(batch)
        return found

    def _unknown_batches(self) -> list[BatchInfo]:
        """This run's batches on the backend that the checkpoint does not know (and that no
        other run adopted: those are that run's to collect and count). Where tags show
        only in results (Anthropic), every ended batch made inside one of the run's create
        windows (:meth:`_in_create_window`) is read once for them; one still running that may
        be this run's (made inside one, with as many requests as one of its creates) is counted
        in ``_undecided``."""
        known = {f.batch_id for f in self.state.flights.values() if f.batch_id}
        known |= self.state.finished_batch_ids | self._handed_over
        self._undecided = 0
        if self._tagged_at_creation:
            unknown = [
                b
                for b in self._listed_since_start()
                if b.id not in known and b.metadata.get(RUN_TAG) == self.cp.run_id
            ]
            return [b for b in unknown if not self._adopted_elsewhere(b.id)]
        known |= self._not_ours
        for flight in self.state.flights.values():
            known |= set(flight.ruled_out)
        sizes = self._request_counts()
        found = []
        for batch in self._listed_since_start():
            if batch.id in known or not self._in_create_window(batch.created_at):
                continue  # known, or made while no create of this run was on its way
            info = batch
            if batch.terminal and not batch.metadata:
                try:
                    info = self.backend.retrieve(batch.id)  # reads its tags from its results
                except (TransientError, RejectedError) as exc:
                    if not self._unreadable_for_good(batch.id, exc, "this run's"):
                        self._undecided += 1
                    continue
            if info.metadata.get(RUN_TAG) == self.cp.run_id:
                found.append(info)
            elif info.metadata or info.terminal:
                self._not_ours.add(info.id)
            elif info.total in sizes:
                self._undecided += 1
        return [b for b in found if not self._adopted_elsewhere(b.id)]

    def _unreadable_for_good(self, batch_id: str, exc: Exception, whose: str) -> bool:
        """Count a failed read of an ended batch's results (where its tags are); after
        :data:`UNREADABLE_TAG_READS` of them it is not counted as ``whose`` batch (said once):
        results that stay unreadable (404 after their retention) can never tell, and the run
        does not wait for them forever. True once given up on."""
        reads = self._unread[batch_id] = self._unread.get(batch_id, 0) + 1
        if reads < UNREADABLE_TAG_READS:
            return False
        if reads == UNREADABLE_TAG_READS:
            self._not_ours.add(batch_id)
            self._notify(
                f"batch {batch_id} ended but its results stay unreadable ({exc}); "
                f"not counted as {whose}"
            )
        return True

    def _in_create_window(self, created_at: float) -> bool:
        """Whether a batch created at ``created_at`` (the API's clock) may be one of this run's
        creates: inside one of its journalled create windows, from the call sent to its answer
        (or, unanswered, to :data:`CREATE_WINDOW_SECONDS` later), give or take the clock's
        margin. Another run's batch, or one made by hand, outside them is never waited for."""
        windows = self.state.create_windows
        if windows is None or not created_at:
            return True  # a checkpoint made before the windows were kept: cannot tell
        for _, sent, answered in windows:
            end = answered if answered is not None else sent + CREATE_WINDOW_SECONDS
            if sent - CLOCK_MARGIN_SECONDS <= created_at <= end + CLOCK_MARGIN_SECONDS:
                return True
        return False

    def _adopted_elsewhere(self, batch_id: str) -> bool:
        try:
            runs = self.ledger.store.batch_runs(batch_id)
        except StoreError:
            return False
        return bool(runs) and self.cp.run_id not in runs

    def _request_counts(self) -> set[int]:
        """How many requests this run's batches hold (of each create attempt, and estimated
        from the words of each ended batch)."""
        counts = {f.create_requests for f in self.state.flights.values() if f.create_requests}
        per = max(self.words_per_request, 1)
        counts |= {-(-int(b.get("words") or 0) // per) for b in self.state.finished}
        counts.discard(0)
        return counts

    def _listed_since_start(self) -> Iterator[BatchInfo]:
        """The backend's batches made since the run's start on the API's clock (where they are
        listed newest first, the listing stops at the first older one)."""
        yield from self._made_since(self._run_started_on_server() - LISTING_MARGIN_SECONDS)

    def _adopt_unknown(self, batch: BatchInfo) -> None:
        """A batch with this run's tag that the checkpoint does not know: created by a call
        whose answer was lost and then created again, or recorded in a write a crash tore. It
        is billed whatever we do, so it becomes a flight of its own: its results are collected
        and counted, for the words no other batch holds. When every one of its words is done or
        held elsewhere, it is cancelled (what it already ran is still billed, and counted)."""
        found = self._unclaimed_words(batch)
        if found is None:
            self._undecided += 1  # its results will name its words once it ends
            return
        words, every = found
        key = f"x-{batch.id}"
        with contextlib.suppress(StoreError):  # billed whatever the ledger says: best effort
            self.ledger.reserve(key, {w: self.words.positions[w] for w in words})
        self._record("planned", shard=key, words=words, **self._adopted_size(every))
        self.launcher.created(key, batch)
        self._notify(f"adopted batch {batch.id} ({len(words)} words) found by this run's tag")
        if words or batch.terminal:
            return
        try:
            info = self.backend.cancel(batch.id)
        except (TransientError, RejectedError) as exc:
            self._notify(f"could not cancel the extra batch {batch.id}: {exc}")
            return
        self._record("status", shard=key, status=info.status)
        self._notify(f"cancelling batch {batch.id}: its words are done or in other batches")

    def _adopted_size(self, every: Collection[str]) -> dict[str, int]:
        """What the cost cap counts for an adopted batch asking for ``every`` word (kept here
        or not: all are billed): its input estimated with this run's token counter, a word a
        request (no fewer tokens than the same words packed), and all its words for the
        worst-case output."""
        counter = self.counter.request
        return {
            "input_tokens": sum(counter(payload([w])) for w in every),
            "batch_words": len(every),
        }

    def _unclaimed_words(self, batch: BatchInfo) -> tuple[list[str], list[str]] | None:
        """The words of ``batch``'s input that are not done, given up or in another flight,
        and every word it asks for. Where its input file is gone (a proxy's second batch of an
        input this run has collected and deleted), its results name its words once it has
        ended; None until then."""
        path = self.spool / f"{batch.id}.input.jsonl"
        try:
            self.backend.download(batch.input_file_id, path)
        except (TransientError, RejectedError) as exc:
            if not batch.terminal:
                self._notify(
                    f"input of batch {batch.id} unreadable ({exc}); its words are read from its "
                    "results once it ends"
                )
                return None
            if not batch.output_file_id:
                self._notify(f"input of batch {batch.id} unreadable ({exc}); its words stay queued")
                return [], []
            try:  # each result names its request's words, as its input line did
                self.backend.download(batch.output_file_id, path)
            except (TransientError, RejectedError) as again:
                self._notify(
                    f"input and results of batch {batch.id} unreadable ({again}); its words stay "
                    "queued"
                )
                return [], []
        busy = self.state.in_flight_words()
        words: list[str] = []
        every: list[str] = []
        unreadable = 0
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                positions = self._positions(line)
                if positions is None:
                    unreadable += 1
                    continue
                for word in (self.state.words[pos] for pos in positions):
                    every.append(word)
                    if word in busy or word in self.state.done or word in self.state.given_up:
                        continue
                    words.append(word)
                    busy.add(word)
        path.unlink(missing_ok=True)
        if unreadable:
            self._notify(
                f"input of batch {batch.id}: {unreadable} unreadable lines skipped (their words, "
                "if any, stay queued)"
            )
        return words, every

    def _positions(self, line: str) -> list[int] | None:
        """The word positions an input line asks for, or None if the line makes no sense."""
        try:
            data = json.loads(line)
            custom_id = data["custom_id"] if "custom_id" in data else data["key"]  # Gemini's
            return decode_custom_id(
                custom_id, limit=len(self.state.words), most=MAX_WORDS_PER_REQUEST
            )
        except (ValueError, KeyError, IndexError, TypeError):
            return None

    # --- words other runs hold ------------------------------------------------------------------

    def check_held(self) -> bool:
        """Look again at the words another run holds: those now in the store are done (one
        journalled event), those released come back to this run, and those whose holder is gone
        are left to it (its run collects them when it resumes). True if any changed."""
        if not self.launcher.held:
            return False
        words = list(self.launcher.held)
        try:
            before = len(self.state.done)
            mark_already_done(
                self.state,
                words,
                store=self.ledger.store,
                model=self.ledger.purchase.model,
                record=self.cp.record,
                prompt_version=self.ledger.purchase.prompt_version,
                api_location=self.ledger.purchase.api_location,
            )
            still = [w for w in words if w not in self.state.done]
            held = self.ledger.held_elsewhere(still)
        except StoreError as exc:
            self._notify(f"cannot read the store's reservations now: {exc}")
            return False
        changed = len(self.state.done) != before or len(held) != len(words)
        self.launcher.held = dict(held)
        holders = {r.run_id: r for r in held.values()}
        try:
            gone = {run for run, r in holders.items() if self.ledger.gone(r)}
        except StoreError as exc:
            self._notify(f"cannot mark a run whose process is gone as ended now: {exc}")
            gone = self._gone_runs & set(holders)
        self._gone_runs = gone
        orphaned = {w for w, r in held.items() if r.run_id in gone}
        if orphaned - self._orphaned:
            runs = sorted({held[w].run_id for w in orphaned - self._orphaned})
            where = sorted({held[w].checkpoint for w in orphaned if held[w].checkpoint})
            self._notify(
                f"{len(orphaned):,} words are held by run(s) {', '.join(runs)} that are no "
                f"longer running{': ' + ', '.join(where) if where else ''}; they were not sent. "
                "Resume that run to collect its batches"
            )
        changed |= orphaned != self._orphaned
        self._orphaned = orphaned
        if orphaned and self._adopt_orphans(held, orphaned):
            changed = True
        return changed

    def _adopt_orphans(self, held: Mapping[str, Reservation], orphaned: set[str]) -> bool:
        """Batches of a run that is gone, holding words of this list: when the batch can be read
        from here (same API, same account) and all its words are in this list, its reservations
        are taken over (one transaction, only while its run is still gone) and it becomes a
        flight of this run, read by the places its own list gave the words (on Anthropic, the
        results lines carrying that batch's own tag). A gone run's shard with no batch known is
        resolved by :meth:`_resolve_orphan_shard`. True if words changed hands."""
        by_batch: dict[str, Reservation] = {}
        by_shard: dict[tuple[str, str], Reservation] = {}
        account = self.ledger.holder.account
        for word in sorted(orphaned):
            r = held[word]
            if r.account and account and r.account != account:
                continue  # another account's batches cannot be read from here
            if r.batch_id:
                by_batch.setdefault(r.batch_id, r)
            else:
                by_shard.setdefault((r.run_id, r.shard), r)
        adopted = False
        for batch_id, reservation in by_batch.items():
            try:
                places = self.ledger.store.batch_places(batch_id)
                if not places or any(w not in self.words.positions for w in places):
                    continue  # words of another list: left to the run that made it
                info = self.backend.retrieve(batch_id)
                taken = self.ledger.take_over(reservation, f"a-{batch_id}")
            except (TransientError, RejectedError, StoreError) as exc:
                self._notify(f"batch {batch_id} of run {reservation.run_id} not adopted: {exc}")
                continue
            if taken:  # else its run came back
                self._adopt_batch(info, taken, reservation)
                adopted = True
        resolving: set[str] = set()
        for key, reservation in by_shard.items():
            changed, waiting = self._resolve_orphan_shard(reservation)
            adopted |= changed
            if waiting:
                resolving |= {w for w in orphaned if (held[w].run_id, held[w].shard) == key}
        self._resolving = resolving
        return adopted

    def _adopt_batch(
        self, info: BatchInfo, taken: Mapping[str, int], reservation: Reservation
    ) -> None:
        """Make a gone run's batch, whose reservations ``taken`` (word -> place in that run's
        list) this run now holds, a flight of this run."""
        busy = self.state.in_flight_words()
        state = self.state
        words = [
            w for w in taken if w not in state.done and w not in state.given_up and w not in busy
        ]
        key = f"a-{info.id}"
        self._record(
            "planned",
            shard=key,
            words=words,
            positions={str(at): w for w, at in taken.items()},
            **self._adopted_size(list(taken)),
        )
        self.launcher.created(key, info)
        where = self._taken_from(reservation, taken)
        self._notify(
            f"adopted batch {info.id} of run {reservation.run_id}{where}, which is gone: "
            f"its {len(taken):,} words are collected here, not sent again"
        )

    def _resolve_orphan_shard(self, reservation: Reservation) -> tuple[bool, bool]:
        """A gone run's shard reserved with no batch known: it marks every create in the store
        before sending it, so with no mark it sent none and its words are released (taken over
        and given back, in one transaction that checks it is still gone) for this run to send.
        With a mark, its batch may exist: looked for (OpenAI: by the run's and shard's tags;
        Anthropic: among the batches made in its create window with as many requests, by the
        tags in their results once they end) and adopted when found; released once the create
        window is over and :data:`GRACE_LISTINGS` listings did not show it. Returns (words
        changed hands, still resolving: this run waits for it)."""
        run, shard = reservation.run_id, reservation.shard
        key = f"{run}:{shard}"
        try:
            mark = self.ledger.store.creating_of(run, shard)
            places = self.ledger.store.shard_places(run, shard)
        except StoreError as exc:
            self._notify(f"cannot read run {run}'s shard {shard} in the store: {exc}")
            return False, True
        if not places:
            return False, False  # changed hands meanwhile
        if mark is None:
            return self._release_orphan_shard(reservation, "it sent no create for them"), False
        spec = registry.find(str(self.backend.provider))
        if spec is not None and not spec.paid:
            # a free provider's batches live with their run's checkpoint: none can be found
            # from here, and making the words again costs nothing
            return self._release_orphan_shard(reservation, "its batches cost nothing"), False
        since, until, requests = mark
        try:
            found, undecided = self._orphan_batch(run, shard, since, until, requests)
        except (TransientError, RejectedError) as exc:
            self._notify(f"could not list batches to find run {run}'s shard {shard}: {exc}")
            return False, True
        if found is not None:
            if any(w not in self.words.positions for w in places):
                return False, False  # words of another list: left to the run that made it
            try:
                taken = self.ledger.take_over_shard(reservation, f"a-{found.id}", found.id)
            except StoreError as exc:
                self._notify(f"batch {found.id} of run {run} not adopted: {exc}")
                return False, True
            if not taken:
                return False, False  # its run came back
            self._adopt_batch(found, taken, reservation)
            return True, False
        looks = self._orphan_looks[key] = self._orphan_looks.get(key, 0) + 1
        over = self.launcher.server_now() > until + CREATE_WINDOW_SECONDS + CLOCK_MARGIN_SECONDS
        if undecided or looks < GRACE_LISTINGS or not over:
            if looks == 1:
                self._notify(
                    f"run {run}, which is gone, may have created a batch for {len(places):,} "
                    "of these words: looking for it before they are sent"
                )
            return False, True
        self._orphan_looks.pop(key, None)
        why = f"no batch of it in {looks} listings after its create window"
        return self._release_orphan_shard(reservation, why), False

    def _orphan_batch(
        self, run: str, shard: str, since: float, until: float, requests: int
    ) -> tuple[BatchInfo | None, bool]:
        """The batch a gone run's create of ``shard`` made, if it is listed; and whether a
        batch that may be it has not ended yet, or has ended with results not read yet
        (Anthropic: its tags are unknown till then). An ended one whose results stay unreadable
        (:data:`UNREADABLE_TAG_READS` failed reads) is not waited for: it cannot tell."""
        undecided = False
        known = {f.batch_id for f in self.state.flights.values() if f.batch_id}
        known |= self.state.finished_batch_ids
        for batch in self._made_since(since - CLOCK_MARGIN_SECONDS):
            if batch.id in known:
                continue
            if self._tagged_at_creation:
                tags = batch.metadata
            else:
                end = until + CREATE_WINDOW_SECONDS + CLOCK_MARGIN_SECONDS
                if batch.created_at > end or batch.total != requests:
                    continue
                if self._unread.get(batch.id, 0) >= UNREADABLE_TAG_READS:
                    continue  # its results stayed unreadable: it cannot tell, never waited for
                info = batch
                if batch.terminal and not batch.metadata:
                    try:
                        info = self.backend.retrieve(batch.id)  # reads its tags from its results
                    except (TransientError, RejectedError) as exc:
                        undecided |= not self._unreadable_for_good(batch.id, exc, f"run {run}'s")
                        continue
                if not info.metadata:
                    undecided |= not info.terminal
                    continue
                batch, tags = info, info.metadata
            if tags.get(RUN_TAG) == run and tags.get(SHARD_TAG) == shard:
                return batch, False
        return None, undecided

    def _release_orphan_shard(self, reservation: Reservation, why: str) -> bool:
        """Take over a gone run's shard with no batch and give its words back: this run (or
        another) reserves and sends them like any word. True if words changed hands."""
        try:
            taken = self.ledger.take_over_shard(
                reservation, f"r-{reservation.run_id}-{reservation.shard}"
            )
            if taken:
                self.ledger.settle((), sorted(taken))
        except StoreError as exc:
            self._notify(f"cannot release run {reservation.run_id}'s words: {exc}")
            return False
        if not taken:
            return False  # its run came back
        where = self._taken_from(reservation, taken)
        self._notify(
            f"{len(taken):,} words reserved by run {reservation.run_id}{where}, which is gone, "
            f"were never bought ({why}): released, and sent here"
        )
        return True

    def _taken_from(self, reservation: Reservation, taken: Collection[str]) -> str:
        """``taken``, words of a gone run's ``reservation``, are held by it no more; returns how
        its run is named after its id (its checkpoint, when known)."""
        for w in taken:
            self.launcher.held.pop(w, None)
            self._orphaned.discard(w)
        return f" (checkpoint {reservation.checkpoint})" if reservation.checkpoint else ""

    def _reclaim_flights(self) -> None:
        """On resume: hold this run's flights in the ledger again (a checkpoint made before the
        ledger holds nothing there); a batch another run adopted while this one was gone is
        that run's now: its shard leaves this run (its words wait for that run's entries)."""
        if not self.state.flights:
            return
        try:
            mine = self.ledger.mine()
            for flight in list(self.state.flights.values()):
                missing = [w for w in flight.words if w not in mine]
                if not missing:
                    continue
                runs = self.ledger.store.batch_runs(flight.batch_id) if flight.batch_id else set()
                if runs and self.cp.run_id not in runs:
                    self._handed_over.add(str(flight.batch_id))
                    self._record("abandoned", shard=flight.shard)
                    self._notify(
                        f"batch {flight.batch_id} was adopted by another run while this one was "
                        "stopped: that run collects it"
                    )
                    continue
                places = {w: at for at, w in flight.positions.items()}
                held = self.ledger.held_elsewhere(missing)
                if flight.batch_id is None:
                    self._reclaim_planned(flight, missing, held)
                    continue
                free = [w for w in missing if w not in held]
                positions = {w: places.get(w, self.words.positions.get(w, -1)) for w in free}
                if positions:
                    self.ledger.reserve(flight.shard, positions)
                    if flight.batch_id:
                        self.ledger.attach(flight.shard, flight.batch_id)
        except StoreError as exc:
            self._notify(f"could not check this run's reservations in the store: {exc}")

    def _reclaim_planned(
        self, flight: Flight, missing: list[str], held: Mapping[str, Reservation]
    ) -> bool:
        """A planned shard (no batch known) some of whose words this run no longer holds:
        another run found this one gone and took them (it adopted the shard's batch, or,
        finding none, released them to buy them). If any is held elsewhere, made, or cannot be
        reserved again, the shard is abandoned (its batch, if one exists after all, is found by
        its tags and counted like any extra); False then. Otherwise they are reserved again."""
        purchase = self.ledger.purchase
        made = self.ledger.store.words_made_with(
            missing,
            model=purchase.model,
            prompt_version=purchase.prompt_version,
            schema_version=purchase.schema_version,
            api_location=purchase.api_location,
        )
        if not held and not made:
            positions = {w: self.words.positions.get(w, -1) for w in missing}
            if len(self.ledger.reserve(flight.shard, positions)) == len(missing):
                return True
        self.launcher.abandon(flight, "another run took its words while this run was stopped")
        return False

    def left_to_their_owners(self) -> int:
        """How many pending words wait on another run that is gone (this run cannot end them;
        those of a gone run's shard being looked for are waited for)."""
        return len(self._orphaned - self._resolving)
