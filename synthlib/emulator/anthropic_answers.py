"""Answers to the Messages requests of an Anthropic Message Batch, shaped like the real API's.

Facts from the Anthropic docs as of 2026 (Messages API, Message Batches API and tool use
references; the ``anthropic`` Python SDK's types): a succeeded result carries a ``message``
object (``id`` ``msg_...``, ``type: "message"``, ``role: "assistant"``, ``model``, ``content``
blocks, ``stop_reason``, ``stop_sequence``, ``usage`` with ``input_tokens`` and
``output_tokens``); a forced tool call (``tool_choice: {"type": "tool", "name": ...}``) answers
with a ``tool_use`` block (``id`` ``toolu_...``, ``name``, ``input``) and ``stop_reason:
"tool_use"``; hitting ``max_tokens`` stops with ``stop_reason: "max_tokens"``; the ``params`` of
each request are validated only when the batch runs, so a bad request becomes an ``errored``
result (``{"type": "error", "error": {"type": "invalid_request_error", ...}}``), never a
rejected batch; errored, canceled and expired requests are not billed.

A request's fate, each step deterministic:

1. an ``invalid_request_error`` for params the API would refuse (:func:`param_problem`): no
   ``model``, ``max_tokens`` missing or below 1, no ``messages``, a tool without an object
   ``input_schema``, a ``tool_choice`` naming a tool that is not given, ``stream: true``;
2. an ``api_error`` if the batch is a no-output batch or the request draws ``error_rate``;
3. an ``invalid_request_error`` if it draws ``anthropic_invalid_request_rate``;
4. otherwise a succeeded message: a refusal (``stop_reason: "refusal"``) if it draws
   ``refusal_rate``; else a ``tool_use`` block whose ``input`` is an instance of the tool's
   ``input_schema`` (when ``tool_choice`` is ``tool``, ``any`` or ``auto`` with tools: the named
   tool, else the first), or a ``text`` block holding JSON valid against
   ``output_config.format.schema`` (structured outputs), or plain text. The instance follows the
   word convention of :mod:`.schema_instances`, and ``extra_entry_rate`` and
   ``duplicate_entry_rate`` act on it as on the OpenAI side. When it draws ``truncate_rate`` or
   its output exceeds ``max_tokens``, the output is cut: ``stop_reason: "max_tokens"``,
   ``output_tokens`` the tokens kept, and the ``input`` what a partial JSON parser makes of the
   kept prefix (the last object it reaches lacks keys, so it rarely validates).

Token rule (like :mod:`.tokens`): input is 3, plus 3 and the text tokens of the ``system`` prompt
when there is one, plus 3 and the text tokens of each message, plus the tokens of the compact
JSON of ``tools`` and of ``output_config.format`` when present; output is the tokens of the
compact JSON of the tool input, or of the text.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import faults, tokens
from .responder import (
    REFUSAL_TEXT,
    RequestFaults,
    generator_for,
    last_user_text,
    lengthen,
    repeat_entry,
    requested_words,
    unasked_word,
)

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
API_ERROR_MESSAGE = "Internal server error (emulated)"
INVALID_REQUEST_MESSAGE = "The request could not be processed as sent (emulated)."


def base62_id(prefix: str, *keys: str) -> str:
    """``prefix`` + ``01`` + 22 base62 characters fixed by ``keys`` (the shape of real ids)."""
    digest = hashlib.blake2b("\x1f".join(keys).encode("utf-8"), digest_size=16).digest()
    n = int.from_bytes(digest, "big")
    chars = []
    for _ in range(22):
        n, r = divmod(n, 62)
        chars.append(_ALPHABET[r])
    return prefix + "01" + "".join(chars)


@dataclass(frozen=True)
class AnswerFaults(RequestFaults):
    """The per-request fault settings a Message Batch was created with: the OpenAI side's, and
    the share of requests whose result is an ``invalid_request_error``."""

    invalid_request_rate: float = 0.0


@dataclass(frozen=True)
class Answer:
    """One request's ``result`` object and, when ``billed``, what it costs."""

    result: dict[str, Any]
    model: str
    input_tokens: int
    output_tokens: int
    user_content_sha256: str
    words: list[str] | None

    @property
    def billed(self) -> bool:
        return self.result["type"] == "succeeded"


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _output_format(params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    config = params.get("output_config")
    fmt = config.get("format") if isinstance(config, Mapping) else None
    return fmt if isinstance(fmt, Mapping) else None


def input_tokens(params: Mapping[str, Any]) -> int:
    """Input tokens of a request's ``params`` by the module's rule."""
    total = tokens.TOKENS_PER_REPLY
    system = params.get("system")
    if system:
        total += tokens.TOKENS_PER_MESSAGE + tokens.text_tokens(tokens.message_text(system))
    messages = params.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, Mapping):
                text = tokens.message_text(message.get("content"))
                total += tokens.TOKENS_PER_MESSAGE + tokens.text_tokens(text)
    if params.get("tools"):
        total += tokens.text_tokens(_compact(params["tools"]))
    fmt = _output_format(params)
    if fmt is not None:
        total += tokens.text_tokens(_compact(fmt))
    return total


def param_problem(params: Any) -> str | None:
    """The ``invalid_request_error`` message the API gives these params, or None."""
    if not isinstance(params, Mapping):
        return "params: Input should be a valid dictionary"
    if not isinstance(params.get("model"), str) or not params["model"]:
        return "model: Field required"
    max_tokens = params.get("max_tokens")
    if max_tokens is None:
        return "max_tokens: Field required"
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        return "max_tokens: Input should be a valid integer"
    if max_tokens < 1:
        return "max_tokens: Input should be greater than or equal to 1"
    messages = params.get("messages")
    if not isinstance(messages, list) or not messages:
        return (
            "messages: Field required"
            if messages is None
            else "messages: at least one message is required"
        )
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
    if params.get("stream"):
        return "stream: streaming is not supported in Message Batches"
    tools = params.get("tools")
    names: list[str] = []
    if tools is not None:
        if not isinstance(tools, list):
            return "tools: Input should be a valid list"
        for i, tool in enumerate(tools):
            if not isinstance(tool, Mapping) or not isinstance(tool.get("name"), str):
                return f"tools.{i}.name: Field required"
            schema = tool.get("input_schema")
            if not isinstance(schema, Mapping):
                return f"tools.{i}.custom.input_schema: Field required"
            if schema.get("type") != "object":
                return f"tools.{i}.custom.input_schema.type: Input should be 'object'"
            names.append(tool["name"])
    choice = params.get("tool_choice")
    if choice is not None:
        kind = choice.get("type") if isinstance(choice, Mapping) else None
        if kind not in ("auto", "any", "tool", "none"):
            return "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"
        if kind != "none" and not names:
            return "tool_choice may only be specified while providing tools."
        if kind == "tool" and choice.get("name") not in names:
            return f"Tool '{choice.get('name')}' not found in the provided tools."
    fmt = _output_format(params)
    if fmt is not None and (
        fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), Mapping)
    ):
        return "output_config.format: expected {'type': 'json_schema', 'schema': {...}}"
    return None


def _chosen_tool(params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The tool the answer calls, or None for a text answer."""
    tools = params.get("tools") or []
    choice = params.get("tool_choice") or {"type": "auto"}
    if not tools or choice.get("type") == "none":
        return None
    if choice.get("type") == "tool":
        return next(t for t in tools if t["name"] == choice["name"])
    return tools[0]


_CUT = object()


def prefix_of(value: Any, budget: int) -> tuple[Any, int, bool]:
    """What a partial JSON parser makes of the first ``budget`` bytes of ``value``'s compact
    JSON: ``(partial value or _CUT, bytes used, whether it is complete)``.

    Keys and scalars that do not fit are left out, a string that does not fit is cut, and an
    object or array keeps the members that fit, the last of them partial.
    """
    size = len(_compact(value).encode("utf-8"))
    if size <= budget:
        return value, size, True
    if isinstance(value, str):
        if budget < 2:
            return _CUT, 0, False
        kept = value.encode("utf-8")[: budget - 1].decode("utf-8", errors="ignore")
        return kept, budget, False
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        used = 1
        for i, (key, item) in enumerate(value.items()):
            cost = len(_compact(key).encode("utf-8")) + 1 + (1 if i else 0)
            if used + cost >= budget:
                return out, used, False
            part, n, complete = prefix_of(item, budget - used - cost)
            if part is _CUT:
                return out, used, False
            out[key] = part
            used += cost + n
            if not complete:
                return out, used, False
        return out, used, False  # only the closing brace is missing
    if isinstance(value, list):
        items: list[Any] = []
        used = 1
        for i, item in enumerate(value):
            cost = 1 if i else 0
            part, n, complete = prefix_of(item, budget - used - cost)
            if part is _CUT:
                return items, used, False
            items.append(part)
            used += cost + n
            if not complete:
                return items, used, False
        return items, used, False
    return _CUT, 0, False


def _errored(kind: str, message: str) -> dict[str, Any]:
    return {
        "type": "errored",
        "error": {"type": "error", "error": {"type": kind, "message": message}},
    }


class Answerer:
    """Runs the requests of one Message Batch: ``will_fail`` predicts, ``answer`` produces."""

    def __init__(self, answer_faults: AnswerFaults, batch_id: str) -> None:
        self.faults = answer_faults
        self.batch_id = batch_id

    def _draw(self, rate: float, kind: str, custom_id: str) -> bool:
        return faults.hits(rate, self.faults.seed, kind, self.batch_id, custom_id)

    def _error(self, custom_id: str, params: Any) -> dict[str, Any] | None:
        problem = param_problem(params)
        if problem is not None:
            return _errored("invalid_request_error", problem)
        if self.faults.no_output or self._draw(self.faults.error_rate, "error", custom_id):
            return _errored("api_error", API_ERROR_MESSAGE)
        if self._draw(self.faults.invalid_request_rate, "invalid_request", custom_id):
            return _errored("invalid_request_error", INVALID_REQUEST_MESSAGE)
        return None

    def will_fail(self, custom_id: str, params: Any) -> bool:
        """Whether :meth:`answer` gives this request an ``errored`` result (nothing is run)."""
        return self._error(custom_id, params) is not None

    def answer(self, custom_id: str, params: Any) -> Answer:
        """Run one request of the batch."""
        mapping = params if isinstance(params, Mapping) else {}
        user_text = last_user_text(mapping)
        words = requested_words(user_text)
        model = given if isinstance(given := mapping.get("model"), str) else ""
        sha = hashlib.sha256(user_text.encode("utf-8")).hexdigest()
        prompt = input_tokens(mapping)

        error = self._error(custom_id, params)
        if error is not None:
            return Answer(error, model, prompt, 0, sha, words)

        f = self.faults
        tool = _chosen_tool(mapping)
        stop_reason = "end_turn"
        block: dict[str, Any]
        if self._draw(f.refusal_rate, "refusal", custom_id):
            block = {"type": "text", "text": REFUSAL_TEXT}
            output = tokens.text_tokens(REFUSAL_TEXT)
            stop_reason = "refusal"
        else:
            instance = self._instance(custom_id, mapping, tool, words)
            text = instance if isinstance(instance, str) else _compact(instance)
            output = tokens.text_tokens(text)
            keep: int | None = None
            if self._draw(f.truncate_rate, "truncate", custom_id):
                share = 0.3 + 0.5 * faults.draw(f.seed, "truncate_at", self.batch_id, custom_id)
                keep = max(0, min(output - 1, int(output * share)))
            if mapping["max_tokens"] < output:
                keep = mapping["max_tokens"] if keep is None else min(keep, mapping["max_tokens"])
            budget = None if keep is None else keep * tokens.BYTES_PER_TOKEN
            if tool is not None:
                if budget is not None:
                    partial, _, _ = prefix_of(instance, budget)
                    instance = {} if partial is _CUT else partial
                block = {
                    "type": "tool_use",
                    "id": base62_id("toolu_", self.batch_id, custom_id),
                    "name": tool["name"],
                    "input": instance,
                }
                stop_reason = "tool_use"
            else:
                if budget is not None:
                    text = text.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
                block = {"type": "text", "text": text}
            if keep is not None:
                output, stop_reason = keep, "max_tokens"

        message = {
            "id": base62_id("msg_", self.batch_id, custom_id),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [block],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": prompt,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": output,
                "service_tier": "batch",
            },
        }
        return Answer({"type": "succeeded", "message": message}, model, prompt, output, sha, words)

    def _instance(
        self,
        custom_id: str,
        params: Mapping[str, Any],
        tool: Mapping[str, Any] | None,
        words: list[str] | None,
    ) -> Any:
        """The tool input (a dict), the structured text's value, or the plain text."""
        schema: Mapping[str, Any] | None = None
        if tool is not None:
            schema = tool["input_schema"]
        elif (fmt := _output_format(params)) is not None:
            schema = fmt["schema"]
        extra: str | None = None
        repeat: int | None = None
        if words:
            if self._draw(self.faults.extra_entry_rate, "extra_entry", custom_id):
                extra = unasked_word(words)
            if self._draw(self.faults.duplicate_entry_rate, "dup_entry", custom_id):
                at = faults.draw(self.faults.seed, "dup_entry_at", self.batch_id, custom_id)
                repeat = int(at * len(words))
        shown = None if words is None else [*words, *([extra] if extra else [])]
        if schema is None:
            if shown is None:
                return "This is an emulated answer."
            if repeat is not None:
                shown.insert(repeat + 1, shown[repeat])
            return "\n".join(f"{w}: a definition of {w}" for w in shown)
        rng = random.Random(faults.seed_int(self.faults.seed, "answer", custom_id))
        instance = generator_for(_compact(schema), schema).generate(rng, shown)
        lengthen(instance, self.faults)
        repeat_entry(instance, repeat)
        if tool is None:  # structured outputs: the JSON is the text
            return _compact(instance)
        return instance
