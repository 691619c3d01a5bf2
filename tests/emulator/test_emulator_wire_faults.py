"""Faults on the wire, project isolation and odd but billed output, through the real SDK."""

from __future__ import annotations

import email.utils
import json
import socket
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

import jsonschema
import openai
import pytest
from emulator_harness import ENDPOINT, SCHEMA, Harness, line_for, word_lines

from synthlib.emulator import EmulatorConfig
from synthlib.emulator.__main__ import build_parser, config_from_args
from synthlib.emulator.server import project_of

ERROR_KEYS = {"message", "type", "param", "code"}


def _create(h: Harness, file_id: str, **params: Any) -> Any:
    return h.client.batches.create(
        input_file_id=file_id, endpoint=ENDPOINT, completion_window="24h", **params
    )


def _client(h: Harness, key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=h.emulator.base_url, max_retries=0)


def _ledger_sums(ledger: list[dict[str, Any]], batch_id: str) -> tuple[int, int, int]:
    rows = [e for e in ledger if e["batch_id"] == batch_id]
    return (
        sum(e["prompt_tokens"] for e in rows),
        sum(e["cached_tokens"] for e in rows),
        sum(e["completion_tokens"] for e in rows),
    )


def _usage(batch: Any) -> tuple[int, int, int]:
    u = batch.usage
    return u.input_tokens, u.input_tokens_details.cached_tokens, u.output_tokens


# -- lost replies ------------------------------------------------------------------------------


def _lost(call: Any) -> str:
    """What a call met: "ok", "drop", or the HTTP status of the error answered instead."""
    try:
        call()
    except openai.APIStatusError as exc:
        assert set(exc.body) == ERROR_KEYS and exc.body["type"] == "server_error"
        return str(exc.status_code)
    except openai.APIConnectionError:
        return "drop"
    return "ok"


@pytest.mark.parametrize("mode", ["5xx", "drop"])
def test_lost_reply_on_create_still_creates_the_batch(start, mode):
    h = start()
    file_id = h.upload(word_lines(3))
    h.emulator.configure(lost_reply_rate=1.0, lost_reply_mode=mode)
    outcome = _lost(lambda: _create(h, file_id, metadata={"run": "lost"}))
    assert outcome in ({"500", "502", "504"} if mode == "5xx" else {"drop"})
    listed = h.client.batches.list().data  # reads are not affected
    assert len(listed) == 1 and listed[0].metadata == {"run": "lost"}
    # A retried create is a new create, and loses its answer again: nothing caps lost replies.
    assert _lost(lambda: _create(h, file_id, metadata={"run": "lost"})) != "ok"
    assert len(h.client.batches.list().data) == 2
    h.emulator.configure(lost_reply_rate=0.0)
    assert h.wait(listed[0].id).status == "completed"
    assert len(h.emulator.ledger()) == 3


@pytest.mark.parametrize("mode", ["5xx", "drop"])
def test_lost_replies_on_upload_cancel_and_delete_take_effect(start, mode):
    now = [1_000_000.0]
    h = start(clock=lambda: now[0], validating_seconds=10, seconds_per_request=1)
    batch = h.submit(word_lines(20))
    h.emulator.configure(lost_reply_rate=1.0, lost_reply_mode=mode)

    assert _lost(lambda: h.client.files.create(file=("x.jsonl", b"{}\n"), purpose="batch")) != "ok"
    assert [f.filename for f in h.client.files.list().data].count("x.jsonl") == 1

    assert _lost(lambda: h.client.batches.cancel(batch.id)) != "ok"
    assert h.client.batches.retrieve(batch.id).status == "cancelling"

    assert _lost(lambda: h.client.files.delete(batch.input_file_id)) != "ok"
    with pytest.raises(openai.NotFoundError):
        h.client.files.retrieve(batch.input_file_id)

    # A call that fails on its own merits is answered as usual: nothing happened.
    with pytest.raises(openai.NotFoundError):
        h.client.files.delete(batch.input_file_id)


def test_dropped_reply_sends_no_byte(start):
    h = start()
    batch = h.submit(word_lines(50))
    h.emulator.configure(lost_reply_rate=1.0, lost_reply_mode="drop")
    with socket.create_connection(("127.0.0.1", h.emulator.port), timeout=10) as sock:
        sock.sendall(
            f"POST /v1/batches/{batch.id}/cancel HTTP/1.1\r\nHost: x\r\n"
            "Authorization: Bearer test\r\nContent-Length: 0\r\n\r\n".encode()
        )
        assert sock.recv(65536) == b""  # closed without a status line
    assert h.client.batches.retrieve(batch.id).status in ("cancelling", "cancelled")


def test_sdk_retry_after_a_lost_reply_creates_a_second_batch(start):
    h = start(max_retries=1)
    file_id = h.upload(word_lines(2))
    h.emulator.configure(lost_reply_rate=1.0)
    with pytest.raises(openai.APIStatusError):
        _create(h, file_id)
    assert len(h.client.batches.list().data) == 2  # the SDK retried: two batches, both real


def test_mixed_lost_replies_are_deterministic_per_seed(start, tmp_path):
    runs = []
    for name in ("one", "two"):
        h = start(tmp_path / name, seed=3, lost_reply_mode="mixed")
        file_id = h.upload(word_lines(1))
        h.emulator.configure(lost_reply_rate=0.6)
        create = lambda h=h, file_id=file_id: _create(h, file_id)  # noqa: E731
        outcomes = [_lost(create) for _ in range(30)]
        assert len(h.client.batches.list(limit=100).data) == 30  # every create took effect
        runs.append(outcomes)
        h.emulator.stop()
    assert runs[0] == runs[1]
    kinds = Counter("5xx" if o.isdigit() else o for o in runs[0])
    assert kinds["ok"] and kinds["drop"] and kinds["5xx"], kinds


# -- stale reads -------------------------------------------------------------------------------


def test_stale_reads_answer_404_for_objects_that_exist(start):
    now = [3_000_000.0]
    h = start(clock=lambda: now[0], seed=5)
    created = h.submit(word_lines(4))
    now[0] += 100  # long settled
    output_file_id = h.client.batches.retrieve(created.id).output_file_id
    h.emulator.configure(stale_read_rate=0.5)
    reads = {
        "batch": lambda: h.client.batches.retrieve(created.id),
        "file": lambda: h.client.files.retrieve(output_file_id),
        "content": lambda: h.client.files.content(output_file_id).content,
    }
    outcomes: Counter[tuple[str, str]] = Counter()
    for _ in range(20):
        for name, read in reads.items():
            try:
                read()
            except openai.NotFoundError as exc:
                assert set(exc.body) == ERROR_KEYS
                kind, object_id = (
                    ("Batch", created.id) if name == "batch" else ("File", output_file_id)
                )
                assert exc.body["message"] == f"No such {kind}: '{object_id}'"
                outcomes[name, "404"] += 1
            else:
                outcomes[name, "ok"] += 1
    assert all(outcomes[name, fate] for name in reads for fate in ("ok", "404")), outcomes
    assert h.client.batches.list().data[0].id == created.id  # lists are never stale
    assert len(h.client.files.list().data) == 2


# -- projects ----------------------------------------------------------------------------------


def test_projects_are_isolated_by_key(start):
    h = start(isolate_projects=True)
    a, b = _client(h, "sk-key-a"), _client(h, "sk-key-b")
    ha = Harness(a, h.emulator)
    batch = ha.run(word_lines(3))
    assert batch.status == "completed"

    raw_a, raw_b = a.batches.with_raw_response.list(), b.batches.with_raw_response.list()
    assert raw_a.headers["openai-organization"] == raw_b.headers["openai-organization"]
    project_a, project_b = raw_a.headers["openai-project"], raw_b.headers["openai-project"]
    assert project_a.startswith("proj_") and project_b.startswith("proj_")
    assert project_a != project_b and project_a == project_of("sk-key-a")
    assert [x.id for x in raw_a.parse().data] == [batch.id] and raw_b.parse().data == []
    assert b.files.list().data == [] and len(a.files.list().data) == 2  # input and output

    def not_found(call: Any, *args: Any) -> dict[str, Any]:
        with pytest.raises(openai.NotFoundError) as error:
            call(*args)
        assert error.value.response.headers["openai-project"] == project_b
        return error.value.body

    unknown = not_found(b.batches.retrieve, "batch_nope")
    assert not_found(b.batches.retrieve, batch.id) == {
        **unknown,
        "message": unknown["message"].replace("batch_nope", batch.id),
    }
    not_found(b.batches.cancel, batch.id)
    for file_id in (batch.input_file_id, batch.output_file_id):
        not_found(b.files.retrieve, file_id)
        not_found(b.files.content, file_id)
        not_found(b.files.delete, file_id)
    with pytest.raises(openai.NotFoundError) as error:
        b.batches.create(
            input_file_id=batch.input_file_id, endpoint=ENDPOINT, completion_window="24h"
        )
    assert error.value.body["param"] == "input_file_id"
    # A's objects are untouched and the key itself is stored nowhere.
    assert a.files.retrieve(batch.output_file_id).id == batch.output_file_id
    for path in h.emulator.state_dir.rglob("*"):
        if path.is_file():
            assert b"sk-key-a" not in path.read_bytes(), path


def test_without_isolation_every_key_is_one_project(start):
    h = start()
    batch = h.submit(word_lines(2))
    other = _client(h, "another-key")
    raw = other.batches.with_raw_response.retrieve(batch.id)
    assert raw.headers["openai-project"] == "proj_emulator"
    assert raw.headers["openai-organization"] == "org-emulator"
    assert raw.parse().id == batch.id
    with pytest.raises(openai.NotFoundError) as error:
        other.files.retrieve("file-nope")
    assert error.value.response.headers["openai-project"] == "proj_emulator"


# -- odd but billed answers --------------------------------------------------------------------


def _entries(line: dict[str, Any]) -> list[dict[str, Any]]:
    content = line["response"]["body"]["choices"][0]["message"]["content"]
    instance = json.loads(content)
    jsonschema.validate(instance, SCHEMA)
    return instance["entries"]


def _asked(line: dict[str, Any]) -> list[str]:
    """The words ``word_lines`` asked for in this line's request."""
    i = int(line["custom_id"][1:])
    return [f"word{i}", f"extra{i}"][: 1 + i % 2]


def test_extra_entries_are_billed_once_per_request(start):
    h = start(extra_entry_rate=1.0)
    batch = h.run(word_lines(10))
    output = h.content(batch.output_file_id)
    assert len(output) == 10
    for line in output:
        words = [e["word"] for e in _entries(line)]
        asked = _asked(line)
        assert words[:-1] == asked and words[-1] not in asked
        assert words[-1] == asked[0] + "s"
        body = line["response"]["body"]
        content = body["choices"][0]["message"]["content"]
        assert body["usage"]["completion_tokens"] == -(-len(content.encode()) // 4)
        assert body["choices"][0]["finish_reason"] == "stop"
    ledger = h.emulator.ledger()
    assert sorted(e["custom_id"] for e in ledger) == sorted(f"r{i}" for i in range(10))
    assert {e["custom_id"]: e["words"] for e in ledger} == {
        x["custom_id"]: _asked(x) for x in output
    }
    assert _usage(batch) == _ledger_sums(ledger, batch.id)


def test_duplicate_entries_repeat_an_asked_word(start):
    h = start(duplicate_entry_rate=1.0)
    batch = h.run(word_lines(10))
    output = h.content(batch.output_file_id)
    for line in output:
        entries = _entries(line)
        counts = Counter(e["word"] for e in entries)
        assert set(counts) == set(_asked(line)) and sorted(counts.values())[-1] == 2
        twice = next(i for i in range(len(entries) - 1) if entries[i] == entries[i + 1])
        assert [e["word"] for i, e in enumerate(entries) if i != twice] == _asked(line)
    assert len(h.emulator.ledger()) == 10
    assert _usage(batch) == _ledger_sums(h.emulator.ledger(), batch.id)


def test_odd_entries_at_a_partial_rate_strike_some_requests(start):
    h = start(seed=2, extra_entry_rate=0.4, duplicate_entry_rate=0.4)
    batch = h.run(word_lines(40))
    odd = [
        line
        for line in h.content(batch.output_file_id)
        if [e["word"] for e in _entries(line)] != _asked(line)
    ]
    assert 5 <= len(odd) <= 35
    assert len(h.emulator.ledger()) == 40


# -- odd result files --------------------------------------------------------------------------


def test_duplicated_output_lines_are_billed_once(start):
    h = start(duplicate_line_rate=1.0)
    batch = h.run(word_lines(20))
    output = h.content(batch.output_file_id)
    counts = Counter(line["custom_id"] for line in output)
    assert set(counts) == {f"r{i}" for i in range(20)}
    assert sorted(counts.values()) == [1] * 15 + [2] * 5
    for custom_id, n in counts.items():
        if n == 2:
            first, second = (x for x in output if x["custom_id"] == custom_id)
            assert first == second
    assert batch.request_counts.completed == 20
    ledger = h.emulator.ledger()
    assert Counter(e["custom_id"] for e in ledger) == {f"r{i}": 1 for i in range(20)}
    assert _usage(batch) == _ledger_sums(ledger, batch.id)


def test_conflicting_error_lines_for_answered_requests(start):
    h = start(conflicting_line_rate=1.0)
    batch = h.run(word_lines(20))
    output, errors = h.content(batch.output_file_id), h.content(batch.error_file_id)
    assert len(output) == 20 and len(errors) == 5
    assert {e["custom_id"] for e in errors} <= {x["custom_id"] for x in output}
    assert all(e["response"] is None and e["error"]["code"] == "server_error" for e in errors)
    assert batch.request_counts.model_dump() == {"total": 20, "completed": 20, "failed": 0}
    assert len(h.emulator.ledger()) == 20


def test_bogus_custom_ids_are_not_billed(start):
    h = start(bogus_custom_id_rate=1.0)
    lines = [line_for(f"w{i:x}", [f"word{i}"]) for i in range(12)]
    batch = h.run(lines)
    output = h.content(batch.output_file_id)
    ids = Counter(x["custom_id"] for x in output)
    asked = {f"w{i:x}" for i in range(12)}
    assert set(ids) == asked | {"w0_fffffffff", "wc"} and set(ids.values()) == {1}
    assert all(x["response"]["status_code"] == 200 for x in output)
    assert len({x["id"] for x in output}) == len(output)
    assert batch.request_counts.completed == 12
    ledger = h.emulator.ledger()
    assert {e["custom_id"] for e in ledger} == asked and len(ledger) == 12
    assert _usage(batch) == _ledger_sums(ledger, batch.id)


def test_usage_equals_the_ledger_for_every_settled_status(start):
    now = [2_000_000.0]
    odd = {
        "duplicate_line_rate": 1.0,
        "conflicting_line_rate": 1.0,
        "bogus_custom_id_rate": 1.0,
        "extra_entry_rate": 0.5,
        "duplicate_entry_rate": 0.5,
        "error_rate": 0.2,
    }
    h = start(
        clock=lambda: now[0],
        validating_seconds=10,
        seconds_per_request=1,
        finalizing_seconds=5,
        cancelling_seconds=5,
        **odd,
    )
    completed = h.submit(word_lines(20, "c"))
    cancelled = h.submit(word_lines(20, "k"))
    h.emulator.configure(expire_rate=1.0)
    expired = h.submit(word_lines(20, "e"))
    now[0] += 17.5  # seven requests run
    assert h.client.batches.cancel(cancelled.id).status == "cancelling"
    now[0] += 100
    ledger = h.emulator.ledger()
    assert ledger == []  # nothing settled is billed before it is seen settled
    for created, status in (
        (completed, "completed"),
        (cancelled, "cancelled"),
        (expired, "expired"),
    ):
        batch = h.client.batches.retrieve(created.id)
        assert batch.status == status
        ledger = h.emulator.ledger()
        rows = [e for e in ledger if e["batch_id"] == batch.id]
        assert len(rows) == batch.request_counts.completed > 0
        assert _usage(batch) == _ledger_sums(ledger, batch.id)
        assert batch.usage.total_tokens == batch.usage.input_tokens + batch.usage.output_tokens
    # Polled again, the usage and the ledger stay the same.
    again = h.client.batches.retrieve(completed.id)
    assert _usage(again) == _ledger_sums(h.emulator.ledger(), completed.id)
    assert len(h.emulator.ledger()) == len(ledger)


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"lost_reply_rate": 1.5},
        {"stale_read_rate": -0.1},
        {"duplicate_line_rate": "half"},
        {"lost_reply_mode": "sometimes"},
        {"isolate_projects": "yes"},
    ],
)
def test_new_settings_are_validated(bad):
    with pytest.raises(ValueError):
        EmulatorConfig(**bad)


def test_new_settings_through_the_admin_endpoint_and_cli():
    args = build_parser().parse_args(
        [
            "--lost-reply-rate",
            "0.1",
            "--lost-reply-mode",
            "mixed",
            "--stale-read-rate",
            "0.2",
            "--isolate-projects",
            "--extra-entry-rate",
            "0.3",
            "--duplicate-entry-rate",
            "0.4",
            "--duplicate-line-rate",
            "0.5",
            "--conflicting-line-rate",
            "0.6",
            "--bogus-custom-id-rate",
            "0.7",
        ]
    )
    assert config_from_args(args) == EmulatorConfig(
        lost_reply_rate=0.1,
        lost_reply_mode="mixed",
        stale_read_rate=0.2,
        isolate_projects=True,
        extra_entry_rate=0.3,
        duplicate_entry_rate=0.4,
        duplicate_line_rate=0.5,
        conflicting_line_rate=0.6,
        bogus_custom_id_rate=0.7,
    )
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--lost-reply-mode", "never"])


def test_admin_endpoint_sets_wire_faults(start):
    h = start()
    url = h.emulator.url + "/_emulator/config"
    changes = {"lost_reply_rate": 1.0, "lost_reply_mode": "drop", "isolate_projects": True}
    request = urllib.request.Request(url, data=json.dumps(changes).encode(), method="POST")
    with urllib.request.urlopen(request) as response:
        applied = json.loads(response.read())
    assert {k: applied[k] for k in changes} == changes
    with pytest.raises(openai.APIConnectionError):
        h.client.files.create(file=("in.jsonl", b"{}\n"), purpose="batch")
    assert len(h.client.files.list().data) == 1
    bad = urllib.request.Request(url, data=b'{"lost_reply_mode": "often"}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(bad)
    assert error.value.code == 400


# -- lagging replicas, listings, proxies and clocks --------------------------------------------


def test_stale_statuses_answer_an_ended_batch_as_in_progress(start):
    now = [3_000_000.0]
    h = start(clock=lambda: now[0], seed=3)
    created = h.submit(word_lines(4))
    now[0] += 100  # long settled
    h.emulator.configure(stale_status_rate=0.5)
    seen = Counter()
    for _ in range(30):
        batch = h.client.batches.retrieve(created.id)
        seen[batch.status] += 1
        if batch.status == "in_progress":
            assert batch.output_file_id is None and batch.completed_at is None
            assert batch.request_counts.completed == 0 and batch.request_counts.total == 4
        else:
            assert batch.status == "completed" and batch.output_file_id
    assert seen["in_progress"] and seen["completed"], seen
    assert h.client.batches.list().data[0].status == "completed"  # listings are never stale


def test_a_running_batch_is_never_shown_as_ended_by_a_stale_status(start):
    h = start(stall=True, stale_status_rate=1.0)
    created = h.submit(word_lines(2))
    assert h.client.batches.retrieve(created.id).status in ("validating", "in_progress")


def test_duplicate_creates_make_two_batches_and_answer_the_second(start):
    h = start(duplicate_create_rate=1.0)
    file_id = h.upload(word_lines(3))
    answered = _create(h, file_id, metadata={"synthlib_run": "run-x"})
    batches = h.client.batches.list().data
    assert len(batches) == 2 and answered.id == batches[0].id
    assert {b.metadata["synthlib_run"] for b in batches} == {"run-x"}
    for batch in batches:
        h.wait(batch.id)
    assert Counter(e["batch_id"] for e in h.emulator.ledger()) == {b.id: 3 for b in batches}


def test_listing_lag_hides_a_new_batch_from_listings_not_from_reads(start):
    now = [3_000_000.0]
    h = start(clock=lambda: now[0], listing_lag_seconds=5)
    created = h.submit(word_lines(2))
    assert h.client.batches.list().data == []
    assert h.client.batches.retrieve(created.id).id == created.id
    now[0] += 5
    assert [b.id for b in h.client.batches.list().data] == [created.id]


def test_clock_offset_shifts_reported_times_and_the_date_header(start):
    now = [3_000_000.0]
    h = start(clock=lambda: now[0])
    h.emulator.configure(clock_offset_seconds=-7200)
    raw = h.client.batches.with_raw_response.create(
        input_file_id=h.upload(word_lines(2)), endpoint=ENDPOINT, completion_window="24h"
    )
    batch = raw.parse()
    assert batch.created_at == 3_000_000 - 7200
    assert batch.expires_at == 3_000_000 - 7200 + 24 * 3600
    date = email.utils.parsedate_to_datetime(raw.headers["date"]).timestamp()
    assert date == 3_000_000 - 7200
    assert h.client.files.list().data[0].created_at == 3_000_000 - 7200
    h.emulator.configure(clock_offset_seconds=0)
    assert h.client.batches.retrieve(batch.id).created_at == 3_000_000


@pytest.mark.parametrize(
    "bad",
    [
        {"stale_status_rate": 2},
        {"duplicate_create_rate": -1},
        {"listing_lag_seconds": -1},
        {"clock_offset_seconds": "ahead"},
    ],
)
def test_the_lag_and_clock_settings_are_validated(bad):
    with pytest.raises(ValueError):
        EmulatorConfig(**bad)
