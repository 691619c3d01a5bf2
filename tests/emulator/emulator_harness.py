"""Helpers for driving the emulator through the real ``openai`` SDK over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import openai
from pydantic import BaseModel, ConfigDict, Field

from synthlib.emulator import Emulator

ENDPOINT = "/v1/chat/completions"
MODEL = "gpt-4o-mini"
SETTLED = frozenset({"completed", "failed", "expired", "cancelled"})
PREAMBLE = "Write dictionary entries for the words in this JSON object:\n"
FAST = {"validating_seconds": 0.05, "seconds_per_request": 0.0005, "finalizing_seconds": 0.05}


class Sense(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: str
    examples: list[str] = Field(min_length=1, max_length=3)
    style: Literal["formal", "informal", "neutral"] | None


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    word: str
    is_real_word: bool
    senses: list[Sense]
    frequency_band: int | None = Field(ge=1, le=5)


class EntryList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[Entry]


def _strict(node: Any) -> Any:
    # Structured Outputs' strict mode: every property required, no titles or defaults.
    if isinstance(node, dict):
        out = {k: _strict(v) for k, v in node.items() if k not in ("title", "default")}
        if "properties" in out:
            out["required"] = list(out["properties"])
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


SCHEMA = _strict(EntryList.model_json_schema(mode="serialization"))
RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "entries", "strict": True, "schema": SCHEMA},
}


def body_for(words: Sequence[str], model: str = MODEL, **extra: Any) -> dict[str, Any]:
    """A chat completions body asking for ``words`` the way synthlib does."""
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a lexicographer."},
            {"role": "user", "content": PREAMBLE + json.dumps({"words": list(words)})},
        ],
        "response_format": RESPONSE_FORMAT,
        **extra,
    }


def line_for(custom_id: str, words: Sequence[str], **extra: Any) -> dict[str, Any]:
    """One batch input line."""
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": ENDPOINT,
        "body": body_for(words, **extra),
    }


def word_lines(count: int, prefix: str = "r", **extra: Any) -> list[dict[str, Any]]:
    """``count`` input lines of one or two words each."""
    return [
        line_for(f"{prefix}{i}", [f"word{i}", f"extra{i}"][: 1 + i % 2], **extra)
        for i in range(count)
    ]


def input_tokens(body: dict[str, Any]) -> int:
    """Input tokens of a body by the emulator's documented rule (for predicting its figures)."""
    total = 3 + sum(3 + -(-len(m["content"].encode()) // 4) for m in body["messages"])
    if "response_format" in body:
        fmt = json.dumps(body["response_format"], separators=(",", ":"))
        total += -(-len(fmt.encode()) // 4)
    return total


def jsonl(lines: Sequence[dict[str, Any] | str]) -> bytes:
    return "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines).encode() + b"\n"


def read_jsonl(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


class Harness:
    """An SDK client (and the in-process emulator it talks to, if any) with helpers for the
    common steps of a test."""

    def __init__(self, client: openai.OpenAI, emulator: Emulator | None = None) -> None:
        self.client = client
        self._emulator = emulator

    @property
    def emulator(self) -> Emulator:
        assert self._emulator is not None, "this harness drives an emulator in another process"
        return self._emulator

    def upload(self, lines: Sequence[dict[str, Any] | str] | bytes, name: str = "in.jsonl") -> str:
        data = lines if isinstance(lines, bytes) else jsonl(lines)
        return self.client.files.create(file=(name, data), purpose="batch").id

    def submit(self, lines: Sequence[dict[str, Any] | str] | bytes, **params: Any) -> Any:
        file_id = self.upload(lines)
        return self.client.batches.create(
            input_file_id=file_id, endpoint=ENDPOINT, completion_window="24h", **params
        )

    def wait(
        self, batch_id: str, until: Callable[[Any], bool] | None = None, timeout: float = 15.0
    ) -> Any:
        """Poll until ``until(batch)`` (default: settled) or fail after ``timeout`` seconds."""
        done = until or (lambda b: b.status in SETTLED)
        deadline = time.monotonic() + timeout
        while True:
            batch = self.client.batches.retrieve(batch_id)
            if done(batch):
                return batch
            if time.monotonic() > deadline:
                raise AssertionError(f"batch {batch_id} still {batch.status} after {timeout}s")
            time.sleep(0.01)

    def run(self, lines: Sequence[dict[str, Any] | str] | bytes, **params: Any) -> Any:
        return self.wait(self.submit(lines, **params).id)

    def content(self, file_id: str | None) -> list[dict[str, Any]]:
        if file_id is None:
            return []
        return read_jsonl(self.client.files.content(file_id).content)
