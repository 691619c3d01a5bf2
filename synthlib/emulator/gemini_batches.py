"""Google's Gemini Batch API (Gemini Developer API, REST ``v1beta``/``v1``), independent of HTTP.

Facts, from the Gemini API docs (Batch Mode, Files API, errors) and the ``google-genai`` SDK's own
source (``files.py``, ``batches.py``, ``_api_client.py``), as of 2026:

* Files: the SDK uploads with Google's resumable protocol. ``POST /upload/{v}/files`` with
  ``X-Goog-Upload-Protocol: resumable``, ``X-Goog-Upload-Command: start``, the size and type in
  ``X-Goog-Upload-Header-Content-Length``/``-Type`` and ``{"file": {"display_name", ...}}`` as the
  body is answered with an empty body and an ``x-goog-upload-url`` header; the bytes go to that
  URL (no API key on it: the URL is the credential) with ``X-Goog-Upload-Command: upload`` (or
  ``upload, finalize`` for the last chunk) and ``X-Goog-Upload-Offset``; the finalizing answer is
  ``{"file": File}`` with ``x-goog-upload-status: final``. A ``File`` is ``{name: "files/<id>",
  displayName, mimeType, sizeBytes (int64 as a string), createTime, updateTime, expirationTime
  (48 h later), sha256Hash, uri, downloadUri (generated files only), state: "ACTIVE", source:
  "UPLOADED" | "GENERATED"}``; a ``displayName`` over 512 characters is 400 ``INVALID_ARGUMENT``
  (the documented limit). ``GET files/{id}``, ``DELETE files/{id}`` (``{}``), ``GET
  files/{id}:download?alt=media`` (also under ``/download/{v}/``), ``GET files`` (``pageSize``
  1-100, default 10, ``pageToken``; ``{files, nextPageToken}``). A file that does not exist, was
  deleted or has expired answers 403 ``PERMISSION_DENIED`` as the real API does
  (``gemini_missing_file_status`` = 404 answers ``NOT_FOUND`` instead).
* Batches: ``POST models/{model}:batchGenerateContent`` with ``{"batch": {"displayName",
  "inputConfig": {"fileName": "files/<id>"} | {"requests": {"requests": [{"request",
  "metadata"}]}}}}`` (inline requests: at most ``gemini_max_inline_bytes``, 20 MB, of body). A
  file holds one ``{"key", "request"}`` JSON object a line, ``request`` a
  ``GenerateContentRequest`` (see :mod:`.gemini_answers`). The answer is an Operation
  ``{name: "batches/<id>", metadata: GenerateContentBatch, done?, response?, error?}``; the
  metadata has ``@type``, ``name``, ``model`` (``models/...``), ``displayName``, ``inputConfig``
  (file batches), ``createTime``, ``updateTime``, ``endTime`` (once ended), ``state``
  (``BATCH_STATE_PENDING`` | ``RUNNING`` | ``SUCCEEDED`` | ``FAILED`` | ``CANCELLED`` |
  ``EXPIRED``, which the SDK shows as ``JOB_STATE_*``), ``batchStats`` (``requestCount``,
  ``successfulRequestCount``, ``failedRequestCount``, ``pendingRequestCount``: int64 strings,
  zeros left out as proto JSON does) and, once ended with results, ``output``
  (``{"responsesFile": "files/batch-<id>"}`` or ``{"inlinedResponses": {"inlinedResponses":
  [{"response" | "error", "metadata"}]}}`` in request order). ``GET batches/{id}``; ``GET
  batches`` (``pageSize`` 1-1000, default 50, larger sizes clamped; ``pageToken``) lists as
  ``{operations, nextPageToken}``, in an order Google does not document (newest first here;
  ``gemini_oldest_first`` reverses it, and the file listing's); ``POST batches/{id}:cancel``
  and ``DELETE batches/{id}`` answer ``{}``. The results file has one line per request, in
  no particular order: ``{"key", "response": GenerateContentResponse}`` or ``{"key", "error":
  {code, message, status}}``. Only ``response`` lines are billed, at half the standard price.

Emulator choices where the docs are silent: cancelling an ended batch is 400
``FAILED_PRECONDITION``; deleting a batch that has not ended does not cancel it (the docs say so
of operations): the emulator bills at once everything it would have run, as if it had run to
its end, and forgets it. A batch that is still pending or running ``gemini_expiry_seconds``
(48 h) after creation ends ``EXPIRED``. A cancelled or expired batch (``expire_rate`` draws the
latter half-way, as on the other providers) keeps the results of the requests that ran, the
others getting ``CANCELLED`` (499) or ``DEADLINE_EXCEEDED`` (504) error lines; with
``gemini_partial_results`` false it has no output at all, though what ran is billed anyway. The
Batch API guide says an expired job (running or pending over 48 hours) "will not have any
results to retrieve", which ``gemini_partial_results`` false emulates; whether what ran before
it expired is billed is not documented (billed here: the case a run cannot see).

Timeline: :mod:`.lifecycle` on the shared clock and settings (pending for
``validating_seconds``, running ``seconds_per_request`` a request plus ``finalizing_seconds``,
cancelling for ``cancelling_seconds``), ``stall`` included; the fault rates of the other
providers apply (``error_rate``, ``truncate_rate``, ``refusal_rate`` as safety blocks,
``no_output_rate``, the odd-entry rates, and ``duplicate_line_rate``, ``conflicting_line_rate``,
``bogus_custom_id_rate`` adding unbilled lines to results files).

State lives under ``<state dir>/gemini/`` (``counters.json``, ``files/<id>.json`` and ``.data``,
``batches/<id>.json``, the normalised requests as ``<id>.input`` and inline results as
``<id>.results``); upload sessions live in memory only. Billed requests go to the emulator's one
ledger with ``"provider": "gemini"``, ``batch_id`` the batch's name (``batches/<id>``) and
``custom_id`` the request's key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import faults, lifecycle
from .anthropic_batches import rfc3339
from .api import batch_plan
from .config import DEFAULT_PROJECT, EmulatorConfig
from .errors import ApiError
from .execution import HUGE_CUSTOM_ID, execution_order, failed_positions
from .gemini_answers import GeminiAnswerer, GeminiFaults, error_object
from .gemini_answers import field as get_field
from .lifecycle import Record
from .store import StateDir, _json_bytes, _write_atomic

PROVIDER = "gemini"
FILE_TTL_SECONDS = 48 * 3600
BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"
FILES_PAGE_DEFAULT, FILES_PAGE_MOST = 10, 100
# A file's display name: "no more than 512 characters in length" (Files API reference)
FILE_DISPLAY_NAME_MOST = 512
BATCHES_PAGE_DEFAULT, BATCHES_PAGE_MOST = 50, 1000
CONFLICT_MESSAGE = "Internal error encountered. (emulated)"
_UNRUN = {
    "cancelled": (499, "The batch was cancelled before this request ran.", "CANCELLED"),
    "expired": (504, "The batch expired before this request ran.", "DEADLINE_EXCEEDED"),
}

# The ``status`` of Google's error body by HTTP status.
STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class GoogleError(ApiError):
    """An error answered in Google's shape: ``{"error": {"code", "message", "status"}}`` (plus
    ``details`` when given)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        google_status: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        kind = google_status or STATUSES.get(status, "UNKNOWN")
        super().__init__(status, message, type=kind, headers=headers)
        self.details = details

    @classmethod
    def from_api_error(cls, error: ApiError) -> GoogleError:
        """The same failure (status, message, headers) in Google's shape."""
        if isinstance(error, GoogleError):
            return error
        return cls(error.status, error.message, headers=error.headers)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.status, "message": self.message, "status": self.type}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid(message: str) -> GoogleError:
    return GoogleError(400, message)


def batch_not_found(batch_id: str) -> GoogleError:
    return GoogleError(
        404, f"Batch batches/{batch_id} not found. (Requested entity was not found.)"
    )


def file_not_found(file_id: str, status: int) -> GoogleError:
    """What a read of a missing, deleted or expired file answers (403 like the real API)."""
    if status == 404:
        return GoogleError(
            404, f"File files/{file_id} not found. (Requested entity was not found.)"
        )
    return GoogleError(
        403, f"You do not have permission to access the File {file_id} or it may not exist."
    )


def _id36(size: int, *keys: str) -> str:
    """``size`` lower-case base-36 characters fixed by ``keys`` (the shape of real ids)."""
    digest = hashlib.blake2b("\x1f".join(keys).encode("utf-8"), digest_size=32).digest()
    n = int.from_bytes(digest, "big")
    chars = []
    for _ in range(size):
        n, r = divmod(n, 36)
        chars.append("0123456789abcdefghijklmnopqrstuvwxyz"[r])
    return "".join(chars)


def _int64(value: int) -> str:
    return str(int(value))


# -- the timeline ------------------------------------------------------------------------------

_STATES = {
    "validating": "BATCH_STATE_PENDING",
    "in_progress": "BATCH_STATE_RUNNING",
    "finalizing": "BATCH_STATE_RUNNING",
    "completed": "BATCH_STATE_SUCCEEDED",
    "failed": "BATCH_STATE_FAILED",
    "expired": "BATCH_STATE_EXPIRED",
    "cancelled": "BATCH_STATE_CANCELLED",
}
_ENDINGS = {
    "completed": ("done", "completed_at"),
    "failed": ("failed", "failed_at"),
    "expired": ("expired", "expired_at"),
    "cancelled": ("cancelled", "cancelled_at"),
}


@dataclass(frozen=True)
class GeminiState:
    """A batch at one moment: ``executed`` requests ran (execution order), ``failed`` of them
    with an error line; once ended, ``ending`` is ``done``, ``failed``, ``cancelled`` or
    ``expired``."""

    state: str
    executed: int
    failed: int
    updated_at: float
    ended_at: float | None = None
    ending: str | None = None
    stamps: dict[str, int] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.ending is not None


def evaluate(record: Record, now: float) -> GeminiState:
    """The batch at wall time ``now``: :func:`.lifecycle.evaluate` in Gemini's states, ended
    ``EXPIRED`` if not over ``expiry_seconds`` after creation."""
    expires_at = record["created_at"] + record["plan"]["expiry_seconds"]
    if now >= expires_at:
        at_expiry = lifecycle.evaluate(record, expires_at)
        if not at_expiry.settled:
            stamps = {**at_expiry.timestamps, "expired_at": int(expires_at)}
            return GeminiState(
                "BATCH_STATE_EXPIRED",
                at_expiry.executed,
                at_expiry.failed,
                expires_at,
                expires_at,
                "expired",
                stamps,
            )
    s = lifecycle.evaluate(record, now)
    stamps = dict(s.timestamps)
    updated = max([record["created_at"], *(float(t) for t in stamps.values())])
    if s.status == "cancelling":
        state = "BATCH_STATE_RUNNING" if "in_progress_at" in stamps else "BATCH_STATE_PENDING"
        return GeminiState(state, s.executed, s.failed, updated, stamps=stamps)
    if s.status in _ENDINGS:
        ending, stamp = _ENDINGS[s.status]
        ended_at = float(stamps[stamp])
        return GeminiState(
            _STATES[s.status], s.executed, s.failed, updated, ended_at, ending, stamps
        )
    return GeminiState(_STATES[s.status], s.executed, s.failed, updated, stamps=stamps)


def _plan(config: EmulatorConfig, batch_id: str) -> dict[str, Any]:
    """The other providers' batch plan, plus Gemini's own settings."""
    return {
        **batch_plan(config, batch_id),
        "expiry_seconds": config.gemini_expiry_seconds,
        "partial_results": config.gemini_partial_results,
        "thinking_tokens": config.gemini_thinking_tokens,
    }


def _answer_faults(plan: Mapping[str, Any]) -> GeminiFaults:
    return GeminiFaults(
        seed=plan["seed"],
        error_rate=plan["error_rate"],
        truncate_rate=plan["truncate_rate"],
        refusal_rate=plan["refusal_rate"],
        no_output=plan["no_output"],
        extra_entry_rate=plan["extra_entry_rate"],
        duplicate_entry_rate=plan["duplicate_entry_rate"],
        long_entry_rate=plan["long_entry_rate"],
        long_entry_factor=plan["long_entry_factor"],
        thinking_tokens=plan["thinking_tokens"],
    )


# -- storage -----------------------------------------------------------------------------------


class _Store:
    """Gemini files and batches under ``<state dir>/gemini``; callers serialise writers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = root / "files"
        self.batches = root / "batches"

    def new_id(self, kind: str, seed: int, size: int) -> tuple[str, int]:
        self.files.mkdir(parents=True, exist_ok=True)
        self.batches.mkdir(parents=True, exist_ok=True)
        path = self.root / "counters.json"
        counters = json.loads(path.read_bytes()) if path.exists() else {}
        number = counters.get(kind, 0) + 1
        counters[kind] = number
        _write_atomic(path, _json_bytes(counters))
        return _id36(size, str(seed), "gemini", kind, str(number)), number

    @staticmethod
    def _load(folder: Path) -> dict[str, Record]:
        if not folder.exists():
            return {}
        records = (json.loads(p.read_bytes()) for p in folder.glob("*.json"))
        return {r["id"]: r for r in records}

    def load_files(self) -> dict[str, Record]:
        return self._load(self.files)

    def load_batches(self) -> dict[str, Record]:
        return self._load(self.batches)

    def save_file(self, record: Record, data: bytes | None = None) -> None:
        self.files.mkdir(parents=True, exist_ok=True)
        if data is not None:
            _write_atomic(self.files / f"{record['id']}.data", data)
        _write_atomic(self.files / f"{record['id']}.json", _json_bytes(record))

    def read_file(self, file_id: str) -> bytes:
        return (self.files / f"{file_id}.data").read_bytes()

    def delete_file(self, file_id: str) -> None:
        (self.files / f"{file_id}.json").unlink(missing_ok=True)
        (self.files / f"{file_id}.data").unlink(missing_ok=True)

    def save_batch(self, record: Record) -> None:
        _write_atomic(self.batches / f"{record['id']}.json", _json_bytes(record))

    def write(self, batch_id: str, kind: str, data: bytes) -> None:
        _write_atomic(self.batches / f"{batch_id}.{kind}", data)

    def read(self, batch_id: str, kind: str) -> bytes:
        return (self.batches / f"{batch_id}.{kind}").read_bytes()

    def delete_batch(self, batch_id: str) -> None:
        for kind in ("results", "input", "json"):
            (self.batches / f"{batch_id}.{kind}").unlink(missing_ok=True)


@dataclass
class _Upload:
    """A resumable upload session (kept in memory)."""

    project: str
    size: int | None
    mime_type: str
    display_name: str | None
    data: bytearray = field(default_factory=bytearray)
    file_id: str | None = None  # set once finalised


# -- the API -----------------------------------------------------------------------------------


class GeminiBatches:
    """Gemini Files and Batch operations over a :class:`StateDir` the caller has acquired.

    Every method returns the JSON-ready object (or bytes) the HTTP endpoint sends, or raises
    :class:`GoogleError`. ``config`` gives the settings now in force, ``clock`` the time in
    seconds. ``origin`` (``http://host:port`` as the client addressed the server) and
    ``version`` (``v1beta`` or ``v1``, as in the request's path) make a file's ``uri``.
    ``project`` scopes what a caller sees, as in :class:`~.api.Api`. Thread-safe.
    """

    def __init__(
        self,
        state: StateDir,
        config: Callable[[], EmulatorConfig],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._config = config
        self._clock = clock
        self._store = _Store(state.root / "gemini")
        self._lock = threading.RLock()
        self._settling: dict[str, threading.Lock] = {}
        self._files = self._store.load_files()
        self._batches = self._store.load_batches()
        self._uploads: dict[str, _Upload] = {}
        names = {f"batches/{batch_id}" for batch_id in self._batches}
        self._billed = {name for name in state.billed_batch_ids() if name in names}

    # -- files ---------------------------------------------------------------------------------

    def start_upload(
        self,
        body: Any,
        *,
        size: str | None,
        mime_type: str | None,
        project: str | None,
    ) -> str:
        """``POST /upload/{v}/files`` (``X-Goog-Upload-Command: start``): a new upload session's
        id, to be put in the ``x-goog-upload-url``."""
        meta = get_field(body, "file") if isinstance(body, Mapping) else None
        meta = meta if isinstance(meta, Mapping) else {}
        declared = size if size is not None else get_field(meta, "sizeBytes")
        try:
            expected = None if declared is None else int(declared)
        except (TypeError, ValueError):
            raise invalid(f"Invalid upload size: {declared!r}") from None
        display = get_field(meta, "displayName")
        if isinstance(display, str) and len(display) > FILE_DISPLAY_NAME_MOST:
            raise invalid(
                f"* File.display_name: must be no more than {FILE_DISPLAY_NAME_MOST} characters"
            )
        mime = mime_type or get_field(meta, "mimeType")
        if not mime:
            raise invalid("Upload has no mime type. Set X-Goog-Upload-Header-Content-Type.")
        upload_id = "up" + uuid.uuid4().hex
        with self._lock:
            self._uploads[upload_id] = _Upload(
                project or DEFAULT_PROJECT, expected, str(mime), get_field(meta, "displayName")
            )
        return upload_id

    def upload_chunk(
        self,
        upload_id: str,
        *,
        command: str,
        offset: str | None,
        data: bytes,
        origin: str,
        version: str,
    ) -> tuple[str, dict[str, Any] | None]:
        """A chunk sent to an upload URL: ``("active", None)`` until ``finalize``, then
        ``("final", {"file": File})``. A finalised session answers its file again."""
        commands = {c.strip() for c in command.split(",")}
        with self._lock:
            upload = self._uploads.get(upload_id)
        if upload is None:
            raise GoogleError(404, "Upload session not found. (emulated)")
        if upload.file_id is not None:  # a retry after a lost answer: the same file
            return "final", {
                "file": self._file_object(self._files[upload.file_id], origin, version)
            }
        if "upload" in commands:
            at = int(offset) if offset not in (None, "") else len(upload.data)
            if at != len(upload.data):
                raise invalid(
                    f"Invalid upload offset {at}: {len(upload.data)} bytes were received so far."
                )
            upload.data.extend(data)
        if "finalize" not in commands:
            return "active", None
        if upload.size is not None and upload.size != len(upload.data):
            raise invalid(
                f"Upload size mismatch: {upload.size} bytes were announced, "
                f"{len(upload.data)} received."
            )
        record = self._add_file(
            bytes(upload.data), upload.mime_type, upload.display_name, "UPLOADED", upload.project
        )
        upload.file_id = record["id"]
        upload.data = bytearray()
        return "final", {"file": self._file_object(record, origin, version)}

    def _add_file(
        self,
        data: bytes,
        mime_type: str,
        display_name: str | None,
        source: str,
        project: str | None,
        file_id: str | None = None,
    ) -> Record:
        with self._lock:
            if file_id is None:
                file_id, _ = self._store.new_id("file", self._config().seed, 12)
            record: Record = {
                "id": file_id,
                "project": project or DEFAULT_PROJECT,
                "created_at": self._clock(),
                "bytes": len(data),
                "mime_type": mime_type,
                "display_name": display_name,
                "source": source,
                "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode("ascii"),
            }
            self._store.save_file(record, data)
            self._files[file_id] = record
        return record

    def _file(self, file_id: str, project: str | None) -> Record:
        record = self._files.get(file_id)
        expired = record is not None and self._clock() >= record["created_at"] + FILE_TTL_SECONDS
        if record is None or expired or (project is not None and record["project"] != project):
            raise file_not_found(file_id, self._config().gemini_missing_file_status)
        return record

    def _file_object(self, record: Record, origin: str, version: str) -> dict[str, Any]:
        name = f"files/{record['id']}"
        obj: dict[str, Any] = {"name": name}
        if record.get("display_name"):
            obj["displayName"] = record["display_name"]
        obj.update(
            {
                "mimeType": record["mime_type"],
                "sizeBytes": _int64(record["bytes"]),
                "createTime": rfc3339(record["created_at"]),
                "updateTime": rfc3339(record["created_at"]),
                "expirationTime": rfc3339(record["created_at"] + FILE_TTL_SECONDS),
                "sha256Hash": record["sha256"],
                "uri": f"{origin}/{version}/{name}",
                "state": "ACTIVE",
                "source": record["source"],
            }
        )
        if record["source"] == "GENERATED":
            obj["downloadUri"] = f"{origin}/download/{version}/{name}:download?alt=media"
        return obj

    def get_file(
        self, file_id: str, *, origin: str, version: str, project: str | None = None
    ) -> dict[str, Any]:
        """``GET files/{id}``."""
        return self._file_object(self._file(file_id, project), origin, version)

    def download_file(self, file_id: str, *, project: str | None = None) -> bytes:
        """``GET files/{id}:download?alt=media``: the raw bytes."""
        self._file(file_id, project)
        try:
            return self._store.read_file(file_id)
        except FileNotFoundError:  # deleted meanwhile
            raise file_not_found(file_id, self._config().gemini_missing_file_status) from None

    def delete_file(self, file_id: str, *, project: str | None = None) -> dict[str, Any]:
        """``DELETE files/{id}``; batches already created from the file are unaffected."""
        with self._lock:
            self._file(file_id, project)
            self._store.delete_file(file_id)
            del self._files[file_id]
        return {}

    def list_files(
        self,
        *,
        origin: str,
        version: str,
        page_size: int | None = None,
        page_token: str | None = None,
        project: str | None = None,
    ) -> dict[str, Any]:
        """``GET files``: newest first (oldest first with ``gemini_oldest_first``)."""
        now = self._clock()
        with self._lock:
            records = [
                r
                for r in self._files.values()
                if (project is None or r["project"] == project)
                and now < r["created_at"] + FILE_TTL_SECONDS
            ]
        oldest_first = self._config().gemini_oldest_first
        records.sort(key=lambda r: (r["created_at"], r["id"]), reverse=not oldest_first)
        chosen, token = _page(records, page_size, page_token, FILES_PAGE_DEFAULT, FILES_PAGE_MOST)
        out: dict[str, Any] = {"files": [self._file_object(r, origin, version) for r in chosen]}
        if token:
            out["nextPageToken"] = token
        return out

    # -- batches -------------------------------------------------------------------------------

    def create_batch(self, model: str, body: Any, *, project: str | None = None) -> dict:
        """``POST models/{model}:batchGenerateContent``."""
        config = self._config()
        model = model.removeprefix("models/")
        if not model.startswith("gemini-"):
            raise GoogleError(
                404,
                f"models/{model} is not found for API version v1beta, or is not supported for "
                "batchGenerateContent.",
            )
        batch = get_field(body, "batch")
        if not isinstance(batch, Mapping):
            raise invalid("* BatchGenerateContentRequest.batch: batch is required")
        source = get_field(batch, "inputConfig")
        if not isinstance(source, Mapping):
            raise invalid("* GenerateContentBatch.input_config: input_config is required")
        file_name = get_field(source, "fileName")
        inline = get_field(get_field(source, "requests"), "requests")
        if (file_name is None) == (inline is None):
            raise invalid(
                "* GenerateContentBatch.input_config: exactly one of file_name and requests "
                "must be set"
            )
        if file_name is not None:
            if not isinstance(file_name, str) or not file_name.startswith("files/"):
                raise invalid(f"* InputConfig.file_name: invalid file name {file_name!r}")
            file_id = file_name.removeprefix("files/")
            self._file(file_id, project)
            lines = _file_requests(self._store.read_file(file_id))
            if not lines:
                raise invalid(f"The input file {file_name} has no requests.")
            input_config: dict[str, Any] | None = {"fileName": file_name}
        else:
            if not isinstance(inline, list) or not inline:
                raise invalid("* InlinedRequests.requests: at least one request is required")
            size = len(_json_bytes(inline))
            if size > config.gemini_max_inline_bytes:
                raise invalid(
                    f"Request payload size exceeds the limit: {config.gemini_max_inline_bytes} "
                    "bytes. Use an input file for larger batches."
                )
            lines = _inline_requests(inline)
            input_config = None  # the metadata does not echo inline requests

        with self._lock:
            batch_id, number = self._store.new_id("batch", config.seed, 36)
        name = f"batches/{batch_id}"
        plan = _plan(config, name)
        answerer = GeminiAnswerer(_answer_faults(plan), name, model)
        failing = [answerer.will_fail(line["key"], line["request"]) for line in lines]
        order = execution_order(config.seed, name, len(lines))
        display = get_field(batch, "displayName")
        most = config.gemini_max_display_name
        if most and isinstance(display, str) and len(display) > most:
            raise invalid(
                f"* GenerateContentBatch.display_name: must be no more than {most} characters"
            )
        with self._lock:
            now = self._clock()
            record: Record = {
                "id": batch_id,
                "seq": number,
                "project": project or DEFAULT_PROJECT,
                "created_at": now,
                "model": model,
                "display_name": display if isinstance(display, str) else None,
                "input_config": input_config,
                "inline": file_name is None,
                "total": len(lines),
                "valid": True,
                "plan": plan,
                "failed_positions": [] if plan["no_output"] else failed_positions(order, failing),
                "stall_at": None,
                "pauses": [],
                "cancel": None,
                "final": None,
            }
            self._store.write(batch_id, "input", b"".join(_json_bytes(x) + b"\n" for x in lines))
            if config.stall:
                lifecycle.stall(record, now)
            self._store.save_batch(record)
            self._batches[batch_id] = record
        return self._view(record)

    def _batch(self, batch_id: str, project: str | None) -> Record:
        record = self._batches.get(batch_id)
        if record is None or (project is not None and record["project"] != project):
            raise batch_not_found(batch_id)
        return record

    def get_batch(self, batch_id: str, *, project: str | None = None) -> dict[str, Any]:
        """``GET batches/{id}``."""
        with self._lock:
            self._sync_stall()
            record = self._batch(batch_id, project)
        return self._view(record)

    def list_batches(
        self,
        *,
        page_size: int | None = None,
        page_token: str | None = None,
        project: str | None = None,
    ) -> dict[str, Any]:
        """``GET batches``: newest first (oldest first with ``gemini_oldest_first``); a batch
        shows ``listing_lag_seconds`` after creation."""
        shown_before = self._clock() - self._config().listing_lag_seconds
        with self._lock:
            self._sync_stall()
            records = [
                r
                for r in self._batches.values()
                if (project is None or r["project"] == project) and r["created_at"] <= shown_before
            ]
        oldest_first = self._config().gemini_oldest_first
        records.sort(key=lambda r: (r["created_at"], r["seq"]), reverse=not oldest_first)
        chosen, token = _page(
            records, page_size, page_token, BATCHES_PAGE_DEFAULT, BATCHES_PAGE_MOST
        )
        out: dict[str, Any] = {"operations": [self._view(r) for r in chosen]}
        if token:
            out["nextPageToken"] = token
        return out

    def cancel_batch(self, batch_id: str, *, project: str | None = None) -> dict[str, Any]:
        """``POST batches/{id}:cancel``; cancelling twice is harmless."""
        with self._lock:
            self._sync_stall()
            record = self._batch(batch_id, project)
            now = self._clock()
            state = evaluate(record, now)
            if state.ended:
                raise GoogleError(
                    400,
                    f"Batch batches/{batch_id} has already ended ({state.state}) and cannot be "
                    "cancelled.",
                    google_status="FAILED_PRECONDITION",
                )
            if record.get("cancel") is None:
                lifecycle.cancel(record, now)
                self._store.save_batch(record)
        return {}

    def delete_batch(self, batch_id: str, *, project: str | None = None) -> dict[str, Any]:
        """``DELETE batches/{id}``: an unended batch is not cancelled: it is billed as run to
        its end (see the module docstring)."""
        with self._lock:
            self._sync_stall()
            record = self._batch(batch_id, project)
        state = evaluate(record, self._clock())
        if not state.ended:
            end = record["created_at"] + record["plan"]["expiry_seconds"] + 1
            state = evaluate(record, max(end, self._clock()))
        self._settle(record, state)
        with self._lock:
            self._store.delete_batch(batch_id)
            self._batches.pop(batch_id, None)
        return {}

    # -- internals -----------------------------------------------------------------------------

    def _sync_stall(self) -> None:
        """Hold or release unended batches per ``stall`` (called under the lock)."""
        stall = self._config().stall
        now = self._clock()
        for record in self._batches.values():
            if record.get("final") is not None:
                continue
            if now >= record["created_at"] + record["plan"]["expiry_seconds"]:
                continue  # its history up to the expiry is written
            changed = lifecycle.stall(record, now) if stall else lifecycle.release(record, now)
            if changed:
                self._store.save_batch(record)

    def _view(self, record: Record) -> dict[str, Any]:
        """The batch as an Operation."""
        state = evaluate(record, self._clock())
        if state.ended:
            self._settle(record, state)
        name = f"batches/{record['id']}"
        total = record["total"]
        final = record.get("final") if state.ended else None
        if final is not None:
            succeeded, failed = final["successful"], final["failed"]
        else:
            succeeded, failed = state.executed - state.failed, state.failed
        stats = {
            "requestCount": total,
            "successfulRequestCount": succeeded,
            "failedRequestCount": failed,
            "pendingRequestCount": 0 if state.ended else total - state.executed,
        }
        metadata: dict[str, Any] = {
            "@type": BATCH_TYPE,
            "model": f"models/{record['model']}",
        }
        if record.get("display_name"):
            metadata["displayName"] = record["display_name"]
        if record.get("input_config"):
            metadata["inputConfig"] = record["input_config"]
        metadata.update(
            {
                "createTime": rfc3339(record["created_at"]),
                "updateTime": rfc3339(state.updated_at),
            }
        )
        if state.ended_at is not None:
            metadata["endTime"] = rfc3339(state.ended_at)
        metadata["batchStats"] = {k: _int64(v) for k, v in stats.items() if v}
        metadata["state"] = state.state
        metadata["name"] = name
        operation: dict[str, Any] = {"name": name, "metadata": metadata}
        if final is None:
            return operation
        output = self._output(record, final)
        if output is not None:
            metadata["output"] = output
        operation["done"] = True
        if state.state == "BATCH_STATE_FAILED":
            operation["error"] = {"code": 3, "message": "The batch could not be run."}
        elif output is not None:
            operation["response"] = {"@type": OUTPUT_TYPE, **output}
        return operation

    def _output(self, record: Record, final: Mapping[str, Any]) -> dict[str, Any] | None:
        if final.get("responses_file") is not None:
            return {"responsesFile": final["responses_file"]}
        if final.get("inline"):
            try:
                responses = json.loads(self._store.read(record["id"], "results"))
            except FileNotFoundError:
                return None
            return {"inlinedResponses": {"inlinedResponses": responses}}
        return None

    def _settle(self, record: Record, state: GeminiState) -> None:
        """Run an ended batch once: write its results and bill its answered requests."""
        with self._lock:
            gate = self._settling.setdefault(record["id"], threading.Lock())
        with gate:
            if record.get("final") is not None:
                return
            name = f"batches/{record['id']}"
            lines = [json.loads(x) for x in self._store.read(record["id"], "input").splitlines()]
            results, ledger, succeeded = _run(record, state, lines)
            keep = state.ending == "done" or (
                state.ending in ("cancelled", "expired") and record["plan"]["partial_results"]
            )
            final: dict[str, Any] = {
                "successful": succeeded,
                "failed": record["total"] - succeeded,
                "responses_file": None,
                "inline": False,
                "settled_at": self._clock(),
            }
            if keep and record["inline"]:
                self._store.write(record["id"], "results", _json_bytes(results))
                final["inline"] = True
            elif keep:
                shuffled = _add_odd_lines(record, lines, _in_execution_order(record, results))
                data = b"".join(_json_bytes(line) + b"\n" for line in shuffled)
                file_id = f"batch-{record['id']}"
                self._add_file(
                    data, "application/jsonl", None, "GENERATED", record["project"], file_id
                )
                final["responses_file"] = f"files/{file_id}"
            with self._lock:
                if name not in self._billed:  # a restart may have billed it already
                    self._state.append_ledger(ledger)
                    self._billed.add(name)
                record["final"] = final
                self._store.save_batch(record)


def _page(
    records: list[Record], size: int | None, token: str | None, default: int, most: int
) -> tuple[list[Record], str | None]:
    """One page of ``records`` and the token of the next (None on the last page)."""
    size = default if size is None or size <= 0 else min(size, most)
    start = 0
    if token:
        ids = [r["id"] for r in records]
        try:
            start = ids.index(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise invalid("Invalid page token.") from None
    chosen = records[start : start + size]
    if start + size >= len(records):
        return chosen, None
    return chosen, base64.urlsafe_b64encode(records[start + size]["id"].encode()).decode()


def _file_requests(data: bytes) -> list[dict[str, Any]]:
    """The input file's requests: ``{"key", "request"}`` a line (a broken line keeps its place
    with ``request`` None, and is answered INVALID_ARGUMENT)."""
    out: list[dict[str, Any]] = []
    for number, raw in enumerate(data.splitlines()):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            line = None
        if not isinstance(line, Mapping):
            out.append({"key": f"line-{number + 1}", "request": None})
            continue
        key = line.get("key")
        out.append(
            {"key": str(key) if key is not None else str(len(out)), "request": line.get("request")}
        )
    return out


def _inline_requests(requests: list[Any]) -> list[dict[str, Any]]:
    """Inline ``{"request", "metadata"}`` items as input lines (the key: ``metadata.key`` or
    the request's position)."""
    out: list[dict[str, Any]] = []
    for i, item in enumerate(requests):
        metadata = get_field(item, "metadata")
        metadata = dict(metadata) if isinstance(metadata, Mapping) else None
        key = (metadata or {}).get("key", str(i))
        out.append({"key": str(key), "request": get_field(item, "request"), "metadata": metadata})
    return out


def _run(
    record: Record, state: GeminiState, lines: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Results (in input order: ``{"key"|"metadata", "response"|"error"}``), ledger entries and
    the number of answered requests of an ended batch."""
    plan = record["plan"]
    name = f"batches/{record['id']}"
    answerer = GeminiAnswerer(_answer_faults(plan), name, record["model"])
    results: list[dict[str, Any]] = [{} for _ in lines]
    ledger: list[dict[str, Any]] = []
    succeeded = 0
    order = execution_order(plan["seed"], name, len(lines))
    for position, index in enumerate(order):
        line = lines[index]
        head: dict[str, Any] = {"key": line["key"]}
        if record["inline"]:
            head = {} if line.get("metadata") is None else {"metadata": line["metadata"]}
        if position >= state.executed:
            code, message, status = _UNRUN[
                "cancelled" if state.ending == "cancelled" else "expired"
            ]
            results[index] = {**head, "error": error_object(code, message, status)}
            continue
        answer = answerer.answer(line["key"], line["request"])
        results[index] = {**head, **answer.body}
        if not answer.billed:
            continue
        succeeded += 1
        ledger.append(
            {
                "batch_id": name,  # first: StateDir.billed_batch_ids reads it cheaply
                "provider": PROVIDER,
                "custom_id": line["key"],
                "model": answer.model,
                "input_tokens": answer.input_tokens,
                "output_tokens": answer.output_tokens,
                "thoughts_tokens": answer.thoughts_tokens,
                # the OpenAI side's names, so one ledger reader sums every provider
                "prompt_tokens": answer.input_tokens,
                "completion_tokens": answer.output_tokens,
                "cached_tokens": 0,
                "user_content_sha256": answer.user_content_sha256,
                "words": answer.words,
            }
        )
    return results, ledger, succeeded


def _in_execution_order(record: Record, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    order = execution_order(record["plan"]["seed"], f"batches/{record['id']}", len(results))
    return [results[i] for i in order]


def _some(rng: random.Random, n: int) -> list[int]:
    """A quarter (at least one) of ``range(n)``, drawn from ``rng``, in ascending order."""
    return sorted(rng.sample(range(n), max(1, n // 4)))


def _add_odd_lines(
    record: Record, asked: list[dict[str, Any]], lines: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``lines`` with the batch's planned unbilled lines added (duplicates, conflicting errors,
    keys not asked), as on the other providers."""
    plan = record["plan"]
    answered = [line for line in lines if "response" in line]
    if not answered or not (
        plan.get("duplicate_lines") or plan.get("conflicting_lines") or plan.get("bogus_custom_ids")
    ):
        return lines
    lines = list(lines)
    rng = random.Random(faults.seed_int(plan["seed"], "odd_lines", f"batches/{record['id']}"))
    if plan.get("conflicting_lines"):
        for i in _some(rng, len(answered)):
            error = error_object(500, CONFLICT_MESSAGE, "INTERNAL")
            lines.insert(rng.randint(0, len(lines)), {"key": answered[i]["key"], "error": error})
    if plan.get("duplicate_lines"):
        for i in reversed(_some(rng, len(lines))):
            lines.insert(rng.randint(i + 1, len(lines)), lines[i])
    if plan.get("bogus_custom_ids"):
        taken = {line["key"] for line in asked}
        ghost = next(f"w{n:x}" for n in range(len(taken) + 1) if f"w{n:x}" not in taken)
        for key in (HUGE_CUSTOM_ID, ghost):
            source = answered[rng.randrange(len(answered))]
            lines.insert(rng.randint(0, len(lines)), {**source, "key": key})
    return lines
