"""How the emulator counts tokens: a fixed, documented estimate, not a real tokenizer.

* A text costs ``ceil(utf8_bytes / 4)`` tokens (an empty text costs 0).
* A chat request's input tokens: 3 for priming the reply, plus for each message 3 and the tokens
  of its text content (string content, or the ``text`` of each text part when it is a list),
  plus, when ``response_format`` is present, the tokens of its compact JSON
  (``json.dumps(..., separators=(",", ":"))``).
* A reply's completion tokens: the tokens of its content (or of its refusal text).

The rule is deterministic and cheap, so tests can predict every figure in the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3
BYTES_PER_TOKEN = 4


def text_tokens(text: str | None) -> int:
    """Tokens of ``text``: its UTF-8 size over four, rounded up."""
    if not text:
        return 0
    return -(-len(text.encode("utf-8")) // BYTES_PER_TOKEN)


def message_text(content: Any) -> str:
    """The text of a message's ``content``: the string itself, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "")
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    return ""


def response_format_json(body: Mapping[str, Any]) -> str | None:
    """The compact JSON of the body's ``response_format``, or None when it has none."""
    fmt = body.get("response_format")
    if fmt is None:
        return None
    return json.dumps(fmt, ensure_ascii=False, separators=(",", ":"))


class FormatMemo:
    """Serialises ``response_format`` values, remembering the last one.

    The lines of one batch nearly always share one response format, and comparing two parsed
    dicts is far cheaper than serialising one again. Not thread-safe: use one per batch run.
    """

    def __init__(self) -> None:
        self._last: Any = None
        self._json: str | None = None

    def json_of(self, body: Mapping[str, Any]) -> str | None:
        """Same as :func:`response_format_json`."""
        fmt = body.get("response_format")
        if fmt is None:
            return None
        if self._json is None or fmt != self._last:
            self._last = fmt
            self._json = json.dumps(fmt, ensure_ascii=False, separators=(",", ":"))
        return self._json


def input_tokens(body: Mapping[str, Any], response_format: str | None = None) -> int:
    """Input tokens of a chat completions body by the module's rule.

    ``response_format`` may pass the body's precomputed :func:`response_format_json` to save
    serialising it twice.
    """
    total = TOKENS_PER_REPLY
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, Mapping):
                total += TOKENS_PER_MESSAGE + text_tokens(message_text(message.get("content")))
    fmt = response_format if response_format is not None else response_format_json(body)
    if fmt is not None:
        total += text_tokens(fmt)
    return total
