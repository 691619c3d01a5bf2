"""The JSON objects the API returns, shaped to parse with the ``openai`` SDK's types
(``FileObject``, ``FileDeleted``, ``Batch`` and the cursor pages of ``list``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .execution import usage_object
from .lifecycle import COMPLETION_WINDOW_SECONDS, BatchState, Record

_BATCH_TIMESTAMPS = (
    "in_progress_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)


def file_object(record: dict[str, Any]) -> dict[str, Any]:
    """A stored file as an OpenAI ``file`` object."""
    return {
        "id": record["id"],
        "object": "file",
        "bytes": record["bytes"],
        "created_at": int(record["created_at"]),
        "filename": record["filename"],
        "purpose": record["purpose"],
        "status": "processed",
        "status_details": None,
        "expires_at": None,
    }


def deleted_file(file_id: str) -> dict[str, Any]:
    return {"id": file_id, "object": "file", "deleted": True}


def batch_object(record: Record, state: BatchState) -> dict[str, Any]:
    """A batch record, as seen in ``state``, as an OpenAI ``batch`` object."""
    final = record.get("final") if state.settled else None
    valid = record["valid"]
    if final is not None:
        counts = {"total": record["total"] if valid else 0, **final["request_counts"]}
        usage = final["usage"]
    else:
        shown = valid and state.status != "validating"
        counts = {
            "total": record["total"] if shown else 0,
            "completed": state.executed - state.failed,
            "failed": state.failed,
        }
        usage = usage_object()
    errors = None
    if state.status == "failed":
        errors = {"object": "list", "data": record["validation_errors"]}
    obj: dict[str, Any] = {
        "id": record["id"],
        "object": "batch",
        "endpoint": record["endpoint"],
        "model": record.get("model"),
        "errors": errors,
        "input_file_id": record["input_file_id"],
        "completion_window": record["completion_window"],
        "status": state.status,
        "output_file_id": final["output_file_id"] if final else None,
        "error_file_id": final["error_file_id"] if final else None,
        "created_at": int(record["created_at"]),
        "expires_at": int(record["created_at"]) + COMPLETION_WINDOW_SECONDS,
        "request_counts": counts,
        "usage": usage,
        "metadata": record.get("metadata"),
    }
    for name in _BATCH_TIMESTAMPS:
        obj[name] = state.timestamps.get(name)
    return obj


def page(items: Sequence[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """One page of a cursor-paginated list."""
    return {
        "object": "list",
        "data": list(items),
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }
