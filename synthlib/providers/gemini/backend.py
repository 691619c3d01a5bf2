"""Google's Gemini Batch API (Gemini Developer API, or a server that speaks it:
``GOOGLE_GEMINI_BASE_URL``) through the official ``google-genai`` SDK, behind the same
:class:`~synthlib.providers.base.Backend` as OpenAI's Batch API.

The engine writes OpenAI-format request files and reads OpenAI-format output lines; this adapter
translates at the edges, so ingest, cost and the store are the same for every provider:

* ``upload`` writes each line as ``{"key": custom_id, "request": GenerateContentRequest}`` (the
  system prompt as ``systemInstruction``, the user message as ``contents``, structured output as
  ``responseMimeType`` ``application/json`` with synthlib's strict schema as
  ``responseJsonSchema``, the request's output limit as ``maxOutputTokens``, its temperature)
  and uploads that file (display name: the engine's file name, so an upload whose answer was
  lost is found by listing files). The engine's own file is kept under ``state_dir`` by the
  uploaded file's id: Google serves no download of an uploaded file, and a batch found again by
  its tags is read back from it (its words, its model).
* ``create`` posts ``models/{model}:batchGenerateContent`` over the uploaded file with no SDK
  retries (a retried create that had taken effect would create, and bill, the batch twice); the
  batch's ``displayName`` carries the run's tags (as OpenAI's ``metadata``) and its input file,
  e.g. ``synthlib?run=run-0123456789ab&shard=s-3&words=10&requests=10&file=abc123``: batches
  carry them from creation, so a create whose answer was lost is found by listing
  (:attr:`metadata_before_end` True).
* ``download`` of a results file writes one OpenAI-format line per results line: a ``response``
  -> HTTP 200 with the answer's text as the message content and ``usageMetadata`` as
  ``prompt_tokens`` (``promptTokenCount``) and ``completion_tokens`` (``candidatesTokenCount``
  plus ``thoughtsTokenCount``: thinking is billed as output); ``finishReason`` ``MAX_TOKENS``
  -> ``finish_reason`` ``length`` (truncated); a prompt blocked (``promptFeedback
  .blockReason``) or an answer stopped for safety (``SAFETY``, ``PROHIBITED_CONTENT``,
  ``BLOCKLIST``, ``SPII``, ``RECITATION``...) -> ``content_filter`` (refused: retried once, then
  given up); an ``error`` -> its HTTP code, ``CANCELLED``/``DEADLINE_EXCEEDED`` of requests a
  cancelled or expired batch never ran -> ``batch_cancelled``/``batch_expired`` error lines.
  Lines for keys the batch did not ask (known from its kept input) are not written: they are
  not its requests, and are never billed to it.

A batch's id here is its name without ``batches/`` (the engine names spool files after it).

Thinking: 2.5 models think by default and their thinking counts against ``maxOutputTokens``.
Flash and Flash-Lite are asked for none (``thinkingBudget`` 0); Pro cannot turn it off, so it
gets the least budget (128), inside the request's output limit: the limit the run's cost cap
counts is the most a request can bill (a truncated answer is retried with a larger limit).

Status (the SDK's ``JOB_STATE_*``): ``PENDING``/``QUEUED`` -> ``validating``; ``RUNNING``,
``PAUSED``, ``UPDATING`` -> ``in_progress``; ``CANCELLING`` -> ``cancelling``; ``SUCCEEDED``
(and ``PARTIALLY_SUCCEEDED``) -> ``completed``; ``FAILED``, ``CANCELLED``, ``EXPIRED`` as named.
The SDK shows no request counts of a Gemini Developer API batch, so ``total`` is the count the
tags carry and ``completed``/``failed`` stay 0 until its results are read.

Errors (``google.genai.errors.APIError`` with ``.code``): 401, 403 and a key the API calls
invalid (400 ``API_KEY_INVALID``) are :class:`~.base.FatalError`, except that a missing, deleted
or expired file answers 403 (not 404) and is then gone like a 404 (:class:`~.base.RejectedError`
with status 404); 429 is :class:`~.base.TransientError`; other 4xx are rejected; 5xx and no
answer are :class:`~.base.UncertainError` for a call made once, else transient.

Nothing here ever puts the API key in a message or a return value.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ...core import schema
from ...core.errors import MissingKey
from ...core.limits import MB, BatchLimits
from ..base import (
    BatchInfo,
    Endpoint,
    FatalError,
    RejectedError,
    ServerClock,
    TransientError,
    UncertainError,
    account_fingerprint,
)

PROVIDER = "gemini"
KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")  # the SDK's order: the first set wins
URL_VARIABLE = "GOOGLE_GEMINI_BASE_URL"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
# reads, cancels and deletes: the SDK retries 408, 429 and 5xx with exponential waits (as the
# openai SDK's: from half a second, at most 8)
RETRY = {"attempts": 6, "initial_delay": 0.5, "max_delay": 8.0}
TIMEOUT_SECONDS = 120.0
FIRST_CALL_TIMEOUT_SECONDS = 20.0  # a run's first call: an API that is there answers at once
# "The maximum allowed file size for an input file is 2GB" (Batch API guide,
# ai.google.dev/gemini-api/docs/batch-api; the rate limits page says the same), taken as 2e9
# bytes, below 2 GiB. Google documents no most requests a batch may hold: 50,000 is synthlib's
# own cap (OpenAI's), which keeps a batch's words, its tokens enqueued at once (limited per
# model and tier, in figures AI Studio shows) and what one lost batch costs bounded
LIMITS = BatchLimits(requests=50_000, bytes=2_000 * MB)
PAGE_SIZE = 100
# Google documents no order of ``batches.list`` (nor of ``files.list``): pages are read to the end
# instead of stopping at the first batch older than what is looked for (the spec says so to the
# engine's searches)
LISTS_NEWEST_FIRST = False
BATCH_PREFIX = "batches/"  # of the API's batch names; a batch's id here is the rest
# The display name of a batch made by synthlib: this prefix, then its tags as a query string
TAG_PREFIX = "synthlib?"
# The longest display name a batch is given. Google documents no limit for a batch's display
# name (a file's is at most 512 characters), so synthlib keeps to a bound of its own that its
# tags always fit: a file id is at most 40 characters (Files API reference), a run id 16, and
# counts are bounded by the batch limits (see test_tags_fit_the_display_name_bound)
DISPLAY_NAME_MOST = 128
FILE_TAG = "synthlib_file"
REQUESTS_TAG = "synthlib_requests"
# Thinking: models that cannot turn it off get the least budget, inside their output limit
NO_THINKING = 0
LEAST_THINKING = 128
SAFETY_FINISH = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "MODEL_ARMOR",
    }
)
STATUS = {
    "JOB_STATE_QUEUED": "validating",
    "JOB_STATE_PENDING": "validating",
    "JOB_STATE_RUNNING": "in_progress",
    "JOB_STATE_PAUSED": "in_progress",
    "JOB_STATE_UPDATING": "in_progress",
    "JOB_STATE_CANCELLING": "cancelling",
    "JOB_STATE_SUCCEEDED": "completed",
    "JOB_STATE_PARTIALLY_SUCCEEDED": "completed",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_CANCELLED": "cancelled",
    "JOB_STATE_EXPIRED": "expired",
}
# A results line's error status for a request its batch never ran -> the engine's error code
UNRUN = {"CANCELLED": "batch_cancelled", "DEADLINE_EXCEEDED": "batch_expired"}


# --- tags in display names -------------------------------------------------------------------


def display_name(metadata: Mapping[str, str]) -> str:
    """A batch's display name carrying ``metadata`` (``synthlib_`` keys without the prefix)."""
    pairs = [(k.removeprefix("synthlib_"), str(v)) for k, v in metadata.items()]
    return TAG_PREFIX + urlencode(pairs)


def metadata_of(name: str | None) -> dict[str, str]:
    """The tags a display name made by :func:`display_name` carries ({} for any other name)."""
    if not name or not name.startswith(TAG_PREFIX):
        return {}
    try:
        pairs = parse_qsl(name.removeprefix(TAG_PREFIX), strict_parsing=True)
    except ValueError:
        return {}
    return {f"synthlib_{k}": v for k, v in pairs}


# --- requests --------------------------------------------------------------------------------


def thinking_budget(model: str) -> int:
    """The thinking budget asked of ``model``: none where it can be turned off (Flash,
    Flash-Lite), the least allowed on Pro models, which always think."""
    return LEAST_THINKING if "-pro" in model else NO_THINKING


def to_request(body: Mapping[str, Any], response_schema: Mapping[str, Any]) -> dict[str, Any]:
    """A ``GenerateContentRequest`` for one OpenAI-format request ``body``."""
    messages = body.get("messages") or []
    system = [str(m["content"]) for m in messages if m.get("role") == "system"]
    contents = [
        {
            "role": "model" if m.get("role") == "assistant" else "user",
            "parts": [{"text": str(m["content"])}],
        }
        for m in messages
        if m.get("role") != "system"
    ]
    model = str(body.get("model", ""))
    budget = thinking_budget(model)
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    config: dict[str, Any] = {
        "responseMimeType": "application/json",
        "responseJsonSchema": response_schema,
        "thinkingConfig": {"thinkingBudget": budget},
    }
    if limit:
        config["maxOutputTokens"] = int(limit)  # thinking included: what the cap counts
    if "temperature" in body:
        config["temperature"] = body["temperature"]
    request: dict[str, Any] = {"contents": contents, "generationConfig": config}
    if system:
        request["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    return request


def to_input_line(line: Mapping[str, Any], response_schema: Mapping[str, Any]) -> dict[str, Any]:
    """The Gemini input line (``{"key", "request"}``) of one OpenAI-format input line."""
    return {"key": line["custom_id"], "request": to_request(line["body"], response_schema)}


# --- results ---------------------------------------------------------------------------------


def to_output_line(line: Any) -> dict[str, Any] | None:
    """The OpenAI-format output or error line of one results line (None: not a results line)."""
    if not isinstance(line, dict) or "key" not in line:
        return None
    custom_id = line["key"]
    response = line.get("response")
    if isinstance(response, dict):
        return {"custom_id": custom_id, "response": _answer(response), "error": None}
    error = found if isinstance(found := line.get("error"), dict) else {}
    status = str(error.get("status") or "")
    message = str(error.get("message") or "")
    if status in UNRUN:
        return {
            "custom_id": custom_id,
            "response": None,
            "error": {"code": UNRUN[status], "message": message},
        }
    try:
        code = int(error.get("code") or 500)
    except (TypeError, ValueError):
        code = 500
    body = {"error": {"code": status or "error", "message": message}}
    response_line = {"status_code": code, "request_id": None, "body": body}
    return {"custom_id": custom_id, "response": response_line, "error": None}


def _answer(response: dict[str, Any]) -> dict[str, Any]:
    candidates = response.get("candidates")
    first = candidates[0] if isinstance(candidates, list) and candidates else {}
    first = first if isinstance(first, dict) else {}
    content = found if isinstance(found := first.get("content"), dict) else {}
    parts = found if isinstance(found := content.get("parts"), list) else []
    text = "".join(
        str(p.get("text") or "") for p in parts if isinstance(p, dict) and not p.get("thought")
    )
    finish = str(first.get("finishReason") or "")
    feedback = response.get("promptFeedback")
    blocked = feedback.get("blockReason") if isinstance(feedback, dict) else None
    if blocked:
        reason = "content_filter"
    elif finish == "MAX_TOKENS":
        reason = "length"
    elif finish in SAFETY_FINISH:
        reason = "content_filter"
    else:
        reason = "stop"
    usage = response.get("usageMetadata")
    usage = usage if isinstance(usage, dict) else {}
    prompt = int(usage.get("promptTokenCount") or 0)
    cached = int(usage.get("cachedContentTokenCount") or 0)
    output = int(usage.get("candidatesTokenCount") or 0) + int(usage.get("thoughtsTokenCount") or 0)
    body = {
        "id": response.get("responseId"),
        "object": "chat.completion",
        "model": response.get("modelVersion"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text or None, "refusal": None},
                "finish_reason": reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": output,
            "total_tokens": prompt + output,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }
    return {"status_code": 200, "request_id": response.get("responseId"), "body": body}


# --- the backend -----------------------------------------------------------------------------


class GeminiBackend:
    """The Gemini Batch API over HTTP. ``state_dir`` keeps the engine's input files by uploaded
    file id. ``api_key`` and ``base_url`` default to the environment's (``GOOGLE_API_KEY``, then
    ``GEMINI_API_KEY``; ``GOOGLE_GEMINI_BASE_URL``); ``retry`` overrides the SDK's retry
    options of repeatable calls (``google.genai.types.HttpRetryOptions`` fields);
    ``client_args`` go to the SDK's ``httpx.Client`` (a transport, say)."""

    provider = PROVIDER
    metadata_before_end = True  # the display name carries the tags from creation

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        retry: Mapping[str, Any] | None = None,
        client_args: Mapping[str, Any] | None = None,
    ) -> None:
        from google import genai
        from google.genai import errors, types

        key = api_key or next((os.environ[v] for v in KEY_VARIABLES if os.environ.get(v)), "")
        if not key:
            raise MissingKey("gemini", "GOOGLE_API_KEY (or GEMINI_API_KEY)")
        self._key = key
        self.base_url = (base_url or os.environ.get(URL_VARIABLE) or DEFAULT_BASE_URL).rstrip("/")
        self._types = types
        self._errors = errors
        self.clock = ServerClock()  # the API's clock, from the Date header of its answers
        retry_options = types.HttpRetryOptions(**{**RETRY, **(retry or {})})
        given_args: dict[str, Any] = dict(client_args or {})
        # every answer's Date header sets the API's clock (a create's time is journalled on it)
        hooks = dict(given_args.pop("event_hooks", None) or {})
        hooks["response"] = [*hooks.get("response", ()), self._noted]
        self._client = genai.Client(
            api_key=key,
            http_options=types.HttpOptions(
                base_url=self.base_url,
                timeout=int(TIMEOUT_SECONDS * 1000),
                retry_options=retry_options,
                client_args={**given_args, "event_hooks": hooks},
            ),
        )
        # one attempt only: a retry of a call that took effect would pay twice
        self._once = types.HttpOptions(
            retry_options=types.HttpRetryOptions(attempts=1), timeout=int(TIMEOUT_SECONDS * 1000)
        )
        self._first = types.HttpOptions(
            retry_options=types.HttpRetryOptions(attempts=1),
            timeout=int(FIRST_CALL_TIMEOUT_SECONDS * 1000),
        )
        self.dir = Path(state_dir)
        (self.dir / "files").mkdir(parents=True, exist_ok=True)
        # results file -> the input file of its batch, as the batch's tags say (seen when the
        # batch was read, which the engine always does before it downloads its results)
        self._input_of: dict[str, str] = {}

    # --- where the API is ------------------------------------------------------------------------

    @property
    def api_location(self) -> str:
        """The base URL the batches are bought at (part of what a word is bought as)."""
        return self.base_url

    @property
    def account(self) -> str:
        """A fingerprint of the key's account (never the key)."""
        return account_fingerprint(self._key)

    def server_time(self) -> float:
        return self.clock.now()

    def endpoint(self) -> Endpoint:
        """Where the API is, as ``GOOGLE_GEMINI_BASE_URL`` sets it (Google's otherwise)."""
        hint = ""
        if self.base_url.endswith(("/v1beta", "/v1")):  # the SDK adds the version itself
            root = self.base_url.rsplit("/", 1)[0]
            hint = f"{URL_VARIABLE} ends in an API version, which the SDK adds: try {root}"
        return Endpoint("the Gemini Batch API", self.base_url, URL_VARIABLE, "GOOGLE_API_KEY", hint)

    def location(self) -> dict[str, str]:
        """The base URL (Google names no organisation or project in its answers; the key's
        project is the account). One attempt, with a short timeout: this is a run's first call,
        which the engine repeats within a bounded time (:mod:`synthlib.engine.reach`)."""
        self._call(
            "list batches",
            self._client.batches.list,
            config={"page_size": 1, "http_options": self._first},
        )
        return {"base_url": self.base_url}

    def _noted(self, response: Any) -> None:
        self.clock.note(response.headers)

    # --- errors --------------------------------------------------------------------------------

    def _call(
        self,
        what: str,
        fn: Any,
        *args: Any,
        once: bool = False,
        of_file: bool = False,
        **kw: Any,
    ) -> Any:
        """``fn(*args, **kw)`` with the SDK's errors sorted by what the engine should do (see
        the module docstring); ``of_file``: a 403 means the file is gone."""
        try:
            return fn(*args, **kw)
        except self._errors.APIError as exc:
            raise self._sorted(what, exc, once=once, of_file=of_file) from None
        except Exception as exc:  # httpx's transport errors, the SDK's upload giving up
            if not _no_answer(exc):
                raise
            kind = UncertainError if once else TransientError
            raise kind(f"{what}: no answer ({_describe_no_answer(exc, self.base_url)})") from None

    def _sorted(self, what: str, exc: Any, *, once: bool, of_file: bool) -> Exception:
        code = int(getattr(exc, "code", 0) or 0)
        status = str(getattr(exc, "status", "") or "")
        message = str(getattr(exc, "message", "") or status or type(exc).__name__)
        text = f"{what}: HTTP {code} {status}: {message}".replace("  ", " ")
        invalid_key = code == 400 and "API_KEY_INVALID" in json.dumps(
            getattr(exc, "details", None), default=str
        )
        error: Exception
        if code == 403 and of_file:
            error = RejectedError(f"{text} (a file that does not exist, or no longer)")
            error.status = 404  # gone, like a 404
        elif code in (401, 403) or invalid_key:
            error = FatalError(text)
            error.status = 401 if invalid_key else code
        elif code == 429:
            error = TransientError(text)
            error.status = code
        elif 400 <= code < 500:
            error = RejectedError(text)
            error.status = code
        else:
            error = (UncertainError if once else TransientError)(text)
            error.status = code or None
        return error

    # --- files ---------------------------------------------------------------------------------

    def _kept(self, file_id: str) -> Path:
        """Where the engine's own input file for uploaded ``file_id`` is kept."""
        return self.dir / "files" / f"{file_id.removeprefix('files/')}.jsonl"

    def _pending(self, filename: str) -> Path:
        return self.dir / "files" / f"pending.{filename}"

    def upload(self, path: Path) -> str:
        path = Path(path)
        pending = self._pending(path.name)
        _copy(path, pending)
        converted = self.dir / "files" / f"upload.{path.name}"
        response_schema = schema.response_schema()
        with open(path, encoding="utf-8") as src, open(converted, "w", encoding="utf-8") as out:
            for raw in src:
                if raw.strip():
                    line = to_input_line(json.loads(raw), response_schema)
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
        size = converted.stat().st_size
        if size > LIMITS.bytes:  # checked as sent: Gemini lines are not the engine's lines
            converted.unlink(missing_ok=True)
            pending.unlink(missing_ok=True)
            raise RejectedError(
                f"upload: {path.name} is {size} bytes as Gemini input lines, more than the "
                f"{LIMITS.bytes} an input file may hold"
            )
        try:
            uploaded = self._call(
                "upload",
                self._client.files.upload,
                file=str(converted),
                config={
                    "mime_type": "jsonl",
                    "display_name": path.name,
                    "http_options": self._once,
                },
                once=True,
            )
        except UncertainError:
            raise  # the file may have arrived: find_upload looks for it by name
        except Exception:
            pending.unlink(missing_ok=True)
            raise
        finally:
            converted.unlink(missing_ok=True)
        name = str(uploaded.name)
        pending.replace(self._kept(name))
        return name

    def find_upload(self, filename: str, since: float) -> str | None:
        """The name of a file uploaded as ``filename`` at or after ``since`` (epoch seconds):
        an upload whose answer was lost may still have arrived."""
        pager = self._call("list files", self._client.files.list, config={"page_size": 100})
        while True:
            for item in pager.page:
                created = _epoch(getattr(item, "create_time", None))
                if item.display_name == filename and (not created or created >= since):
                    pending = self._pending(filename)
                    if pending.exists():
                        pending.replace(self._kept(str(item.name)))
                    return str(item.name)
                if created and created < since and LISTS_NEWEST_FIRST:
                    return None  # the rest are older
            try:
                self._call("list files", pager.next_page)
            except IndexError:
                return None

    def download(self, file_id: str, dest: Path) -> None:
        """Write a file's content to ``dest``: an input file (kept here when uploaded) as the
        engine wrote it; a results file as OpenAI-format lines, only those of keys its batch
        asked when its input is known here (a line for a key the batch did not ask is not one
        of its requests: never billed to it)."""
        kept = self._kept(file_id)
        if kept.exists():
            _copy(kept, Path(dest))
            return
        asked = self._keys(self._input_of.get(file_id))
        raw = Path(dest).with_name(Path(dest).name + ".gemini")
        try:
            self._call(
                "download",
                self._client.files.download,
                file=file_id,
                destination=str(raw),
                of_file=True,
            )
            with open(raw, "rb") as src, open(dest, "wb") as out:
                for line in src:
                    converted = _convert(line)
                    if converted is None:
                        continue
                    if asked is None or converted.get("custom_id") in asked:
                        out.write(json.dumps(converted, ensure_ascii=False).encode() + b"\n")
        finally:
            raw.unlink(missing_ok=True)

    def _keys(self, input_file_id: str | None) -> set[str] | None:
        """The keys of the requests in an input file kept here (None: not known here)."""
        if not input_file_id:
            return None
        try:
            with open(self._kept(input_file_id), encoding="utf-8") as fh:
                return {json.loads(raw)["custom_id"] for raw in fh if raw.strip()}
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def delete_file(self, file_id: str) -> None:
        self._kept(file_id).unlink(missing_ok=True)
        # already gone is fine: a retried delete whose first answer was lost, or an expired file
        with contextlib.suppress(RejectedError):
            self._call("delete file", self._client.files.delete, name=file_id, of_file=True)

    # --- batches -------------------------------------------------------------------------------

    def create(self, input_file_id: str, metadata: Mapping[str, str]) -> BatchInfo:
        model, requests = self._model_and_count(input_file_id)
        tags = {
            **metadata,
            REQUESTS_TAG: str(requests),
            FILE_TAG: input_file_id.removeprefix("files/"),
        }
        name = display_name(tags)
        if len(name) > DISPLAY_NAME_MOST:  # never sent: nothing is bought
            raise RejectedError(
                f"create batch: its tags make a display name of {len(name)} characters, more "
                f"than the {DISPLAY_NAME_MOST} synthlib keeps to"
            )
        batch = self._call(
            "create batch",
            self._client.batches.create,
            model=model,
            src=input_file_id,
            config={"display_name": name, "http_options": self._once},
            once=True,
        )
        return self._info(batch)

    def _model_and_count(self, input_file_id: str) -> tuple[str, int]:
        kept = self._kept(input_file_id)
        model, count = "", 0
        try:
            with open(kept, encoding="utf-8") as fh:
                for raw in fh:
                    if raw.strip():
                        count += 1
                        model = model or str(json.loads(raw)["body"]["model"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RejectedError(f"input file {input_file_id} is not known here ({exc})") from None
        if not model:
            raise RejectedError(f"input file {input_file_id} holds no request")
        return model, count

    def retrieve(self, batch_id: str) -> BatchInfo:
        batch = self._call("retrieve batch", self._client.batches.get, name=_batch_name(batch_id))
        return self._info(batch)

    def list(self) -> Iterator[BatchInfo]:
        pager = self._call(
            "list batches", self._client.batches.list, config={"page_size": PAGE_SIZE}
        )
        while True:
            for batch in pager.page:
                yield self._info(batch)
            try:
                self._call("list batches", pager.next_page)
            except IndexError:
                return

    def cancel(self, batch_id: str) -> BatchInfo:
        try:
            self._call("cancel batch", self._client.batches.cancel, name=_batch_name(batch_id))
        except RejectedError as exc:
            if exc.status != 400:
                raise
            # FAILED_PRECONDITION: it has ended already; its status says how
        return self.retrieve(batch_id)

    def _info(self, batch: Any) -> BatchInfo:
        tags = metadata_of(getattr(batch, "display_name", None))
        state = getattr(batch, "state", None)
        state_name = str(getattr(state, "value", state) or "")
        status = STATUS.get(state_name, "in_progress")
        dest = getattr(batch, "dest", None)
        output = getattr(dest, "file_name", None) if dest is not None else None
        file_tag = tags.pop(FILE_TAG, "")
        try:
            total = int(tags.pop(REQUESTS_TAG, "0"))
        except ValueError:
            total = 0
        input_file_id = f"files/{file_tag}" if file_tag else ""
        if output and input_file_id:
            self._input_of[output] = input_file_id
        return BatchInfo(
            id=str(batch.name).removeprefix(BATCH_PREFIX),
            status=status,
            input_file_id=input_file_id,
            created_at=int(_epoch(getattr(batch, "create_time", None))),
            output_file_id=output if status in ("completed", "cancelled", "expired") else None,
            error_file_id=None,  # every result, answered or not, is in the one results file
            total=total,
            counted=False,  # a Gemini batch reports no counts of requests done
            metadata=tags,
        )


def _batch_name(batch_id: str) -> str:
    """The SDK's name of a batch (``batches/<id>``) from its id here (path-safe: the engine
    names spool files after it)."""
    return batch_id if batch_id.startswith(BATCH_PREFIX) else BATCH_PREFIX + batch_id


def _convert(raw: bytes) -> dict[str, Any] | None:
    """One line of a downloaded file as the engine reads it: a results line as an OpenAI-format
    output line; an input line (``key`` and ``request``) as ``{"custom_id", "body"}``."""
    try:
        line = json.loads(raw)
    except ValueError:
        return None
    if isinstance(line, dict) and "request" in line and "response" not in line:
        return {"custom_id": line.get("key"), "body": line.get("request")}
    return to_output_line(line)


def _epoch(when: datetime | None) -> float:
    return when.timestamp() if isinstance(when, datetime) else 0.0


def _no_answer(exc: BaseException) -> bool:
    """Whether ``exc`` says no answer came (a transport error of httpx, or the SDK's upload
    giving up on a session that never finalised)."""
    module = type(exc).__module__ or ""
    if module.startswith("httpx"):
        return True
    return isinstance(exc, ValueError) and "upload" in str(exc).lower()


def _describe_no_answer(exc: BaseException, base_url: str) -> str:
    text = f"{type(exc).__name__}: {exc}".lower()
    where = base_url.split("://", 1)[-1].split("/", 1)[0]
    if "timed out" in text or "timeout" in text:
        return f"timed out waiting for {where}"
    if "refused" in text:
        return f"connection refused by {where}"
    return f"{type(exc).__name__} from {where}"


def _copy(src: Path, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    with open(src, "rb") as fh, open(tmp, "wb") as out:
        while chunk := fh.read(1 << 20):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, dest)
