"""Pacing on a fake clock: token budget, backoffs, poll waits, the store's rest and the cost cap.

No emulator, no sleeps: time moves only when a test moves it."""

from __future__ import annotations

import pytest

from synthlib.core.pricing import Price
from synthlib.core.requests import MAX_OUTPUT_TOKENS_PER_WORD, Request
from synthlib.core.shards import Shard
from synthlib.engine.pacing import MAX_POLL_INTERVAL, MAX_STORE_ATTEMPTS, Pacing
from synthlib.engine.state import Flight

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
    requests = tuple(Request(f"w{i:x}", (f"word{i}",), "", OUT) for i in range(words))
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
    assert p.worst_case(500, 2 * OUT) == pytest.approx((500 + 2 * OUT) * 1e-6)
    assert p.worst_case(500, shard(2, 500).output_limit) == pytest.approx((500 + 2 * OUT) * 1e-6)


def test_the_worst_case_of_a_flight_counts_its_requests_as_built():
    # a pack of 20 split in two (its custom_id would be too long): two requests, each at its
    # own limit, not one request of 20 words
    built = Flight(
        "s-1", [f"w{i}" for i in range(20)], 1_000, batch_id="b1", shapes=[[2, 10, 9_000]]
    )
    assert pacing(Clock()).flight_worst_case(built) == pytest.approx((1_000 + 18_000) * 1e-6)


def test_a_flight_journalled_before_its_limits_counts_every_word_at_the_old_limit():
    old = flight(3, 100)  # no shapes
    assert pacing(Clock()).flight_worst_case(old) == pytest.approx((100 + 3 * OUT) * 1e-6)


def test_a_shard_knows_its_requests_shapes_in_order():
    requests = (
        Request("w0", ("a",), "", 100),
        Request("w1", ("b",), "", 100),
        Request("w2_3", ("c", "d"), "", 300),
    )
    s = Shard(requests=requests, input_tokens=0, nbytes=0)
    assert s.shapes == [[2, 1, 100], [1, 2, 300]]
    assert s.output_limit == 500
    f = Flight("s-1", list(s.words), 0, shapes=s.shapes)
    assert f.output_limit == 500
    assert f.request_of("b") == (1, 100) and f.request_of("d") == (2, 300)


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
    asked: list[int] = []

    def replan(batch_size: int) -> Shard:
        asked.append(batch_size)
        return shard(batch_size, 100 * batch_size)

    assert p.within_cost(shard(10, 1_000), 0.0, [], replan=replan) is None
    assert asked == [1]  # the smallest shard there is was tried
    assert p.capped
    assert not p.may_submit()


def test_the_cap_is_reached_when_nothing_is_left_to_replan():
    p = pacing(Clock(), max_cost=0.01)
    assert p.within_cost(shard(10, 1_000), 0.0, [], replan=lambda n: None) is None
    assert p.capped


def test_the_cap_is_weighed_again_when_a_batch_ends():
    p = pacing(Clock(), max_cost=0.01)
    busy = [flight(3, 0)]  # worst case 0.008: no room for one more word beside it
    assert p.within_cost(shard(1, 100), 0.0, busy, replan=lambda n: shard(n, 100)) is None
    assert p.capped and not p.may_submit()
    p.flight_settled()  # it ended, billing far less than its worst case
    assert p.may_submit()
    s = p.within_cost(shard(3, 300), 0.001, [], replan=_no_replan)
    assert s is not None and not p.capped


def test_the_last_try_is_a_single_request():
    p = pacing(Clock(), max_cost=0.0029)  # one word fits (0.00278), the estimate says none
    asked: list[int] = []

    def replan(batch_size: int) -> Shard:
        asked.append(batch_size)
        return shard(batch_size, 100 * batch_size)

    smaller = p.within_cost(shard(10, 10_000), 0.0, [], replan=replan)
    assert asked == [1]
    assert smaller is not None and smaller.word_count == 1 and not p.capped


def _no_replan(batch_size: int) -> Shard:
    raise AssertionError(f"replanned with batch_size={batch_size}, but the shard fitted")
