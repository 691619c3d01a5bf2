"""Turning a finished batch's output and error lines into entries and failures.

Every line is joined to its words by ``custom_id`` (lines come in any order), and every word of
the batch ends with exactly one outcome: an entry, or a failure with its reason. Usage is summed
from each response's ``usage`` and priced at batch rates; an entry carries its request's share.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .backends.offline import NOT_FOUND_KEY
from .pricing import Price
from .requests import decode_custom_id
from .schema import Failure, validate_entries
from .store.records import EntryRecord, now_iso


@dataclass(frozen=True)
class Provenance:
    """What every entry of a batch records about how it was made."""

    provider: str
    model: str
    prompt_version: str
    schema_version: str
    batch_id: str | None
    run_id: str | None
    grounded: bool = False
    created_at: str = field(default_factory=now_iso)  # one timestamp for the batch's entries


@dataclass
class Ingested:
    """The outcome of one batch: entries to store, failures by word, and what was billed."""

    records: list[EntryRecord] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unreadable_lines: int = 0

    def usage(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "cached_tokens": self.cached_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
        }


def ingest_lines(
    lines: Iterable[bytes | str],
    *,
    words: Sequence[str],
    expected: Iterable[str],
    price: Price,
    provenance: Provenance,
) -> Ingested:
    """Route each output/error line to entries or failures for the ``expected`` words.

    ``words`` is the run's word list (custom_ids are positions in it). Lines for words outside
    ``expected`` and lines that cannot be read are skipped (the state machine then records those
    words as ``no_result``); a word answered twice keeps its first outcome.
    """
    expected = set(expected)
    out = Ingested()
    seen: set[str] = set()
    for raw in lines:
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
            positions = decode_custom_id(line["custom_id"])
            asked = [words[p] for p in positions]
        except (ValueError, KeyError, IndexError, TypeError):
            out.unreadable_lines += 1
            continue
        if not set(asked) <= expected or seen & set(asked):
            continue
        seen.update(asked)
        _route(line, asked, out, price, provenance)
    out.cost_usd = price.cost(out.input_tokens, out.output_tokens, out.cached_tokens, batch=True)
    return out


def _route(
    line: dict[str, Any], asked: list[str], out: Ingested, price: Price, prov: Provenance
) -> None:
    response = line.get("response")
    error = line.get("error")
    if not response:
        code = (error or {}).get("code") or "no_result"
        message = (error or {}).get("message") or ""
        reason = {"batch_expired": "expired", "batch_cancelled": "cancelled"}.get(code)
        _fail(out, asked, f"{reason}: {message}" if reason else f"http_error: {code} {message}")
        return
    status = response.get("status_code")
    body = response.get("body") or {}
    if status != 200:
        err = body.get("error") or {}
        if err.get("code") == "not_found":  # the offline provider: no local source knows it
            _fail(out, asked, f"not_found: {err.get('message') or 'not found'}")
            return
        detail = err.get("message") or err.get("code") or ""
        _fail(out, asked, f"http_error: HTTP {status} {detail}".rstrip())
        return
    usage = body.get("usage") or {}
    inp = int(usage.get("prompt_tokens", 0))
    cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    outp = int(usage.get("completion_tokens", 0))
    out.input_tokens += inp
    out.cached_tokens += cached
    out.output_tokens += outp
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    if choice.get("finish_reason") == "length":
        _fail(out, asked, f"truncated: answer cut off at {outp} output tokens")
        return
    if message.get("refusal"):
        _fail(out, asked, f"refused: {' '.join(str(message['refusal']).split())[:200]}")
        return
    if choice.get("finish_reason") == "content_filter":
        _fail(out, asked, "refused: content filter")
        return
    unknown = set(body.get(NOT_FOUND_KEY) or ())
    _fail(out, [w for w in asked if w in unknown], "not_found: not found in local lexical sources")
    asked = [w for w in asked if w not in unknown]
    content = message.get("content")
    outcome = validate_entries(content, asked)
    request_cost = price.cost(inp, outp, cached, batch=True)
    n = max(1, len(asked))
    for i, word in enumerate(asked):
        result = outcome[word]
        if isinstance(result, Failure):
            out.failures[word] = str(result)
            continue
        text = _only_entry_text(content) if n == 1 else None
        out.records.append(
            _record(word, result, text, line, prov, inp, cached, outp, request_cost, i, n)
        )


def _record(
    word: str,
    entry: dict[str, Any],
    entry_json: str | None,
    line: dict[str, Any],
    prov: Provenance,
    inp: int,
    cached: int,
    outp: int,
    cost: float,
    i: int,
    n: int,
) -> EntryRecord:
    def share(total: int) -> int:  # integer shares that add up to the request's total
        return total // n + (1 if i < total % n else 0)

    return EntryRecord(
        word=word,
        entry=entry,
        provider=prov.provider,
        model=prov.model,
        prompt_version=prov.prompt_version,
        schema_version=prov.schema_version,
        batch_id=prov.batch_id,
        custom_id=line.get("custom_id"),
        input_tokens=share(inp),
        cached_tokens=share(cached),
        output_tokens=share(outp),
        cost_usd=cost / n,
        grounded=prov.grounded,
        run_id=prov.run_id,
        created_at=prov.created_at,
        entry_json=entry_json,
    )


def _only_entry_text(content: str) -> str:
    """The text of the one entry in a validated ``{"entries": [ {...} ]}``: the root has no other
    key, so the array runs from the first "[" to the last "]"."""
    return content[content.index("[") + 1 : content.rindex("]")].strip()


def _fail(out: Ingested, asked: list[str], reason: str) -> None:
    for word in asked:
        out.failures[word] = reason.strip()
