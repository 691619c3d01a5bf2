"""Uploads, creates and listings that keep failing end the run, saying where and why, instead of
being retried for ever; an API without batch listing is not taken for a wrong URL (the real
``OpenAIBackend`` and SDK over an ``httpx.MockTransport``)."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest
from test_transport import BatchAPI, job

from synthlib.engine.submit import MAX_REFUSED_UPLOADS, SubmissionsFailing

WORDS = ["apple", "pear", "plum"]


def refuse_uploads(api: BatchAPI, status: int) -> None:
    error = {"error": {"message": "no such route", "type": "invalid_request_error"}}
    api.answers["POST", "/files"] = httpx.Response(status, json=error)


def test_refused_uploads_end_the_run_after_a_few(tmp_path):
    api = BatchAPI()
    refuse_uploads(api, 404)
    with pytest.raises(
        SubmissionsFailing,
        match=r"3 submission calls in a row failed at https://api.test/v1.*uploads",
    ):
        job(api, tmp_path, WORDS).run()
    assert api.calls.count(("POST", "/files")) == MAX_REFUSED_UPLOADS
    assert api.created() == 0


def test_unanswered_uploads_end_the_run_after_the_time_allowed(tmp_path):
    api = BatchAPI()
    refuse_uploads(api, 503)
    started = time.monotonic()
    with pytest.raises(SubmissionsFailing, match=r"HTTP 503"):
        job(api, tmp_path, WORDS, unreachable_after=2).run()
    assert 2 <= time.monotonic() - started < 30
    assert api.calls.count(("POST", "/files")) >= MAX_REFUSED_UPLOADS


def test_an_upload_that_works_again_starts_the_count_over(tmp_path):
    api = BatchAPI()
    refuse_uploads(api, 404)
    failed = 0
    handle = api.handle

    def twice_then_fine(request: httpx.Request) -> httpx.Response:
        nonlocal failed
        if request.method == "POST" and request.url.path == "/v1/files":
            failed += 1
            if failed % 3 == 0:  # every third upload goes through
                return api._upload(request)
        return handle(request)

    api.handle = twice_then_fine  # type: ignore[method-assign]
    result = job(api, tmp_path, WORDS, batch_size=1).run()
    assert result.progress.processed == 3


def test_an_api_without_batch_listing_is_no_wrong_url(tmp_path):
    """A 404 on listing batches while the files answer: a compatible API without the listing,
    not a wrong URL; the run goes on."""
    api = BatchAPI()
    error = {"error": {"message": "no route", "type": "invalid_request_error"}}
    api.answers["GET", "/batches"] = httpx.Response(404, json=error)
    api.answers["GET", "/files"] = httpx.Response(200, json={"object": "list", "data": []})
    result = job(api, tmp_path, WORDS).run()
    assert result.progress.processed == 3


def on_a_fast_clock(api: BatchAPI, speed: float = 100.0) -> None:
    """The API's answers carry a ``Date`` from a clock ``speed`` times faster than real time:
    what waits on the API's clock (a create without an answer is looked for over 30 s of it
    before it is sent again) passes at once."""
    start = time.time()
    handle = api.handle

    def dated(request: httpx.Request) -> httpx.Response:
        response = handle(request)
        now = start + (time.time() - start) * speed
        response.headers["date"] = email.utils.formatdate(now, usegmt=True)
        return response

    api.handle = dated  # type: ignore[method-assign]


def test_creates_that_get_no_answer_end_the_run_after_the_time_allowed(tmp_path):
    api = BatchAPI()
    on_a_fast_clock(api)
    error = {"error": {"message": "overloaded", "type": "server_error"}}
    api.answers["POST", "/batches"] = httpx.Response(503, json=error)
    started = time.monotonic()
    with pytest.raises(SubmissionsFailing, match=r"creates: create batch: HTTP 503"):
        job(api, tmp_path, WORDS, unreachable_after=2).run()
    assert 2 <= time.monotonic() - started < 30
    assert api.calls.count(("POST", "/files")) == 1  # the shard is planned, created again


def test_rate_limited_creates_are_only_waited_on(tmp_path):
    """A 429 is an answer: the API is there and asks to wait, so it never ends the run."""
    api = BatchAPI()
    limited = {"error": {"message": "too many batches", "type": "rate_limit_error"}}
    handle = api.handle
    refusals = 0

    def limited_four_times(request: httpx.Request) -> httpx.Response:
        nonlocal refusals
        if request.method == "POST" and request.url.path == "/v1/batches" and refusals < 4:
            refusals += 1
            api.calls.append(("POST", "/batches"))
            return httpx.Response(429, json=limited)
        return handle(request)

    api.handle = limited_four_times  # type: ignore[method-assign]
    result = job(api, tmp_path, WORDS, unreachable_after=0.5).run()
    assert result.progress.processed == 3 and refusals == 4
