"""The per-word state machine: the one place where a word changes state.

    pending -> submitted(batch, attempt) -> done
                                         -> failed(reason) -> pending (retry) ...
                                                           -> given_up(reason)
    pending | failed | given_up -> done (already_done: in the store, or an imported checkpoint)

Every change is an :class:`~synthlib.engine.events.Event` applied by :meth:`RunState.apply`; the
checkpoint journals the same events, so replaying them after a crash rebuilds exactly the state the
run had. Events are frozen dataclasses (:mod:`.events`, one per kind, written as the JSON the
journal keeps) and each carries a sequence number, so applying one twice is a no-op.

A batch passes through two records: an *intent* (``planned``: the words are reserved and the input
file may be uploaded, but no batch is known to exist) and then *in flight* (``created``: the
batch id is known). A resumed run adopts a planned shard's batch by its metadata tag, or abandons
the intent when no such batch exists.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.pricing import Usage
from ..core.schema import Failure, FailureCode
from .events import (
    Abandoned,
    AlreadyDone,
    AlreadyGivenUp,
    Created,
    Creating,
    Ended,
    Event,
    EventError,
    FlightStatus,
    Planned,
    RetryGivenUp,
    RuledOut,
    Status,
    Uploaded,
    event_class,
    event_from_json,
    status_of,
)

__all__ = ["UNREADABLE", "Event", "Flight", "FlightStatus", "RunState", "StateError"]
UNREADABLE = FlightStatus.UNREADABLE
_NO_RESULT = Failure(FailureCode.NO_RESULT, "the batch ended without a result")


@dataclass
class Flight:
    """A shard on its way: planned (no batch id yet) or in flight (created)."""

    shard: str
    words: list[str]
    input_tokens: int
    batch_id: str | None = None
    input_file_id: str | None = None
    # planned (a FlightStatus), then its batch's BatchStatus, or FlightStatus.UNREADABLE
    status: str = FlightStatus.PLANNED
    created_at: float | None = None
    # Create attempts, for a backend whose batches carry no metadata until they end (Anthropic):
    # when the first and the last began (epoch seconds), how many requests the batch has, and
    # the batches found that proved (by the tags in their results) not to be this shard's.
    create_since: float | None = None
    create_until: float | None = None
    create_requests: int = 0
    ruled_out: list[str] = field(default_factory=list)
    # Its requests in word order, run-length coded ``[count, words each, max_tokens each]``
    # (see :attr:`Shard.shapes`); empty for a flight journalled before they were recorded.
    shapes: list[list[int]] = field(default_factory=list)
    # A batch adopted from another run (whose owner is gone): the places its custom_ids give
    # its words in that run's list. Empty for this run's own batches (their places are ours).
    positions: dict[int, str] = field(default_factory=dict)
    # How many words its batch asks for when more than ``words`` (a batch adopted from another
    # run or found by this run's tag: its words done or held elsewhere are billed all the same);
    # 0: just ``words``. The cost cap's worst case counts them all.
    batch_words: int = 0

    def word_places(self, words: tuple[str, ...]) -> tuple[str, ...]:
        """What its custom_ids index: this run's list, or the adopted batch's own places (a
        place no word of it holds reads as "", a word of no request)."""
        if not self.positions:
            return words
        places = [""] * (max(self.positions) + 1)
        for at, word in self.positions.items():
            places[at] = word
        return tuple(places)

    @property
    def output_limit(self) -> int | None:
        """The most output tokens its answers can take (None when its shapes are unknown)."""
        if not self.shapes:
            return None
        return sum(count * limit for count, _, limit in self.shapes)

    def request_of(self, word: str) -> tuple[int, int] | None:
        """``(words, max_tokens)`` of the request that asked ``word``, if known."""
        return self.requests_of({word}).get(word)

    def requests_of(self, words: Collection[str]) -> dict[str, tuple[int, int]]:
        """``(words, max_tokens)`` of the request that asked each of ``words`` (those known):
        one pass over the flight, however many are asked."""
        found: dict[str, tuple[int, int]] = {}
        at = 0
        for count, size, limit in self.shapes:
            end = at + count * size
            for word in self.words[at:end]:
                if word in words:
                    found[word] = (size, limit)
            at = end
        return found

    def to_dict(self) -> dict[str, Any]:
        out = {
            "shard": self.shard,
            "words": self.words,
            "input_tokens": self.input_tokens,
            "batch_id": self.batch_id,
            "input_file_id": self.input_file_id,
            "status": self.status,
            "created_at": self.created_at,
        }
        if self.create_since is not None:
            out["create_attempts"] = {
                "since": self.create_since,
                "until": self.create_until,
                "requests": self.create_requests,
                "ruled_out": list(self.ruled_out),
            }
        if self.shapes:
            out["shapes"] = self.shapes
        if self.positions:
            out["positions"] = {str(at): word for at, word in self.positions.items()}
        if self.batch_words:
            out["batch_words"] = self.batch_words
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Flight:
        attempts = d.get("create_attempts") or {}
        return cls(
            shard=d["shard"],
            words=list(d["words"]),
            input_tokens=int(d.get("input_tokens", 0)),
            batch_id=d.get("batch_id"),
            input_file_id=d.get("input_file_id"),
            status=status_of(d.get("status", FlightStatus.PLANNED)),
            created_at=d.get("created_at"),
            create_since=attempts.get("since"),
            create_until=attempts.get("until"),
            create_requests=int(attempts.get("requests", 0)),
            ruled_out=list(attempts.get("ruled_out", ())),
            shapes=[list(map(int, s)) for s in d.get("shapes", ())],
            positions={int(at): word for at, word in (d.get("positions") or {}).items()},
            batch_words=int(d.get("batch_words", 0)),
        )


class StateError(Exception):
    """An event that does not fit the state: a bug or a checkpoint from elsewhere."""


@dataclass
class RunState:
    """What every word of one run is doing, and what the run has spent."""

    words: tuple[str, ...]
    max_attempts: int = 3
    done: dict[str, None] = field(default_factory=dict)  # insertion-ordered set
    failed: dict[str, Failure] = field(default_factory=dict)  # word -> last (retry or given up)
    given_up: dict[str, None] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    flights: dict[str, Flight] = field(default_factory=dict)  # by shard key
    finished: list[dict[str, Any]] = field(default_factory=list)  # one summary per ended batch
    usage: Usage = field(default_factory=Usage)
    # The output tokens per word of the answers that made entries, as a histogram (bucket ->
    # answers; see :func:`synthlib.core.requests.bucket_of`): the requests' limits are sized from
    # it.
    answer_tokens: dict[int, int] = field(default_factory=dict)
    # Words whose last answer was cut off, with the request they need next: (most words in it,
    # least max_tokens). See :class:`synthlib.core.requests.OutputLimits`.
    refit: dict[str, tuple[int, int]] = field(default_factory=dict)
    # USD billed for answers that made no entry (cut off, refused, broken): the retries' cost
    failed_cost: float = 0.0
    seq: int = 0
    next_shard: int = 1
    # This run's create calls on the API's clock, ``[shard, sent, answered]`` (answered None: no
    # answer came, the call may have taken effect up to its timeout): a batch created outside all
    # of them is not this run's. None: a checkpoint made before they were kept (any time of the
    # run may have been a create's).
    create_windows: list[list[Any]] | None = field(default_factory=list)
    # Not state but an index over it: words before ``_cursor`` have all been planned at least
    # once, and ``_requeued`` holds words handed back since (retries, abandoned shards). Together
    # they make ``pending()`` cheap on a million words.
    _cursor: int = 0
    _requeued: dict[str, None] = field(default_factory=dict)

    # --- queries -----------------------------------------------------------------------------

    def in_flight_words(self) -> set[str]:
        return {w for f in self.flights.values() for w in f.words}

    def pending(self) -> Iterator[str]:
        """Words that need a (new) request: retries first, then words never tried, in order.

        Never a word that is done, given up or in flight."""
        busy = self.in_flight_words()
        for word in list(self._requeued):
            if word not in self.done and word not in self.given_up and word not in busy:
                yield word
        self._advance_cursor()
        for i in range(self._cursor, len(self.words)):
            word = self.words[i]
            if (
                word not in self.done
                and word not in self.given_up
                and word not in busy
                and word not in self._requeued
            ):
                yield word

    def pending_count(self) -> int:
        busy = self.in_flight_words()
        return len(self.words) - len(self.done) - len(self.given_up) - len(busy)

    def _advance_cursor(self) -> None:
        words, attempts, done = self.words, self.attempts, self.done
        while self._cursor < len(words) and (
            attempts.get(words[self._cursor]) or words[self._cursor] in done
        ):
            self._cursor += 1

    @property
    def resolved(self) -> int:
        return len(self.done) + len(self.given_up)

    @property
    def finished_batch_ids(self) -> set[str]:
        return {b["batch_id"] for b in self.finished}

    # --- transitions ---------------------------------------------------------------------------

    def apply(self, event: Event | Mapping[str, Any]) -> bool:
        """Apply ``event`` (typed, or a journal line's JSON object); False (and no change) if it
        was applied before."""
        if isinstance(event, Mapping):
            event = event_from_json(event)
        if event.seq <= self.seq:
            return False
        match event:
            case Planned():
                self._on_planned(event)
            case Uploaded():
                self.flights[event.shard].input_file_id = event.input_file_id
            case Creating():
                self._on_creating(event)
            case RuledOut():
                self._on_ruled_out(event)
            case Created():
                self._on_created(event)
            case Status():
                self.flights[event.shard].status = event.status
            case Abandoned():
                self._on_abandoned(event)
            case Ended():
                self._on_ended(event)
            case RetryGivenUp():
                self._on_retry_given_up(event)
            case AlreadyDone():
                self._on_already_done(event)
            case AlreadyGivenUp():
                self._on_already_given_up(event)
            case _:
                raise StateError(f"unknown event type {event.TYPE!r}")
        self.seq = event.seq
        return True

    def event(self, type_: str, **data: Any) -> Event:
        """A new event of the kind named ``type_`` (see :data:`~synthlib.engine.events.EVENTS`)
        with the next sequence number, not yet applied; ``data`` are its fields."""
        try:
            return event_class(type_)(seq=self.seq + 1, **data)
        except EventError as exc:
            raise StateError(str(exc)) from None

    def _on_planned(self, e: Planned) -> None:
        busy = self.in_flight_words()
        for word in e.words:
            if word in self.done or word in self.given_up or word in busy:
                raise StateError(f"word {word!r} planned twice")
            self.attempts[word] = self.attempts.get(word, 0) + 1
            self._requeued.pop(word, None)
        self.flights[e.shard] = Flight(
            e.shard,
            list(e.words),
            e.input_tokens,
            shapes=[list(s) for s in e.shapes or ()],
            positions=dict(e.positions or {}),
            batch_words=e.batch_words or 0,
        )
        number = e.shard.rsplit("-", 1)[-1]
        if number.isdigit():  # shard keys are s-1, s-2, ...: never reuse one
            self.next_shard = max(self.next_shard, int(number) + 1)

    def _on_creating(self, e: Creating) -> None:
        """A create is about to be sent (journalled first for a backend whose batches carry no
        metadata until they end: a lost answer is then resolved by when and how big)."""
        flight = self.flights[e.shard]
        at = e.at
        flight.create_since = at if flight.create_since is None else min(flight.create_since, at)
        flight.create_until = at if flight.create_until is None else max(flight.create_until, at)
        flight.create_requests = e.requests
        if self.create_windows is not None:
            self.create_windows.append([e.shard, at, None])

    def _on_ruled_out(self, e: RuledOut) -> None:
        """Batches found after a lost create whose results show they are not this shard's."""
        flight = self.flights[e.shard]
        flight.ruled_out.extend(b for b in e.batch_ids if b not in flight.ruled_out)

    def _on_created(self, e: Created) -> None:
        flight = self.flights[e.shard]
        flight.batch_id = e.batch_id
        flight.status = e.status
        flight.created_at = e.created_at
        if e.answered_at is not None and self.create_windows is not None:
            # the answer to this shard's last create: its window closes there
            for window in reversed(self.create_windows):
                if window[0] == e.shard:
                    if window[2] is None:
                        window[2] = e.answered_at
                    break

    def _on_abandoned(self, e: Abandoned) -> None:
        """No batch was created for a planned shard: its words go back, their attempt unspent."""
        flight = self.flights.pop(e.shard)
        for word in flight.words:
            self.attempts[word] = max(0, self.attempts.get(word, 1) - 1)
            self._requeued[word] = None

    def _on_ended(self, e: Ended) -> None:
        """A batch ended and its results are in the store: every word gets exactly one outcome."""
        flight = self.flights.pop(e.shard)
        entries = set(e.done)
        failures = e.failed
        refit = e.refit or {}
        give_up = set(e.give_up or ())  # failed words the user chose not to retry
        for word in flight.words:
            if word in entries:
                self.done[word] = None
                self.failed.pop(word, None)
                self.given_up.pop(word, None)
                self.refit.pop(word, None)
                continue
            failure = failures.get(word, _NO_RESULT)
            if not failure.charged:
                self.attempts[word] = max(0, self.attempts.get(word, 1) - 1)
            before = self.failed.get(word)
            refused = FailureCode.REFUSED
            if failure.code == refused and before is not None and before.code == refused:
                # a refusal (or content filter) retried once and refused again: more attempts
                # would only pay again for the same answer
                failure = Failure(refused, f"refused again on a retry: {failure.detail}")
                self.given_up[word] = None
            self.failed[word] = failure
            if word in refit:
                self.refit[word] = refit[word]
            if (
                word in self.given_up
                or failure.final
                or word in give_up
                or self.attempts.get(word, 0) >= self.max_attempts
            ):
                self.given_up[word] = None
                self.refit.pop(word, None)
            else:
                self._requeued[word] = None
        self._measured(e.measured)
        if e.usage is not None:
            self.usage += e.usage
        self.failed_cost += e.failed_cost or 0.0
        self.finished.append(
            {
                "batch_id": flight.batch_id,
                "shard": flight.shard,
                "status": e.status,
                "words": len(flight.words),
                "done": len(entries & set(flight.words)),
                "usage": e.usage.to_dict() if e.usage else {},
            }
        )

    def _measured(self, histogram: dict[int, int] | None) -> None:
        for bucket, count in (histogram or {}).items():
            self.answer_tokens[bucket] = self.answer_tokens.get(bucket, 0) + count

    def _on_retry_given_up(self, e: RetryGivenUp) -> None:
        """The user asked to retry words that were given up: they become pending again."""
        for word in e.words:
            if word in self.given_up:
                del self.given_up[word]
                self.attempts[word] = 0
                self._requeued[word] = None

    def _on_already_done(self, e: AlreadyDone) -> None:
        """Words of the list found done elsewhere (``source``: an entry in the store for this
        model and versions, or an imported checkpoint): done without a request, no usage, attempts
        unchanged. A word in flight is left alone (its batch is collected as usual)."""
        busy = self.in_flight_words()
        for word in e.words:
            if word in busy or word in self.done:
                continue
            self.done[word] = None
            self.failed.pop(word, None)
            self.given_up.pop(word, None)
            self._requeued.pop(word, None)
        # answers measured elsewhere (a pilot's, with this model): the output limits use them
        self._measured(e.measured)

    def _on_already_given_up(self, e: AlreadyGivenUp) -> None:
        """Words of the list that another run on this model already judged for good (a pilot's
        ``not_a_word``): given up with that failure, without a request. Words done or in flight
        are left alone."""
        busy = self.in_flight_words()
        for word, failure in e.failed.items():
            if word in busy or word in self.done:
                continue
            self.failed[word] = failure
            self.given_up[word] = None
            self._requeued.pop(word, None)

    # --- serialisation -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "processed_words": list(self.done),
            "failed_words": {w: str(f) for w, f in self.failed.items() if w not in self.done},
            "given_up_words": list(self.given_up),
            "attempts": {w: n for w, n in self.attempts.items() if w not in self.done},
            "batches": [f.to_dict() for f in self.flights.values()],
            "finished_batches": self.finished,
            "usage": self.usage.to_dict(),
            "answer_tokens": {str(b): n for b, n in sorted(self.answer_tokens.items())},
            "refit": {
                w: list(shape)
                for w, shape in self.refit.items()
                if w not in self.done and w not in self.given_up
            },
            "failed_answers_cost": self.failed_cost,
            "total_cost": self.usage.cost_usd,
            "total_tokens": self.usage.total_tokens,
            "seq": self.seq,
            "next_shard": self.next_shard,
            "create_windows": self.create_windows,
        }

    @classmethod
    def restore(
        cls, words: Iterable[str], data: dict[str, Any], *, max_attempts: int = 3
    ) -> RunState:
        state = cls(words=tuple(words), max_attempts=max_attempts)
        state.done = dict.fromkeys(data.get("processed_words", ()))
        state.failed = {w: Failure.parse(r) for w, r in data.get("failed_words", {}).items()}
        state.given_up = dict.fromkeys(data.get("given_up_words", ()))
        state.attempts = {w: int(n) for w, n in data.get("attempts", {}).items()}
        for w in state.done:
            state.attempts.setdefault(w, 1)
        for f in data.get("batches", ()):
            flight = Flight.from_dict(f)
            state.flights[flight.shard] = flight
        state.finished = list(data.get("finished_batches", ()))
        state.usage = Usage.from_dict(data.get("usage", {}))
        state.answer_tokens = {int(b): int(n) for b, n in data.get("answer_tokens", {}).items()}
        state.refit = {w: (int(k), int(n)) for w, (k, n) in data.get("refit", {}).items()}
        state.failed_cost = float(data.get("failed_answers_cost", 0.0))
        state.seq = int(data.get("seq", 0))
        state.next_shard = int(data.get("next_shard", 1))
        windows = data.get("create_windows")
        if windows is not None:
            state.create_windows = [[str(k), float(a), _or_none(b)] for k, a, b in windows]
        elif state.seq:
            state.create_windows = None  # made before windows were kept
        for word in state.attempts:
            if word not in state.done and word not in state.given_up:
                state._requeued[word] = None  # tried before: a retry, or back from a shard
        return state


def _or_none(value: Any) -> float | None:
    return None if value is None else float(value)
