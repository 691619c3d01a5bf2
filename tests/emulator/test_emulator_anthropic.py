"""Anthropic's Message Batches API on the emulator, driven by the real ``anthropic`` SDK over HTTP.

Every test drives time with a hand-held clock, so nothing depends on the machine's speed.
"""

from __future__ import annotations

import email.utils
import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import jsonschema
import pytest
from emulator_harness import Harness

from synthlib.core.schema import response_schema

anthropic = pytest.importorskip("anthropic")

MODEL = "claude-haiku-4-5"
TOOL = "record_entries"
SCHEMA = response_schema()
START = 1_700_000_000.0
DAY = 24 * 3600
BATCH_KEYS = {
    "id",
    "type",
    "processing_status",
    "request_counts",
    "ended_at",
    "created_at",
    "expires_at",
    "archived_at",
    "cancel_initiated_at",
    "results_url",
}


class Clock:
    """The emulator's time, moved by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def params_for(words: list[str], **extra: Any) -> dict[str, Any]:
    """Messages params asking for ``words`` through a forced tool call, as a backend would."""
    return {
        "model": MODEL,
        "max_tokens": 8192,
        "system": "You are a lexicographer.",
        "messages": [
            {
                "role": "user",
                "content": "Write dictionary entries for the words in this JSON object:\n"
                + json.dumps({"words": words}),
            }
        ],
        "tools": [{"name": TOOL, "description": "Record the entries.", "input_schema": SCHEMA}],
        "tool_choice": {"type": "tool", "name": TOOL},
        **extra,
    }


def requests_for(count: int, prefix: str = "r", **extra: Any) -> list[dict[str, Any]]:
    return [
        {"custom_id": f"{prefix}{i}", "params": params_for([f"word{i}", "zzqjunk"], **extra)}
        for i in range(count)
    ]


class Anthropic:
    """An ``anthropic`` client on an emulator, with the harness that started it."""

    def __init__(self, h: Harness, clock: Clock, *, key: str = "test", retries: int = 0) -> None:
        self.h = h
        self.clock = clock
        self.client = anthropic.Anthropic(api_key=key, base_url=h.emulator.url, max_retries=retries)
        self.batches = self.client.messages.batches

    def results(self, batch_id: str) -> dict[str, Any]:
        """custom_id -> result of an ended batch."""
        return {line.custom_id: line.result for line in self.batches.results(batch_id)}

    def ledger(self, batch_id: str) -> list[dict[str, Any]]:
        return [e for e in self.h.emulator.ledger() if e["batch_id"] == batch_id]


@pytest.fixture
def claude(start: Callable[..., Harness]) -> Callable[..., Anthropic]:
    """Start an emulator on a hand-held clock (1 s validating, 1 s per request, 1 s finalizing
    unless overridden) and return an ``anthropic`` client on it."""

    def _claude(**settings: Any) -> Anthropic:
        clock = Clock()
        timeline = {"validating_seconds": 1, "seconds_per_request": 1, "finalizing_seconds": 1}
        h = start(clock=clock, **{**timeline, **settings})
        return Anthropic(h, clock)

    return _claude


def _raw(c: Anthropic, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, c.h.emulator.url + path, timeout=10, **kwargs)


def _error_type(exc: Any) -> str:
    body = exc.body
    assert body["type"] == "error" and set(body["error"]) == {"type", "message"}, body
    return body["error"]["type"]


# -- create and the batch object ---------------------------------------------------------------


def test_create_answers_an_in_progress_batch_with_the_documented_fields_only(claude):
    c = claude()
    raw = c.batches.with_raw_response.create(requests=requests_for(3))
    fields = raw.http_response.json()
    assert set(fields) == BATCH_KEYS  # no metadata: Anthropic batches carry none
    batch = raw.parse()
    assert batch.id.startswith("msgbatch_") and batch.type == "message_batch"
    assert batch.processing_status == "in_progress"
    assert batch.request_counts.model_dump() == {
        "processing": 3,
        "succeeded": 0,
        "errored": 0,
        "canceled": 0,
        "expired": 0,
    }
    assert batch.created_at.timestamp() == START
    assert batch.expires_at - batch.created_at == timedelta(hours=24)
    assert batch.ended_at is batch.results_url is batch.cancel_initiated_at is None
    assert batch.archived_at is None
    assert fields["created_at"].endswith("Z")  # RFC 3339
    assert raw.http_response.headers["request-id"].startswith("req_")


def test_create_refuses_metadata_and_other_extra_fields(claude):
    c = claude()
    with pytest.raises(anthropic.BadRequestError) as caught:
        c.batches.create(requests=requests_for(1), extra_body={"metadata": {"run": "x"}})
    assert _error_type(caught.value) == "invalid_request_error"
    assert "metadata" in caught.value.body["error"]["message"]
    assert c.batches.list().data == []


@pytest.mark.parametrize("custom_id", ["", "has space", "x" * 65, "dot.ted", "ünï"])
def test_create_refuses_a_custom_id_outside_the_pattern(claude, custom_id):
    c = claude()
    with pytest.raises(anthropic.BadRequestError) as caught:
        c.batches.create(requests=[{"custom_id": custom_id, "params": params_for(["a"])}])
    assert _error_type(caught.value) == "invalid_request_error"
    assert c.batches.list().data == []


def test_create_refuses_duplicate_custom_ids(claude):
    c = claude()
    requests = requests_for(2)
    requests[1]["custom_id"] = requests[0]["custom_id"]
    with pytest.raises(anthropic.BadRequestError):
        c.batches.create(requests=requests)
    assert c.batches.list().data == []


def test_create_refuses_an_empty_or_too_long_request_list(claude):
    c = claude(anthropic_max_requests=2)
    with pytest.raises(anthropic.BadRequestError):
        c.batches.create(requests=[])
    with pytest.raises(anthropic.BadRequestError) as caught:
        c.batches.create(requests=requests_for(3))
    assert "at most 2 items" in caught.value.body["error"]["message"]
    assert c.batches.create(requests=requests_for(2)).request_counts.processing == 2


def test_create_over_the_byte_limit_is_request_too_large(claude):
    c = claude(anthropic_max_batch_bytes=2_000)
    with pytest.raises(anthropic.APIStatusError) as caught:
        c.batches.create(requests=requests_for(3))
    assert caught.value.status_code == 413
    assert _error_type(caught.value) == "request_too_large"
    assert c.batches.list().data == []


# -- lifecycle and results ---------------------------------------------------------------------


def test_batch_ends_on_the_clock_and_results_cover_every_request(claude):
    c = claude()
    batch = c.batches.create(requests=requests_for(4))
    c.clock.advance(5.5)  # 1 s validating + 4 requests + 1 s finalizing = 6 s
    assert c.batches.retrieve(batch.id).processing_status == "in_progress"
    with pytest.raises(anthropic.AnthropicError, match="results_url"):
        c.batches.results(batch.id)  # the SDK refuses before results_url exists
    response = _raw(
        c,
        "GET",
        f"/v1/messages/batches/{batch.id}/results",
        headers={"x-api-key": "test", "anthropic-version": "2023-06-01"},
    )
    assert response.status_code == 400 and response.json()["type"] == "error"

    c.clock.advance(1)
    ended = c.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    assert ended.ended_at.timestamp() == START + 6
    assert ended.results_url == f"{c.h.emulator.url}/v1/messages/batches/{batch.id}/results"
    assert ended.request_counts.succeeded == 4 and ended.request_counts.processing == 0
    results = c.results(batch.id)
    assert set(results) == {"r0", "r1", "r2", "r3"}
    assert {r.type for r in results.values()} == {"succeeded"}


def test_tool_use_input_is_an_instance_of_the_tool_schema(claude):
    c = claude()
    batch = c.batches.create(requests=requests_for(5))
    c.clock.advance(60)
    for custom_id, result in c.results(batch.id).items():
        message = result.message
        assert message.id.startswith("msg_") and message.role == "assistant"
        assert message.model == MODEL and message.stop_reason == "tool_use"
        (block,) = message.content
        assert block.type == "tool_use" and block.name == TOOL and block.id.startswith("toolu_")
        jsonschema.validate(block.input, SCHEMA)
        entries = block.input["entries"]
        assert [e["word"] for e in entries] == [f"word{custom_id[1:]}", "zzqjunk"]
        assert [e["is_real_word"] for e in entries] == [True, False]
        assert message.usage.output_tokens > 0 and message.usage.service_tier == "batch"


def test_results_lines_are_not_in_request_order(claude):
    c = claude()
    batch = c.batches.create(requests=requests_for(30))
    c.clock.advance(60)
    order = [line.custom_id for line in c.batches.results(batch.id)]
    assert sorted(order) == sorted(f"r{i}" for i in range(30))
    assert order != [f"r{i}" for i in range(30)]


def test_too_small_max_tokens_stops_with_max_tokens_and_invalid_input(claude):
    c = claude()
    batch = c.batches.create(requests=requests_for(3, max_tokens=20))
    c.clock.advance(60)
    for result in c.results(batch.id).values():
        message = result.message
        assert message.stop_reason == "max_tokens" and message.usage.output_tokens == 20
        (block,) = message.content
        assert block.type == "tool_use"
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(block.input, SCHEMA)
    billed = c.ledger(batch.id)  # truncated answers are billed: the tokens were spent
    assert [e["output_tokens"] for e in billed] == [20, 20, 20]


def test_truncate_rate_cuts_answers_short(claude):
    c = claude(truncate_rate=1.0)
    batch = c.batches.create(requests=requests_for(3))
    c.clock.advance(60)
    stops = {r.message.stop_reason for r in c.results(batch.id).values()}
    assert stops == {"max_tokens"}


def test_errored_results_at_the_configured_rate_are_not_billed(claude):
    c = claude(seed=7, anthropic_invalid_request_rate=0.5)
    batch = c.batches.create(requests=requests_for(40))
    c.clock.advance(100)
    counts = c.batches.retrieve(batch.id).request_counts
    results = c.results(batch.id)
    errored = {k for k, r in results.items() if r.type == "errored"}
    assert 5 < len(errored) < 35
    assert (counts.errored, counts.succeeded) == (len(errored), 40 - len(errored))
    for custom_id in errored:
        error = results[custom_id].error
        assert error.type == "error" and error.error.type == "invalid_request_error"
    assert {e["custom_id"] for e in c.ledger(batch.id)} == set(results) - errored


def test_error_rate_gives_api_errors(claude):
    c = claude(error_rate=1.0)
    batch = c.batches.create(requests=requests_for(2))
    c.clock.advance(60)
    assert {r.error.error.type for r in c.results(batch.id).values()} == {"api_error"}
    assert c.ledger(batch.id) == []


def test_bad_params_become_errored_results_not_a_rejected_batch(claude):
    c = claude()
    good = requests_for(1)
    no_max_tokens = {"custom_id": "bad", "params": {"model": MODEL, "messages": []}}
    batch = c.batches.create(requests=[*good, no_max_tokens])
    c.clock.advance(60)
    results = c.results(batch.id)
    assert results["r0"].type == "succeeded"
    assert results["bad"].type == "errored"
    assert results["bad"].error.error.type == "invalid_request_error"
    assert "max_tokens" in results["bad"].error.error.message


# -- cancel, delete, list ----------------------------------------------------------------------


def test_cancel_ends_the_batch_with_unrun_requests_canceled_and_unbilled(claude):
    c = claude(cancelling_seconds=2)
    batch = c.batches.create(requests=requests_for(10))
    c.clock.advance(4.5)  # 1 s validating, then 3 requests run
    canceling = c.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling"
    assert canceling.cancel_initiated_at.timestamp() == START + 4.5
    assert c.batches.cancel(batch.id).processing_status == "canceling"  # harmless twice
    c.clock.advance(2)
    ended = c.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    assert ended.request_counts.model_dump() == {
        "processing": 0,
        "succeeded": 3,
        "errored": 0,
        "canceled": 7,
        "expired": 0,
    }
    kinds = Counter(r.type for r in c.results(batch.id).values())
    assert kinds == {"succeeded": 3, "canceled": 7}
    assert len(c.ledger(batch.id)) == 3
    with pytest.raises(anthropic.BadRequestError):
        c.batches.cancel(batch.id)


def test_only_an_ended_batch_can_be_deleted(claude):
    c = claude()
    batch = c.batches.create(requests=requests_for(2))
    with pytest.raises(anthropic.BadRequestError):
        c.batches.delete(batch.id)
    c.clock.advance(60)
    deleted = c.batches.delete(batch.id)
    assert (deleted.id, deleted.type) == (batch.id, "message_batch_deleted")
    with pytest.raises(anthropic.NotFoundError) as caught:
        c.batches.retrieve(batch.id)
    assert _error_type(caught.value) == "not_found_error"
    assert c.batches.list().data == []
    assert len(c.ledger(batch.id)) == 2  # what ran stays billed


def test_list_is_newest_first_and_paginates_both_ways(claude):
    c = claude()
    ids = []
    for _ in range(5):
        ids.append(c.batches.create(requests=requests_for(1)).id)
        c.clock.advance(1)
    newest_first = ids[::-1]
    page = c.batches.list(limit=2)
    assert [b.id for b in page.data] == newest_first[:2]
    assert (page.has_more, page.first_id, page.last_id) == (True, ids[4], ids[3])
    assert [b.id for b in c.batches.list(limit=2)] == newest_first  # auto-pagination
    older = c.batches.list(limit=2, after_id=ids[3])
    assert [b.id for b in older.data] == newest_first[2:4] and older.has_more
    newer = c.batches.list(limit=2, before_id=ids[1])
    assert [b.id for b in newer.data] == newest_first[1:3] and newer.has_more
    last = c.batches.list(limit=10, after_id=ids[1])
    assert [b.id for b in last.data] == [ids[0]] and not last.has_more


# -- expiry and archiving ----------------------------------------------------------------------


def test_a_batch_still_running_after_24_hours_expires_with_partial_results(claude):
    c = claude(validating_seconds=0, seconds_per_request=30_000, finalizing_seconds=0)
    batch = c.batches.create(requests=requests_for(4))
    c.clock.advance(DAY - 1)
    assert c.batches.retrieve(batch.id).processing_status == "in_progress"
    c.clock.advance(1)
    ended = c.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    assert ended.ended_at == ended.expires_at
    counts = ended.request_counts
    assert (counts.succeeded, counts.expired) == (2, 2)  # 86,400 s / 30,000 s per request
    kinds = Counter(r.type for r in c.results(batch.id).values())
    assert kinds == {"succeeded": 2, "expired": 2}
    assert len(c.ledger(batch.id)) == 2


def test_expire_rate_stops_a_batch_half_way_until_it_expires(claude):
    c = claude(expire_rate=1.0)
    batch = c.batches.create(requests=requests_for(6))
    c.clock.advance(DAY / 2)
    assert c.batches.retrieve(batch.id).processing_status == "in_progress"
    c.clock.advance(DAY / 2)
    counts = c.batches.retrieve(batch.id).request_counts
    assert (counts.succeeded, counts.expired) == (3, 3)


def test_results_are_archived_29_days_after_creation(claude):
    c = claude()
    batch = c.batches.create(requests=requests_for(1))
    c.clock.advance(29 * DAY)
    archived = c.batches.retrieve(batch.id)
    assert archived.archived_at.timestamp() == START + 29 * DAY
    with pytest.raises(anthropic.NotFoundError):
        c.results(batch.id)


# -- faults on the wire ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["5xx", "drop"])
def test_lost_reply_on_create_takes_effect_and_is_billed_once(claude, mode):
    c = claude()
    c.h.emulator.configure(lost_reply_rate=1.0, lost_reply_mode=mode)
    try:
        c.batches.create(requests=requests_for(3))
        outcome = "ok"
    except anthropic.APIStatusError as exc:
        assert exc.status_code in (500, 502, 504)
        assert _error_type(exc) in ("api_error", "timeout_error")
        outcome = "5xx"
    except anthropic.APIConnectionError:
        outcome = "drop"
    assert outcome == mode
    c.h.emulator.configure(lost_reply_rate=0.0)
    # No metadata to search by: the batch is re-found by when it was made and its size.
    (found,) = [
        b
        for b in c.batches.list()
        if b.created_at.timestamp() >= START and b.request_counts.processing == 3
    ]
    c.clock.advance(60)
    for _ in range(3):
        assert c.batches.retrieve(found.id).request_counts.succeeded == 3
        c.results(found.id)
    billed = Counter(e["custom_id"] for e in c.ledger(found.id))
    assert billed == {"r0": 1, "r1": 1, "r2": 1}


def test_lost_replies_on_cancel_and_delete_take_effect(claude):
    c = claude()
    batch = c.batches.create(requests=requests_for(5))
    c.h.emulator.configure(lost_reply_rate=1.0)
    with pytest.raises(anthropic.InternalServerError):
        c.batches.cancel(batch.id)
    assert c.batches.retrieve(batch.id).processing_status == "canceling"
    c.clock.advance(60)
    with pytest.raises(anthropic.InternalServerError):
        c.batches.delete(batch.id)
    with pytest.raises(anthropic.NotFoundError):
        c.batches.retrieve(batch.id)


def test_stale_reads_answer_404_for_batches_that_exist(claude):
    c = claude(seed=5)
    batch = c.batches.create(requests=requests_for(2))
    c.clock.advance(60)
    c.h.emulator.configure(stale_read_rate=0.5)
    outcomes = Counter()
    for read in (c.batches.retrieve, c.results) * 15:
        try:
            read(batch.id)
            outcomes["ok"] += 1
        except anthropic.NotFoundError as exc:
            assert _error_type(exc) == "not_found_error"
            outcomes["stale"] += 1
    assert outcomes["ok"] and outcomes["stale"]
    assert [b.id for b in c.batches.list()] == [batch.id]  # lists are not stale
    assert len(c.ledger(batch.id)) == 2


def test_transient_rate_limits_are_anthropic_shaped_and_retryable(claude):
    c = claude(http_429_rate=1.0, max_consecutive_http_faults=1)
    with pytest.raises(anthropic.RateLimitError) as caught:
        c.batches.list()
    assert _error_type(caught.value) == "rate_limit_error"
    assert caught.value.response.headers["retry-after-ms"]
    patient = Anthropic(c.h, c.clock, retries=1)
    assert patient.batches.list().data == []


# -- auth, isolation, restart ------------------------------------------------------------------


def test_a_call_without_a_key_is_an_authentication_error(claude):
    c = claude()
    response = _raw(c, "GET", "/v1/messages/batches", headers={"anthropic-version": "2023-06-01"})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_x_api_key_and_anthropic_version_headers(claude):
    c = claude()
    ok = _raw(
        c,
        "GET",
        "/v1/messages/batches",
        headers={"x-api-key": "test", "anthropic-version": "2023-06-01"},
    )
    assert ok.status_code == 200 and ok.json()["data"] == []
    unversioned = _raw(c, "GET", "/v1/messages/batches", headers={"x-api-key": "test"})
    assert unversioned.status_code == 400
    assert unversioned.json()["error"]["type"] == "invalid_request_error"


def test_isolated_keys_do_not_see_each_others_batches(claude):
    c = claude(isolate_projects=True)
    batch = c.batches.create(requests=requests_for(1))
    other = Anthropic(c.h, c.clock, key="other")
    assert other.batches.list().data == []
    with pytest.raises(anthropic.NotFoundError):
        other.batches.retrieve(batch.id)


def test_a_restarted_emulator_keeps_batches_and_never_bills_twice(start, tmp_path):
    clock = Clock()
    h = start(tmp_path / "state", clock=clock)
    c = Anthropic(h, clock)
    batch = c.batches.create(requests=requests_for(3))
    clock.advance(60)
    first = c.results(batch.id)
    h.emulator.stop()
    again = Anthropic(start(tmp_path / "state", clock=clock), clock)
    assert again.batches.retrieve(batch.id).request_counts.succeeded == 3
    assert {k: r.model_dump() for k, r in again.results(batch.id).items()} == {
        k: r.model_dump() for k, r in first.items()
    }
    assert len(again.ledger(batch.id)) == 3


def test_ledger_rows_match_the_usage_of_each_message(claude):
    c = claude()
    batch = c.batches.create(requests=requests_for(3))
    c.clock.advance(60)
    usage = {k: r.message.usage for k, r in c.results(batch.id).items()}
    for row in c.ledger(batch.id):
        assert row["provider"] == "anthropic" and row["model"] == MODEL
        assert row["input_tokens"] == usage[row["custom_id"]].input_tokens
        assert row["output_tokens"] == usage[row["custom_id"]].output_tokens
        assert (row["prompt_tokens"], row["completion_tokens"]) == (
            row["input_tokens"],
            row["output_tokens"],
        )
        assert row["words"] == [f"word{row['custom_id'][1:]}", "zzqjunk"]


def test_stall_holds_batches_in_progress_until_released(claude):
    c = claude()
    batch = c.batches.create(requests=requests_for(4))
    c.h.emulator.configure(stall=True)
    c.clock.advance(2)
    assert c.batches.retrieve(batch.id).processing_status == "in_progress"
    c.clock.advance(3600)
    assert c.batches.retrieve(batch.id).processing_status == "in_progress"
    c.h.emulator.configure(stall=False)
    assert c.batches.retrieve(batch.id).processing_status == "in_progress"
    c.clock.advance(60)
    assert c.batches.retrieve(batch.id).request_counts.succeeded == 4


def test_structured_output_format_answers_json_text(claude):
    c = claude()
    params = params_for(["alpha"])
    del params["tools"], params["tool_choice"]
    params["output_config"] = {"format": {"type": "json_schema", "schema": SCHEMA}}
    batch = c.batches.create(requests=[{"custom_id": "s0", "params": params}])
    c.clock.advance(60)
    message = c.results(batch.id)["s0"].message
    (block,) = message.content
    assert block.type == "text" and message.stop_reason == "end_turn"
    jsonschema.validate(json.loads(block.text), SCHEMA)


def test_refusal_rate_answers_refusals(claude):
    c = claude(refusal_rate=1.0)
    batch = c.batches.create(requests=requests_for(2))
    c.clock.advance(60)
    messages = [r.message for r in c.results(batch.id).values()]
    assert {m.stop_reason for m in messages} == {"refusal"}
    assert {m.content[0].type for m in messages} == {"text"}


def test_odd_results_lines_are_never_billed(claude):
    c = claude(duplicate_line_rate=1.0, conflicting_line_rate=1.0, bogus_custom_id_rate=1.0)
    batch = c.batches.create(requests=requests_for(8))
    c.clock.advance(60)
    lines = list(c.batches.results(batch.id))
    per_id = Counter(line.custom_id for line in lines)
    assert len(lines) > 8
    assert {"w0_fffffffff", "w0"} <= set(per_id)  # custom_ids that were not asked
    assert any(n > 1 for custom_id, n in per_id.items() if custom_id.startswith("r"))
    counts = c.batches.retrieve(batch.id).request_counts
    assert (counts.succeeded, counts.errored) == (8, 0)
    assert sorted(e["custom_id"] for e in c.ledger(batch.id)) == sorted(f"r{i}" for i in range(8))


# -- lagging replicas, listings, proxies and clocks --------------------------------------------


def test_a_stale_status_answers_an_ended_message_batch_as_in_progress(claude):
    c = claude(stale_status_rate=1.0)
    batch = c.batches.create(requests=requests_for(2))
    c.clock.advance(100)
    stale = c.batches.retrieve(batch.id)
    assert stale.processing_status == "in_progress" and stale.results_url is None
    assert stale.request_counts.processing == 2
    assert [b.processing_status for b in c.batches.list()] == ["ended"]


def test_a_duplicate_create_makes_two_message_batches(claude):
    c = claude(duplicate_create_rate=1.0)
    answered = c.batches.create(requests=requests_for(2))
    listed = [b.id for b in c.batches.list()]
    assert len(listed) == 2 and answered.id == listed[0]
    c.clock.advance(100)
    assert set(c.results(listed[1])) == set(c.results(listed[0])) == {"r0", "r1"}


def test_listing_lag_and_clock_offset_on_message_batches(claude):
    c = claude(listing_lag_seconds=3, clock_offset_seconds=3600)
    raw = c.batches.with_raw_response.create(requests=requests_for(1))
    batch = raw.parse()
    assert batch.created_at.timestamp() == START + 3600
    assert email.utils.parsedate_to_datetime(raw.headers["date"]).timestamp() == START + 3600
    assert list(c.batches.list()) == []
    c.clock.advance(3)
    assert [b.id for b in c.batches.list()] == [batch.id]
