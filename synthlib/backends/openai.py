"""OpenAI's Batch API (or any compatible server: ``OPENAI_BASE_URL``) through the official SDK.

The SDK's own retries (with backoff, honouring ``retry-after``) and timeouts are used as they are;
this module only sorts what still fails into the engine's error kinds. Nothing here ever puts the
API key in a message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..requests import ENDPOINT
from .base import (
    BatchError,
    BatchInfo,
    FatalError,
    RejectedError,
    TransientError,
    UncertainError,
)

MAX_RETRIES = 5
TIMEOUT_SECONDS = 120.0


class OpenAIBackend:
    """The Batch API over HTTP. ``client`` may be a preconfigured ``openai.OpenAI``."""

    provider = "openai"

    def __init__(self, client: Any = None) -> None:
        import openai

        if client is None:
            if not os.environ.get("OPENAI_API_KEY"):
                raise UsageError(
                    "--provider openai needs OPENAI_API_KEY in the environment "
                    "(or use --provider offline)"
                )
            client = openai.OpenAI(max_retries=MAX_RETRIES, timeout=TIMEOUT_SECONDS)
        self._client = client
        self._openai = openai

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def _call(self, what: str, fn: Any, *args: Any, uncertain: bool = False, **kw: Any) -> Any:
        o = self._openai
        try:
            return fn(*args, **kw)
        except (o.AuthenticationError, o.PermissionDeniedError) as exc:
            raise FatalError(f"{what}: {_describe(exc)}") from None
        except (o.BadRequestError, o.NotFoundError, o.ConflictError,
                o.UnprocessableEntityError) as exc:  # fmt: skip
            raise RejectedError(f"{what}: {_describe(exc)}") from None
        except o.APIConnectionError as exc:  # includes timeouts: the call may have happened
            kind = UncertainError if uncertain else TransientError
            raise kind(f"{what}: no answer ({type(exc).__name__})") from None
        except o.APIStatusError as exc:  # 429 and 5xx after the SDK's retries
            raise TransientError(f"{what}: {_describe(exc)}") from None

    def upload(self, path: Path) -> str:
        with open(path, "rb") as fh:
            created = self._call(
                "upload", self._client.files.create, file=(path.name, fh), purpose="batch"
            )
        return created.id

    def create(self, input_file_id: str, metadata: Mapping[str, str]) -> BatchInfo:
        batch = self._call(
            "create batch",
            self._client.batches.create,
            input_file_id=input_file_id,
            endpoint=ENDPOINT,
            completion_window="24h",
            metadata=dict(metadata),
            uncertain=True,
        )
        return to_info(batch)

    def retrieve(self, batch_id: str) -> BatchInfo:
        return to_info(self._call("retrieve batch", self._client.batches.retrieve, batch_id))

    def list(self) -> Iterator[BatchInfo]:
        page = self._call("list batches", self._client.batches.list, limit=100)
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
        self._call("delete file", self._client.files.delete, file_id)


def to_info(batch: Any) -> BatchInfo:
    counts = batch.request_counts
    errors = ()
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
    )


def _describe(exc: Any) -> str:
    status = getattr(exc, "status_code", None)
    message = getattr(exc, "message", None) or type(exc).__name__
    return f"HTTP {status}: {message}" if status else message
