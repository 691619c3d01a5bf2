"""Checks a batch input file the way the Batch API does while a batch is ``validating``.

Errors come back as ``BatchError`` dicts (``code``, ``message``, ``line``, ``param``); lines are
numbered from 1 and blank lines are skipped (but still counted). Codes:

* ``file_too_large`` — the file is over the configured byte limit (nothing else is checked);
* ``invalid_json_line`` — a line is not a JSON object;
* ``missing_required_parameter`` — no ``custom_id``, ``method``, ``url``, ``body`` or
  ``body.model``;
* ``invalid_value`` — ``custom_id`` not a string, ``method`` not ``POST``, ``body`` not an object;
* ``url_mismatch`` — ``url`` differs from the batch's endpoint;
* ``duplicate_custom_id`` — a ``custom_id`` seen on an earlier line;
* ``model_mismatch`` — a second model in the file (reported once, at its first line);
* ``empty_file`` — no request at all;
* ``too_many_tasks`` — more requests than the configured maximum.

At most :data:`MAX_REPORTED_ERRORS` line errors are reported. The enqueued-token check
(``token_limit_exceeded``) needs the other batches, so the caller makes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import tokens

MAX_REPORTED_ERRORS = 100

# (custom_id, body, compact response_format JSON) -> whether the request will fail when run
FailurePredictor = Callable[[str, Any, str | None], bool]


@dataclass
class ValidatedInput:
    """What validation learned about an input file.

    ``failing[i]`` says whether the i-th request (input order, blank lines skipped) will get a
    non-200 when run; it lets request counts grow realistically before anything is executed.
    """

    errors: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    model: str | None = None
    input_tokens: int = 0
    failing: list[bool] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors


def batch_error(
    code: str, message: str, line: int | None = None, param: str | None = None
) -> dict[str, Any]:
    """One entry of a batch's ``errors.data``."""
    return {"code": code, "message": message, "line": line, "param": param}


def request_lines(data: bytes) -> list[bytes]:
    """The non-blank lines of an input file, in order (what the requests are made of)."""
    return [line for line in data.split(b"\n") if line.strip()]


def validate_input(
    data: bytes,
    endpoint: str,
    *,
    max_requests: int,
    max_file_bytes: int,
    will_fail: FailurePredictor,
) -> ValidatedInput:
    """Check ``data`` as the input file of a batch for ``endpoint``."""
    result = ValidatedInput()
    if len(data) > max_file_bytes:
        result.errors.append(
            batch_error(
                "file_too_large",
                f"The batch input file is larger than the {max_file_bytes} maximum. "
                "Please try again with a smaller batch.",
            )
        )
        return result

    errors = result.errors
    seen: set[str] = set()
    first_model: str | None = None
    model_reported = False
    formats = tokens.FormatMemo()

    def report(code: str, message: str, line: int, param: str | None = None) -> None:
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append(batch_error(code, message, line, param))

    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        result.total += 1
        try:
            line = json.loads(raw)
        except ValueError:
            line = None
        if not isinstance(line, dict):
            report("invalid_json_line", "This line is not parseable as valid JSON.", number)
            continue
        missing = next((k for k in ("custom_id", "method", "url", "body") if k not in line), None)
        if missing is not None:
            report(
                "missing_required_parameter",
                f"Missing required parameter: '{missing}'.",
                number,
                missing,
            )
            continue
        custom_id, body = line["custom_id"], line["body"]
        if not isinstance(custom_id, str) or not custom_id:
            report("invalid_value", "custom_id must be a non-empty string.", number, "custom_id")
            continue
        if line["method"] != "POST":
            report("invalid_value", "Only the POST method is supported.", number, "method")
        if line["url"] != endpoint:
            report(
                "url_mismatch",
                f"The URL provided for this request does not match the batch endpoint "
                f"'{endpoint}'.",
                number,
                "url",
            )
        if custom_id in seen:
            report(
                "duplicate_custom_id",
                "The custom_id for this request is a duplicate of another request. The "
                "custom_id parameter must be unique for each request in a batch.",
                number,
                "custom_id",
            )
        seen.add(custom_id)
        if not isinstance(body, dict):
            report("invalid_value", "body must be a JSON object.", number, "body")
            continue
        model = body.get("model")
        if not isinstance(model, str) or not model:
            report(
                "missing_required_parameter",
                "Missing required parameter: 'body.model'.",
                number,
                "body.model",
            )
            continue
        if first_model is None:
            first_model = model
        elif model != first_model and not model_reported:
            model_reported = True
            report(
                "model_mismatch",
                f"The model '{model}' differs from the model '{first_model}' of earlier "
                "requests; all requests in a batch must use the same model.",
                number,
                "body.model",
            )
        if errors:  # an invalid file is never run, so its costs need no counting
            continue
        fmt_json = formats.json_of(body)
        result.input_tokens += tokens.input_tokens(body, fmt_json)
        result.failing.append(will_fail(custom_id, body, fmt_json))

    result.model = first_model
    if result.total == 0 and not errors:
        errors.append(batch_error("empty_file", "The batch input file is empty."))
    if result.total > max_requests:
        errors.append(
            batch_error(
                "too_many_tasks",
                f"The batch input file has {result.total:,} requests; the maximum for a batch "
                f"is {max_requests:,}.",
            )
        )
    return result
