"""Anthropic's Message Batches API (or a server that speaks it: ``ANTHROPIC_BASE_URL``) through
the official ``anthropic`` SDK, behind the same :class:`~.base.Backend` as OpenAI's Batch API.

The engine writes OpenAI-format request files and reads OpenAI-format output lines; this adapter
translates at the edges, so ingest, cost and the store are the same for both providers:

* ``upload`` keeps the request file on local disk (``<state dir>/files``) and returns a local id:
  Message Batches take their requests inline when the batch is created, with no file upload.
* ``create`` turns each line into a ``{"custom_id", "params"}`` request (the same model, system
  prompt, user message and limits; the entry-list schema of :func:`synthlib.core.schema
  .response_schema` becomes the ``input_schema`` of one tool that ``tool_choice`` forces) and
  sends them in one call, with no SDK retries: a retried create that had taken effect would
  create, and bill, the batch twice.
* ``download`` streams an ended batch's results and writes one OpenAI-format line per request:
  ``succeeded`` -> HTTP 200 with the tool input as the message content and ``usage`` as
  ``prompt_tokens``/``completion_tokens``; ``stop_reason`` ``max_tokens`` -> ``finish_reason``
  ``length`` (truncated), ``refusal`` -> a refusal; ``errored`` -> the error with its HTTP status;
  ``canceled``/``expired`` -> ``batch_cancelled``/``batch_expired`` error lines.

Message Batches carry no metadata (Anthropic docs as of 2026: the create body is ``requests``
and nothing else). So the run and shard tags the engine asks for travel inside every
``custom_id`` (``^[a-zA-Z0-9_-]{1,64}$``): ``<request id>-<run>-<shard>``, e.g. ``w1f-
0123456789ab-s3``, where the request id is synthlib's with ``.`` written as ``-``. A batch's
tags can therefore be read only from its results, once it has ended: :meth:`retrieve` of an
ended batch it did not create reads them (the first tagged line), and :attr:`metadata_before_end`
is False, which tells the engine to resolve a lost create by its journalled attempt (see
:mod:`synthlib.engine.recover`). Results lines without this batch's tag (none, or another run's) are
never written out: they were not asked by this batch, and Anthropic bills only requests of the
batch.

Status (Anthropic docs as of 2026): ``in_progress`` -> ``in_progress``; ``canceling`` ->
``cancelling``; ``ended`` -> ``expired`` if any request expired, else ``cancelled`` if any was
canceled, else ``completed``. Only succeeded requests are billed, at half the standard price.
Limits: 100,000 requests or 256 MB a batch; a batch lasts 24 h; results stay 29 days.

Times: ``created_at`` is the server's (its RFC 3339 time as epoch seconds); the server's time
now is :meth:`server_time`, from the ``Date`` header of its answers (measured on each listing),
so the engine compares the server's times with each other, whatever this machine's clock says.

Nothing here ever puts the API key in a message or a return value.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ...core import failpoints, schema
from ...core.errors import MissingKey
from ...core.limits import MB, BatchLimits
from ..base import (
    RUN_TAG,
    SHARD_TAG,
    BatchInfo,
    Endpoint,
    RejectedError,
    SdkErrors,
    ServerClock,
    TransientError,
    account_fingerprint,
    sdk_call,
)

MAX_RETRIES = 5
TIMEOUT_SECONDS = 120.0
FIRST_CALL_TIMEOUT_SECONDS = 20.0  # a run's first call: an API that is there answers at once
LIMITS = BatchLimits(requests=100_000, bytes=256 * MB)  # a batch (Anthropic docs as of 2026)
# what shards are cut to: sharding measures OpenAI-format lines, which grow by about 6% as Message
# Batch requests (params, tags, the tool definition, JSON's spacing); a full shard must still fit
SHARD_LIMITS = BatchLimits(requests=LIMITS.requests, bytes=int(LIMITS.bytes / 1.15))
TOOL_NAME = "record_entries"
TOOL_DESCRIPTION = "Record the dictionary entries for the words asked, one entry per word."
RESULTS_PREFIX = "results:"
CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_RUN = re.compile(r"run-([0-9a-zA-Z]+)")
_SHARD = re.compile(r"([a-z])-([0-9]+)")
_SHARD_TOKEN = re.compile(r"([a-z])([0-9]+)")

# HTTP status of an ``errored`` result's error type (Anthropic errors page, as of 2026)
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


# --- tags in custom_ids ----------------------------------------------------------------------


def tag_of(metadata: Mapping[str, str]) -> str:
    """The tag every custom_id of a batch with this run and shard carries: ``<run>-<shard>``."""
    run = _RUN.fullmatch(str(metadata.get(RUN_TAG, "")))
    shard = _SHARD.fullmatch(str(metadata.get(SHARD_TAG, "")))
    if run is None or shard is None:
        raise ValueError(f"cannot tag custom_ids with {dict(metadata)!r}")
    return f"{run[1]}-{shard[1]}{shard[2]}"


def metadata_of(tag: str) -> dict[str, str]:
    """The run and shard tags that ``tag`` (from :func:`tag_of`) stands for."""
    run, shard = tag.split("-")
    letter, number = _SHARD_TOKEN.fullmatch(shard).groups()  # type: ignore[union-attr]
    return {RUN_TAG: f"run-{run}", SHARD_TAG: f"{letter}-{number}"}


def tagged_id(custom_id: str, tag: str) -> str:
    """synthlib's ``custom_id`` in Anthropic's alphabet, followed by ``tag``."""
    if "-" in custom_id:
        raise ValueError(f"not a synthlib custom_id: {custom_id!r}")
    return f"{custom_id.replace('.', '-')}-{tag}"


def untag(custom_id: Any) -> tuple[str, str] | None:
    """``(synthlib custom_id, tag)`` of a tagged id, or None for an id without a tag."""
    if not isinstance(custom_id, str):
        return None
    parts = custom_id.rsplit("-", 2)
    if len(parts) != 3 or not parts[0] or not parts[1].isalnum():
        return None
    if not _SHARD_TOKEN.fullmatch(parts[2]):
        return None
    return parts[0].replace("-", "."), f"{parts[1]}-{parts[2]}"


# --- requests --------------------------------------------------------------------------------


def tool() -> dict[str, Any]:
    """The one tool each request must call: its input is an :class:`~synthlib.core.schema.EntryList`
    (the same schema OpenAI's requests name in ``response_format``)."""
    return {
        "name": TOOL_NAME,
        "description": TOOL_DESCRIPTION,
        "input_schema": schema.response_schema(),
    }


def to_request(line: Mapping[str, Any], tag: str, tool_def: Mapping[str, Any]) -> dict[str, Any]:
    """A Message Batches request for one OpenAI-format batch input line."""
    body = line["body"]
    system = [m["content"] for m in body["messages"] if m["role"] == "system"]
    messages = [
        {"role": m["role"], "content": m["content"]}
        for m in body["messages"]
        if m["role"] != "system"
    ]
    params: dict[str, Any] = {
        "model": body["model"],
        "max_tokens": body.get("max_tokens") or body["max_completion_tokens"],
        "messages": messages,
        "tools": [tool_def],
        "tool_choice": {"type": "tool", "name": TOOL_NAME},
    }
    if system:
        params["system"] = "\n\n".join(system)
    if "temperature" in body:
        params["temperature"] = body["temperature"]
    return {"custom_id": tagged_id(line["custom_id"], tag), "params": params}


# --- results ---------------------------------------------------------------------------------


def to_output_line(custom_id: str, result: Any) -> dict[str, Any]:
    """The OpenAI-format output or error line of one Message Batches ``result``."""
    kind = result.get("type") if isinstance(result, dict) else None
    if kind == "succeeded" and isinstance(result.get("message"), dict):
        return {"custom_id": custom_id, "response": _answer(result["message"]), "error": None}
    if kind == "errored":
        error = found if isinstance(found := result.get("error"), dict) else {}
        inner = found if isinstance(found := error.get("error"), dict) else error
        code = str(inner.get("type") or "api_error")
        body = {"error": {"code": code, "message": str(inner.get("message") or "")}}
        response = {"status_code": ERROR_STATUS.get(code, 500), "request_id": None, "body": body}
        return {"custom_id": custom_id, "response": response, "error": None}
    code = {"canceled": "batch_cancelled", "expired": "batch_expired"}.get(str(kind), "no_result")
    why = f"the request was {kind} before it ran" if kind else "no result"
    return {"custom_id": custom_id, "response": None, "error": {"code": code, "message": why}}


def _answer(message: dict[str, Any]) -> dict[str, Any]:
    blocks = [b for b in message.get("content") or () if isinstance(b, dict)]
    call = next(
        (b for b in blocks if b.get("type") == "tool_use" and b.get("name") == TOOL_NAME), None
    )
    text = "".join(str(b.get("text") or "") for b in blocks if b.get("type") == "text")
    stop = message.get("stop_reason")
    if call is not None:
        content: str | None = json.dumps(call.get("input"), ensure_ascii=False)
    else:
        content = text or None
    usage = found if isinstance(found := message.get("usage"), dict) else {}
    fresh = int(usage.get("input_tokens") or 0)
    # synthlib sets no cache_control, so cache writes stay 0; reads are billed as cached input
    written = int(usage.get("cache_creation_input_tokens") or 0)
    read = int(usage.get("cache_read_input_tokens") or 0)
    output = int(usage.get("output_tokens") or 0)
    body = {
        "id": message.get("id"),
        "object": "chat.completion",
        "model": message.get("model"),
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "refusal": (text or "refused") if stop == "refusal" else None,
                },
                "finish_reason": "length"
                if stop in ("max_tokens", "model_context_window_exceeded")
                else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": fresh + written + read,
            "completion_tokens": output,
            "total_tokens": fresh + written + read + output,
            "prompt_tokens_details": {"cached_tokens": read},
        },
    }
    return {"status_code": 200, "request_id": message.get("id"), "body": body}


# --- the backend -----------------------------------------------------------------------------


def sdk_errors(anthropic: Any) -> SdkErrors:
    """The ``anthropic`` SDK's exceptions, sorted (402 and 413 have classes of their own)."""
    return SdkErrors(
        fatal=(
            anthropic.AuthenticationError,
            anthropic.PermissionDeniedError,
            anthropic.PaymentRequiredError,
        ),
        rejected=(
            anthropic.BadRequestError,
            anthropic.NotFoundError,
            anthropic.ConflictError,
            anthropic.UnprocessableEntityError,
            anthropic.ContentTooLargeError,
        ),
        rate_limited=(anthropic.RateLimitError,),
        no_answer=(anthropic.APIConnectionError,),
        status=(anthropic.APIStatusError,),
        timeout=(anthropic.APITimeoutError,),
    )


def client(api_key: str | None, base_url: str | None, max_retries: int | None) -> Any:
    """An ``anthropic.Anthropic`` for ``api_key`` at ``base_url`` (None: the environment's)."""
    import anthropic

    retries = MAX_RETRIES if max_retries is None else max_retries
    return anthropic.Anthropic(
        api_key=api_key, base_url=base_url, max_retries=retries, timeout=TIMEOUT_SECONDS
    )


class AnthropicBackend:
    """Message Batches over HTTP. ``client`` may be a preconfigured ``anthropic.Anthropic``;
    ``state_dir`` holds the request files and what is known of each batch (its tag)."""

    provider = "anthropic"
    metadata_before_end = False

    def __init__(self, state_dir: str | os.PathLike[str], client: Any = None) -> None:
        import anthropic  # the extra is checked by the spec's factory (a one-line MissingExtra)

        if client is None:
            if not os.environ.get("ANTHROPIC_API_KEY"):
                raise MissingKey("anthropic", "ANTHROPIC_API_KEY")
            client = anthropic.Anthropic(max_retries=MAX_RETRIES, timeout=TIMEOUT_SECONDS)
        self._client = client
        # one attempt only: a retry of a create that took effect would pay twice
        self._once = client.with_options(max_retries=0)
        self._errors = sdk_errors(anthropic)
        self._sdk_error = anthropic.AnthropicError
        self.dir = Path(state_dir)
        for sub in ("files", "batches", "attempts"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.clock = ServerClock()  # the API's clock, from the Date header of its answers

    @property
    def api_location(self) -> str:
        """The base URL the batches are bought at (part of what a word is bought as)."""
        return str(self._client.base_url).rstrip("/")

    @property
    def account(self) -> str:
        """A fingerprint of the key's account (never the key)."""
        return account_fingerprint(self._client.api_key)

    # --- errors and the server's clock -----------------------------------------------------------

    def _call(self, what: str, fn: Any, *args: Any, once: bool = False, **kw: Any) -> Any:
        try:
            return sdk_call(self._errors, what, fn, *args, once=once, **kw)
        except self._sdk_error as exc:  # the SDK's own refusals (no results_url)
            raise TransientError(f"{what}: {exc}") from None

    def server_time(self) -> float:
        return self.clock.now()

    def endpoint(self) -> Endpoint:
        """Where the API is, as ``ANTHROPIC_BASE_URL`` sets it (the SDK's default otherwise)."""
        url = str(self._client.base_url).rstrip("/")
        hint = ""
        if url.endswith("/v1"):  # the SDK adds /v1/messages/batches itself
            hint = f"ANTHROPIC_BASE_URL ends in /v1, which the SDK adds: try {url[:-3]}"
        return Endpoint(
            "the Anthropic Message Batches API",
            url,
            "ANTHROPIC_BASE_URL",
            "ANTHROPIC_API_KEY",
            hint,
        )

    def location(self) -> dict[str, str]:
        """The base URL and the organisation the key belongs to (``anthropic-organization-id``
        response header; never the key). One attempt, with a short timeout: this is a run's
        first call, which the engine repeats within a bounded time
        (:mod:`synthlib.engine.reach`)."""
        first = self._once.with_options(timeout=FIRST_CALL_TIMEOUT_SECONDS)
        response = self._call(
            "list batches", first.messages.batches.with_raw_response.list, limit=1
        )
        self.clock.note(response.headers)
        return {
            "base_url": str(self._client.base_url).rstrip("/"),
            "organization": response.headers.get("anthropic-organization-id", ""),
        }

    # --- files (local) -----------------------------------------------------------------------

    def upload(self, path: Path) -> str:
        data = Path(path).read_bytes()
        digest = hashlib.sha256(data + os.urandom(8)).hexdigest()[:24]
        file_id = f"file-local-{digest}"
        _write(self.dir / "files" / file_id, data)
        return file_id

    def find_upload(self, filename: str, since: float) -> str | None:
        return None  # a local upload always answers

    def delete_file(self, file_id: str) -> None:
        if file_id.startswith(RESULTS_PREFIX):
            return  # results stay with Anthropic (29 days); nothing local to remove
        (self.dir / "files" / file_id).unlink(missing_ok=True)

    def _input(self, file_id: str) -> Path:
        path = self.dir / "files" / file_id
        if not file_id.startswith("file-local-") or not path.exists():
            raise RejectedError(f"no such input file: {file_id}")
        return path

    # --- batches -----------------------------------------------------------------------------

    def create(self, input_file_id: str, metadata: Mapping[str, str]) -> BatchInfo:
        tag = tag_of(metadata)
        tool_def = tool()
        requests = []
        with open(self._input(input_file_id), encoding="utf-8") as fh:
            for raw in fh:
                if raw.strip():
                    requests.append(to_request(json.loads(raw), tag, tool_def))
        for request in requests:
            if not CUSTOM_ID.fullmatch(request["custom_id"]):
                raise RejectedError(
                    f"custom_id {request['custom_id']!r} is not ^[a-zA-Z0-9_-]{{1,64}}$"
                )
        if not 1 <= len(requests) <= LIMITS.requests:
            raise RejectedError(
                f"{len(requests)} requests: a Message Batch takes 1 to {LIMITS.requests:,}"
            )
        size = len(json.dumps({"requests": requests}, ensure_ascii=False).encode())
        if size > LIMITS.bytes:
            raise RejectedError(
                f"{size:,} bytes: a Message Batch takes at most {LIMITS.bytes // MB} MB"
            )
        # which input file a tag stands for, written before the call: a batch found later by
        # its tag (its create unanswered) still knows its words
        _write_json(self.dir / "attempts" / f"{tag}.json", {"input_file_id": input_file_id})
        response = self._call(
            "create batch",
            self._once.messages.batches.with_raw_response.create,
            requests=requests,
            once=True,
        )
        self.clock.note(response.headers)  # the create's window closes at its answer's time
        batch = response.parse()
        failpoints.hit("anthropic-after-send")
        self._remember(batch.id, tag)
        return self._info(batch)

    def retrieve(self, batch_id: str) -> BatchInfo:
        batch = self._call("retrieve batch", self._client.messages.batches.retrieve, batch_id)
        if batch.processing_status == "ended" and self._record(batch_id) is None:
            self._remember(batch_id, self._tag_from_results(batch_id))
        return self._info(batch)

    def list(self) -> Iterator[BatchInfo]:
        """Batches, newest first; ``metadata`` only for those whose tag is known here (created
        by this backend, or ended and read by :meth:`retrieve`)."""
        response = self._call(
            "list batches", self._client.messages.batches.with_raw_response.list, limit=100
        )
        self.clock.note(response.headers)
        page = response.parse()
        while True:
            for batch in page.data:
                yield self._info(batch)
            if not page.has_next_page():
                return
            page = self._call("list batches", page.get_next_page)

    def cancel(self, batch_id: str) -> BatchInfo:
        return self._info(
            self._call("cancel batch", self._client.messages.batches.cancel, batch_id)
        )

    def download(self, file_id: str, dest: Path) -> None:
        """Write the OpenAI-format lines of an ended batch's results (``results:<batch id>``):
        only lines carrying the batch's own tag, with synthlib's custom_ids."""
        if not file_id.startswith(RESULTS_PREFIX):
            raise RejectedError(f"no such file: {file_id}")
        batch_id = file_id.removeprefix(RESULTS_PREFIX)
        record = self._record(batch_id)
        tag = record.get("tag") if record else self._tag_from_results(batch_id)

        def fetch() -> None:
            with open(dest, "wb") as out, self._results(batch_id) as lines:
                for custom_id, result in lines:
                    found = untag(custom_id)
                    if found is None or found[1] != tag:
                        continue  # not a request of this batch: never billed to it
                    line = to_output_line(found[0], result)
                    out.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")

        self._call("download results", fetch)

    # --- what is known of each batch ---------------------------------------------------------

    def _record(self, batch_id: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.dir / "batches" / f"{batch_id}.json").read_bytes())
        except (OSError, ValueError):
            return None

    def _remember(self, batch_id: str, tag: str | None) -> None:
        record: dict[str, Any] = {"tag": tag, "input_file_id": ""}
        if tag is not None:
            attempt = _read_json(self.dir / "attempts" / f"{tag}.json")
            record["input_file_id"] = attempt.get("input_file_id", "")
        _write_json(self.dir / "batches" / f"{batch_id}.json", record)

    def _tag_from_results(self, batch_id: str) -> str | None:
        """The tag of the first tagged results line (None: no line has one: not synthlib's)."""

        def first() -> str | None:
            with self._results(batch_id) as lines:
                for custom_id, _ in lines:
                    found = untag(custom_id)
                    if found is not None:
                        return found[1]
            return None

        return self._call("read results", first)

    @contextlib.contextmanager
    def _results(self, batch_id: str) -> Iterator[Iterable[tuple[Any, Any]]]:
        """``(custom_id, result)`` of each results line, streamed (unreadable lines skipped)."""
        with self._client.messages.batches.with_streaming_response.results(batch_id) as response:

            def lines() -> Iterator[tuple[Any, Any]]:
                for raw in response.iter_lines():
                    try:
                        line = json.loads(raw)
                    except ValueError:
                        continue
                    if isinstance(line, dict):
                        yield line.get("custom_id"), line.get("result")

            yield lines()

    def _info(self, batch: Any) -> BatchInfo:
        counts = batch.request_counts
        succeeded, errored = counts.succeeded, counts.errored
        canceled, expired = counts.canceled, counts.expired
        status = {"in_progress": "in_progress", "canceling": "cancelling"}.get(
            batch.processing_status, "completed"
        )
        if batch.processing_status == "ended":
            status = "expired" if expired else "cancelled" if canceled else "completed"
        record = self._record(batch.id) or {}
        tag = record.get("tag")
        ended = batch.processing_status == "ended"
        return BatchInfo(
            id=batch.id,
            status=status,
            input_file_id=record.get("input_file_id", ""),
            created_at=int(batch.created_at.timestamp()),
            output_file_id=f"{RESULTS_PREFIX}{batch.id}" if ended else None,
            error_file_id=None,  # every result, billed or not, is in the one results file
            total=counts.processing + succeeded + errored + canceled + expired,
            completed=succeeded,
            failed=errored + canceled + expired,
            metadata=metadata_of(tag) if tag else {},
        )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    _write(path, json.dumps(data).encode())


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
