"""Anthropic's Message Batches API, independent of HTTP: what each endpoint does.

Facts from the Anthropic docs as of 2026 (Message Batches API reference and batch processing
guide, errors page; the ``anthropic`` Python SDK's types):

* ``POST /v1/messages/batches`` takes ``{"requests": [{"custom_id", "params"}, ...]}`` and
  nothing else (there is no batch ``metadata``); ``custom_id`` matches
  ``^[a-zA-Z0-9_-]{1,64}$`` and is unique in the batch; 1 to 100,000 requests and at most
  256 MB of body (413 ``request_too_large``). ``params`` are checked only when the batch runs:
  a bad one becomes an ``errored`` result (see :mod:`.anthropic_answers`).
* A batch: ``id`` (``msgbatch_...``), ``type: "message_batch"``, ``processing_status``
  ``in_progress`` | ``canceling`` | ``ended``, ``request_counts`` {processing, succeeded,
  errored, canceled, expired} (all but ``processing`` stay 0 until the batch ends; they always
  sum to the number of requests), RFC 3339 ``created_at``, ``expires_at`` (24 h after creation),
  ``ended_at``, ``cancel_initiated_at``, ``archived_at`` (results gone, 29 days after creation)
  and ``results_url`` (set once ended).
* ``GET /v1/messages/batches`` lists newest first, ``limit`` 1-1000 (default 20), cursors
  ``after_id``/``before_id``, page ``{data, has_more, first_id, last_id}``.
* ``POST .../{id}/cancel`` moves an ``in_progress`` batch to ``canceling`` and then ``ended``:
  requests not yet run get ``canceled`` results. ``DELETE .../{id}`` works only on ended batches
  (``{"id", "type": "message_batch_deleted"}``).
* ``GET .../{id}/results`` streams JSONL, one ``{"custom_id", "result"}`` line per request, in no
  particular order; ``result`` is ``succeeded`` (with ``message``), ``errored`` (with an error
  response), ``canceled`` or ``expired``. Only succeeded requests are billed, at half the
  standard price.

Emulator choices where the docs are silent: cancelling an ended batch, deleting an unended one
and reading the results of an unended one are 400 ``invalid_request_error``; reading archived
results, or a cursor id that does not exist, is 404 ``not_found_error``.

The timeline reuses :mod:`.lifecycle` on the shared clock and settings: requests start running
after ``validating_seconds``, take ``seconds_per_request`` each, and the batch ends
``finalizing_seconds`` after the last; a cancel ends it ``cancelling_seconds`` later. A batch
still running 24 h after creation (a huge batch, a stall, or one drawn by ``expire_rate``, which
runs half its requests and then stops) ends at ``expires_at`` with ``expired`` results for the
rest. ``stall`` holds these batches from the first call that sees the setting changed. Results
lines run in a shuffled order fixed by the seed and batch id; ``duplicate_line_rate``,
``conflicting_line_rate`` (an ``errored`` line for a succeeded ``custom_id``) and
``bogus_custom_id_rate`` add unbilled lines as on the OpenAI side.

State lives under ``<state dir>/anthropic/`` (``counters.json``, ``batches/<id>.json``, the
create body as ``<id>.requests`` and the results as ``<id>.results``); billed requests go to the
emulator's one ledger with ``"provider": "anthropic"``, so a restarted emulator never bills a
batch twice.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import faults, lifecycle
from .anthropic_answers import Answerer, AnswerFaults, base62_id
from .config import DEFAULT_PROJECT, EmulatorConfig
from .errors import ApiError
from .execution import HUGE_CUSTOM_ID, execution_order
from .lifecycle import Record
from .store import StateDir, _json_bytes, _write_atomic

CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
EXPIRY_SECONDS = 24 * 3600
RESULTS_KEPT_SECONDS = 29 * 24 * 3600
LIST_LIMIT_DEFAULT = 20
LIST_LIMIT_MOST = 1000
PROVIDER = "anthropic"
CONFLICT_MESSAGE = "Internal server error while processing this request (emulated)"

# Error ``type`` by HTTP status, from the errors page.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


class AnthropicError(ApiError):
    """An error answered in Anthropic's shape:
    ``{"type": "error", "error": {"type", "message"}, "request_id"}`` plus a ``request-id``
    header."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        kind = type or ERROR_TYPES.get(
            status, "invalid_request_error" if status < 500 else "api_error"
        )
        self.request_id = "req_" + uuid.uuid4().hex[:24]
        super().__init__(
            status, message, type=kind, headers={**(headers or {}), "request-id": self.request_id}
        )

    @classmethod
    def from_api_error(cls, error: ApiError) -> AnthropicError:
        """The same failure (status, message, headers) in Anthropic's shape."""
        if isinstance(error, AnthropicError):
            return error
        kind = ERROR_TYPES.get(error.status)
        return cls(error.status, error.message, type=kind, headers=error.headers)

    def body(self) -> dict[str, Any]:
        return {
            "type": "error",
            "error": {"type": self.type, "message": self.message},
            "request_id": self.request_id,
        }


def invalid(message: str) -> AnthropicError:
    return AnthropicError(400, message)


def not_found(message: str) -> AnthropicError:
    return AnthropicError(404, message)


def rfc3339(seconds: float | None) -> str | None:
    """An epoch time as an RFC 3339 UTC string with microseconds (None stays None)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- the timeline ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageBatchState:
    """A Message Batch at one moment: ``executed`` requests ran (execution order); once ended,
    ``ending`` says what became of the others: ``"done"`` (none left), ``"canceled"`` or
    ``"expired"``."""

    status: str
    executed: int
    ended_at: float | None = None
    ending: str | None = None


def evaluate(record: Record, now: float) -> MessageBatchState:
    """The batch at wall time ``now`` (see the module docstring for the timeline)."""
    plan = record["plan"]
    cancel = record.get("cancel")
    if cancel is not None:
        done_at = cancel["at"] + plan["cancelling_seconds"]
        if now >= done_at:
            return MessageBatchState("ended", cancel["executed"], done_at, "canceled")
        return MessageBatchState("canceling", cancel["executed"])
    expires_at = record["created_at"] + EXPIRY_SECONDS
    run_end = (
        plan["validating_seconds"]
        + record["total"] * plan["seconds_per_request"]
        + plan["finalizing_seconds"]
    )
    e = lifecycle.elapsed(record, now)
    if not plan.get("expire") and e >= run_end:
        shift = sum(s for at, s in record.get("pauses", ()) if at < run_end)
        ended_at = record["created_at"] + run_end + shift
        if ended_at < expires_at:
            return MessageBatchState("ended", record["total"], ended_at, "done")
    if now >= expires_at:
        executed = lifecycle.progress(record, lifecycle.elapsed(record, expires_at))
        return MessageBatchState("ended", executed, expires_at, "expired")
    return MessageBatchState("in_progress", lifecycle.progress(record, e))


def _plan(config: EmulatorConfig, batch_id: str) -> dict[str, Any]:
    """What a new batch keeps of the configuration: its timeline and its fault draws."""
    return {
        "validating_seconds": config.validating_seconds,
        "seconds_per_request": config.seconds_per_request,
        "finalizing_seconds": config.finalizing_seconds,
        "cancelling_seconds": config.cancelling_seconds,
        "seed": config.seed,
        "error_rate": config.error_rate,
        "invalid_request_rate": config.anthropic_invalid_request_rate,
        "truncate_rate": config.truncate_rate,
        "refusal_rate": config.refusal_rate,
        "extra_entry_rate": config.extra_entry_rate,
        "duplicate_entry_rate": config.duplicate_entry_rate,
        "long_entry_rate": config.long_entry_rate,
        "long_entry_factor": config.long_entry_factor,
        "expire": faults.hits(config.expire_rate, config.seed, "expire", batch_id),
        "no_output": faults.hits(config.no_output_rate, config.seed, "no_output", batch_id),
        "duplicate_lines": faults.hits(
            config.duplicate_line_rate, config.seed, "dup_lines", batch_id
        ),
        "conflicting_lines": faults.hits(
            config.conflicting_line_rate, config.seed, "conflicting_lines", batch_id
        ),
        "bogus_custom_ids": faults.hits(
            config.bogus_custom_id_rate, config.seed, "bogus_ids", batch_id
        ),
    }


def _answer_faults(plan: Mapping[str, Any]) -> AnswerFaults:
    return AnswerFaults(
        seed=plan["seed"],
        error_rate=plan["error_rate"],
        invalid_request_rate=plan["invalid_request_rate"],
        truncate_rate=plan["truncate_rate"],
        refusal_rate=plan["refusal_rate"],
        no_output=plan["no_output"],
        extra_entry_rate=plan["extra_entry_rate"],
        duplicate_entry_rate=plan["duplicate_entry_rate"],
        long_entry_rate=plan.get("long_entry_rate", 0.0),
        long_entry_factor=plan.get("long_entry_factor", 1),
    )


# -- request checks ----------------------------------------------------------------------------


def check_requests(body: Any, *, max_requests: int) -> list[Mapping[str, Any]]:
    """The create body's requests, or the 400 the API answers for it."""
    if not isinstance(body, Mapping):
        raise invalid("Input should be a valid dictionary")
    for key in body:
        if key not in ("requests", "user_profile_id"):
            raise invalid(f"{key}: Extra inputs are not permitted")
    requests = body.get("requests")
    if requests is None:
        raise invalid("requests: Field required")
    if not isinstance(requests, list):
        raise invalid("requests: Input should be a valid list")
    if not requests:
        raise invalid("requests: List should have at least 1 item after validation, not 0")
    if len(requests) > max_requests:
        raise invalid(
            f"requests: List should have at most {max_requests} items after validation, "
            f"not {len(requests)}"
        )
    seen: set[str] = set()
    for i, request in enumerate(requests):
        if not isinstance(request, Mapping):
            raise invalid(f"requests.{i}: Input should be a valid dictionary")
        custom_id = request.get("custom_id")
        if custom_id is None:
            raise invalid(f"requests.{i}.custom_id: Field required")
        if not isinstance(custom_id, str) or not CUSTOM_ID.fullmatch(custom_id):
            raise invalid(
                f"requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
            )
        if custom_id in seen:
            raise invalid(
                f"requests.{i}.custom_id: '{custom_id}' is used by an earlier request; "
                "custom_id must be unique within the Message Batch"
            )
        seen.add(custom_id)
        if "params" not in request:
            raise invalid(f"requests.{i}.params: Field required")
        if not isinstance(request["params"], Mapping):
            raise invalid(f"requests.{i}.params: Input should be a valid dictionary")
        for key in request:
            if key not in ("custom_id", "params"):
                raise invalid(f"requests.{i}.{key}: Extra inputs are not permitted")
    return requests


# -- storage -----------------------------------------------------------------------------------


class _Store:
    """Message Batch files under ``<state dir>/anthropic``; callers serialise writers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.batches = root / "batches"

    def new_id(self, seed: int) -> tuple[str, int]:
        self.batches.mkdir(parents=True, exist_ok=True)
        path = self.root / "counters.json"
        counters = json.loads(path.read_bytes()) if path.exists() else {}
        number = counters.get("msgbatch", 0) + 1
        counters["msgbatch"] = number
        _write_atomic(path, _json_bytes(counters))
        return base62_id("msgbatch_", str(seed), "msgbatch", str(number)), number

    def save(self, record: Record) -> None:
        _write_atomic(self.batches / f"{record['id']}.json", _json_bytes(record))

    def load(self) -> dict[str, Record]:
        if not self.batches.exists():
            return {}
        records = (json.loads(p.read_bytes()) for p in self.batches.glob("*.json"))
        return {r["id"]: r for r in records}

    def path(self, batch_id: str, kind: str) -> Path:
        return self.batches / f"{batch_id}.{kind}"

    def write(self, batch_id: str, kind: str, data: bytes) -> None:
        _write_atomic(self.path(batch_id, kind), data)

    def read(self, batch_id: str, kind: str) -> bytes:
        return self.path(batch_id, kind).read_bytes()

    def delete(self, batch_id: str) -> None:
        for kind in ("results", "requests", "json"):
            self.path(batch_id, kind).unlink(missing_ok=True)


# -- the API -----------------------------------------------------------------------------------


class MessageBatches:
    """Message Batches operations over a :class:`StateDir` the caller has acquired.

    Every method returns the JSON-ready object (or bytes) the HTTP endpoint sends, or raises
    :class:`AnthropicError`. ``config`` gives the settings now in force, ``clock`` the time in
    seconds. ``origin`` (``http://host:port`` as the client addressed the server) makes
    ``results_url``. ``project`` scopes what a caller sees, as in :class:`~.api.Api`. Thread-safe.
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
        self._store = _Store(state.root / "anthropic")
        self._lock = threading.RLock()
        self._settling: dict[str, threading.Lock] = {}
        self._batches = self._store.load()
        self._billed = {
            batch_id for batch_id in state.billed_batch_ids() if batch_id in self._batches
        }

    # -- create --------------------------------------------------------------------------------

    def create(self, raw: bytes, *, origin: str, project: str | None = None) -> dict[str, Any]:
        """``POST /v1/messages/batches`` with the raw JSON body."""
        config = self._config()
        if len(raw) > config.anthropic_max_batch_bytes:
            raise AnthropicError(
                413,
                "Request exceeds the maximum allowed number of bytes "
                f"({config.anthropic_max_batch_bytes:,} for a Message Batch).",
            )
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise invalid("The request body is not valid JSON.") from None
        if body is None:
            raise invalid("requests: Field required")
        requests = check_requests(body, max_requests=config.anthropic_max_requests)
        with self._lock:
            batch_id, number = self._store.new_id(config.seed)
            now = self._clock()
            self._store.write(batch_id, "requests", raw)
            record: Record = {
                "id": batch_id,
                "seq": number,
                "project": project or DEFAULT_PROJECT,
                "created_at": now,
                "total": len(requests),
                "valid": True,
                "plan": _plan(config, batch_id),
                "failed_positions": [],
                "stall_at": None,
                "pauses": [],
                "cancel": None,
                "final": None,
            }
            if config.stall:
                lifecycle.stall(record, now)
            self._store.save(record)
            self._batches[batch_id] = record
        return self._view(record, origin)

    # -- read ----------------------------------------------------------------------------------

    def _batch(self, batch_id: str, project: str | None) -> Record:
        record = self._batches.get(batch_id)
        if record is None or (project is not None and record["project"] != project):
            raise not_found(f"Message Batch '{batch_id}' not found.")
        return record

    def retrieve(self, batch_id: str, *, origin: str, project: str | None = None) -> dict:
        """``GET /v1/messages/batches/{id}``."""
        with self._lock:
            self._sync_stall()
            record = self._batch(batch_id, project)
        return self._view(record, origin)

    def list(
        self,
        *,
        origin: str,
        after_id: str | None = None,
        before_id: str | None = None,
        limit: int | None = None,
        project: str | None = None,
    ) -> dict[str, Any]:
        """``GET /v1/messages/batches``: newest first, one page."""
        if limit is None:
            limit = LIST_LIMIT_DEFAULT
        if not 1 <= limit <= LIST_LIMIT_MOST:
            raise invalid(f"limit: Input should be between 1 and {LIST_LIMIT_MOST}")
        if after_id is not None and before_id is not None:
            raise invalid("Only one of after_id and before_id may be given.")
        # a batch shows in listings only ``listing_lag_seconds`` after its creation
        shown_before = self._clock() - self._config().listing_lag_seconds
        with self._lock:
            self._sync_stall()
            records = [
                r
                for r in self._batches.values()
                if (project is None or r["project"] == project) and r["created_at"] <= shown_before
            ]
        records.sort(key=lambda r: (r["created_at"], r["seq"]), reverse=True)
        ids = [r["id"] for r in records]
        start, end = 0, min(limit, len(records))
        for cursor in (after_id, before_id):
            if cursor is not None and cursor not in ids:
                raise not_found(f"Message Batch '{cursor}' not found.")
        if after_id is not None:
            start = ids.index(after_id) + 1
            end = min(start + limit, len(records))
            more = end < len(records)
        elif before_id is not None:
            end = ids.index(before_id)
            start = max(0, end - limit)
            more = start > 0
        else:
            more = end < len(records)
        data = [self._view(r, origin) for r in records[start:end]]
        return {
            "data": data,
            "has_more": more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }

    def results(self, batch_id: str, *, project: str | None = None) -> bytes:
        """``GET /v1/messages/batches/{id}/results``: the JSONL results of an ended batch."""
        with self._lock:
            self._sync_stall()
            record = self._batch(batch_id, project)
        now = self._clock()
        state = evaluate(record, now)
        if state.status != "ended":
            raise invalid(
                f"Message Batch '{batch_id}' has not finished processing; its results are "
                "available once processing_status is 'ended'."
            )
        if now >= record["created_at"] + RESULTS_KEPT_SECONDS:
            raise not_found(f"The results of Message Batch '{batch_id}' have been archived.")
        self._settle(record, state)
        try:
            return self._store.read(batch_id, "results")
        except FileNotFoundError:  # deleted meanwhile
            raise not_found(f"Message Batch '{batch_id}' not found.") from None

    # -- change --------------------------------------------------------------------------------

    def cancel(self, batch_id: str, *, origin: str, project: str | None = None) -> dict:
        """``POST /v1/messages/batches/{id}/cancel``; cancelling twice is harmless."""
        with self._lock:
            self._sync_stall()
            record = self._batch(batch_id, project)
            now = self._clock()
            status = evaluate(record, now).status
            if status == "in_progress":
                lifecycle.cancel(record, now)
                self._store.save(record)
            elif status == "ended":
                raise invalid(
                    f"Message Batch '{batch_id}' has already ended and cannot be canceled."
                )
        return self._view(record, origin)

    def delete(self, batch_id: str, *, project: str | None = None) -> dict[str, Any]:
        """``DELETE /v1/messages/batches/{id}``: only an ended batch may be deleted."""
        record = self._batch(batch_id, project)
        state = evaluate(record, self._clock())
        if state.status != "ended":
            raise invalid(
                f"Message Batch '{batch_id}' cannot be deleted while it is {state.status}; "
                "cancel it and wait until it has ended."
            )
        self._settle(record, state)  # what ran is billed, deleted or not
        with self._lock:
            self._store.delete(batch_id)
            self._batches.pop(batch_id, None)
        return {"id": batch_id, "type": "message_batch_deleted"}

    # -- internals -----------------------------------------------------------------------------

    def _sync_stall(self) -> None:
        """Hold or release unended batches per ``stall`` (called under the lock)."""
        stall = self._config().stall
        now = self._clock()
        for record in self._batches.values():
            if record.get("final") is not None:
                continue
            if stall:
                if record.get("stall_at") is None and evaluate(record, now).status == "in_progress":
                    changed = lifecycle.stall(record, now)
                else:
                    changed = False
            else:
                changed = lifecycle.release(record, now)
            if changed:
                self._store.save(record)

    def _view(self, record: Record, origin: str) -> dict[str, Any]:
        now = self._clock()
        state = evaluate(record, now)
        total = record["total"]
        counts = {"processing": total, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if state.status == "ended":
            self._settle(record, state)
            counts = dict(record["final"]["request_counts"])
        cancel = record.get("cancel")
        archive_at = record["created_at"] + RESULTS_KEPT_SECONDS
        ended = state.status == "ended"
        return {
            "id": record["id"],
            "type": "message_batch",
            "processing_status": state.status,
            "request_counts": counts,
            "ended_at": rfc3339(state.ended_at),
            "created_at": rfc3339(record["created_at"]),
            "expires_at": rfc3339(record["created_at"] + EXPIRY_SECONDS),
            "archived_at": rfc3339(archive_at) if now >= archive_at else None,
            "cancel_initiated_at": rfc3339(cancel["at"]) if cancel else None,
            "results_url": f"{origin}/v1/messages/batches/{record['id']}/results"
            if ended
            else None,
        }

    def _settle(self, record: Record, state: MessageBatchState) -> None:
        """Run an ended batch once: write its results and bill its succeeded requests."""
        with self._lock:
            gate = self._settling.setdefault(record["id"], threading.Lock())
        with gate:
            if record.get("final") is not None:
                return
            body = json.loads(self._store.read(record["id"], "requests"))
            lines, ledger, counts = _run(record, state, body["requests"])
            self._store.write(
                record["id"], "results", b"".join(_json_bytes(line) + b"\n" for line in lines)
            )
            with self._lock:
                if record["id"] not in self._billed:  # a restart may have billed it already
                    self._state.append_ledger(ledger)
                    self._billed.add(record["id"])
                record["final"] = {"request_counts": counts, "settled_at": self._clock()}
                self._store.save(record)


def _run(
    record: Record, state: MessageBatchState, requests: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
    """The results lines, ledger entries and request counts of an ended batch."""
    plan = record["plan"]
    batch_id = record["id"]
    answerer = Answerer(_answer_faults(plan), batch_id)
    unrun = "canceled" if state.ending == "canceled" else "expired"
    counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    lines: list[dict[str, Any]] = []
    ledger: list[dict[str, Any]] = []
    order = execution_order(plan["seed"], batch_id, len(requests))
    for position, index in enumerate(order):
        custom_id = requests[index]["custom_id"]
        if position >= state.executed:
            counts[unrun] += 1
            lines.append({"custom_id": custom_id, "result": {"type": unrun}})
            continue
        answer = answerer.answer(custom_id, requests[index]["params"])
        lines.append({"custom_id": custom_id, "result": answer.result})
        if not answer.billed:
            counts["errored"] += 1
            continue
        counts["succeeded"] += 1
        ledger.append(
            {
                "batch_id": batch_id,  # first: StateDir.billed_batch_ids reads it cheaply
                "provider": PROVIDER,
                "custom_id": custom_id,
                "model": answer.model,
                "input_tokens": answer.input_tokens,
                "output_tokens": answer.output_tokens,
                # the OpenAI side's names, so one ledger reader sums both providers
                "prompt_tokens": answer.input_tokens,
                "completion_tokens": answer.output_tokens,
                "cached_tokens": 0,
                "user_content_sha256": answer.user_content_sha256,
                "words": answer.words,
            }
        )
    _add_odd_lines(record, [r["custom_id"] for r in requests], lines)
    return lines, ledger, counts


def _some(rng: random.Random, n: int) -> list[int]:
    """A quarter (at least one) of ``range(n)``, drawn from ``rng``, in ascending order."""
    return sorted(rng.sample(range(n), max(1, n // 4)))


def _add_odd_lines(record: Record, asked: list[str], lines: list[dict[str, Any]]) -> None:
    """Add the batch's planned unbilled lines (duplicates, conflicts, unasked custom_ids)."""
    plan = record["plan"]
    succeeded = [line for line in lines if line["result"]["type"] == "succeeded"]
    if not succeeded or not (
        plan.get("duplicate_lines") or plan.get("conflicting_lines") or plan.get("bogus_custom_ids")
    ):
        return
    rng = random.Random(faults.seed_int(plan["seed"], "odd_lines", record["id"]))
    if plan.get("conflicting_lines"):
        for i in _some(rng, len(succeeded)):
            error = {"type": "error", "error": {"type": "api_error", "message": CONFLICT_MESSAGE}}
            line = {
                "custom_id": succeeded[i]["custom_id"],
                "result": {"type": "errored", "error": error},
            }
            lines.insert(rng.randint(0, len(lines)), line)
    if plan.get("duplicate_lines"):
        for i in reversed(_some(rng, len(lines))):
            lines.insert(rng.randint(i + 1, len(lines)), lines[i])
    if plan.get("bogus_custom_ids"):
        taken = set(asked)
        ghost = next(f"w{n:x}" for n in range(len(taken) + 1) if f"w{n:x}" not in taken)
        for custom_id in (HUGE_CUSTOM_ID, ghost):
            source = succeeded[rng.randrange(len(succeeded))]
            lines.insert(rng.randint(0, len(lines)), {**source, "custom_id": custom_id})
