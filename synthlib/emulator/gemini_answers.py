"""Fake answers to Gemini ``GenerateContentRequest`` bodies, one batch request at a time.

A request is read in either of the two JSON spellings the REST API accepts (``generationConfig``
or ``generation_config``, ``responseSchema`` or ``response_schema``, ...). Its fate, each step
deterministic:

1. an error line (``{"code": 400, "message", "status": "INVALID_ARGUMENT"}``, never billed) when
   the API would reject it: no ``contents``, a response schema without ``responseMimeType``
   ``application/json``, both ``responseSchema`` and ``responseJsonSchema``, a schema the
   emulator cannot draw from, or a ``maxOutputTokens`` that is not a positive integer;
2. an error line ``{"code": 500, "status": "INTERNAL"}`` (never billed) in a no-output batch or
   when it draws ``error_rate``;
3. otherwise a ``GenerateContentResponse`` (billed): when it draws ``refusal_rate``, a safety
   block, half of them (drawn) on the prompt (``promptFeedback.blockReason: "SAFETY"``, no
   candidates) and half on the answer (``finishReason: "SAFETY"``, no content); else
   ``candidates[0].content.parts[0].text`` holds JSON valid against the response schema when
   there is one (``responseJsonSchema`` as JSON Schema, ``responseSchema`` as Gemini's OpenAPI
   subset: upper-case types, ``nullable``, ``propertyOrdering``), following the word convention
   of :mod:`.schema_instances`, with ``extra_entry_rate``, ``duplicate_entry_rate`` and
   ``long_entry_rate`` acting as on the other providers; ``application/json`` without a schema
   gives ``{"entries": [...]}``, and plain text otherwise.

Thinking: with ``gemini_thinking_tokens`` above 0, models that think by default (``gemini-2.5-*``
and later, except ``*-lite``) spend that many thinking tokens (capped by
``generationConfig.thinkingConfig.thinkingBudget``; a budget of 0 turns thinking off). Thinking
tokens count against ``maxOutputTokens`` and are billed as output, as Google documents.

An answer is cut (``finishReason: "MAX_TOKENS"``) when it draws ``truncate_rate`` or when its
thinking plus text tokens pass ``maxOutputTokens``; the text keeps the tokens left (no part at
all when none are). A cut JSON answer is bad JSON.

Token rule (like :mod:`.tokens`): input is 3, plus 3 and the text tokens of the
``systemInstruction`` when there is one, plus 3 and the text tokens of each content, plus the
tokens of the compact JSON of the response schema when there is one; output is the tokens of the
text, plus the thinking tokens.
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
    RequestFaults,
    generator_for,
    lengthen,
    repeat_entry,
    requested_words,
    unasked_word,
)
from .schema_instances import is_junk_word

INTERNAL_MESSAGE = "An internal error has occurred. Please retry or report in the docs. (emulated)"
_SAFETY_RATINGS = [
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True},
    {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
]


def field(obj: Any, camel: str) -> Any:
    """``obj[camel]``, or its snake_case spelling (the REST API takes both); None if neither."""
    if not isinstance(obj, Mapping):
        return None
    if camel in obj:
        return obj[camel]
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return obj.get(snake)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def content_text(content: Any) -> str:
    """The text parts of a ``Content`` (or a bare string), joined."""
    if isinstance(content, str):
        return content
    parts = field(content, "parts")
    if not isinstance(parts, list):
        return ""
    return "".join(
        p["text"] for p in parts if isinstance(p, Mapping) and isinstance(p.get("text"), str)
    )


def last_user_text(request: Any) -> str:
    """The text of the last ``user`` content (a content without a role is the user's)."""
    contents = field(request, "contents")
    if isinstance(contents, list):
        for content in reversed(contents):
            if isinstance(content, Mapping) and content.get("role", "user") == "user":
                return content_text(content)
    return ""


def openapi_to_json_schema(schema: Any) -> Any:
    """Gemini's ``responseSchema`` (an OpenAPI 3.0 subset) as the JSON Schema it stands for.

    Types go lower-case, ``nullable: true`` adds ``null``, ``propertyOrdering`` orders the
    properties, and integer-valued keywords sent as strings (int64 in proto JSON) become ints.
    """
    if isinstance(schema, list):
        return [openapi_to_json_schema(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    key: str  # a JSON object's keys
    for key, value in schema.items():
        if key in ("propertyOrdering", "property_ordering", "nullable", "example", "title"):
            continue
        name = {
            "any_of": "anyOf",
            "min_items": "minItems",
            "max_items": "maxItems",
            "min_length": "minLength",
            "max_length": "maxLength",
            "min_properties": "minProperties",
            "max_properties": "maxProperties",
        }.get(key, key)
        if name == "type" and isinstance(value, str):
            value = value.lower()
        elif name == "properties" and isinstance(value, Mapping):
            order = field(schema, "propertyOrdering") or []
            names = [n for n in order if n in value] + [n for n in value if n not in order]
            value = {n: openapi_to_json_schema(value[n]) for n in names}
        elif name in ("items", "anyOf"):
            value = openapi_to_json_schema(value)
        elif name in ("minItems", "maxItems", "minLength", "maxLength") and isinstance(value, str):
            value = int(value)
        out[name] = value
    if field(schema, "nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


@dataclass(frozen=True)
class ResponseSchema:
    """A request's structured-output setting: the JSON Schema drawn from and its compact JSON
    as sent (what the token rule counts)."""

    schema: Mapping[str, Any] | None
    sent_json: str | None


def response_schema(generation_config: Any) -> ResponseSchema:
    """The request's response schema (JSON Schema form), if it has one."""
    json_schema = field(generation_config, "responseJsonSchema")
    if json_schema is None:
        json_schema = field(generation_config, "_responseJsonSchema")
    if isinstance(json_schema, Mapping):
        return ResponseSchema(json_schema, _compact(json_schema))
    openapi = field(generation_config, "responseSchema")
    if isinstance(openapi, Mapping):
        return ResponseSchema(openapi_to_json_schema(openapi), _compact(openapi))
    return ResponseSchema(None, None)


def request_problem(request: Any) -> str | None:
    """The INVALID_ARGUMENT message the API gives this request, or None."""
    if not isinstance(request, Mapping):
        return "Invalid JSON payload received. Expected an object for GenerateContentRequest."
    contents = field(request, "contents")
    if not isinstance(contents, list) or not contents:
        return "* GenerateContentRequest.contents: contents is not specified"
    config = field(request, "generationConfig")
    if config is not None and not isinstance(config, Mapping):
        return "Invalid JSON payload received. Unknown name for generation_config."
    has_json = field(config, "responseJsonSchema") is not None
    has_openapi = field(config, "responseSchema") is not None
    if has_json and has_openapi:
        return (
            "* GenerateContentRequest.generation_config: only one of response_schema and "
            "response_json_schema may be set"
        )
    if (has_json or has_openapi) and field(config, "responseMimeType") != "application/json":
        return (
            "* GenerateContentRequest.generation_config.response_mime_type: must be "
            "application/json when a response schema is set"
        )
    limit = field(config, "maxOutputTokens")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        return (
            "* GenerateContentRequest.generation_config.max_output_tokens: must be a positive "
            "integer"
        )
    schema = response_schema(config)
    if schema.schema is not None:
        try:
            generator_for(schema.sent_json or "", schema.schema)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            return f"* GenerateContentRequest.generation_config.response_schema: {exc}"
    return None


def input_tokens(request: Mapping[str, Any]) -> int:
    """Input tokens of a request by the module's rule."""
    total = tokens.TOKENS_PER_REPLY
    system = field(request, "systemInstruction")
    if system:
        total += tokens.TOKENS_PER_MESSAGE + tokens.text_tokens(content_text(system))
    contents = field(request, "contents")
    if isinstance(contents, list):
        for content in contents:
            total += tokens.TOKENS_PER_MESSAGE + tokens.text_tokens(content_text(content))
    sent = response_schema(field(request, "generationConfig")).sent_json
    if sent is not None:
        total += tokens.text_tokens(sent)
    return total


def thinks_by_default(model: str) -> bool:
    """Whether ``model`` thinks unless told not to (2.5 and later, not the lite models)."""
    name = model.removeprefix("models/")
    return name.startswith(("gemini-2.5", "gemini-3")) and "lite" not in name


def error_object(code: int, message: str, status: str) -> dict[str, Any]:
    """A results line's ``error``."""
    return {"code": code, "message": message, "status": status}


@dataclass(frozen=True)
class GeminiFaults(RequestFaults):
    """The per-request settings a Gemini batch was created with: the other providers' faults
    and the thinking tokens a thinking model spends."""

    thinking_tokens: int = 0


@dataclass(frozen=True)
class GeminiAnswer:
    """One request's results-line body (``{"response": ...}`` or ``{"error": ...}``) and, when
    ``billed``, what it costs (``output_tokens`` include ``thoughts_tokens``)."""

    body: dict[str, Any]
    model: str
    input_tokens: int
    output_tokens: int
    thoughts_tokens: int
    user_content_sha256: str
    words: list[str] | None

    @property
    def billed(self) -> bool:
        return "response" in self.body


class GeminiAnswerer:
    """Runs the requests of one Gemini batch: ``will_fail`` predicts, ``answer`` produces."""

    def __init__(self, answer_faults: GeminiFaults, batch_id: str, model: str) -> None:
        self.faults = answer_faults
        self.batch_id = batch_id
        self.model = model.removeprefix("models/")

    def _draw(self, rate: float, kind: str, key: str) -> bool:
        return faults.hits(rate, self.faults.seed, kind, self.batch_id, key)

    def _error(self, key: str, request: Any) -> dict[str, Any] | None:
        problem = request_problem(request)
        if problem is not None:
            return error_object(400, problem, "INVALID_ARGUMENT")
        if self.faults.no_output or self._draw(self.faults.error_rate, "error", key):
            return error_object(500, INTERNAL_MESSAGE, "INTERNAL")
        return None

    def will_fail(self, key: str, request: Any) -> bool:
        """Whether :meth:`answer` gives this request an error line (nothing is run)."""
        return self._error(key, request) is not None

    def answer(self, key: str, request: Any) -> GeminiAnswer:
        """Run one request of the batch."""
        mapping = request if isinstance(request, Mapping) else {}
        model = str(field(mapping, "model") or self.model).removeprefix("models/")
        user_text = last_user_text(mapping)
        words = requested_words(user_text)
        sha = hashlib.sha256(user_text.encode("utf-8")).hexdigest()
        prompt = input_tokens(mapping) if mapping else 0

        error = self._error(key, request)
        if error is not None:
            return GeminiAnswer({"error": error}, model, prompt, 0, 0, sha, words)

        usage: dict[str, Any] = {
            "promptTokenCount": prompt,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
        }
        response: dict[str, Any] = {
            "modelVersion": model,
            "responseId": _response_id(self.batch_id, key),
        }
        f = self.faults
        if self._draw(f.refusal_rate, "refusal", key):
            if faults.draw(f.seed, "refusal_on_prompt", self.batch_id, key) < 0.5:
                response["promptFeedback"] = {
                    "blockReason": "SAFETY",
                    "safetyRatings": _SAFETY_RATINGS,
                }
            else:
                response["candidates"] = [
                    {"finishReason": "SAFETY", "index": 0, "safetyRatings": _SAFETY_RATINGS}
                ]
            usage["totalTokenCount"] = prompt
            body = {"response": {**response, "usageMetadata": usage}}
            return GeminiAnswer(body, model, prompt, 0, 0, sha, words)

        config = field(mapping, "generationConfig")
        thoughts = self._thoughts(model, config)
        text = self._text(key, config, words)
        output = tokens.text_tokens(text)
        keep: int | None = None
        if self._draw(f.truncate_rate, "truncate", key):
            share = 0.3 + 0.5 * faults.draw(f.seed, "truncate_at", self.batch_id, key)
            keep = max(0, min(output - 1, int(output * share)))
        limit = field(config, "maxOutputTokens")
        if isinstance(limit, int) and thoughts + output > limit:
            thoughts = min(thoughts, limit)
            room = limit - thoughts
            keep = room if keep is None else min(keep, room)
        finish = "STOP"
        if keep is not None:
            text = text.encode("utf-8")[: keep * tokens.BYTES_PER_TOKEN].decode(
                "utf-8", errors="ignore"
            )
            output, finish = keep, "MAX_TOKENS"
        content: dict[str, Any] = {"role": "model"}
        if text:
            content["parts"] = [{"text": text}]
        response["candidates"] = [{"content": content, "finishReason": finish, "index": 0}]
        if output:
            usage["candidatesTokenCount"] = output
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        usage["totalTokenCount"] = prompt + output + thoughts
        body = {"response": {**response, "usageMetadata": usage}}
        return GeminiAnswer(body, model, prompt, output + thoughts, thoughts, sha, words)

    def _thoughts(self, model: str, config: Any) -> int:
        spent = self.faults.thinking_tokens
        if spent <= 0 or not thinks_by_default(model):
            return 0
        budget = field(field(config, "thinkingConfig"), "thinkingBudget")
        if isinstance(budget, int) and not isinstance(budget, bool) and budget >= 0:
            spent = min(spent, budget)
        return spent

    def _text(self, key: str, config: Any, words: list[str] | None) -> str:
        """The answer's whole text, before any cut."""
        f = self.faults
        extra: str | None = None
        repeat: int | None = None
        if words:
            if self._draw(f.extra_entry_rate, "extra_entry", key):
                extra = unasked_word(words)
            if self._draw(f.duplicate_entry_rate, "dup_entry", key):
                repeat = int(faults.draw(f.seed, "dup_entry_at", self.batch_id, key) * len(words))
        shown = None if words is None else [*words, *([extra] if extra else [])]
        rng = random.Random(faults.seed_int(f.seed, "answer", key))
        schema = response_schema(config)
        if schema.schema is not None:
            instance = generator_for(schema.sent_json or "", schema.schema).generate(rng, shown)
            lengthen(instance, f)
            repeat_entry(instance, repeat)
            return _compact(instance)
        if field(config, "responseMimeType") == "application/json":
            if shown is None:
                return _compact({"answer": "an emulated answer"})
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
            return _compact(instance)
        if shown is None:
            return "This is an emulated answer."
        if repeat is not None:
            shown.insert(repeat + 1, shown[repeat])
        return "\n".join(f"{w}: a definition of {w}" for w in shown)


def _response_id(batch_id: str, key: str) -> str:
    digest = hashlib.blake2b(f"{batch_id}\x1f{key}".encode(), digest_size=12).digest()
    return digest.hex()
