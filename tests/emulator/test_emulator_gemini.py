"""Google's Gemini Batch API on the emulator, driven by the real ``google-genai`` SDK over HTTP.

Every test drives time with a hand-held clock, so nothing depends on the machine's speed.
"""

from __future__ import annotations

import email.utils
import io
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from emulator_harness import SCHEMA

from synthlib.emulator import Emulator, EmulatorConfig
from synthlib.emulator.__main__ import build_parser, config_from_args

genai = pytest.importorskip("google.genai")
from google.genai import errors, types  # noqa: E402

MODEL = "gemini-2.5-flash"
START = 1_700_000_000.0
# One second per phase and per request: states change only when a test moves the clock.
TIMELINE = {
    "validating_seconds": 1.0,
    "seconds_per_request": 1.0,
    "finalizing_seconds": 1.0,
    "cancelling_seconds": 1.0,
}


class Clock:
    """The emulator's time, moved by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Gemini:
    """A google-genai client on an emulator, its clock and helpers for the common steps."""

    def __init__(self, emulator: Emulator, clock: Clock, **client: Any) -> None:
        self.emulator = emulator
        self.clock = clock
        self.client = genai.Client(
            api_key=client.pop("api_key", "test-key"),
            http_options=types.HttpOptions(base_url=emulator.url, **client),
        )

    def upload(self, lines: list[dict[str, Any]]) -> str:
        data = "".join(json.dumps(line) + "\n" for line in lines).encode()
        uploaded = self.client.files.upload(
            file=io.BytesIO(data), config={"mime_type": "jsonl", "display_name": "words"}
        )
        assert uploaded.name is not None
        return uploaded.name

    def submit(self, lines: list[dict[str, Any]], name: str = "run-1") -> Any:
        return self.client.batches.create(
            model=MODEL, src=self.upload(lines), config={"display_name": name}
        )

    def finish(self, job: Any) -> Any:
        """Move the clock past the end of any batch here and read ``job`` again."""
        self.clock.advance(3600)
        return self.client.batches.get(name=job.name)

    def results(self, job: Any) -> list[dict[str, Any]]:
        data = self.client.files.download(file=job.dest.file_name)
        return [json.loads(line) for line in data.splitlines() if line.strip()]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Gemini]]:
    """Start an emulator on a hand-held clock with a google-genai client; stopped at teardown."""
    running: list[Emulator] = []

    def _start(
        *,
        client: dict[str, Any] | None = None,
        state_dir: Path | None = None,
        clock: Clock | None = None,
        **settings: Any,
    ) -> Gemini:
        clock = clock or Clock()
        config = EmulatorConfig(**{**TIMELINE, **settings})
        state_dir = state_dir or tmp_path / f"state{len(running)}"
        emulator = Emulator(state_dir, config, clock=clock).start()
        running.append(emulator)
        return Gemini(emulator, clock, **(client or {}))

    yield _start
    for emulator in running:
        emulator.stop()


def request_for(words: list[str], **config: Any) -> dict[str, Any]:
    """A GenerateContentRequest asking for ``words`` with structured output, as a backend
    would write it in an input file (snake_case, which the REST API accepts)."""
    return {
        "system_instruction": {"parts": [{"text": "You are a lexicographer."}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {
                        "text": "Write dictionary entries for the words in this JSON object:\n"
                        + json.dumps({"words": words})
                    }
                ],
            }
        ],
        "generation_config": {
            "response_mime_type": "application/json",
            "response_json_schema": SCHEMA,
            **config,
        },
    }


def lines_for(count: int, **config: Any) -> list[dict[str, Any]]:
    return [
        {"key": f"r{i}", "request": request_for([f"word{i}", "zzqjunk"], **config)}
        for i in range(count)
    ]


def text_of(line: dict[str, Any]) -> str:
    return line["response"]["candidates"][0]["content"]["parts"][0]["text"]


# -- files -------------------------------------------------------------------------------------


def test_a_resumable_upload_makes_a_file_that_reads_back_and_deletes(start):
    gemini = start()
    lines = lines_for(2)
    name = gemini.upload(lines)
    assert name.startswith("files/")

    got = gemini.client.files.get(name=name)
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    assert (got.size_bytes, got.mime_type, got.display_name) == (len(data), "jsonl", "words")
    assert got.state == types.FileState.ACTIVE and got.source == types.FileSource.UPLOADED
    assert got.expiration_time - got.create_time == timedelta(hours=48)
    assert gemini.client.files.download(file=name) == data

    gemini.client.files.delete(name=name)
    with pytest.raises(errors.ClientError) as missing:
        gemini.client.files.get(name=name)
    assert (missing.value.code, missing.value.status) == (403, "PERMISSION_DENIED")


def test_files_list_newest_first_results_files_included(start):
    gemini = start()
    first = gemini.upload(lines_for(1))
    gemini.clock.advance(1)
    done = gemini.finish(gemini.client.batches.create(model=MODEL, src=first))
    files = list(gemini.client.files.list(config={"page_size": 1}))
    assert [f.name for f in files] == [done.dest.file_name, first]
    assert [f.source for f in files] == [types.FileSource.GENERATED, types.FileSource.UPLOADED]


def test_a_missing_file_can_answer_404_instead(start):
    gemini = start(gemini_missing_file_status=404)
    with pytest.raises(errors.ClientError) as missing:
        gemini.client.files.get(name="files/nosuchfile")
    assert (missing.value.code, missing.value.status) == (404, "NOT_FOUND")


def test_an_uploaded_file_expires_after_48_hours(start):
    gemini = start()
    name = gemini.upload(lines_for(1))
    gemini.clock.advance(48 * 3600)
    with pytest.raises(errors.ClientError) as gone:
        gemini.client.batches.create(model=MODEL, src=name)
    assert gone.value.code == 403


# -- batches -----------------------------------------------------------------------------------


def test_a_batch_from_a_file_goes_pending_running_succeeded(start):
    gemini = start()
    job = gemini.submit(lines_for(3), name="tag-abc")
    assert job.name.startswith("batches/")
    assert (job.state, job.display_name, job.model) == (
        types.JobState.JOB_STATE_PENDING,
        "tag-abc",
        f"models/{MODEL}",
    )
    assert job.create_time.timestamp() == START and job.end_time is None and job.dest is None

    gemini.clock.advance(2.5)  # validating 1 s, then one request a second
    running = gemini.client.batches.get(name=job.name)
    assert running.state == types.JobState.JOB_STATE_RUNNING

    done = gemini.finish(job)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.end_time.timestamp() == START + 1 + 3 + 1
    assert done.dest.file_name.startswith("files/")
    assert gemini.client.files.get(name=done.dest.file_name).download_uri is not None


def test_the_results_file_answers_every_key_with_schema_valid_json_and_usage(start):
    gemini = start()
    done = gemini.finish(gemini.submit(lines_for(4)))
    results = gemini.results(done)

    assert sorted(line["key"] for line in results) == ["r0", "r1", "r2", "r3"]
    assert [line["key"] for line in results] != ["r0", "r1", "r2", "r3"]  # any order
    for line in results:
        entries = json.loads(text_of(line))
        jsonschema.validate(entries, SCHEMA)
        assert [e["word"] for e in entries["entries"]] == [f"word{line['key'][1:]}", "zzqjunk"]
        candidate = line["response"]["candidates"][0]
        usage = line["response"]["usageMetadata"]
        assert candidate["finishReason"] == "STOP"
        assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
        # the SDK parses a results line into its own type
        parsed = types.GenerateContentResponse.model_validate(line["response"])
        assert parsed.text == text_of(line)


def test_answered_requests_are_billed_in_the_ledger_per_key(start):
    gemini = start()
    done = gemini.finish(gemini.submit(lines_for(3)))
    usage = {line["key"]: line["response"]["usageMetadata"] for line in gemini.results(done)}

    ledger = gemini.emulator.ledger()
    assert {row["custom_id"] for row in ledger} == {"r0", "r1", "r2"}
    for row in ledger:
        assert (row["batch_id"], row["provider"], row["model"]) == (done.name, "gemini", MODEL)
        assert row["prompt_tokens"] == usage[row["custom_id"]]["promptTokenCount"]
        assert row["completion_tokens"] == usage[row["custom_id"]]["candidatesTokenCount"]
        assert row["words"] == [f"word{row['custom_id'][1:]}", "zzqjunk"]
    gemini.client.batches.get(name=done.name)  # reading again bills nothing more
    assert len(gemini.emulator.ledger()) == 3


def test_inline_requests_answer_in_request_order_with_their_metadata(start):
    gemini = start()
    schema_request = request_for(["cat"])
    src = [
        {
            "contents": schema_request["contents"],
            "config": {"response_mime_type": "application/json", "response_json_schema": SCHEMA},
            "metadata": {"key": key},
        }
        for key in ("b", "a", "c")
    ]
    job = gemini.client.batches.create(model=MODEL, src=src, config={"display_name": "inline"})
    done = gemini.finish(job)

    assert done.state == types.JobState.JOB_STATE_SUCCEEDED and done.dest.file_name is None
    responses = done.dest.inlined_responses
    assert [r.metadata["key"] for r in responses] == ["b", "a", "c"]
    for response in responses:
        jsonschema.validate(json.loads(response.response.text), SCHEMA)
    assert sorted(row["custom_id"] for row in gemini.emulator.ledger()) == ["a", "b", "c"]


def test_listing_pages_newest_first(start):
    gemini = start()
    names = []
    for i in range(5):
        names.append(gemini.submit(lines_for(1), name=f"run-{i}").name)
        gemini.clock.advance(1)

    pager = gemini.client.batches.list(config={"page_size": 2})
    assert [job.name for job in pager.page] == names[::-1][:2]
    assert [job.name for job in pager] == names[::-1]


def test_listings_can_come_oldest_first_as_no_order_is_documented(start):
    gemini = start(gemini_oldest_first=True)
    names = []
    for i in range(3):
        names.append(gemini.submit(lines_for(1), name=f"run-{i}").name)
        gemini.clock.advance(1)
    pager = gemini.client.batches.list(config={"page_size": 2})
    assert [job.name for job in pager.page] == names[:2]
    assert [job.name for job in pager] == names
    created = [f.create_time for f in gemini.client.files.list(config={"page_size": 2})]
    assert len(created) >= 3 and created == sorted(created)


def test_a_file_display_name_over_512_characters_is_invalid(start):
    gemini = start()
    data = io.BytesIO(b'{"key": "r0", "request": {}}\n')
    uploaded = gemini.client.files.upload(
        file=data, config={"mime_type": "jsonl", "display_name": "f" * 512}
    )
    assert uploaded.display_name == "f" * 512
    with pytest.raises(errors.ClientError) as refused:
        gemini.client.files.upload(
            file=io.BytesIO(b"{}\n"), config={"mime_type": "jsonl", "display_name": "f" * 513}
        )
    assert refused.value.code == 400


def test_a_batch_display_name_longer_than_the_set_most_is_invalid(start):
    gemini = start(gemini_max_display_name=10)
    assert gemini.submit(lines_for(1), name="a" * 10).display_name == "a" * 10
    with pytest.raises(errors.ClientError) as refused:
        gemini.submit(lines_for(1), name="a" * 11)
    assert refused.value.code == 400 and "display_name" in str(refused.value)


def test_a_new_batch_shows_in_listings_only_after_the_listing_lag(start):
    gemini = start(listing_lag_seconds=30)
    job = gemini.submit(lines_for(1))
    assert [j.name for j in gemini.client.batches.list()] == []
    gemini.clock.advance(30)
    assert [j.name for j in gemini.client.batches.list()] == [job.name]


def test_cancel_keeps_what_ran_and_bills_only_that(start):
    gemini = start()
    job = gemini.submit(lines_for(5))
    gemini.clock.advance(3.5)  # validating 1 s, then two requests ran
    gemini.client.batches.cancel(name=job.name)
    done = gemini.finish(job)

    assert done.state == types.JobState.JOB_STATE_CANCELLED
    results = gemini.results(done)
    answered = [line["key"] for line in results if "response" in line]
    cancelled = [line for line in results if "error" in line]
    assert len(answered) == 2 and len(cancelled) == 3
    assert {line["error"]["status"] for line in cancelled} == {"CANCELLED"}
    assert sorted(row["custom_id"] for row in gemini.emulator.ledger()) == sorted(answered)
    with pytest.raises(errors.ClientError) as ended:
        gemini.client.batches.cancel(name=job.name)
    assert ended.value.status == "FAILED_PRECONDITION"


def test_without_partial_results_a_cancelled_batch_has_no_output(start):
    gemini = start(gemini_partial_results=False)
    job = gemini.submit(lines_for(5))
    gemini.clock.advance(3.5)
    gemini.client.batches.cancel(name=job.name)
    done = gemini.finish(job)
    assert done.state == types.JobState.JOB_STATE_CANCELLED and done.dest is None
    assert len(gemini.emulator.ledger()) == 2  # what ran is billed all the same


def test_a_batch_still_running_at_its_expiry_ends_expired(start):
    gemini = start(stall=True, gemini_expiry_seconds=600)
    job = gemini.submit(lines_for(4))
    gemini.clock.advance(599)
    assert gemini.client.batches.get(name=job.name).state == types.JobState.JOB_STATE_RUNNING
    gemini.clock.advance(1)
    expired = gemini.client.batches.get(name=job.name)
    assert expired.state == types.JobState.JOB_STATE_EXPIRED
    assert expired.end_time.timestamp() == START + 600
    statuses = {line.get("error", {}).get("status") for line in gemini.results(expired)}
    assert "DEADLINE_EXCEEDED" in statuses


def test_without_partial_results_an_expired_batch_has_no_output_as_documented(start):
    gemini = start(stall=True, gemini_expiry_seconds=600, gemini_partial_results=False)
    job = gemini.submit(lines_for(4))
    gemini.clock.advance(600)
    expired = gemini.client.batches.get(name=job.name)
    assert expired.state == types.JobState.JOB_STATE_EXPIRED and expired.dest is None


def test_a_deleted_batch_is_gone_and_billed_as_run_to_its_end(start):
    gemini = start()
    job = gemini.submit(lines_for(3))
    gemini.client.batches.delete(name=job.name)
    with pytest.raises(errors.ClientError) as gone:
        gemini.client.batches.get(name=job.name)
    assert gone.value.code == 404
    assert len(gemini.emulator.ledger()) == 3  # deleting does not cancel


# -- answers -----------------------------------------------------------------------------------


def test_failed_requests_get_error_lines_and_are_not_billed(start):
    gemini = start(error_rate=1.0)
    done = gemini.finish(gemini.submit(lines_for(3)))
    results = gemini.results(done)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert {(line["error"]["code"], line["error"]["status"]) for line in results} == {
        (500, "INTERNAL")
    }
    assert gemini.emulator.ledger() == []


def test_a_request_without_contents_is_an_invalid_argument_line(start):
    gemini = start()
    lines = [*lines_for(1), {"key": "bad", "request": {"contents": []}}]
    results = {line["key"]: line for line in gemini.results(gemini.finish(gemini.submit(lines)))}
    assert results["bad"]["error"]["status"] == "INVALID_ARGUMENT"
    assert "response" in results["r0"]


def test_truncated_answers_stop_at_max_tokens_with_bad_json(start):
    gemini = start(truncate_rate=1.0)
    for line in gemini.results(gemini.finish(gemini.submit(lines_for(3)))):
        assert line["response"]["candidates"][0]["finishReason"] == "MAX_TOKENS"
        with pytest.raises(ValueError):
            json.loads(text_of(line))


def test_safety_blocks_come_on_the_prompt_or_on_the_answer(start):
    gemini = start(refusal_rate=1.0)
    kinds = set()
    for line in gemini.results(gemini.finish(gemini.submit(lines_for(8)))):
        response = line["response"]
        if "promptFeedback" in response:
            assert response["promptFeedback"]["blockReason"] == "SAFETY"
            assert "candidates" not in response
            kinds.add("prompt")
        else:
            assert response["candidates"][0]["finishReason"] == "SAFETY"
            assert "content" not in response["candidates"][0]
            kinds.add("answer")
    assert kinds == {"prompt", "answer"}


def test_thinking_tokens_count_against_max_output_tokens_and_are_billed(start):
    gemini = start(gemini_thinking_tokens=30)
    lines = [
        {"key": "roomy", "request": request_for(["cat"])},
        {"key": "tight", "request": request_for(["dog"], max_output_tokens=40)},
        {"key": "off", "request": request_for(["eel"], thinking_config={"thinking_budget": 0})},
    ]
    results = {line["key"]: line for line in gemini.results(gemini.finish(gemini.submit(lines)))}
    usage = {key: line["response"]["usageMetadata"] for key, line in results.items()}

    assert usage["roomy"]["thoughtsTokenCount"] == 30
    assert results["tight"]["response"]["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert usage["tight"]["candidatesTokenCount"] == 10
    assert "thoughtsTokenCount" not in usage["off"]
    billed = {row["custom_id"]: row for row in gemini.emulator.ledger()}
    assert billed["roomy"]["completion_tokens"] == usage["roomy"]["candidatesTokenCount"] + 30
    assert billed["roomy"]["thoughts_tokens"] == 30


def test_an_openapi_response_schema_is_answered_too(start):
    gemini = start()
    schema = {
        "type": "OBJECT",
        "properties": {
            "entries": {
                "type": "ARRAY",
                "items": {
                    "type": "OBJECT",
                    "properties": {
                        "word": {"type": "STRING"},
                        "is_real_word": {"type": "BOOLEAN"},
                        "note": {"type": "STRING", "nullable": True},
                    },
                    "required": ["word", "is_real_word", "note"],
                    "propertyOrdering": ["word", "is_real_word", "note"],
                },
            }
        },
        "required": ["entries"],
    }
    request = request_for(["cat"])
    request["generation_config"] = {
        "response_mime_type": "application/json",
        "response_schema": schema,
    }
    (line,) = gemini.results(gemini.finish(gemini.submit([{"key": "k", "request": request}])))
    entry = json.loads(text_of(line))["entries"][0]
    assert list(entry)[:2] == ["word", "is_real_word"] and entry["word"] == "cat"


# -- the wire ----------------------------------------------------------------------------------


def test_a_create_whose_answer_is_lost_still_made_the_batch(start):
    gemini = start()
    name = gemini.upload(lines_for(2))
    gemini.emulator.configure(lost_reply_rate=1.0)
    with pytest.raises(errors.ServerError):
        gemini.client.batches.create(model=MODEL, src=name, config={"display_name": "lost"})
    gemini.emulator.configure(lost_reply_rate=0.0)
    (job,) = gemini.client.batches.list()
    assert job.display_name == "lost"
    assert len(gemini.results(gemini.finish(job))) == 2


def test_stale_reads_answer_403_for_files_and_404_for_batches(start):
    gemini = start()
    file_name = gemini.upload(lines_for(1))
    job = gemini.client.batches.create(model=MODEL, src=file_name)
    gemini.emulator.configure(stale_read_rate=1.0)
    with pytest.raises(errors.ClientError) as batch:
        gemini.client.batches.get(name=job.name)
    with pytest.raises(errors.ClientError) as file:
        gemini.client.files.get(name=file_name)
    with pytest.raises(errors.ClientError) as download:
        gemini.client.files.download(file=file_name)
    assert (batch.value.code, file.value.code, download.value.code) == (404, 403, 403)
    gemini.emulator.configure(stale_read_rate=0.0)
    assert gemini.client.files.get(name=file_name).name == file_name


def test_a_stale_status_shows_an_ended_batch_still_running(start):
    gemini = start()
    done = gemini.finish(gemini.submit(lines_for(2)))
    gemini.emulator.configure(stale_status_rate=1.0)
    lagging = gemini.client.batches.get(name=done.name)
    assert lagging.state == types.JobState.JOB_STATE_RUNNING
    assert lagging.dest is None and lagging.end_time is None


def test_a_proxy_duplicate_create_makes_and_bills_two_batches(start):
    gemini = start(duplicate_create_rate=1.0)
    job = gemini.submit(lines_for(2))
    (first,) = gemini.emulator.proxy_duplicates()
    assert first != job.name
    gemini.finish(job)
    gemini.client.batches.get(name=first)
    assert {row["batch_id"] for row in gemini.emulator.ledger()} == {job.name, first}


def test_a_skewed_clock_shifts_reported_times_and_the_date_header(start):
    gemini = start(clock_offset_seconds=7200)
    job = gemini.submit(lines_for(1))
    assert job.create_time.timestamp() == START + 7200
    response = httpx.get(
        f"{gemini.emulator.url}/v1beta/{job.name}", headers={"x-goog-api-key": "test-key"}
    )
    assert email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp() == START + 7200


def test_keys_a_missing_key_is_403_and_an_unknown_one_400_api_key_invalid(start):
    gemini = start(api_keys=("good-key",))
    url = f"{gemini.emulator.url}/v1beta/batches"
    missing = httpx.get(url)
    assert missing.status_code == 403
    assert missing.json()["error"]["status"] == "PERMISSION_DENIED"
    with pytest.raises(errors.ClientError) as wrong:
        gemini.client.batches.list()
    assert (wrong.value.code, wrong.value.status) == (400, "INVALID_ARGUMENT")
    assert wrong.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    assert httpx.get(url, headers={"x-goog-api-key": "good-key"}).status_code == 200


def test_the_v1beta_api_version_works_as_v1_does(start):
    gemini = start(client={"api_version": "v1beta"})
    done = gemini.finish(gemini.submit(lines_for(2)))
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert len(gemini.results(done)) == 2


def test_openai_routes_still_answer_beside_gemini(start):
    gemini = start()
    response = httpx.get(
        f"{gemini.emulator.url}/v1/batches", headers={"Authorization": "Bearer sk-test"}
    )
    assert response.status_code == 200 and response.json()["object"] == "list"


def test_a_transient_500_fails_a_call_before_it_does_anything(start):
    gemini = start(http_500_rate=1.0, max_consecutive_http_faults=1)
    with pytest.raises(errors.ServerError) as failed:
        gemini.client.batches.list()
    assert failed.value.status == "INTERNAL"
    assert list(gemini.client.batches.list()) == []  # the same call again gets through


def test_isolated_projects_keep_one_keys_batches_from_another(start):
    gemini = start(isolate_projects=True)
    job = gemini.submit(lines_for(1))
    other = Gemini(gemini.emulator, gemini.clock, api_key="another-key")
    with pytest.raises(errors.ClientError) as hidden:
        other.client.batches.get(name=job.name)
    assert hidden.value.code == 404
    assert list(other.client.batches.list()) == []


def test_a_restarted_emulator_carries_on_without_billing_twice(start, tmp_path):
    first = start(state_dir=tmp_path / "kept")
    done = first.finish(first.submit(lines_for(2)))
    first.emulator.stop()

    again = start(state_dir=tmp_path / "kept", clock=first.clock)
    assert again.client.batches.get(name=done.name).state == types.JobState.JOB_STATE_SUCCEEDED
    assert len(again.results(done)) == 2
    assert len(again.emulator.ledger()) == 2


def test_the_gemini_settings_have_command_line_flags():
    args = build_parser().parse_args(
        [
            "--no-gemini-partial-results",
            "--gemini-missing-file-status",
            "404",
            "--gemini-expiry-seconds",
            "60",
            "--gemini-thinking-tokens",
            "5",
            "--gemini-oldest-first",
            "--gemini-max-display-name",
            "128",
        ]
    )
    assert config_from_args(args) == EmulatorConfig(
        gemini_partial_results=False,
        gemini_missing_file_status=404,
        gemini_expiry_seconds=60,
        gemini_thinking_tokens=5,
        gemini_oldest_first=True,
        gemini_max_display_name=128,
    )
    assert config_from_args(build_parser().parse_args([])).gemini_partial_results is True
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--gemini-missing-file-status", "410"])
