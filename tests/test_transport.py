"""Edge cases of the Batch API, answered at the HTTP transport: the real ``OpenAIBackend`` and the
real ``openai`` SDK talk to an ``httpx.MockTransport`` whose handler plays the API, so each answer
is exactly the one a test needs (the emulator stays for end-to-end work)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from factories import answer

import synthlib
from synthlib.core.pricing import price_for
from synthlib.jobs.job import Job, build_config
from synthlib.providers import registry
from synthlib.providers.openai.backend import OpenAIBackend

PRICE = price_for("gpt-4o-mini", registry.prices())
CREATED_AT = 1_900_000_000

# What the handler writes for one request: the output line's ``response.body``.
Reply = Callable[[str, str], dict[str, Any]]  # (custom_id, word) -> body


def ok(word: str, *, prompt: int = 100, completion: int = 50, cached: int | None = None) -> dict:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return {
        "id": f"chatcmpl-{word}",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": answer(word), "refusal": None},
            }
        ],
        "usage": usage,
    }


def filtered(word: str) -> dict:
    """A 200 whose answer the content filter stopped: billed, but no entry."""
    body = ok(word)
    body["choices"][0]["finish_reason"] = "content_filter"
    body["choices"][0]["message"] = {"role": "assistant", "content": None, "refusal": None}
    return body


class BatchAPI:
    """Files and Batches in memory, as the SDK sees them over HTTP.

    A batch is created ``validating`` and read as ``status`` from then on. Its output file holds
    one line per request, with the body ``reply`` makes, in the order ``order`` gives the lines.
    ``answers`` overrides any route: (method, path) -> httpx.Response."""

    def __init__(
        self,
        reply: Reply = lambda custom_id, word: ok(word),
        *,
        status: str = "completed",
        order: Callable[[list[str]], list[str]] = lambda lines: lines,
        batch_usage: dict[str, Any] | None = None,
    ) -> None:
        self.reply = reply
        self.status = status
        self.order = order
        self.batch_usage = batch_usage
        self.answers: dict[tuple[str, str], httpx.Response] = {}
        self.files: dict[str, bytes] = {}
        self.uploads: list[bytes] = []
        self.batches: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []

    def client(self) -> openai.OpenAI:
        http = httpx.Client(transport=httpx.MockTransport(self.handle))
        return openai.OpenAI(
            api_key="sk-test", base_url="https://api.test/v1", http_client=http, max_retries=0
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path.removeprefix("/v1")
        self.calls.append((method, path))
        if (method, path) in self.answers:
            return self.answers[method, path]
        if (method, path) == ("GET", "/batches"):
            newest_first = list(reversed(self.batches.values()))
            page = {"object": "list", "data": newest_first, "has_more": False}
            return httpx.Response(200, json=page)
        if (method, path) == ("POST", "/files"):
            return self._upload(request)
        if (method, path) == ("POST", "/batches"):
            return self._create(json.loads(request.content))
        if method == "GET" and (m := re.fullmatch(r"/batches/([\w-]+)", path)):
            return httpx.Response(200, json=self.batches[m[1]])
        if method == "GET" and (m := re.fullmatch(r"/files/([\w-]+)/content", path)):
            return httpx.Response(200, content=self.files[m[1]])
        if method == "DELETE" and (m := re.fullmatch(r"/files/([\w-]+)", path)):
            self.files.pop(m[1], None)
            return httpx.Response(200, json={"id": m[1], "object": "file", "deleted": True})
        return httpx.Response(
            404,
            json={
                "error": {"message": f"no route {method} {path}", "type": "invalid_request_error"}
            },
        )

    def _upload(self, request: httpx.Request) -> httpx.Response:
        boundary = request.headers["content-type"].split("boundary=")[1].encode()
        parts = (part.partition(b"\r\n\r\n") for part in request.content.split(b"--" + boundary))
        content = next(body.removesuffix(b"\r\n") for head, _, body in parts if b'"file"' in head)
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = content
        self.uploads.append(content)  # kept after the run deletes its input file
        return httpx.Response(
            200,
            json={
                "id": file_id,
                "object": "file",
                "bytes": len(content),
                "created_at": CREATED_AT,
                "filename": "input.jsonl",
                "purpose": "batch",
                "status": "processed",
            },
        )

    def _create(self, params: dict[str, Any]) -> httpx.Response:
        batch_id = f"batch_{len(self.batches) + 1}"
        requests = [json.loads(line) for line in self.files[params["input_file_id"]].splitlines()]
        lines = [self._line(r) for r in requests]
        output_id = f"file-out-{batch_id}"
        self.files[output_id] = "".join(line + "\n" for line in self.order(lines)).encode()
        self.batches[batch_id] = {
            "id": batch_id,
            "object": "batch",
            "endpoint": params["endpoint"],
            "input_file_id": params["input_file_id"],
            "completion_window": "24h",
            "status": self.status,
            "created_at": CREATED_AT,
            "metadata": params["metadata"],
            "output_file_id": output_id,
            "error_file_id": None,
            "errors": None,
            "request_counts": {"total": len(lines), "completed": len(lines), "failed": 0},
            "usage": self.batch_usage,
        }
        return httpx.Response(200, json={**self.batches[batch_id], "status": "validating"})

    def _line(self, request: dict[str, Any]) -> str:
        prompt = request["body"]["messages"][-1]["content"]
        (word,) = json.loads(prompt[prompt.rindex('{"words"') :])["words"]
        custom_id = request["custom_id"]
        return json.dumps(
            {
                "id": f"req-{custom_id}",
                "custom_id": custom_id,
                "error": None,
                "response": {
                    "status_code": 200,
                    "request_id": f"r-{custom_id}",
                    "body": self.reply(custom_id, word),
                },
            }
        )

    def created(self) -> int:
        return self.calls.count(("POST", "/batches"))


def job(api: BatchAPI, tmp_path, words: list[str], *, listener=None, **settings: Any) -> Job:
    config = build_config(
        words,
        provider="openai",
        poll_interval=0.01,
        max_attempts=1,
        checkpoint=tmp_path / "run.checkpoint.json",
        store=str(tmp_path / "entries.db"),
        **settings,
    )
    return Job(config, backend=OpenAIBackend(api.client()), listener=listener)


def checkpoint(result) -> dict:
    return json.loads(result.checkpoint.read_text())


@pytest.fixture(autouse=True)
def _private_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def test_a_content_filtered_answer_is_a_failure_with_that_reason_and_nothing_is_stored(tmp_path):
    api = BatchAPI(lambda cid, word: filtered(word) if word == "blocked" else ok(word))
    result = job(api, tmp_path, ["apple", "blocked"]).run()
    assert result.phase == "finished"
    assert set(result.given_up) == {"blocked"}
    assert result.given_up["blocked"].code == "refused"
    assert result.given_up["blocked"].detail == "content filter"
    assert synthlib.load_entries(result.store)["word"].tolist() == ["apple"]
    cp = checkpoint(result)
    assert cp["processed_words"] == ["apple"]
    assert cp["failed_words"] == {"blocked": str(result.given_up["blocked"])}
    # the filtered answer was billed all the same, and the reported spend says so
    assert cp["total_tokens"] == 2 * 150


def test_cached_prompt_tokens_are_priced_at_the_cached_rate(tmp_path):
    api = BatchAPI(lambda cid, word: ok(word, prompt=1000, completion=200, cached=800))
    result = job(api, tmp_path, ["apple", "pear"]).run()
    cp = checkpoint(result)
    billed = PRICE.cost(2000, 400, 1600, batch=True)
    assert billed < PRICE.cost(2000, 400, 0, batch=True)  # the case means something
    assert cp["total_cost"] == pytest.approx(billed, rel=1e-12)
    assert cp["total_tokens"] == 2400
    entries = synthlib.load_entries(result.store).set_index("word")
    assert entries["cached_tokens"].tolist() == [800, 800]
    assert entries["cost_usd"].sum() == pytest.approx(billed, rel=1e-12)


def test_the_batchs_own_usage_with_cached_tokens_is_what_the_run_reports(tmp_path):
    # the batch's bill (newer batches carry one) wins over the sum of its lines
    usage = {
        "input_tokens": 3000,
        "input_tokens_details": {"cached_tokens": 2000},
        "output_tokens": 500,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 3500,
    }
    api = BatchAPI(batch_usage=usage)
    result = job(api, tmp_path, ["apple", "pear"]).run()
    cp = checkpoint(result)
    assert cp["total_cost"] == pytest.approx(PRICE.cost(3000, 500, 2000, batch=True), rel=1e-12)
    assert cp["total_tokens"] == 3500


def test_output_lines_in_another_order_are_joined_to_their_words_by_custom_id(tmp_path):
    words = ["apple", "banana", "cherry", "damson", "elder", "fig"]
    prompt = {w: 100 + i for i, w in enumerate(words)}  # each line's usage names its word
    shuffle = (3, 0, 5, 1, 4, 2)
    api = BatchAPI(
        lambda cid, word: ok(word, prompt=prompt[word]),
        order=lambda lines: [lines[i] for i in shuffle],
    )
    result = job(api, tmp_path, words).run()
    sent = [json.loads(line)["custom_id"] for line in api.uploads[0].splitlines()]
    output = api.files["file-out-batch_1"].splitlines()
    returned = [json.loads(line)["custom_id"] for line in output]
    assert returned == [sent[i] for i in shuffle]
    entries = synthlib.load_entries(result.store).set_index("word")
    assert sorted(entries.index) == words
    assert not result.given_up
    for word in words:
        assert entries.loc[word, "input_tokens"] == prompt[word]
    frame = synthlib.load_senses(result.store)
    assert all(
        word in definition
        for word, definition in zip(frame["word"], frame["definition"], strict=True)
    )


def test_a_409_on_cancel_leaves_the_batch_to_its_status_and_a_resume_collects_it(tmp_path):
    # cancelling a batch that has already completed: OpenAI answers 409
    api = BatchAPI(status="completed")
    api.answers["POST", "/batches/batch_1/cancel"] = httpx.Response(
        409,
        json={
            "error": {
                "message": "Cannot cancel a batch with status 'completed'.",
                "type": "invalid_request_error",
                "code": None,
            }
        },
    )
    messages: list[str] = []
    running: list[Job] = []

    def stop_once_submitted(progress, message):  # Ctrl+C with cancel_on_exit, at a known step
        messages.append(message or "")
        if message and message.startswith("submitted batch"):
            running[0].stop(cancel=True)

    running.append(job(api, tmp_path, ["apple", "pear"], listener=stop_once_submitted))
    result = running[0].run()  # no exception: the 409 is said, not raised
    assert result.phase == "interrupted"
    assert ("POST", "/batches/batch_1/cancel") in api.calls
    assert any("could not cancel batch_1" in m and "409" in m for m in messages)
    cp = checkpoint(result)
    assert [b["batch_id"] for b in cp["batches"]] == ["batch_1"]
    assert cp["processed_words"] == []

    second = job(api, tmp_path, ["apple", "pear"]).run()
    assert second.phase == "finished"
    assert sorted(checkpoint(second)["processed_words"]) == ["apple", "pear"]
    assert api.created() == 1  # the completed batch was collected, not paid for again
    assert sorted(synthlib.load_entries(second.store)["word"]) == ["apple", "pear"]
