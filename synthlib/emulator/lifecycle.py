"""A batch's status at any moment, computed from its stored timestamps and plan.

Nothing ticks in the background: :func:`evaluate` answers "what does this batch look like at
time ``now``" from what was stored when the batch was created (its phase durations and fault
plan), when it was cancelled, and when it was stalled and released. A restarted emulator
therefore carries on exactly where the old one was.

The timeline of a batch of ``n`` requests, in seconds since creation (its *elapsed* time):

* ``[0, V)`` validating; then ``failed`` if validation found errors;
* ``[V, V + n·p)`` in_progress, one request run every ``p`` seconds (in a shuffled order);
* ``[V + n·p, V + n·p + F)`` finalizing; then completed;
* an expiring batch instead becomes ``expired`` at ``V + (n // 2)·p``, half of it run;
* a cancel at wall time ``C`` freezes progress, shows ``cancelling`` until ``C + cancelling``
  seconds and ``cancelled`` after.

While stalled, elapsed time stops at the stall point (the batch stays in_progress); releasing a
stall records a pause, and the batch resumes where it stopped. Stored record fields used here:
``created_at``, ``valid``, ``total``, ``plan`` (``validating_seconds``, ``seconds_per_request``,
``finalizing_seconds``, ``cancelling_seconds``, ``expire``, ``no_output``), ``failed_positions``
(sorted execution positions that will fail), ``stall_at``, ``pauses`` (``[at, seconds]`` pairs)
and ``cancel`` (``{"at", "elapsed", "executed"}``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
# Statuses whose input tokens count against the model's enqueued-token limit.
ENQUEUED = frozenset({"validating", "in_progress", "finalizing"})
COMPLETION_WINDOW_SECONDS = 24 * 3600

Record = dict[str, Any]


@dataclass(frozen=True)
class BatchState:
    """A batch as seen at one moment.

    ``executed`` requests have been run, ``failed`` of them unsuccessfully; ``timestamps`` holds
    only the events that have happened (``in_progress_at``, ``finalizing_at``, ...).
    """

    status: str
    executed: int = 0
    failed: int = 0
    timestamps: dict[str, int] = field(default_factory=dict)

    @property
    def settled(self) -> bool:
        """Whether the batch has reached a final status (its result files are due)."""
        return self.status in TERMINAL


def _phases(record: Record) -> tuple[float, float, float]:
    plan = record["plan"]
    return plan["validating_seconds"], plan["seconds_per_request"], plan["finalizing_seconds"]


def elapsed(record: Record, now: float, *, stalled: bool = True) -> float:
    """Seconds of the batch's own timeline that have passed at wall time ``now``.

    Pauses are taken out; with ``stalled`` the stall point (if any) caps the result.
    """
    e = now - record["created_at"]
    for at, seconds in record.get("pauses", ()):
        if e <= at:
            break
        e = max(at, e - seconds)
    stall_at = record.get("stall_at")
    if stalled and stall_at is not None and e > stall_at:
        e = stall_at
    return e


def wall_time(record: Record, at: float) -> int:
    """The wall time (whole seconds) at which elapsed time ``at`` is reached."""
    shift = sum(seconds for pause_at, seconds in record.get("pauses", ()) if pause_at < at)
    return int(record["created_at"] + at + shift)


def progress(record: Record, e: float) -> int:
    """Requests run by elapsed time ``e``."""
    validating, per_request, _ = _phases(record)
    n = record["total"]
    if e < validating:
        return 0
    # The epsilon keeps float noise from losing a request at exact boundaries.
    done = n if per_request <= 0 else min(n, int((e - validating) / per_request + 1e-9))
    if record["plan"].get("expire"):
        done = min(done, n // 2)
    return done


def failures_among(record: Record, executed: int) -> int:
    """How many of the first ``executed`` requests (execution order) fail."""
    if record["plan"].get("no_output"):
        return executed
    return bisect.bisect_left(record.get("failed_positions", ()), executed)


def evaluate(record: Record, now: float) -> BatchState:
    """The batch at wall time ``now``."""
    validating, per_request, finalizing = _phases(record)
    n = record["total"]
    stamps: dict[str, int] = {}

    cancel = record.get("cancel")
    if cancel is not None:
        if record["valid"] and cancel["elapsed"] >= validating:
            stamps["in_progress_at"] = wall_time(record, validating)
        stamps["cancelling_at"] = int(cancel["at"])
        executed = cancel["executed"]
        done_at = cancel["at"] + record["plan"]["cancelling_seconds"]
        status = "cancelling"
        if now >= done_at:
            status = "cancelled"
            stamps["cancelled_at"] = int(done_at)
        return BatchState(status, executed, failures_among(record, executed), stamps)

    e = elapsed(record, now)
    if e < validating:
        return BatchState("validating")
    if not record["valid"]:
        return BatchState("failed", timestamps={"failed_at": wall_time(record, validating)})
    stamps["in_progress_at"] = wall_time(record, validating)

    def running(done: int) -> BatchState:
        return BatchState("in_progress", done, failures_among(record, done), stamps)

    stall_at = record.get("stall_at")
    if stall_at is not None and e >= stall_at:
        return running(progress(record, stall_at))
    if record["plan"].get("expire"):
        expire_at = validating + (n // 2) * per_request
        if e < expire_at:
            return running(progress(record, e))
        stamps["expired_at"] = wall_time(record, expire_at)
        return BatchState("expired", n // 2, failures_among(record, n // 2), stamps)
    run_end = validating + n * per_request
    if e < run_end:
        return running(progress(record, e))
    stamps["finalizing_at"] = wall_time(record, run_end)
    if e < run_end + finalizing:
        return BatchState("finalizing", n, failures_among(record, n), stamps)
    stamps["completed_at"] = wall_time(record, run_end + finalizing)
    return BatchState("completed", n, failures_among(record, n), stamps)


def can_stall(record: Record, state: BatchState) -> bool:
    """Whether a stall would hold this batch (valid, not cancelled, not past in_progress)."""
    return (
        record["valid"]
        and record.get("cancel") is None
        and record.get("stall_at") is None
        and state.status in ("validating", "in_progress")
    )


def stall(record: Record, now: float) -> bool:
    """Hold the batch in in_progress from now on (half-way if it is still validating).

    Returns whether the record changed.
    """
    state = evaluate(record, now)
    if not can_stall(record, state):
        return False
    validating, per_request, _ = _phases(record)
    if state.status == "validating":
        record["stall_at"] = validating + (record["total"] // 2) * per_request
    else:
        record["stall_at"] = elapsed(record, now)
    return True


def release(record: Record, now: float) -> bool:
    """Let a stalled batch resume where it stopped; returns whether the record changed."""
    stall_at = record.get("stall_at")
    if stall_at is None:
        return False
    if record.get("cancel") is None:
        free = elapsed(record, now, stalled=False)
        if free > stall_at:
            record.setdefault("pauses", []).append([stall_at, free - stall_at])
    record["stall_at"] = None
    return True


def cancel(record: Record, now: float) -> None:
    """Record a cancel request at ``now`` (the caller checks the status allows it)."""
    e = elapsed(record, now)
    executed = progress(record, e) if record["valid"] else 0
    record["cancel"] = {"at": now, "elapsed": e, "executed": executed}
