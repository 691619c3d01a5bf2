"""The Files and Batches API itself, independent of HTTP: what each endpoint does.

:class:`Api` is thread-safe. One lock guards the in-memory indexes and every state write; the
expensive parts (validating an input file, running a settled batch) happen outside it, so a large
batch does not hold up calls about other files and batches.

Every file and batch records the project that made it (``project``; a batch's result files take
the batch's). Methods take the caller's ``project``: given one, objects of other projects are
answered 404 exactly like unknown ids and lists leave them out; None (the default, and what the
server passes unless ``isolate_projects`` is set) sees every object. Records from before projects
existed belong to :data:`~.config.DEFAULT_PROJECT`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import lifecycle, objects
from .config import DEFAULT_PROJECT, EmulatorConfig
from .errors import ApiError, invalid, not_found
from .execution import Settlement, execution_order, failed_positions, request_faults, settle
from .faults import hits
from .lifecycle import ENQUEUED, BatchState, Record
from .responder import Responder
from .store import StateDir
from .validation import batch_error, validate_input

FILE_PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})
BATCH_ENDPOINTS = frozenset(
    {
        "/v1/responses",
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/completions",
        "/v1/moderations",
        "/v1/images/generations",
        "/v1/images/edits",
        "/v1/videos",
    }
)
SUPPORTED_ENDPOINT = "/v1/chat/completions"
MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512


class Api:
    """Files and Batches operations over a :class:`StateDir` the caller has acquired.

    Every method returns the JSON-ready object the HTTP endpoint sends, or raises
    :class:`ApiError`. ``clock`` gives the current time in seconds (``time.time`` by default);
    a batch's status is always computed from it, never from a background timer.
    """

    def __init__(
        self,
        state: StateDir,
        config: EmulatorConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._config = config
        self._clock = clock
        self._lock = threading.RLock()
        self._settling: dict[str, threading.Lock] = {}
        self._files = state.load_files()
        self._batches = state.load_batches()
        self._billed = state.billed_batch_ids()
        with self._lock:
            self._apply_stall()

    # -- configuration -------------------------------------------------------------------------

    @property
    def config(self) -> EmulatorConfig:
        return self._config

    def configure(self, **changes: Any) -> EmulatorConfig:
        """Apply ``changes`` to the configuration (ValueError if invalid); returns the new one.

        New settings apply to batches created from now on; ``stall`` applies at once.
        """
        with self._lock:
            self._config = self._config.replace(**changes)
            self._apply_stall()
            return self._config

    def _apply_stall(self) -> None:
        now = self._clock()
        for record in self._batches.values():
            if record.get("final") is not None:
                continue
            if self._config.stall:
                changed = lifecycle.stall(record, now)
            else:
                changed = lifecycle.release(record, now)
            if changed:
                self._state.save_batch(record)

    # -- files ---------------------------------------------------------------------------------

    def create_file(
        self, filename: str, purpose: str, data: bytes, *, project: str | None = None
    ) -> dict[str, Any]:
        """``POST /v1/files``: store an upload."""
        if purpose not in FILE_PURPOSES:
            raise invalid(
                f"'{purpose}' is not one of {sorted(FILE_PURPOSES)} - 'purpose'",
                param="purpose",
                code="invalid_value",
            )
        if purpose == "batch" and not filename.endswith(".jsonl"):
            raise invalid("Invalid file format for Batch API. Must be .jsonl", param="file")
        return objects.file_object(self._add_file(filename, purpose, data, project))

    def _add_file(
        self, filename: str, purpose: str, data: bytes, project: str | None
    ) -> dict[str, Any]:
        with self._lock:
            file_id, _ = self._state.new_id("file", self._config.seed)
        self._state.write_file_data(file_id, data)  # big writes stay outside the lock
        record = {
            "id": file_id,
            "bytes": len(data),
            "created_at": self._clock(),
            "filename": filename,
            "purpose": purpose,
            "project": project or DEFAULT_PROJECT,
        }
        with self._lock:
            self._state.save_file(record)
            self._files[file_id] = record
        return record

    def _file(self, file_id: str, project: str | None) -> dict[str, Any]:
        record = self._files.get(file_id)
        if record is None or not _visible(record, project):
            raise not_found("File", file_id)
        return record

    def get_file(self, file_id: str, *, project: str | None = None) -> dict[str, Any]:
        """``GET /v1/files/{id}``."""
        return objects.file_object(self._file(file_id, project))

    def file_content(self, file_id: str, *, project: str | None = None) -> bytes:
        """``GET /v1/files/{id}/content``: the raw bytes."""
        self._file(file_id, project)
        try:
            return self._state.read_file(file_id)
        except FileNotFoundError:  # deleted meanwhile
            raise not_found("File", file_id) from None

    def delete_file(self, file_id: str, *, project: str | None = None) -> dict[str, Any]:
        """``DELETE /v1/files/{id}``; batches already created from the file are unaffected."""
        with self._lock:
            self._file(file_id, project)
            self._state.delete_file(file_id)
            del self._files[file_id]
        return objects.deleted_file(file_id)

    def list_files(
        self,
        *,
        after: str | None = None,
        limit: int | None = None,
        order: str = "desc",
        purpose: str | None = None,
        project: str | None = None,
    ) -> dict[str, Any]:
        """``GET /v1/files``: newest first by default, cursor ``after`` a file id."""
        limit = _limit(limit, default=10_000, most=10_000)
        if order not in ("asc", "desc"):
            raise invalid("order must be 'asc' or 'desc'", param="order", code="invalid_value")
        with self._lock:
            records = [
                r
                for r in self._files.values()
                if purpose in (None, r["purpose"]) and _visible(r, project)
            ]
        records.sort(key=lambda r: (r["created_at"], r["id"]), reverse=order == "desc")
        chosen, more = _after(records, after, limit)
        return objects.page([objects.file_object(r) for r in chosen], more)

    # -- batches -------------------------------------------------------------------------------

    def create_batch(self, params: Any, *, project: str | None = None) -> dict[str, Any]:
        """``POST /v1/batches``: check the parameters now, the input file while validating."""
        if not isinstance(params, Mapping):
            raise invalid("The request body must be a JSON object.")
        file_id, endpoint = _create_params(params)
        metadata = _metadata(params.get("metadata"))
        file_record = self._file_for_batch(file_id, project)

        with self._lock:
            config = self._config
            batch_id, number = self._state.new_id("batch", config.seed)
        plan = batch_plan(config, batch_id)
        # Validation also predicts which requests will fail, so that request counts can grow
        # realistically before anything is run.
        responder = Responder(request_faults(plan), batch_id, 0)
        try:
            data = self._state.read_file(file_id)
        except FileNotFoundError:
            raise not_found("File", file_id, param="input_file_id") from None
        checked = validate_input(
            data,
            endpoint,
            max_requests=config.max_requests,
            max_file_bytes=config.max_file_bytes,
            will_fail=responder.will_fail,
        )
        failing: list[int] = []
        if checked.valid and not plan["no_output"]:
            failing = failed_positions(
                execution_order(config.seed, batch_id, checked.total), checked.failing
            )

        with self._lock:
            now = self._clock()
            errors = list(checked.errors)
            if not errors and checked.model is not None:
                errors = self._token_limit_errors(checked.model, checked.input_tokens, now)
            record: Record = {
                "id": batch_id,
                "seq": number,
                "project": project or DEFAULT_PROJECT,
                "created_at": now,
                "input_file_id": file_record["id"],
                "endpoint": endpoint,
                "completion_window": params["completion_window"],
                "metadata": metadata,
                "model": checked.model,
                "valid": not errors,
                "validation_errors": errors,
                "total": checked.total,
                "input_tokens": checked.input_tokens,
                "plan": plan,
                "failed_positions": failing,
                "stall_at": None,
                "pauses": [],
                "cancel": None,
                "final": None,
            }
            if record["valid"]:
                try:
                    self._state.keep_batch_input(file_id, batch_id)
                except FileNotFoundError:
                    raise not_found("File", file_id, param="input_file_id") from None
                if self._config.stall:
                    lifecycle.stall(record, now)
            self._state.save_batch(record)
            self._batches[batch_id] = record
        return self._view(record)

    def _file_for_batch(self, file_id: str, project: str | None) -> dict[str, Any]:
        record = self._files.get(file_id)
        if record is None or not _visible(record, project):
            raise not_found("File", file_id, param="input_file_id")
        if record["purpose"] != "batch":
            raise invalid(
                f"The input file {file_id} must be uploaded with purpose 'batch', "
                f"not '{record['purpose']}'.",
                param="input_file_id",
            )
        return record

    def _token_limit_errors(self, model: str, tokens: int, now: float) -> list[dict[str, Any]]:
        enqueued = sum(
            r["input_tokens"]
            for r in self._batches.values()
            if r["valid"]
            and r.get("model") == model
            and lifecycle.evaluate(r, now).status in ENQUEUED
        )
        limit = self._config.token_limit(model)
        if enqueued + tokens <= limit:
            return []
        message = (
            f"Enqueued token limit reached for {model} in organization org-emulator. "
            f"Limit: {limit:,} enqueued tokens. Please try again once some in_progress batches "
            "have been completed."
        )
        return [batch_error("token_limit_exceeded", message)]

    def _batch(self, batch_id: str, project: str | None) -> Record:
        record = self._batches.get(batch_id)
        if record is None or not _visible(record, project):
            raise not_found("Batch", batch_id)
        return record

    def get_batch(self, batch_id: str, *, project: str | None = None) -> dict[str, Any]:
        """``GET /v1/batches/{id}``."""
        return self._view(self._batch(batch_id, project))

    def cancel_batch(self, batch_id: str, *, project: str | None = None) -> dict[str, Any]:
        """``POST /v1/batches/{id}/cancel``: only a validating or in_progress batch can be
        cancelled (409 otherwise); cancelling twice is harmless."""
        with self._lock:
            record = self._batch(batch_id, project)
            now = self._clock()
            status = lifecycle.evaluate(record, now).status
            if status in ("validating", "in_progress"):
                lifecycle.cancel(record, now)
                self._state.save_batch(record)
            elif status not in ("cancelling", "cancelled"):
                raise ApiError(
                    409,
                    f"Cannot cancel a batch with status '{status}'.",
                    headers={"x-should-retry": "false"},
                )
        return self._view(record)

    def list_batches(
        self,
        *,
        after: str | None = None,
        limit: int | None = None,
        project: str | None = None,
    ) -> dict[str, Any]:
        """``GET /v1/batches``: newest first (oldest first with ``openai_oldest_first``),
        cursor ``after`` a batch id."""
        limit = _limit(limit, default=20, most=100)
        # a batch shows in listings only ``listing_lag_seconds`` after its creation
        shown_before = self._clock() - self.config.listing_lag_seconds
        with self._lock:
            records = [
                r
                for r in self._batches.values()
                if _visible(r, project) and r["created_at"] <= shown_before
            ]
        newest_first = not self.config.openai_oldest_first
        records.sort(key=lambda r: (r["created_at"], r["seq"]), reverse=newest_first)
        chosen, more = _after(records, after, limit)
        return objects.page([self._view(r) for r in chosen], more)

    def _view(self, record: Record) -> dict[str, Any]:
        with self._lock:
            state = lifecycle.evaluate(record, self._clock())
        if state.settled and record.get("final") is None:
            self._settle(record, state)
        return objects.batch_object(record, state)

    def _settle(self, record: Record, state: BatchState) -> None:
        with self._lock:
            gate = self._settling.setdefault(record["id"], threading.Lock())
        with gate:
            if record.get("final") is not None:
                return
            now = self._clock()
            result = Settlement()
            if record["valid"]:
                data = self._state.read_batch_input(record["id"])
                result = settle(record, state, data, now)
            output_id = self._result_file(record, "output", result.output)
            error_id = self._result_file(record, "error", result.errors)
            with self._lock:
                if record["id"] not in self._billed:  # a restart may have billed it already
                    self._state.append_ledger(result.ledger)
                    self._billed.add(record["id"])
                record["final"] = {
                    "status": state.status,
                    "output_file_id": output_id,
                    "error_file_id": error_id,
                    "request_counts": {"completed": result.completed, "failed": result.failed},
                    "usage": result.usage(),
                    "settled_at": now,
                }
                self._state.save_batch(record)

    def _result_file(self, record: Record, kind: str, data: bytes | None) -> str | None:
        if data is None:
            return None
        name = f"{record['id']}_{kind}.jsonl"
        return self._add_file(name, "batch_output", data, record.get("project"))["id"]

    # -- ledger --------------------------------------------------------------------------------

    def ledger(self) -> list[dict[str, Any]]:
        """Every billed request so far (see :meth:`StateDir.read_ledger`)."""
        with self._lock:
            return self._state.read_ledger()


def batch_plan(config: EmulatorConfig, batch_id: str) -> dict[str, Any]:
    """What a new batch keeps of the configuration: its timeline and its fault draws."""
    return {
        "validating_seconds": config.validating_seconds,
        "seconds_per_request": config.seconds_per_request,
        "finalizing_seconds": config.finalizing_seconds,
        "cancelling_seconds": config.cancelling_seconds,
        "seed": config.seed,
        "error_rate": config.error_rate,
        "truncate_rate": config.truncate_rate,
        "refusal_rate": config.refusal_rate,
        "extra_entry_rate": config.extra_entry_rate,
        "duplicate_entry_rate": config.duplicate_entry_rate,
        "long_entry_rate": config.long_entry_rate,
        "long_entry_factor": config.long_entry_factor,
        "expire": hits(config.expire_rate, config.seed, "expire", batch_id),
        "no_output": hits(config.no_output_rate, config.seed, "no_output", batch_id),
        "duplicate_lines": hits(config.duplicate_line_rate, config.seed, "dup_lines", batch_id),
        "conflicting_lines": hits(
            config.conflicting_line_rate, config.seed, "conflicting_lines", batch_id
        ),
        "bogus_custom_ids": hits(config.bogus_custom_id_rate, config.seed, "bogus_ids", batch_id),
    }


def _visible(record: Mapping[str, Any], project: str | None) -> bool:
    """Whether a caller of ``project`` (None: any) may see this file or batch."""
    return project is None or record.get("project", DEFAULT_PROJECT) == project


def _create_params(params: Mapping[str, Any]) -> tuple[str, str]:
    for name in ("input_file_id", "endpoint", "completion_window"):
        if not isinstance(params.get(name), str) or not params[name]:
            raise invalid(
                f"Missing required parameter: '{name}'.",
                param=name,
                code="missing_required_parameter",
            )
    endpoint = params["endpoint"]
    if endpoint not in BATCH_ENDPOINTS:
        raise invalid(
            f"Invalid value for 'endpoint': '{endpoint}' is not a batch endpoint.",
            param="endpoint",
            code="invalid_value",
        )
    if endpoint != SUPPORTED_ENDPOINT:
        raise invalid(
            f"The emulator runs only {SUPPORTED_ENDPOINT} batches, not {endpoint}.",
            param="endpoint",
            code="invalid_value",
        )
    if params["completion_window"] != "24h":
        raise invalid(
            "Invalid value for 'completion_window': only '24h' is supported.",
            param="completion_window",
            code="invalid_value",
        )
    return params["input_file_id"], endpoint


def _metadata(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise invalid("metadata must be an object of string pairs.", param="metadata")
    if len(metadata) > MAX_METADATA_PAIRS:
        raise invalid(
            f"Invalid 'metadata': too many properties. Expected at most {MAX_METADATA_PAIRS}, "
            f"but got {len(metadata)} instead.",
            param="metadata",
            code="object_above_max_properties",
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or len(key) > MAX_METADATA_KEY:
            raise invalid(
                f"Invalid 'metadata': keys must be strings of at most {MAX_METADATA_KEY} "
                "characters.",
                param="metadata",
                code="invalid_value",
            )
        if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE:
            raise invalid(
                f"Invalid 'metadata' value for {key!r}: values must be strings of at most "
                f"{MAX_METADATA_VALUE} characters.",
                param="metadata",
                code="invalid_value",
            )
    return dict(metadata)


def _limit(limit: int | None, *, default: int, most: int) -> int:
    if limit is None:
        return default
    if not 1 <= limit <= most:
        raise invalid(
            f"Invalid 'limit': must be between 1 and {most}.", param="limit", code="invalid_value"
        )
    return limit


def _after(records: list[dict[str, Any]], after: str | None, limit: int) -> tuple[list, bool]:
    start = 0
    if after is not None:
        ids = [r["id"] for r in records]
        if after not in ids:
            raise not_found("object", after, param="after")
        start = ids.index(after) + 1
    chosen = records[start : start + limit]
    return chosen, start + limit < len(records)
