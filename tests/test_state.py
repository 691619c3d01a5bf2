from __future__ import annotations

import pytest

from synthlib.core.schema import Failure
from synthlib.engine.state import RunState, StateError


def _state(words=("a", "b", "c", "d"), max_attempts=3):
    return RunState(words=tuple(words), max_attempts=max_attempts)


def _plan(s, shard, words):
    s.apply(s.event("planned", shard=shard, words=list(words), input_tokens=len(words)))
    s.apply(s.event("created", shard=shard, batch_id=f"batch-{shard}"))


def test_words_move_pending_submitted_done():
    s = _state()
    assert list(s.pending()) == ["a", "b", "c", "d"]
    _plan(s, "s-1", ["a", "b"])
    assert list(s.pending()) == ["c", "d"]
    assert s.in_flight_words() == {"a", "b"}
    s.apply(s.event("ended", shard="s-1", done=["a", "b"], failed={}))
    assert list(s.done) == ["a", "b"] and not s.flights


def test_failed_word_is_retried_until_given_up():
    s = _state(max_attempts=2)
    _plan(s, "s-1", ["a"])
    s.apply(s.event("ended", shard="s-1", done=[], failed={"a": "truncated: length"}))
    assert "a" in list(s.pending()) and s.failed["a"] == Failure("truncated", "length")
    _plan(s, "s-2", ["a"])
    s.apply(s.event("ended", shard="s-2", done=[], failed={"a": "refused: no"}))
    assert "a" in s.given_up and "a" not in list(s.pending())
    assert s.failed["a"] == Failure("refused", "no")  # the last reason is kept
    assert s.snapshot()["failed_words"] == {"a": "refused: no"}  # as the checkpoint writes it


def test_a_word_without_any_result_line_fails_with_no_result():
    s = _state()
    _plan(s, "s-1", ["a", "b"])
    s.apply(s.event("ended", shard="s-1", done=["a"], failed={}))
    assert s.failed["b"].code == "no_result"


def test_final_reasons_give_up_at_once():
    s = _state()
    _plan(s, "s-1", ["a"])
    s.apply(s.event("ended", shard="s-1", done=[], failed={"a": "not_a_word"}))
    assert "a" in s.given_up and s.attempts["a"] == 1


def test_token_limit_failures_do_not_use_up_attempts():
    s = _state(max_attempts=1)
    _plan(s, "s-1", ["a"])
    s.apply(s.event("ended", shard="s-1", done=[], failed={"a": "token_limit_exceeded: x"}))
    assert "a" not in s.given_up and s.attempts["a"] == 0


def test_abandoned_intent_returns_words_without_an_attempt():
    s = _state()
    s.apply(s.event("planned", shard="s-1", words=["a"], input_tokens=1))
    s.apply(s.event("abandoned", shard="s-1"))
    assert s.attempts["a"] == 0 and "a" in list(s.pending())


def test_a_word_cannot_be_planned_twice():
    s = _state()
    _plan(s, "s-1", ["a"])
    with pytest.raises(StateError):
        s.apply(s.event("planned", shard="s-2", words=["a"], input_tokens=1))


def test_events_apply_once():
    s = _state()
    ev = s.event("planned", shard="s-1", words=["a"], input_tokens=1)
    assert s.apply(ev) is True
    assert s.apply(ev) is False
    assert s.attempts["a"] == 1


def test_usage_adds_up():
    s = _state()
    _plan(s, "s-1", ["a"])
    s.apply(
        s.event(
            "ended",
            shard="s-1",
            done=["a"],
            failed={},
            usage={"input_tokens": 10, "cached_tokens": 2, "output_tokens": 5, "cost_usd": 0.25},
        )
    )
    assert s.usage.total_tokens == 15 and s.usage.cost_usd == 0.25


def test_snapshot_restore_round_trip():
    s = _state()
    _plan(s, "s-1", ["a", "b"])
    s.apply(s.event("ended", shard="s-1", done=["a"], failed={"b": "http_error: 500"}))
    _plan(s, "s-2", ["c"])
    r = RunState.restore(s.words, s.snapshot())
    assert r.snapshot() == s.snapshot()
    assert list(r.pending()) == list(s.pending())


def test_already_done_marks_words_done_without_usage_or_attempts():
    s = _state(max_attempts=1)
    _plan(s, "s-1", ["a"])
    s.apply(s.event("ended", shard="s-1", done=[], failed={"a": "refused: no"}))
    _plan(s, "s-2", ["b"])  # b is in flight
    assert "a" in s.given_up
    s.apply(s.event("already_done", words=["a", "b", "c"], source="store"))
    assert list(s.done) == ["a", "c"]
    assert "a" not in s.given_up and "a" not in s.failed
    assert s.in_flight_words() == {"b"}  # a word in flight is left alone
    assert s.attempts == {"a": 1, "b": 1}  # attempts unchanged; c never got one
    assert s.usage.total_tokens == 0 and s.usage.cost_usd == 0
    assert list(s.pending()) == ["d"]
    assert s.pending_count() == 1 and s.resolved == 2
    r = RunState.restore(s.words, s.snapshot(), max_attempts=1)
    assert list(r.done) == ["a", "c"] and list(r.pending()) == ["d"]


def test_already_done_is_idempotent_and_leaves_done_words_alone():
    s = _state()
    _plan(s, "s-1", ["a"])
    s.apply(s.event("ended", shard="s-1", done=["a"], failed={}))
    ev = s.event("already_done", words=["a", "b"], source="import")
    assert s.apply(ev) and not s.apply(ev)
    assert list(s.done) == ["a", "b"] and s.attempts == {"a": 1}


def test_a_refusal_is_given_up_when_its_one_retry_is_refused_too():
    s = _state(max_attempts=5)
    _plan(s, "s-1", ["a"])
    s.apply(s.event("ended", shard="s-1", done=[], failed={"a": "refused: content filter"}))
    assert "a" in list(s.pending())  # one retry
    _plan(s, "s-2", ["a"])
    s.apply(s.event("ended", shard="s-2", done=[], failed={"a": "refused: content filter"}))
    assert "a" in s.given_up and s.attempts["a"] == 2
    assert s.failed["a"].code == "refused" and "again" in s.failed["a"].detail


def test_a_refusal_after_another_failure_still_gets_its_retry():
    s = _state(max_attempts=5)
    _plan(s, "s-1", ["a"])
    s.apply(s.event("ended", shard="s-1", done=[], failed={"a": "invalid: x"}))
    _plan(s, "s-2", ["a"])
    s.apply(s.event("ended", shard="s-2", done=[], failed={"a": "refused: no"}))
    assert "a" not in s.given_up


def test_a_truncated_word_keeps_the_request_it_needs_until_it_is_done():
    s = _state()
    _plan(s, "s-1", ["a", "b"])
    s.apply(
        s.event(
            "ended",
            shard="s-1",
            done=["b"],
            failed={"a": "truncated: cut"},
            refit={"a": [1, 5_000]},
            measured={"10": 1},
        )
    )
    assert s.refit == {"a": (1, 5_000)} and s.answer_tokens == {10: 1}
    again = RunState.restore(s.words, s.snapshot())
    assert again.refit == {"a": (1, 5_000)} and again.answer_tokens == {10: 1}
    _plan(s, "s-2", ["a"])
    s.apply(s.event("ended", shard="s-2", done=["a"], failed={}, measured={"40": 1}))
    assert not s.refit and s.answer_tokens == {10: 1, 40: 1}


def test_the_cost_of_answers_that_made_no_entry_adds_up_and_is_kept():
    s = _state()
    _plan(s, "s-1", ["a"])
    s.apply(s.event("ended", shard="s-1", done=[], failed={"a": "refused: x"}, failed_cost=0.25))
    _plan(s, "s-2", ["a"])
    s.apply(s.event("ended", shard="s-2", done=["a"], failed={}, failed_cost=0.0))
    assert s.failed_cost == 0.25
    assert RunState.restore(s.words, s.snapshot()).failed_cost == 0.25


def test_an_adopted_flights_batch_words_survive_the_snapshot() -> None:
    from synthlib.engine.state import Flight

    flight = Flight("a-batch_1", ["w1"], 1200, batch_words=10)
    assert Flight.from_dict(flight.to_dict()).batch_words == 10
    assert "batch_words" not in Flight("s-1", ["w1"], 120).to_dict()
