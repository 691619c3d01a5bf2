"""The emulator driven end to end through the ``openai`` SDK over HTTP."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from collections import Counter

import jsonschema
import openai
import pytest
from emulator_harness import (
    ENDPOINT,
    MODEL,
    SCHEMA,
    EntryList,
    input_tokens,
    line_for,
    word_lines,
)

from synthlib.emulator import StateDirInUse

# -- happy path --------------------------------------------------------------------------------


def test_happy_path_answers_every_request_once_with_schema_valid_json(start):
    h = start()
    lines = word_lines(40)
    lines[3] = line_for("r3", ["zzqblorp", "apple"])
    created = h.submit(lines, metadata={"run": "happy", "shard": "1"})
    assert created.status == "validating"
    assert created.metadata == {"run": "happy", "shard": "1"}
    assert created.expires_at == created.created_at + 24 * 3600

    batch = h.wait(created.id)
    assert batch.status == "completed"
    assert batch.model == MODEL
    assert batch.error_file_id is None and batch.errors is None
    assert batch.request_counts.model_dump() == {"total": 40, "completed": 40, "failed": 0}
    stamps = [batch.created_at, batch.in_progress_at, batch.finalizing_at, batch.completed_at]
    assert stamps == sorted(stamps)

    output = h.content(batch.output_file_id)
    assert Counter(line["custom_id"] for line in output) == {f"r{i}": 1 for i in range(40)}
    assert [line["custom_id"] for line in output] != [f"r{i}" for i in range(40)]  # shuffled
    asked = {line["custom_id"]: line["body"] for line in lines}
    for line in output:
        assert line["id"].startswith("batch_req_") and line["error"] is None
        response = line["response"]
        assert response["status_code"] == 200 and response["request_id"]
        completion = response["body"]
        assert completion["object"] == "chat.completion" and completion["model"] == MODEL
        choice = completion["choices"][0]
        assert choice["finish_reason"] == "stop" and choice["message"]["refusal"] is None
        content = choice["message"]["content"]
        jsonschema.validate(json.loads(content), SCHEMA)
        entries = EntryList.model_validate_json(content).entries
        user = asked[line["custom_id"]]["messages"][-1]["content"]
        words = json.loads(user.rsplit("\n", 1)[-1])["words"]
        assert [e.word for e in entries] == words
        for entry in entries:
            if entry.word.startswith("zzq"):
                assert not entry.is_real_word and entry.senses == []
                assert entry.frequency_band is None
            else:
                assert entry.is_real_word and entry.senses
                assert all(entry.word in ex for s in entry.senses for ex in s.examples)
        usage = completion["usage"]
        assert usage["completion_tokens"] == -(-len(content.encode()) // 4)
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    # The SDK's own types accept the completion bodies.
    openai.types.chat.ChatCompletion.model_validate(output[0]["response"]["body"])

    output_file = h.client.files.retrieve(batch.output_file_id)
    assert output_file.purpose == "batch_output" and output_file.bytes > 0
    ledger = h.emulator.ledger()
    assert len(ledger) == 40
    assert batch.usage.input_tokens == sum(e["prompt_tokens"] for e in ledger)
    assert batch.usage.output_tokens == sum(e["completion_tokens"] for e in ledger)
    assert batch.usage.total_tokens == batch.usage.input_tokens + batch.usage.output_tokens


def test_request_counts_grow_while_in_progress(start):
    now = [1_000_000.0]
    h = start(
        clock=lambda: now[0], validating_seconds=10, seconds_per_request=1, finalizing_seconds=5
    )
    batch = h.submit(word_lines(20))
    assert (batch.status, batch.request_counts.total) == ("validating", 0)
    now[0] += 15.5
    batch = h.client.batches.retrieve(batch.id)
    assert batch.status == "in_progress" and batch.in_progress_at == 1_000_010
    assert batch.request_counts.model_dump() == {"total": 20, "completed": 5, "failed": 0}
    assert batch.output_file_id is None
    now[0] += 15
    batch = h.client.batches.retrieve(batch.id)
    assert (batch.status, batch.finalizing_at) == ("finalizing", 1_000_030)
    assert h.emulator.ledger() == []  # nothing billed before the batch settles
    now[0] += 5
    batch = h.client.batches.retrieve(batch.id)
    assert (batch.status, batch.completed_at) == ("completed", 1_000_035)
    assert len(h.emulator.ledger()) == 20


def test_list_is_newest_first_with_cursor_pagination(start):
    h = start()
    ids = [h.submit([line_for("only", ["one"])]).id for _ in range(5)]
    first = h.client.batches.list(limit=2)
    assert [b.id for b in first.data] == ids[::-1][:2]
    assert first.has_more and first.first_id == ids[4] and first.last_id == ids[3]
    second = h.client.batches.list(limit=2, after=first.last_id)
    assert [b.id for b in second.data] == [ids[2], ids[1]]
    last = h.client.batches.list(limit=2, after=ids[1])
    assert [b.id for b in last.data] == [ids[0]] and not last.has_more
    assert [b.id for b in h.client.batches.list(limit=2)] == ids[::-1]  # SDK auto-pagination
    files = h.client.files.list(purpose="batch")
    assert len(files.data) == 5 and all(f.purpose == "batch" for f in files.data)


# -- validation --------------------------------------------------------------------------------

_GOOD = json.dumps(line_for("a", ["one"]))


@pytest.mark.parametrize(
    ("lines", "code", "line_number"),
    [
        ([_GOOD, "{not json"], "invalid_json_line", 2),
        (
            [{"method": "POST", "url": ENDPOINT, "body": {"model": MODEL}}],
            "missing_required_parameter",
            1,
        ),
        ([{"custom_id": "x", "method": "POST", "url": ENDPOINT}], "missing_required_parameter", 1),
        ([_GOOD, _GOOD], "duplicate_custom_id", 2),
        ([{**line_for("b", ["two"]), "url": "/v1/embeddings"}], "url_mismatch", 1),
        ([_GOOD, line_for("b", ["two"], model="gpt-4o")], "model_mismatch", 2),
        ([], "empty_file", None),
        ([line_for(f"c{i}", ["w"]) for i in range(4)], "too_many_tasks", None),
        ([line_for(f"d{i}", ["w" * 4000]) for i in range(3)], "file_too_large", None),
    ],
)
def test_invalid_input_fails_the_batch(start, lines, code, line_number):
    h = start(max_requests=3, max_file_bytes=10_000)
    batch = h.run(lines if lines else b"\n")
    assert batch.status == "failed" and batch.failed_at is not None
    assert batch.errors.object == "list"
    assert batch.errors.data[0].code == code
    assert batch.errors.data[0].line == line_number
    assert batch.output_file_id is None and batch.error_file_id is None
    assert batch.request_counts.total == 0 and batch.in_progress_at is None
    assert h.emulator.ledger() == []


def test_enqueued_token_limit_counts_unfinished_batches_of_the_same_model(start):
    now = [1_000_000.0]  # a hand-driven clock: "still unfinished" does not depend on speed
    h = start(
        clock=lambda: now[0], validating_seconds=1, seconds_per_request=1, finalizing_seconds=1
    )
    lines = word_lines(10)
    tokens = sum(input_tokens(line["body"]) for line in lines)  # what one such batch enqueues
    h.emulator.configure(token_limits={MODEL: int(tokens * 1.5)})
    first = h.submit(lines)
    second = h.submit(word_lines(10, "s"))
    other_model = h.submit(word_lines(10, "o", model="gpt-4o"))
    now[0] += 100  # every batch has settled

    def settled(batch):
        return h.client.batches.retrieve(batch.id)

    assert settled(second).status == "failed"
    assert settled(second).errors.data[0].code == "token_limit_exceeded"
    assert "Enqueued token limit reached for gpt-4o-mini" in settled(second).errors.data[0].message
    assert settled(other_model).status == "completed"
    assert settled(first).status == "completed"
    third = h.submit(word_lines(10, "t"))  # room again once the first is done
    now[0] += 100
    assert settled(third).status == "completed"


def test_bad_parameters_are_rejected_at_once(start):
    h = start()
    file_id = h.upload([line_for("a", ["one"])])

    def create(**params):
        args = {"input_file_id": file_id, "endpoint": ENDPOINT, "completion_window": "24h"}
        return h.client.batches.create(**{**args, **params})

    with pytest.raises(openai.BadRequestError) as error:
        create(completion_window="1h")
    assert error.value.body["param"] == "completion_window"
    with pytest.raises(openai.BadRequestError):
        create(metadata={f"k{i}": "v" for i in range(17)})
    with pytest.raises(openai.BadRequestError):
        create(metadata={"k" * 65: "v"})
    with pytest.raises(openai.BadRequestError):
        create(metadata={"k": "v" * 513})
    assert create(metadata={"k" * 64: "v" * 512}).status == "validating"
    with pytest.raises(openai.NotFoundError) as missing:
        create(input_file_id="file-nope")
    assert missing.value.status_code == 404
    with pytest.raises(openai.NotFoundError) as unknown:
        h.client.batches.retrieve("batch_nope")
    assert set(unknown.value.body) == {"message", "type", "param", "code"}
    other = h.client.files.create(file=("notes.txt", b"hi"), purpose="user_data")
    with pytest.raises(openai.BadRequestError):
        create(input_file_id=other.id)
    with pytest.raises(openai.BadRequestError):
        h.client.files.create(file=("in.txt", b"{}"), purpose="batch")


def test_missing_or_malformed_authorization_is_401(start):
    h = start()
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}):
        request = urllib.request.Request(h.emulator.base_url + "/batches", headers=headers)
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request)
        assert error.value.code == 401
        assert set(json.loads(error.value.read())["error"]) == {"message", "type", "param", "code"}


# -- faults ------------------------------------------------------------------------------------


def test_error_rate_sends_some_requests_to_the_error_file(start):
    h = start(error_rate=0.3, seed=7)
    batch = h.run(word_lines(60))
    output, errors = h.content(batch.output_file_id), h.content(batch.error_file_id)
    assert 5 <= len(errors) <= 35 and len(output) + len(errors) == 60
    assert batch.request_counts.failed == len(errors)
    assert all(e["response"]["status_code"] == 500 and e["error"] is None for e in errors)
    assert all(e["response"]["body"]["error"]["type"] == "server_error" for e in errors)
    assert {e["custom_id"] for e in output} | {e["custom_id"] for e in errors} == {
        f"r{i}" for i in range(60)
    }
    assert sorted(e["custom_id"] for e in h.emulator.ledger()) == sorted(
        e["custom_id"] for e in output
    )
    # Resubmitted in a new batch, the failed requests get fresh draws.
    failed = {e["custom_id"] for e in errors}
    retry = h.run([line for line in word_lines(60) if line["custom_id"] in failed])
    assert len(h.content(retry.output_file_id)) > 0


def test_truncation_cuts_content_and_reports_length(start):
    h = start(truncate_rate=1.0)
    batch = h.run([*word_lines(10), line_for("capped", ["apple"], max_tokens=5)])
    output = h.content(batch.output_file_id)
    assert len(output) == 11
    for line in output:
        choice = line["response"]["body"]["choices"][0]
        assert choice["finish_reason"] == "length"
        with pytest.raises(ValueError):
            json.loads(choice["message"]["content"])
    capped = next(x for x in output if x["custom_id"] == "capped")
    assert capped["response"]["body"]["usage"]["completion_tokens"] <= 5


def test_max_tokens_below_the_answer_truncates(start):
    h = start()
    batch = h.run([line_for("short", ["apple"], max_tokens=7), line_for("long", ["apple"])])
    by_id = {x["custom_id"]: x["response"]["body"] for x in h.content(batch.output_file_id)}
    assert by_id["short"]["choices"][0]["finish_reason"] == "length"
    assert by_id["short"]["usage"]["completion_tokens"] == 7
    assert len(by_id["short"]["choices"][0]["message"]["content"].encode()) <= 28
    assert by_id["long"]["choices"][0]["finish_reason"] == "stop"


def test_refusals_have_null_content(start):
    h = start(refusal_rate=1.0)
    batch = h.run(word_lines(5))
    for line in h.content(batch.output_file_id):
        message = line["response"]["body"]["choices"][0]["message"]
        assert message["content"] is None and message["refusal"]
        assert line["response"]["body"]["choices"][0]["finish_reason"] == "stop"


def test_reasoning_models_reject_temperature_and_max_tokens(start):
    h = start()
    lines = [
        line_for("temp", ["a"], model="gpt-5-mini", temperature=0.2),
        line_for("max", ["b"], model="gpt-5-mini", max_tokens=100),
        line_for("ok", ["c"], model="gpt-5-mini", max_completion_tokens=5000),
    ]
    batch = h.run(lines)
    assert batch.request_counts.model_dump() == {"total": 3, "completed": 1, "failed": 2}
    errors = {e["custom_id"]: e["response"] for e in h.content(batch.error_file_id)}
    assert errors["temp"]["status_code"] == 400
    assert errors["temp"]["body"]["error"]["param"] == "temperature"
    assert errors["max"]["body"]["error"]["param"] == "max_tokens"
    assert [x["custom_id"] for x in h.content(batch.output_file_id)] == ["ok"]


def test_expired_batch_keeps_the_completed_half(start):
    h = start(expire_rate=1.0)
    batch = h.run(word_lines(21))
    assert batch.status == "expired" and batch.expired_at is not None
    assert batch.completed_at is None
    output, errors = h.content(batch.output_file_id), h.content(batch.error_file_id)
    assert len(output) == 10 and len(errors) == 11
    assert all(e["response"] is None and e["error"]["code"] == "batch_expired" for e in errors)
    assert len(h.emulator.ledger()) == 10
    assert batch.usage.output_tokens == sum(e["completion_tokens"] for e in h.emulator.ledger())


def test_no_output_batch_fails_every_request(start):
    h = start(no_output_rate=1.0)
    batch = h.run(word_lines(8))
    assert batch.status == "completed" and batch.output_file_id is None
    assert batch.request_counts.model_dump() == {"total": 8, "completed": 0, "failed": 8}
    errors = h.content(batch.error_file_id)
    assert len(errors) == 8 and {e["response"]["status_code"] for e in errors} == {500}
    assert h.emulator.ledger() == [] and batch.usage.total_tokens == 0


def test_transient_429_is_retried_by_the_sdk(start):
    h = start(http_429_rate=1.0, max_retries=2)
    batch = h.run([line_for("a", ["one"])])  # every call fails twice, then succeeds
    assert batch.status == "completed"
    impatient = openai.OpenAI(api_key="test", base_url=h.emulator.base_url, max_retries=0)
    with pytest.raises(openai.RateLimitError) as error:
        impatient.batches.list()
    assert error.value.response.headers["retry-after"] == "0"


def test_transient_500_is_retried_by_the_sdk(start):
    h = start(http_500_rate=1.0, max_retries=2)
    assert h.client.files.list().data == []  # two 500s, then the answer
    impatient = openai.OpenAI(api_key="test", base_url=h.emulator.base_url, max_retries=0)
    with pytest.raises(openai.InternalServerError):
        impatient.files.list()


def test_stall_holds_batches_in_progress_until_released(start):
    now = [1_000_000.0]
    h = start(
        clock=lambda: now[0],
        stall=True,
        validating_seconds=10,
        seconds_per_request=1,
        finalizing_seconds=5,
    )
    batch = h.submit(word_lines(20))
    now[0] += 1_000  # far longer than the whole batch (35 s) would take unstalled
    still = h.client.batches.retrieve(batch.id)
    assert (still.status, still.request_counts.completed) == ("in_progress", 10)  # half way
    h.emulator.configure(stall=False)
    now[0] += 14  # it resumes where it stopped: 10 requests and finalizing still to go
    assert h.client.batches.retrieve(batch.id).status == "finalizing"
    now[0] += 1
    done = h.client.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert len(h.content(done.output_file_id)) == 20


def test_admin_endpoint_changes_settings_at_run_time(start):
    h = start()
    url = h.emulator.url + "/_emulator/config"
    request = urllib.request.Request(
        url, data=json.dumps({"error_rate": 1.0}).encode(), method="POST"
    )
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["error_rate"] == 1.0
    batch = h.run(word_lines(3))
    assert batch.output_file_id is None and batch.request_counts.failed == 3
    bad = urllib.request.Request(url, data=b'{"error_rate": 2}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(bad)
    assert error.value.code == 400


def test_same_seed_gives_the_same_answers(start, tmp_path):
    answers = []
    for run in ("one", "two"):
        h = start(tmp_path / run, seed=11, error_rate=0.2)
        batch = h.run(word_lines(30))
        answers.append(
            {
                x["custom_id"]: (
                    x["response"]["status_code"],
                    json.dumps(x["response"]["body"].get("choices")),
                )
                for x in h.content(batch.output_file_id) + h.content(batch.error_file_id)
            }
        )
        h.emulator.stop()
    assert answers[0] == answers[1]


# -- cancel, delete, restart, ledger -----------------------------------------------------------


def test_cancel_bills_what_ran_and_reports_the_rest(start):
    h = start(seconds_per_request=0.02, cancelling_seconds=0.05)  # 2 s to catch it running
    batch = h.submit(word_lines(100))
    h.wait(batch.id, lambda b: b.status == "in_progress" and b.request_counts.completed >= 5)
    cancelling = h.client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    done = h.wait(batch.id)
    assert done.status == "cancelled" and done.cancelled_at >= done.cancelling_at
    output, errors = h.content(done.output_file_id), h.content(done.error_file_id)
    assert 5 <= len(output) < 100 and len(output) + len(errors) == 100
    assert all(e["error"]["code"] == "batch_cancelled" for e in errors)
    assert done.request_counts.completed == len(output)
    assert len(h.emulator.ledger()) == len(output)
    assert h.client.batches.cancel(batch.id).status == "cancelled"  # harmless twice
    finished = h.run([line_for("a", ["one"])])
    with pytest.raises(openai.ConflictError):
        h.client.batches.cancel(finished.id)


def test_deleting_files(start):
    h = start()
    batch = h.submit(word_lines(5))
    deleted = h.client.files.delete(batch.input_file_id)
    assert deleted.deleted and deleted.id == batch.input_file_id
    with pytest.raises(openai.NotFoundError):
        h.client.files.retrieve(batch.input_file_id)
    with pytest.raises(openai.NotFoundError):
        h.client.files.content(batch.input_file_id)
    with pytest.raises(openai.NotFoundError):
        h.client.files.delete(batch.input_file_id)
    assert batch.input_file_id not in {f.id for f in h.client.files.list()}
    done = h.wait(batch.id)  # the batch kept its own copy of the input
    assert done.status == "completed" and len(h.content(done.output_file_id)) == 5


def test_restart_on_the_same_state_dir_carries_on(start, tmp_path):
    state = tmp_path / "shared"
    now = [1_000_000.0]
    first = start(state, clock=lambda: now[0], seconds_per_request=0.01)
    batch = first.submit(word_lines(200))
    now[0] += 1  # validating done, half of the requests run
    running = first.client.batches.retrieve(batch.id)
    assert running.status == "in_progress"
    with pytest.raises(StateDirInUse):
        start(state)
    first.emulator.stop()

    # new settings do not touch old batches: at one second a request, it would take minutes
    second = start(state, clock=lambda: now[0], seconds_per_request=1.0)
    resumed = second.client.batches.retrieve(batch.id)
    assert resumed.created_at == running.created_at
    assert resumed.in_progress_at == running.in_progress_at
    assert resumed.request_counts.completed == running.request_counts.completed
    now[0] += 2  # the other half, and finalizing
    done = second.client.batches.retrieve(batch.id)
    assert done.status == "completed"
    output = second.content(done.output_file_id)
    assert sorted(x["custom_id"] for x in output) == sorted(f"r{i}" for i in range(200))
    assert second.client.files.retrieve(batch.input_file_id).filename == "in.jsonl"
    second.emulator.stop()
    third = start(state)
    assert third.client.batches.retrieve(batch.id).output_file_id == done.output_file_id
    assert len(third.emulator.ledger()) == 200  # billed once, not again after restarts


def test_ledger_records_every_billed_request(start):
    h = start()
    lines = [line_for("a", ["apple", "zzqfoo"]), line_for("b", ["pear"])]
    batch = h.run(lines)
    ledger = sorted(h.emulator.ledger(), key=lambda e: e["custom_id"])
    assert [e["words"] for e in ledger] == [["apple", "zzqfoo"], ["pear"]]
    user = lines[0]["body"]["messages"][-1]["content"]
    assert ledger[0]["user_content_sha256"] == hashlib.sha256(user.encode()).hexdigest()
    assert {e["batch_id"] for e in ledger} == {batch.id}
    assert all(e["model"] == MODEL and e["cached_tokens"] == 0 for e in ledger)
    assert [e["prompt_tokens"] for e in ledger] == [input_tokens(x["body"]) for x in lines]
    with urllib.request.urlopen(h.emulator.url + "/_emulator/ledger") as response:
        assert json.loads(response.read())["data"] == h.emulator.ledger()
