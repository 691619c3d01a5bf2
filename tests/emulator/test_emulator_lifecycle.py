"""Batch status as a function of stored timestamps, checked with a hand-driven clock."""

from __future__ import annotations

import pytest

from synthlib.emulator import lifecycle
from synthlib.emulator.config import EmulatorConfig


def _record(total=10, valid=True, **plan):
    return {
        "created_at": 100.0,
        "valid": valid,
        "total": total,
        "plan": {
            "validating_seconds": 10,
            "seconds_per_request": 1,
            "finalizing_seconds": 5,
            "cancelling_seconds": 2,
            "expire": False,
            "no_output": False,
            **plan,
        },
        "failed_positions": [1, 4],
        "stall_at": None,
        "pauses": [],
        "cancel": None,
    }


def test_phases_and_timestamps():
    record = _record()
    assert lifecycle.evaluate(record, 105).status == "validating"
    state = lifecycle.evaluate(record, 113.5)
    assert (state.status, state.executed, state.failed) == ("in_progress", 3, 1)
    assert state.timestamps == {"in_progress_at": 110}
    state = lifecycle.evaluate(record, 122)
    assert (state.status, state.timestamps["finalizing_at"]) == ("finalizing", 120)
    state = lifecycle.evaluate(record, 125)
    assert (state.status, state.executed, state.failed) == ("completed", 10, 2)
    assert state.timestamps == {"in_progress_at": 110, "finalizing_at": 120, "completed_at": 125}


def test_invalid_batches_fail_after_validating():
    state = lifecycle.evaluate(_record(valid=False), 111)
    assert (state.status, state.timestamps) == ("failed", {"failed_at": 110})


def test_expiring_batch_stops_half_way():
    state = lifecycle.evaluate(_record(total=11, expire=True), 114)
    assert state.status == "in_progress"
    state = lifecycle.evaluate(_record(total=11, expire=True), 116)
    assert (state.status, state.executed, state.timestamps["expired_at"]) == ("expired", 5, 115)


def test_no_output_batches_count_every_run_request_as_failed():
    state = lifecycle.evaluate(_record(no_output=True), 114)
    assert (state.executed, state.failed) == (4, 4)


def test_cancel_freezes_progress():
    record = _record()
    lifecycle.cancel(record, 114.5)
    state = lifecycle.evaluate(record, 115)
    assert (state.status, state.executed, state.timestamps["cancelling_at"]) == (
        "cancelling",
        4,
        114,
    )
    state = lifecycle.evaluate(record, 200)
    assert (state.status, state.executed, state.timestamps["cancelled_at"]) == ("cancelled", 4, 116)


def test_stall_holds_and_release_resumes_where_it_stopped():
    record = _record()
    assert lifecycle.stall(record, 103)  # still validating: held half way
    assert lifecycle.evaluate(record, 500).status == "in_progress"
    assert lifecycle.evaluate(record, 500).executed == 5
    assert lifecycle.release(record, 500)
    state = lifecycle.evaluate(record, 502)
    assert (state.status, state.executed) == ("in_progress", 7)
    state = lifecycle.evaluate(record, 600)
    # finalizing started 5 requests after the release: 500 + 5, completed 5 s later
    assert state.timestamps == {"in_progress_at": 110, "finalizing_at": 505, "completed_at": 510}


def test_stall_during_progress_holds_at_that_point():
    record = _record()
    assert lifecycle.stall(record, 112.5)
    assert lifecycle.evaluate(record, 1000).executed == 2
    assert not lifecycle.stall(record, 1000)  # already held
    lifecycle.release(record, 1000)
    assert lifecycle.evaluate(record, 1003).executed == 5


def test_settled_batches_cannot_stall():
    record = _record()
    assert not lifecycle.stall(record, 200)
    assert record["stall_at"] is None


@pytest.mark.parametrize(
    "change",
    [
        {"error_rate": 1.5},
        {"seconds_per_request": -1},
        {"max_requests": -3},
        {"token_limits": {"m": -1}},
        {"nonsense": 1},
    ],
)
def test_config_rejects_bad_values(change):
    with pytest.raises(ValueError):
        EmulatorConfig().replace(**change)


def test_config_token_limits():
    config = EmulatorConfig(token_limits={"gpt-4o-mini": 50_000})
    assert config.token_limit("gpt-4o-mini") == 50_000
    assert config.token_limit("gpt-4o") == config.default_token_limit
    assert config.to_dict()["token_limits"] == {"gpt-4o-mini": 50_000}
