"""Fake answers to ``/v1/chat/completions`` bodies, shaped exactly like the real API's.

A request's fate is decided in this order, each step deterministic:

1. a 400 the real API would give before running it (:func:`rejection`): no ``messages``, an
   unusable ``response_format`` schema, or a reasoning model (``gpt-5*``, ``o1*``, ``o3*``,
   ``o4*``) given ``max_tokens`` or a ``temperature`` other than 1;
2. a 500 if the batch is a no-output batch or the request draws an ``error_rate`` fault;
3. otherwise a 200 ``chat.completion``: a refusal if it draws a ``refusal_rate`` fault, else
   content — JSON valid against the ``json_schema`` response format when one is given (see
   :mod:`.schema_instances`), cut short with ``finish_reason: "length"`` when it draws a
   ``truncate_rate`` fault or exceeds ``max_completion_tokens``/``max_tokens``.

Two faults make odd but billed (200, ``finish_reason: "stop"``) answers to requests whose user
message carries a ``words`` list, when the answer has word entries (``{"entries": [...]}``):

* ``extra_entry_rate`` — one more entry, last, for a word that was not asked: the first asked
  word plus ``s`` (or ``es``, ``ed``, ... when that was asked too);
* ``duplicate_entry_rate`` — one asked word's entry appears twice, the copy right after it.

They are drawn after the refusal and before truncation; the answer's ``completion_tokens`` (and
the ledger) count the content as sent. The ledger's ``words`` stay the words asked.

The content depends only on (seed, custom_id, body), so a retried request gets the same answer;
the faults also depend on the batch id, so a retry gets a fresh draw.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import faults, tokens
from .errors import ApiError
from .schema_instances import InstanceGenerator, is_junk_word

REASONING_PREFIXES = ("gpt-5", "o1", "o3", "o4")
REFUSAL_TEXT = "I'm sorry, but I can't help with that request."
SERVER_ERROR = {
    "message": "The server had an error processing your request. Sorry about that! "
    "You can retry your request. (emulated)",
    "type": "server_error",
    "param": None,
    "code": None,
}


def is_reasoning_model(model: str) -> bool:
    """Whether ``model`` is treated as a reasoning model (no temperature, no max_tokens)."""
    return model.startswith(REASONING_PREFIXES)


@dataclass(frozen=True)
class RequestFaults:
    """The per-request fault settings a batch was created with."""

    seed: int = 0
    error_rate: float = 0.0
    truncate_rate: float = 0.0
    refusal_rate: float = 0.0
    no_output: bool = False
    extra_entry_rate: float = 0.0
    duplicate_entry_rate: float = 0.0
    long_entry_rate: float = 0.0
    long_entry_factor: int = 1


@dataclass(frozen=True)
class Outcome:
    """What running one request produced, and what it costs when ``billed``."""

    status_code: int
    body: dict[str, Any]
    model: str
    prompt_tokens: int
    completion_tokens: int
    user_content_sha256: str
    words: list[str] | None

    @property
    def billed(self) -> bool:
        return self.status_code == 200


_generators: dict[str, InstanceGenerator] = {}
_generators_lock = threading.Lock()
_GENERATOR_CACHE_SIZE = 64


def generator_for(response_format_json: str, schema: Mapping[str, Any]) -> InstanceGenerator:
    """The compiled generator of ``schema``, cached by its response format's JSON text."""
    with _generators_lock:
        found = _generators.get(response_format_json)
    if found is not None:
        return found
    made = InstanceGenerator(schema)
    with _generators_lock:
        if len(_generators) >= _GENERATOR_CACHE_SIZE:
            _generators.pop(next(iter(_generators)))
        _generators[response_format_json] = made
    return made


def last_user_text(body: Mapping[str, Any]) -> str:
    """The text of the last ``user`` message ("" when there is none)."""
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, Mapping) and message.get("role") == "user":
                return tokens.message_text(message.get("content"))
    return ""


def requested_words(user_text: str) -> list[str] | None:
    """The ``words`` list of the JSON object on the user message's last line, if it has one."""
    tail = user_text.rsplit("\n", 1)[-1].strip()
    if not tail.startswith("{"):
        return None
    try:
        payload = json.loads(tail)
    except ValueError:
        return None
    words = payload.get("words") if isinstance(payload, dict) else None
    if isinstance(words, list) and all(isinstance(w, str) for w in words):
        return words
    return None


def _json_schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    fmt = body.get("response_format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        return schema if isinstance(schema, Mapping) else {}
    return None


def rejection(body: Any, response_format_json: str | None = None) -> ApiError | None:
    """The 400 the API gives ``body`` before running it, or None if it would run."""
    if not isinstance(body, Mapping):
        return ApiError(400, "The request body must be a JSON object.", param="body")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return ApiError(400, "you must provide a model parameter", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return ApiError(
            400,
            "Missing required parameter: 'messages'.",
            param="messages",
            code="missing_required_parameter",
        )
    if is_reasoning_model(model):
        if "max_tokens" in body:
            return ApiError(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                param="max_tokens",
                code="unsupported_parameter",
            )
        temperature = body.get("temperature")
        if "temperature" in body and temperature != 1:
            return ApiError(
                400,
                f"Unsupported value: 'temperature' does not support {temperature} with this "
                "model. Only the default (1) value is supported.",
                param="temperature",
                code="unsupported_value",
            )
    schema = _json_schema(body)
    if schema is not None:
        fmt = response_format_json or tokens.response_format_json(body) or ""
        try:
            generator_for(fmt, schema)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            return ApiError(
                400,
                f"Invalid schema for response_format: {exc}",
                param="response_format",
                code="invalid_value",
            )
    return None


def _hex_id(*parts: str, size: int = 12) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=size).hexdigest()


def request_ids(batch_id: str, custom_id: str) -> tuple[str, str]:
    """The (``batch_req_...`` line id, ``request_id``) of a request, stable for its batch."""
    return "batch_req_" + _hex_id("line", batch_id, custom_id), _hex_id(
        "request", batch_id, custom_id, size=16
    )


def _cut(content: str, keep_tokens: int) -> str:
    return content.encode("utf-8")[: keep_tokens * tokens.BYTES_PER_TOKEN].decode(
        "utf-8", errors="ignore"
    )


class Responder:
    """Runs the requests of one batch: ``will_fail`` predicts, ``respond`` produces."""

    def __init__(self, request_faults: RequestFaults, batch_id: str, created: int) -> None:
        self.faults = request_faults
        self.batch_id = batch_id
        self.created = created
        self._formats = tokens.FormatMemo()

    def _server_error(self, custom_id: str) -> bool:
        f = self.faults
        return f.no_output or faults.hits(f.error_rate, f.seed, "error", self.batch_id, custom_id)

    def will_fail(self, custom_id: str, body: Any, response_format_json: str | None) -> bool:
        """Whether :meth:`respond` will give this request a non-200 (cheap: nothing is run)."""
        return rejection(body, response_format_json) is not None or self._server_error(custom_id)

    def respond(self, custom_id: str, body: Any) -> Outcome:
        """Run one request; the outcome's ``body`` is the response body of the output line."""
        fmt_json = self._formats.json_of(body) if isinstance(body, Mapping) else None
        user_text = last_user_text(body) if isinstance(body, Mapping) else ""
        words = requested_words(user_text)
        model = str(body.get("model", "")) if isinstance(body, Mapping) else ""
        sha = hashlib.sha256(user_text.encode("utf-8")).hexdigest()
        prompt = tokens.input_tokens(body, fmt_json) if isinstance(body, Mapping) else 0

        def failed(status: int, error: dict[str, Any]) -> Outcome:
            return Outcome(status, {"error": error}, model, prompt, 0, sha, words)

        rejected = rejection(body, fmt_json)
        if rejected is not None:
            return failed(400, rejected.body()["error"])
        if self._server_error(custom_id):
            return failed(500, dict(SERVER_ERROR))

        f = self.faults
        content: str | None
        refusal: str | None = None
        finish = "stop"
        if faults.hits(f.refusal_rate, f.seed, "refusal", self.batch_id, custom_id):
            content, refusal = None, REFUSAL_TEXT
            completion = tokens.text_tokens(refusal)
        else:
            content = self._content(custom_id, body, fmt_json, words, *self._odd(custom_id, words))
            completion = tokens.text_tokens(content)
            keep: int | None = None
            if faults.hits(f.truncate_rate, f.seed, "truncate", self.batch_id, custom_id):
                share = 0.3 + 0.5 * faults.draw(f.seed, "truncate_at", self.batch_id, custom_id)
                keep = max(0, min(completion - 1, int(completion * share)))
            limit = body.get("max_completion_tokens", body.get("max_tokens"))
            if isinstance(limit, int) and limit < completion:
                keep = limit if keep is None else min(keep, limit)
            if keep is not None:
                content, completion, finish = _cut(content, keep), keep, "length"

        completion_body = {
            "id": "chatcmpl-" + _hex_id("completion", self.batch_id, custom_id),
            "object": "chat.completion",
            "created": self.created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": refusal,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": "fp_emulator",
        }
        return Outcome(200, completion_body, model, prompt, completion, sha, words)

    def _odd(self, custom_id: str, words: list[str] | None) -> tuple[str | None, int | None]:
        """The (extra word, index of the word to repeat) this answer draws; None for neither."""
        if not words:
            return None, None
        f = self.faults
        extra: str | None = None
        repeat: int | None = None
        if faults.hits(f.extra_entry_rate, f.seed, "extra_entry", self.batch_id, custom_id):
            extra = unasked_word(words)
        if faults.hits(f.duplicate_entry_rate, f.seed, "dup_entry", self.batch_id, custom_id):
            at = faults.draw(f.seed, "dup_entry_at", self.batch_id, custom_id)
            repeat = int(at * len(words))
        return extra, repeat

    def _content(
        self,
        custom_id: str,
        body: Mapping[str, Any],
        fmt_json: str | None,
        words: list[str] | None,
        extra: str | None = None,
        repeat: int | None = None,
    ) -> str:
        rng = random.Random(faults.seed_int(self.faults.seed, "answer", custom_id))
        shown = None if words is None else [*words, *([extra] if extra else [])]
        schema = _json_schema(body)
        if schema is not None:
            instance = generator_for(fmt_json or "", schema).generate(rng, shown)
            lengthen(instance, self.faults)
            repeat_entry(instance, repeat)
            return json.dumps(instance, ensure_ascii=False, separators=(",", ":"))
        fmt = body.get("response_format")
        if isinstance(fmt, Mapping) and fmt.get("type") == "json_object":
            if shown is None:
                return json.dumps({"answer": "an emulated answer"})
            entries = [
                {
                    "word": w,
                    "is_real_word": not is_junk_word(w),
                    "definition": f"a definition of {w}",
                }
                for w in shown
            ]
            instance = {"entries": entries}
            repeat_entry(instance, repeat)
            return json.dumps(instance, ensure_ascii=False, separators=(",", ":"))
        if shown is not None:
            if repeat is not None:
                shown.insert(repeat + 1, shown[repeat])
            return "\n".join(f"{w}: a definition of {w}" for w in shown)
        return "This is an emulated answer."


def unasked_word(words: list[str]) -> str:
    """A word close to the first of ``words`` but not among them (for ``extra_entry_rate``)."""
    asked = set(words)
    for suffix in ("s", "es", "ed", "ing", "er"):
        if words[0] + suffix not in asked:
            return words[0] + suffix
    n = 2
    while f"{words[0]}{n}" in asked:
        n += 1
    return f"{words[0]}{n}"


def _word_entries(instance: Any) -> list[dict[str, Any]]:
    """The instance's list of word entries (items with a ``word``), or []."""
    if isinstance(instance, dict):
        for value in instance.values():
            if isinstance(value, list) and all(
                isinstance(item, dict) and "word" in item for item in value
            ):
                return value
    return []


def is_long_word(request_faults: RequestFaults, word: str) -> bool:
    """Whether ``word``'s entry is long (drawn from the seed and the word: retries agree)."""
    f = request_faults
    return faults.hits(f.long_entry_rate, f.seed, "long_entry", word)


def lengthen(instance: Any, request_faults: RequestFaults) -> None:
    """Make the entries of long words (:func:`is_long_word`) long: each list of senses in them
    ``long_entry_factor`` times as long (copies of its senses), still valid for the schema."""
    if request_faults.long_entry_rate <= 0 or request_faults.long_entry_factor <= 1:
        return
    for entry in _word_entries(instance):
        word = entry.get("word")
        if (
            isinstance(word, str)
            and entry.get("is_real_word")
            and is_long_word(request_faults, word)
        ):
            _repeat_senses(entry, request_faults.long_entry_factor)


def _repeat_senses(node: Any, factor: int) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "senses" and isinstance(value, list) and value:
                node[key] = [copy.deepcopy(s) for _ in range(factor) for s in value]
            else:
                _repeat_senses(value, factor)
    elif isinstance(node, list):
        for item in node:
            _repeat_senses(item, factor)


def repeat_entry(instance: Any, repeat: int | None) -> None:
    """Put a copy of entry ``repeat`` right after it, in the instance's list of word entries."""
    if repeat is None or not isinstance(instance, dict):
        return
    for value in instance.values():
        if (
            isinstance(value, list)
            and repeat < len(value)
            and all(isinstance(item, dict) and "word" in item for item in value)
        ):
            value.insert(repeat + 1, copy.deepcopy(value[repeat]))
            return
