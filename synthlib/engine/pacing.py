"""How fast a run may go: the token budget, when it may submit, how long it waits between polls,
how long it leaves a failing store alone, and whether a new shard fits under the cost cap.

Pure: every time comes from the clock passed in, and nothing here touches the network, the disk,
the checkpoint or the store. The runner tells it what happened (a batch ended, the enqueued-token
limit was hit, a store write failed) and asks it what to do next. Read its attributes freely;
change them only through its methods.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from ..core.pricing import Price
from ..core.requests import MAX_OUTPUT_TOKENS_PER_WORD, REASONING_ALLOWANCE
from ..core.shards import Shard
from .state import Flight

MAX_POLL_INTERVAL = 300.0
POLL_GROWTH = 1.5
# After each ended batch the budget grows back by this factor, up to the configured budget.
BUDGET_GROWTH = 1.25
# Store writes that failed in a row, waiting between them, before the run ends on an outage.
MAX_STORE_ATTEMPTS = 20


class Pacing:
    """The run's budget, backoffs and waits, driven by ``clock`` (seconds, monotonic)."""

    def __init__(
        self,
        *,
        price: Price,
        token_budget: int,
        fixed_tokens: int,
        poll_interval: float,
        clock: Callable[[], float],
        max_cost: float | None = None,
        words_per_request: int = 1,
    ) -> None:
        self.price = price
        self.token_budget = token_budget
        self.fixed_tokens = fixed_tokens  # the input tokens of a request before its words
        self.poll_interval = poll_interval
        self.clock = clock
        self.max_cost = max_cost
        self.words_per_request = words_per_request
        self.budget = token_budget  # input tokens the batches in flight may hold
        self.submit_after = 0.0
        self.limit_backoff = self._short_pause
        self.poll_wait = poll_interval
        self.poll_cap = min(MAX_POLL_INTERVAL, max(poll_interval * 30, 1.0))
        self.store_failures = 0  # failed store writes in a row
        self.store_down_until = 0.0
        # Not one more request fits under the cost cap beside what is spent and in flight. Set
        # by :meth:`within_cost`, cleared whenever a batch ends (its worst case turns into its
        # bill, usually far less) so that the next submission weighs the cap afresh.
        self.capped = False

    @property
    def _short_pause(self) -> float:
        return max(self.poll_interval, 1.0)

    # --- submitting --------------------------------------------------------------------------

    def may_submit(self) -> bool:
        """Whether a new batch may go now: no pause, no cap reached, no store write waiting."""
        return not self.capped and self.clock() >= self.submit_after and not self.store_failures

    def room(self, in_flight_tokens: int) -> int:
        """Input tokens a new shard may hold beside ``in_flight_tokens``; 0 if not one request."""
        room = self.budget - in_flight_tokens
        return room if room > self.fixed_tokens else 0

    def pause(self) -> None:
        """Something went wrong submitting (an upload, a create): try again after a short wait."""
        self.submit_after = self.clock() + self._short_pause

    def limit_hit(self) -> None:
        """A batch failed on the enqueued-token limit: halve the budget and wait before
        submitting; each hit in a row doubles the wait, up to :data:`MAX_POLL_INTERVAL`."""
        self.budget = max(self.fixed_tokens * 2, self.budget // 2)
        self.submit_after = self.clock() + self.limit_backoff
        self.limit_backoff = min(MAX_POLL_INTERVAL, self.limit_backoff * 2)

    def limit_cleared(self) -> None:
        """A batch was accepted under the limit: the next hit starts its backoff over."""
        self.limit_backoff = self._short_pause

    def batch_ended(self) -> None:
        """A batch ended with results: the budget grows back towards the configured one."""
        self.budget = min(self.token_budget, int(self.budget * BUDGET_GROWTH) + 1)

    def flight_settled(self) -> None:
        """A batch in flight ended (or a planned shard went back to the queue): what it may
        still cost is known now, so the cap is weighed afresh at the next submission."""
        self.capped = False

    # --- polling -----------------------------------------------------------------------------

    def next_wait(self, changed: bool) -> float:
        """Seconds until the next poll: ``poll_interval`` after a change, else the last wait
        grown by :data:`POLL_GROWTH`, up to a cap suited to real batches (minutes)."""
        if changed:
            self.poll_wait = self.poll_interval
        else:
            self.poll_wait = min(self.poll_cap, self.poll_wait * POLL_GROWTH)
        return self.poll_wait

    # --- the store ---------------------------------------------------------------------------

    def store_failed(self, *, lasting: bool = False) -> bool:
        """Count a failed store write. True when the run should end on it (a ``lasting`` fault,
        or :data:`MAX_STORE_ATTEMPTS` in a row); else the store is left alone for a while, longer
        after each failure."""
        self.store_failures += 1
        if lasting or self.store_failures >= MAX_STORE_ATTEMPTS:
            return True
        wait = min(MAX_POLL_INTERVAL, max(self.poll_interval, 5.0) * self.store_failures)
        self.store_down_until = self.clock() + wait
        return False

    def store_ok(self) -> None:
        self.store_failures = 0

    def store_resting(self) -> bool:
        """Whether a failed store is still being left alone."""
        return self.clock() < self.store_down_until

    # --- the cost cap ------------------------------------------------------------------------

    def worst_case(self, input_tokens: int, output_limit: int) -> float:
        """The most a batch can cost: its input, and every request answering at its limit
        (``output_limit``: the sum of its requests' ``max_tokens``, as built)."""
        return self.price.cost(input_tokens, output_limit)

    def flight_worst_case(self, flight: Flight) -> float:
        """The most ``flight`` can cost; for a flight journalled before its requests' limits
        were (or an adopted batch, made by another run), the most its words could have been
        given then: every word its batch asks for, kept here or not."""
        limit = flight.output_limit
        if limit is None:
            per_word = MAX_OUTPUT_TOKENS_PER_WORD + (
                REASONING_ALLOWANCE if self.price.reasoning else 0
            )
            limit = max(len(flight.words), flight.batch_words) * per_word
        return self.worst_case(flight.input_tokens, limit)

    def committed(self, spent: float, flights: Collection[Flight]) -> float:
        """``spent`` plus the worst case of every batch in flight."""
        return spent + sum(self.flight_worst_case(f) for f in flights)

    def over_cost(self, shard: Shard, spent: float, flights: Collection[Flight]) -> bool:
        """Whether ``spent``, the worst case of ``flights`` and that of ``shard`` pass the cap:
        the cap holds whatever the answers' lengths turn out to be."""
        if self.max_cost is None:
            return False
        worst = self.worst_case(shard.input_tokens, shard.output_limit)
        return self.committed(spent, flights) + worst > self.max_cost

    def within_cost(
        self,
        shard: Shard,
        spent: float,
        flights: Collection[Flight],
        replan: Callable[[int], Shard | None],
    ) -> Shard | None:
        """``shard`` if it fits under the cap, else a smaller one made by ``replan(batch_size)``
        that does; None (and :attr:`capped` set until a batch ends) when not even one request
        fits."""
        if not self.over_cost(shard, spent, flights):
            self.capped = False
            return shard
        smaller = self._shrink(shard, spent, flights, replan)
        self.capped = smaller is None
        return smaller

    def _shrink(
        self,
        shard: Shard,
        spent: float,
        flights: Collection[Flight],
        replan: Callable[[int], Shard | None],
    ) -> Shard | None:
        assert self.max_cost is not None  # only a capped run can be over its cap
        per_word = self.worst_case(shard.input_tokens, shard.output_limit) / shard.word_count
        per = self.words_per_request
        n = int((self.max_cost - self.committed(spent, flights)) / per_word) // per * per
        n = max(n, 1)
        # halve until it fits; the last try is the smallest shard there is (its first request)
        while True:
            smaller = replan(n)
            if smaller is None:
                return None
            if not self.over_cost(smaller, spent, flights):
                return smaller
            if n == 1 or smaller.word_count <= 1:
                return None
            n = max(1, min(n // 2 // per * per, smaller.word_count - 1))
