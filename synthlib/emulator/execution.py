"""Running a settled batch's requests and writing its output and error files.

Requests run in a deterministic shuffled order (:func:`execution_order`), and result lines are
written in that order, so output files never follow the input order and clients must join on
``custom_id``. A cancelled or expired batch ran only the first ``executed`` requests of that
order; the rest get an error line with ``batch_cancelled`` or ``batch_expired``.

Three per-batch faults (drawn when the batch is created) add lines that are never billed, never
counted in ``request_counts`` and never in ``usage``; each needs at least one billed answer:

* ``duplicate_line_rate`` — a quarter of the output lines (at least one), chosen by seed and
  batch id, appear twice in the output file, the copy somewhere after the original;
* ``conflicting_line_rate`` — for a quarter of the billed requests (at least one), the error file
  also has a line with the same ``custom_id``: ``response`` null and ``error`` code
  ``server_error``;
* ``bogus_custom_id_rate`` — the output file gets two more 200 lines (copies of an answered
  line): one for ``w0_fffffffff``, a huge range in synthlib's custom_id format, and one for the
  first of ``w0``, ``w1``, ``w2``, ... that is not a custom_id of the input.

Work happens once per batch, when it is first seen settled, never on every poll.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import faults
from .lifecycle import BatchState, Record
from .responder import RequestFaults, Responder, request_ids
from .validation import request_lines

HUGE_CUSTOM_ID = "w0_fffffffff"
CONFLICT_MESSAGE = "The server had an error while processing this request. (emulated)"

_UNRUN_MESSAGES = {
    "batch_expired": "This request could not be executed before the completion window expired.",
    "batch_cancelled": "This request was not executed because the batch was cancelled.",
}


def execution_order(seed: int, batch_id: str, n: int) -> list[int]:
    """Input indices in the order the batch runs them (a permutation fixed by seed and id)."""
    order = list(range(n))
    random.Random(faults.seed_int(seed, "order", batch_id)).shuffle(order)
    return order


def failed_positions(order: Sequence[int], failing: Sequence[bool]) -> list[int]:
    """Sorted execution positions whose request will fail, from per-input-line predictions."""
    return [pos for pos, index in enumerate(order) if failing[index]]


def request_faults(plan: dict[str, Any]) -> RequestFaults:
    """The per-request fault settings of a batch's stored plan."""
    return RequestFaults(
        seed=plan["seed"],
        error_rate=plan["error_rate"],
        truncate_rate=plan["truncate_rate"],
        refusal_rate=plan["refusal_rate"],
        no_output=plan["no_output"],
        extra_entry_rate=plan.get("extra_entry_rate", 0.0),
        duplicate_entry_rate=plan.get("duplicate_entry_rate", 0.0),
        long_entry_rate=plan.get("long_entry_rate", 0.0),
        long_entry_factor=plan.get("long_entry_factor", 1),
    )


@dataclass
class Settlement:
    """A settled batch's results: file contents (None when empty), counts, bills."""

    output: bytes | None = None
    errors: bytes | None = None
    completed: int = 0
    failed: int = 0
    ledger: list[dict[str, Any]] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0

    def usage(self) -> dict[str, Any]:
        """The batch's ``usage`` object, summed over billed requests."""
        return usage_object(self.input_tokens, self.output_tokens)


def usage_object(input_tokens: int = 0, output_tokens: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def settle(record: Record, state: BatchState, data: bytes, now: float) -> Settlement:
    """Run what ``state`` says was executed and build the result files and ledger entries."""
    result = Settlement()
    if state.status == "failed" or not record["valid"]:
        return result
    lines = request_lines(data)
    order = execution_order(record["plan"]["seed"], record["id"], len(lines))
    responder = Responder(request_faults(record["plan"]), record["id"], int(now))
    unrun_code = "batch_expired" if state.status == "expired" else "batch_cancelled"
    out: list[str] = []
    err: list[str] = []
    asked: list[str] = []
    for position, index in enumerate(order):
        request = json.loads(lines[index])
        custom_id = request["custom_id"]
        asked.append(custom_id)
        line_id, request_id = request_ids(record["id"], custom_id)
        if position >= state.executed:
            error = {"code": unrun_code, "message": _UNRUN_MESSAGES[unrun_code]}
            err.append(
                _dump({"id": line_id, "custom_id": custom_id, "response": None, "error": error})
            )
            continue
        outcome = responder.respond(custom_id, request["body"])
        response = {
            "status_code": outcome.status_code,
            "request_id": request_id,
            "body": outcome.body,
        }
        line = _dump({"id": line_id, "custom_id": custom_id, "response": response, "error": None})
        if not outcome.billed:
            result.failed += 1
            err.append(line)
            continue
        result.completed += 1
        out.append(line)
        result.input_tokens += outcome.prompt_tokens
        result.output_tokens += outcome.completion_tokens
        result.ledger.append(
            {
                "batch_id": record["id"],
                "custom_id": custom_id,
                "model": outcome.model,
                "prompt_tokens": outcome.prompt_tokens,
                "completion_tokens": outcome.completion_tokens,
                "cached_tokens": 0,
                "user_content_sha256": outcome.user_content_sha256,
                "words": outcome.words,
            }
        )
    if out:
        _add_odd_lines(record, asked, out, err)
        result.output = ("\n".join(out) + "\n").encode("utf-8")
    if err:
        result.errors = ("\n".join(err) + "\n").encode("utf-8")
    return result


def _some(rng: random.Random, n: int) -> list[int]:
    """A quarter (at least one) of ``range(n)``, drawn from ``rng``, in ascending order."""
    return sorted(rng.sample(range(n), max(1, n // 4)))


def _add_odd_lines(record: Record, asked: Sequence[str], out: list[str], err: list[str]) -> None:
    """Add the batch's planned unbilled lines (see the module docstring) to ``out``/``err``.

    ``out`` holds one line per billed request, in execution order; it must not be empty.
    """
    plan = record["plan"]
    if not (
        plan.get("duplicate_lines") or plan.get("conflicting_lines") or plan.get("bogus_custom_ids")
    ):
        return
    batch_id = record["id"]
    rng = random.Random(faults.seed_int(plan["seed"], "odd_lines", batch_id))
    billed = list(out)
    if plan.get("conflicting_lines"):
        for i in _some(rng, len(billed)):
            custom_id = json.loads(billed[i])["custom_id"]
            line_id, _ = request_ids(batch_id, custom_id + "\x1fconflict")
            error = {"code": "server_error", "message": CONFLICT_MESSAGE}
            line = {"id": line_id, "custom_id": custom_id, "response": None, "error": error}
            err.insert(rng.randint(0, len(err)), _dump(line))
    if plan.get("duplicate_lines"):
        for i in reversed(_some(rng, len(out))):
            out.insert(rng.randint(i + 1, len(out)), out[i])
    if plan.get("bogus_custom_ids"):
        taken = set(asked)
        ghost = next(f"w{n:x}" for n in range(len(taken) + 1) if f"w{n:x}" not in taken)
        for custom_id in (HUGE_CUSTOM_ID, ghost):
            line = json.loads(billed[rng.randrange(len(billed))])
            line["id"], line["response"]["request_id"] = request_ids(batch_id, custom_id)
            line["custom_id"] = custom_id
            out.insert(rng.randint(0, len(out)), _dump(line))
