"""OpenAI's Batch API (or any compatible server: ``OPENAI_BASE_URL``) through the official SDK.

Reads, cancels and deletes use the SDK's own retries (with backoff, honouring ``retry-after``):
repeating them is harmless. Creating a batch and uploading its file are *not* idempotent: a 5xx
or a dropped connection may come after the call took effect (a gateway timing out on a batch that
exists), and a blind retry would create, and bill, the same work twice. So those two calls run
with no SDK retries, and any answer that does not prove the call failed (5xx, timeout, reset) is
an :class:`UncertainError`: the engine looks for the batch by its tag before creating again. A 429
proves nothing was created and stays a :class:`TransientError`.

Nothing here ever puts the API key in a message or a return value.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ...core.errors import MissingKey
from ...core.pricing import Usage
from ...core.requests import ENDPOINT
from ..base import (
    BatchError,
    BatchInfo,
    Endpoint,
    RejectedError,
    SdkErrors,
    ServerClock,
    account_fingerprint,
    sdk_call,
)

MAX_RETRIES = 5
TIMEOUT_SECONDS = 120.0
FIRST_CALL_TIMEOUT_SECONDS = 20.0  # a run's first call: an API that is there answers at once


def sdk_errors(openai: Any) -> SdkErrors:
    """The ``openai`` SDK's exceptions, sorted (it has no 402 nor 413 class of its own)."""
    return SdkErrors(
        fatal=(openai.AuthenticationError, openai.PermissionDeniedError),
        rejected=(
            openai.BadRequestError,
            openai.NotFoundError,
            openai.ConflictError,
            openai.UnprocessableEntityError,
        ),
        rate_limited=(openai.RateLimitError,),
        no_answer=(openai.APIConnectionError,),
        status=(openai.APIStatusError,),
        timeout=(openai.APITimeoutError,),
    )


def client(api_key: str | None, base_url: str | None, max_retries: int | None) -> Any:
    """An ``openai.OpenAI`` for ``api_key`` at ``base_url`` (None: the environment's)."""
    import openai

    retries = MAX_RETRIES if max_retries is None else max_retries
    return openai.OpenAI(
        api_key=api_key, base_url=base_url, max_retries=retries, timeout=TIMEOUT_SECONDS
    )


class OpenAIBackend:
    """The Batch API over HTTP. ``client`` may be a preconfigured ``openai.OpenAI``."""

    provider = "openai"
    metadata_before_end = True  # batches carry their metadata tags from creation

    def __init__(self, client: Any = None) -> None:
        import openai

        if client is None:
            if not os.environ.get("OPENAI_API_KEY"):
                raise MissingKey("openai", "OPENAI_API_KEY")
            client = openai.OpenAI(max_retries=MAX_RETRIES, timeout=TIMEOUT_SECONDS)
        self._client = client
        # one attempt only: a retry of a call that took effect would pay twice (module docstring)
        self._once = client.with_options(max_retries=0)
        self._errors = sdk_errors(openai)
        self.clock = ServerClock()  # the API's clock, from the Date header of its answers

    def server_time(self) -> float:
        return self.clock.now()

    def endpoint(self) -> Endpoint:
        """Where the API is, as ``OPENAI_BASE_URL`` sets it (the SDK's default otherwise)."""
        url = str(self._client.base_url).rstrip("/")
        hint = ""
        if not url.endswith("/v1"):
            # every path the SDK asks for then lacks the /v1 the Batch API serves under
            hint = f"OPENAI_BASE_URL lacks /v1: try OPENAI_BASE_URL={url}/v1"
        return Endpoint("the OpenAI Batch API", url, "OPENAI_BASE_URL", "OPENAI_API_KEY", hint)

    @property
    def api_location(self) -> str:
        """The base URL the batches are bought at (part of what a word is bought as)."""
        return str(self._client.base_url).rstrip("/")

    @property
    def account(self) -> str:
        """A fingerprint of the key's account (never the key)."""
        return account_fingerprint(self._client.api_key)

    def location(self) -> dict[str, str]:
        """Where this backend's batches live: the base URL and the account's organisation and
        project as the API names them in its response headers (never the key). Empty values
        when the API does not say. One attempt, with a short timeout: this is a run's first
        call, which the engine repeats within a bounded time (:mod:`synthlib.engine.reach`)."""
        first = self._once.with_options(timeout=FIRST_CALL_TIMEOUT_SECONDS)
        try:
            response = self._call("list batches", first.batches.with_raw_response.list, limit=1)
        except RejectedError as exc:
            if exc.status != 404:
                raise
            # a compatible API may serve no batch listing: if its files answer, it is there
            try:
                response = self._call("list files", first.files.with_raw_response.list, limit=1)
            except RejectedError:
                raise exc from None
        headers = response.headers
        self.clock.note(headers)
        return {
            "base_url": str(self._client.base_url).rstrip("/"),
            "organization": headers.get("openai-organization", ""),
            "project": headers.get("openai-project", ""),
        }

    def _call(self, what: str, fn: Any, *args: Any, once: bool = False, **kw: Any) -> Any:
        return sdk_call(self._errors, what, fn, *args, once=once, **kw)

    def upload(self, path: Path) -> str:
        with open(path, "rb") as fh:
            created = self._call(
                "upload",
                self._once.files.create,
                file=(path.name, fh),
                purpose="batch",
                once=True,
            )
        return created.id

    def find_upload(self, filename: str, since: float) -> str | None:
        """The id of a batch input file named ``filename`` uploaded at or after ``since`` (epoch
        seconds): an upload whose answer was lost may still have arrived."""
        page = self._call("list files", self._client.files.list, purpose="batch", limit=100)
        while True:
            for item in page.data:
                if item.filename == filename:
                    return item.id
                if item.created_at and item.created_at < since:
                    return None
            if not page.has_next_page():
                return None
            page = self._call("list files", page.get_next_page)

    def create(self, input_file_id: str, metadata: Mapping[str, str]) -> BatchInfo:
        batch = self._call(
            "create batch",
            self._once.batches.create,
            input_file_id=input_file_id,
            endpoint=ENDPOINT,
            completion_window="24h",
            metadata=dict(metadata),
            once=True,
        )
        return to_info(batch)

    def retrieve(self, batch_id: str) -> BatchInfo:
        return to_info(self._call("retrieve batch", self._client.batches.retrieve, batch_id))

    def list(self) -> Iterator[BatchInfo]:
        response = self._call(
            "list batches", self._client.batches.with_raw_response.list, limit=100
        )
        self.clock.note(response.headers)
        page = response.parse()
        while True:
            for batch in page.data:
                yield to_info(batch)
            if not page.has_next_page():
                return
            page = self._call("list batches", page.get_next_page)

    def cancel(self, batch_id: str) -> BatchInfo:
        return to_info(self._call("cancel batch", self._client.batches.cancel, batch_id))

    def download(self, file_id: str, dest: Path) -> None:
        def fetch() -> None:
            with self._client.files.with_streaming_response.content(file_id) as response:
                response.stream_to_file(dest)

        self._call("download", fetch)

    def delete_file(self, file_id: str) -> None:
        # already gone is fine: a retried delete whose first answer was lost
        with contextlib.suppress(RejectedError):
            self._call("delete file", self._client.files.delete, file_id)


def to_info(batch: Any) -> BatchInfo:
    counts = batch.request_counts
    errors: tuple[BatchError, ...] = ()
    if batch.errors is not None and batch.errors.data:
        errors = tuple(
            BatchError(e.code or "error", e.message or "", e.line) for e in batch.errors.data
        )
    return BatchInfo(
        id=batch.id,
        status=batch.status,
        input_file_id=batch.input_file_id,
        created_at=int(batch.created_at or 0),
        output_file_id=batch.output_file_id,
        error_file_id=batch.error_file_id,
        total=counts.total if counts else 0,
        completed=counts.completed if counts else 0,
        failed=counts.failed if counts else 0,
        metadata=dict(batch.metadata or {}),
        errors=errors,
        usage=_usage(getattr(batch, "usage", None)),
    )


def _usage(usage: Any) -> Usage | None:
    """The batch's own bill (batches created after 2025-09-07 carry it), or None: the SDK's
    usage as synthlib's :class:`Usage` (unpriced)."""
    if usage is None:
        return None
    details = getattr(usage, "input_tokens_details", None)
    return Usage(
        input_tokens=int(usage.input_tokens or 0),
        cached_tokens=int(getattr(details, "cached_tokens", 0) or 0),
        output_tokens=int(usage.output_tokens or 0),
    )
