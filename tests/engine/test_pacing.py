"""Pacing on a fake clock: token budget, backoffs, poll waits, the store's rest and the cost cap.

No emulator, no sleeps: time moves only when a test moves it."""

from __future__ import annotations

import pytest

from synthlib.pacing import MAX_POLL_INTERVAL, MAX_STORE_ATTEMPTS, Pacing
from synthlib.pricing import Price
from synthlib.requests import MAX_OUTPUT_TOKENS_PER_WORD, Request
from synthlib.shards import Shard
from synthlib.state import Flight

# batch prices are half: 1e-6 USD a token in or out, which keeps the sums readable
PRICE = Price("test-model", input=2.0, cached_input=1.0, output=2.0)
OUT = MAX_OUTPUT_TOKENS_PER_WORD  # the most one word's answer may take


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def pacing(clock: Clock, **kw) -> Pacing:
    settings = dict(
        price=PRICE, token_budget=1_000, fixed_tokens=100, poll_interval=2.0, clock=clock
    )
    return Pacing(**{**settings, **kw})


def shard(words: int, input_tokens: int) -> Shard:
    requests = tuple(Request(f"w{i:x}", (f"word{i}",), "") for i in range(words))
    return Shard(requests=requests, input_tokens=input_tokens, nbytes=0)


def flight(words: int, input_tokens: int) -> Flight:
    return Flight("s-1", [f"busy{i}" for i in range(words)], input_tokens, batch_id="b1")


# --- submitting ---------------------------------------------------------------------------------


def test_a_new_run_may_submit_at_once():
    assert pacing(Clock()).may_submit()


def test_a_failed_submission_pauses_for_the_poll_interval():
    clock = Clock()
    p = pacing(clock, poll_interval=2.0)
    p.pause()
    clock.advance(1.99)
    assert not p.may_submit()
    clock.advance(0.01)
    assert p.may_submit()


def test_the_pause_is_at_least_a_second_in_a_rehearsal():
    clock = Clock()
    p = pacing(clock, poll_interval=0.05)
    p.pause()
    clock.advance(0.5)
    assert not p.may_submit()
    clock.advance(0.5)
    assert p.may_submit()


def test_room_is_the_budget_left_beside_the_batches_in_flight():
    p = pacing(Clock(), token_budget=1_000, fixed_tokens=100)
    assert p.room(0) == 1_000
    assert p.room(600) == 400


def test_no_room_when_not_even_one_request_fits():
    p = pacing(Clock(), token_budget=1_000, fixed_tokens=100)
    assert p.room(900) == 0
    assert p.room(1_200) == 0


# --- the enqueued-token limit -------------------------------------------------------------------


def test_the_token_limit_halves_the_budget_and_waits_before_submitting():
    clock = Clock()
    p = pacing(clock, token_budget=1_000, poll_interval=2.0)
    p.limit_hit()
    assert p.budget == 500
    assert not p.may_submit()
    clock.advance(2.0)
    assert p.may_submit()


def test_each_limit_hit_in_a_row_doubles_the_wait():
    clock = Clock()
    p = pacing(clock, token_budget=100_000, poll_interval=2.0)
    p.limit_hit()
    p.limit_hit()  # the second hit waits 4 s from now
    clock.advance(3.99)
    assert not p.may_submit()
    clock.advance(0.01)
    assert p.may_submit()


def test_the_limit_backoff_stops_growing_at_the_poll_cap():
    p = pacing(Clock(), token_budget=10**9)
    for _ in range(20):
        p.limit_hit()
    assert p.limit_backoff == MAX_POLL_INTERVAL


def test_the_budget_never_halves_below_two_requests():
    p = pacing(Clock(), token_budget=1_000, fixed_tokens=100)
    for _ in range(10):
        p.limit_hit()
    assert p.budget == 200


def test_a_batch_accepted_under_the_limit_starts_the_backoff_over():
    clock = Clock()
    p = pacing(clock, token_budget=100_000, poll_interval=2.0)
    for _ in range(3):
        p.limit_hit()
    p.limit_cleared()
    clock.advance(MAX_POLL_INTERVAL)
    p.limit_hit()
    clock.advance(2.0)
    assert p.may_submit()


def test_the_budget_grows_back_after_each_batch_but_not_past_the_setting():
    p = pacing(Clock(), token_budget=1_000, fixed_tokens=100)
    p.limit_hit()
    p.limit_hit()
    assert p.budget == 250
    p.batch_ended()
    assert p.budget == 313
    for _ in range(10):
        p.batch_ended()
    assert p.budget == 1_000


# --- poll waits ---------------------------------------------------------------------------------


def test_poll_waits_grow_while_nothing_changes():
    p = pacing(Clock(), poll_interval=10.0)
    assert [p.next_wait(False) for _ in range(3)] == [15.0, 22.5, 33.75]


def test_a_change_brings_the_poll_wait_back_to_the_interval():
    p = pacing(Clock(), poll_interval=10.0)
    p.next_wait(False)
    p.next_wait(False)
    assert p.next_wait(True) == 10.0


def test_poll_waits_stop_growing_at_a_cap_of_minutes():
    p = pacing(Clock(), poll_interval=30.0)
    waits = [p.next_wait(False) for _ in range(30)]
    assert max(waits) == waits[-1] == MAX_POLL_INTERVAL


def test_a_rehearsal_poll_wait_is_capped_at_a_second():
    p = pacing(Clock(), poll_interval=0.01)
    waits = [p.next_wait(False) for _ in range(30)]
    assert waits[-1] == 1.0


# --- the store ----------------------------------------------------------------------------------


def test_a_failed_store_write_stops_submissions_until_one_succeeds():
    clock = Clock()
    p = pacing(clock)
    assert not p.store_failed()
    clock.advance(MAX_POLL_INTERVAL * 2)
    assert not p.may_submit()
    p.store_ok()
    assert p.may_submit()


def test_a_failed_store_is_left_alone_longer_after_each_failure():
    clock = Clock()
    p = pacing(clock, poll_interval=2.0)  # rests are at least 5 s a failure
    p.store_failed()
    assert p.store_resting()
    clock.advance(5.0)
    assert not p.store_resting()
    p.store_failed()
    clock.advance(9.99)
    assert p.store_resting()
    clock.advance(0.01)
    assert not p.store_resting()


def test_a_lasting_store_fault_ends_the_run_at_once():
    assert pacing(Clock()).store_failed(lasting=True)


def test_an_outage_ends_the_run_after_its_bound():
    p = pacing(Clock())
    ends = [p.store_failed() for _ in range(MAX_STORE_ATTEMPTS)]
    assert ends == [False] * (MAX_STORE_ATTEMPTS - 1) + [True]


# --- the cost cap -------------------------------------------------------------------------------


def test_the_worst_case_prices_every_request_at_its_longest_answer():
    p = pacing(Clock())
    assert p.worst_case(500, 2) == pytest.approx((500 + 2 * OUT) * 1e-6)


def test_the_worst_case_counts_requests_of_several_words():
    p = pacing(Clock(), words_per_request=2)
    two_words = pacing(Clock()).worst_case(0, 2)  # a request of 2 words may answer 2 * OUT
    assert p.worst_case(0, 3) == pytest.approx(2 * two_words)


def test_without_a_cap_nothing_is_over_cost():
    p = pacing(Clock(), max_cost=None)
    assert not p.over_cost(shard(1_000, 10**9), 10**6, [])
    assert p.within_cost(big := shard(3, 300), 0.0, [], replan=_no_replan) is big


def test_a_shard_that_fits_beside_spend_and_flights_goes_as_it_is():
    p = pacing(Clock(), max_cost=1.0)
    s = shard(10, 1_000)  # worst case 0.026
    assert not p.over_cost(s, 0.9, [flight(2, 0)])  # 0.9 + 0.005 + 0.026
    assert p.within_cost(s, 0.9, [flight(2, 0)], replan=_no_replan) is s


def test_the_worst_case_of_the_batches_in_flight_counts_against_the_cap():
    p = pacing(Clock(), max_cost=1.0)
    s = shard(10, 1_000)
    assert p.over_cost(s, 0.9, [flight(30, 0)])  # 0.9 + 0.075 + 0.026


def test_a_shard_over_the_cap_is_replanned_smaller():
    p = pacing(Clock(), max_cost=0.01)
    asked: list[int] = []

    def replan(batch_size: int) -> Shard:
        asked.append(batch_size)
        return shard(batch_size, 100 * batch_size)

    smaller = p.within_cost(shard(10, 1_000), 0.0, [], replan=replan)
    # 0.0026 a word in the worst case: 3 words fit under 0.01
    assert asked == [3]
    assert smaller is not None and smaller.word_count == 3
    assert not p.capped


def test_replanning_halves_until_the_shard_fits():
    p = pacing(Clock(), max_cost=0.01)
    asked: list[int] = []

    def replan(batch_size: int) -> Shard:
        asked.append(batch_size)
        return shard(batch_size, 1_000 * batch_size)  # longer words than the estimate

    smaller = p.within_cost(shard(10, 1_000), 0.0, [], replan=replan)
    assert asked == [3, 1]
    assert smaller is not None and smaller.word_count == 1


def test_a_shard_shrinks_to_whole_requests():
    p = pacing(Clock(), max_cost=0.012, words_per_request=2)
    asked: list[int] = []

    def replan(batch_size: int) -> Shard:
        asked.append(batch_size)
        return shard(batch_size, 0)

    p.within_cost(shard(10, 1_000), 0.0, [], replan=replan)
    assert asked and all(n % 2 == 0 for n in asked)


def test_when_not_one_request_fits_the_cap_is_reached_and_submissions_stop():
    p = pacing(Clock(), max_cost=0.001)
    assert p.within_cost(shard(10, 1_000), 0.0, [], replan=_no_replan) is None
    assert p.capped
    assert not p.may_submit()


def test_the_cap_is_reached_when_nothing_is_left_to_replan():
    p = pacing(Clock(), max_cost=0.01)
    assert p.within_cost(shard(10, 1_000), 0.0, [], replan=lambda n: None) is None
    assert p.capped


def _no_replan(batch_size: int) -> Shard:
    raise AssertionError(f"replanned with batch_size={batch_size}, but the shard fitted")
