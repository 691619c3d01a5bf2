"""Turning a finished batch's output and error lines into entries and failures.

Every line is joined to its words by ``custom_id`` (lines come in any order), and every word of
the batch ends with exactly one outcome: an entry, or a failure with its reason. Usage is summed
from each response's ``usage`` and priced at batch rates; an entry carries its request's share.

Output lines are untrusted input. A custom_id is checked against the run's words before anything
is built from it; a billed answer (HTTP 200) beats an error line for the same request, whichever
comes first; a line repeated is billed and routed once; an answer is counted as billed even when
it is for words this batch did not ask (an adopted duplicate batch), so the reported spend stays
what was billed. Only the asked words' own entries are stored: entries the model volunteered for
other words are counted and dropped.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import orjson

from ..core.pricing import Price, Usage
from ..core.requests import NOT_FOUND_KEY, bucket_of, decode_custom_id
from ..core.schema import FINAL_CODES, Failure, FailureCode, read_answer
from ..store.records import EntryRecord, now_iso

# A key the offline provider adds to a 200 response body: the words of the request that no local
# source knows (they fail with ``not_found``; the others of the request are answered).

Tokens = tuple[int, int, int]  # input, cached input, output


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
    api_location: str = ""  # where the batch was bought (its API's base URL)


@dataclass
class Ingested:
    """The outcome of one batch: entries to store, failures by word, and what was billed."""

    records: list[EntryRecord] = field(default_factory=list)
    failures: dict[str, Failure] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)  # of every billed line, priced
    unreadable_lines: int = 0  # not JSON, or a custom_id this run did not make
    repeated_lines: int = 0  # a request answered again (duplicate line, or error after a 200)
    foreign_lines: int = 0  # answers for words this batch did not ask
    extra_entries: int = 0  # entries the model volunteered for words not asked
    # USD of billed answers that made no entry (cut off, refused, broken): what retries cost
    failed_cost: float = 0.0
    # (input, cached, output) tokens billed for each asked word: its share of every billed line
    # that asked it (an entry, a refusal, a truncated or not-a-word answer alike)
    billed: dict[str, Tokens] = field(default_factory=dict)

    def measured(self) -> dict[int, int]:
        """The output tokens per word of the answers that made entries, as a histogram
        (:func:`~synthlib.core.requests.bucket_of` -> answers): what the next limits are sized
        on."""
        histogram: dict[int, int] = {}
        for record in self.records:
            bucket = bucket_of(record.output_tokens)
            histogram[bucket] = histogram.get(bucket, 0) + 1
        return histogram

    def anomalies(self) -> str:
        """A short note of what was odd in the batch's files ("" when nothing was)."""
        parts = [
            f"{n} {what}"
            for n, what in (
                (self.unreadable_lines, "unreadable lines"),
                (self.repeated_lines, "repeated lines"),
                (self.foreign_lines, "lines for words not asked"),
                (self.extra_entries, "entries for words not asked (dropped)"),
            )
            if n
        ]
        return ", ".join(parts)


def ingest_lines(
    lines: Iterable[bytes | str],
    *,
    words: Sequence[str],
    expected: Iterable[str],
    price: Price,
    provenance: Provenance,
    words_per_request: int = 20,
) -> Ingested:
    """Route each output/error line to entries or failures for the ``expected`` words.

    ``words`` is the run's word list (custom_ids are positions in it). Lines that cannot be read
    are skipped and counted (the state machine then records those words as ``no_result``). A
    request's billed answer wins over an error line for it; an error line is used only when no
    answer came. Every record's ``entry`` is the very object that was parsed from the answer and
    validated against :class:`~synthlib.core.schema.Entry`, and ``entry_json`` is that object as
    text.
    """
    expected = set(expected)
    out = Ingested()
    answered: set[str] = set()
    billed_ids: set[str] = set()
    billed_tokens = [0, 0, 0]  # input, cached, output of every billed line
    errors: dict[str, tuple[dict[str, Any], list[str]]] = {}  # until an answer turns up
    with _collector_paused():
        for raw in lines:
            try:
                line = _loads(raw)
            except orjson.JSONDecodeError:
                if raw.strip():  # blank lines (a trailing newline, say) are no lines
                    out.unreadable_lines += 1
                continue
            try:
                custom_id = line["custom_id"]
                asked = _asked(custom_id, words, words_per_request)
                response = line.get("response")
            except (KeyError, IndexError, TypeError, AttributeError, ValueError):
                out.unreadable_lines += 1  # not an object, or a custom_id this run did not make
                continue
            if not (isinstance(response, dict) and response.get("status_code") == 200):
                if custom_id in billed_ids or custom_id in errors:
                    out.repeated_lines += 1
                elif not expected.issuperset(asked):
                    out.foreign_lines += 1
                else:
                    errors[custom_id] = (line, asked)
                continue
            if custom_id in billed_ids:
                out.repeated_lines += 1
                continue
            billed_ids.add(custom_id)
            body = response.get("body")
            body = body if isinstance(body, dict) else {}
            usage = _count_usage(body, billed_tokens)
            if not expected.issuperset(asked) or not answered.isdisjoint(asked):
                out.foreign_lines += 1  # billed (counted above), but not for this batch's words
                continue
            answered.update(asked)
            _bill(out.billed, asked, usage)
            if errors.pop(custom_id, None) is not None:
                out.repeated_lines += 1
            _route_answer(body, usage, custom_id, asked, out, price, provenance)
    for line, asked in errors.values():
        if not answered.isdisjoint(asked):
            out.repeated_lines += 1
            continue
        _route_error(line, asked, out)
    out.usage = Usage(*billed_tokens).priced(price)
    return out


_loads = orjson.loads  # a quarter to a third of json.loads' time on an output line
_ONE_POSITION = re.compile(r"w([0-9a-f]+)").fullmatch  # the custom_id of a one-word request


def _asked(custom_id: Any, words: Sequence[str], most: int) -> list[str]:
    """The words a custom_id stands for; ValueError for an id this run did not make."""
    one = _ONE_POSITION(custom_id) if isinstance(custom_id, str) else None
    if one is not None:  # decode_custom_id's answer for this form, without its general parse
        position = int(one[1], 16)
        if position >= len(words):
            raise ValueError(f"not a custom_id of this run: {custom_id[:80]!r}")
        return [words[position]]
    return [words[p] for p in decode_custom_id(custom_id, limit=len(words), most=most)]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch's lines are read.

    Reading builds some 35 containers per entry and keeps them (the records), none of them in a
    reference cycle; left running, the collector walks them again and again as they pile up (it
    took more than a third of ingest's time, bench/ingest.py). Objects are still freed by
    reference counting meanwhile; a cycle made meanwhile, by any thread, waits for a later
    collection. On the way out the survivors are moved to the oldest generation (freeze, then
    unfreeze: a list splice, no walk), so the first young collection after this does not walk
    them all at once either; they die with the records, usually before any full collection.
    Someone else's frozen objects are left alone: then the survivors stay young.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if not gc.get_freeze_count():
            gc.freeze()
            gc.unfreeze()
        gc.enable()


def _count_usage(body: dict[str, Any], total: list[int]) -> tuple[int, int, int]:
    """The line's billed (input, cached, output) tokens, added to ``total``."""
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return 0, 0, 0
    try:
        inp = int(usage.get("prompt_tokens") or 0)
        details = usage.get("prompt_tokens_details")
        cached = int((details if isinstance(details, dict) else {}).get("cached_tokens") or 0)
        outp = int(usage.get("completion_tokens") or 0)
    except (TypeError, ValueError):
        return 0, 0, 0
    total[0] += inp
    total[1] += cached
    total[2] += outp
    return inp, cached, outp


def _bill(billed: dict[str, Tokens], asked: list[str], usage: Tokens) -> None:
    """Each asked word's integer share of a billed line (the shares add up to the line)."""
    n = len(asked)
    if n == 1:  # the usual request: no shares to make
        before = billed.get(asked[0])
        billed[asked[0]] = usage if before is None else _plus(before, usage)
        return
    for i, word in enumerate(asked):
        share = [t // n + (1 if i < t % n else 0) for t in usage]
        billed[word] = _plus(billed.get(word, (0, 0, 0)), share)


def _plus(a: Tokens, b: Sequence[int]) -> Tokens:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


@runtime_checkable
class BilledWords(Protocol):
    """A store that also keeps what each word was billed, batch by batch (the pilot's, for the
    spread of its projection). Called once a batch's entries are stored, before its end is
    journalled: a batch ingested again after a crash gives the same figures again."""

    def record_billed(self, batch_id: str, billed: Mapping[str, Tokens]) -> None: ...


def _route_error(line: dict[str, Any], asked: list[str], out: Ingested) -> None:
    response = line.get("response")
    if not isinstance(response, dict):
        error = found if isinstance(found := line.get("error"), dict) else {}
        code = error.get("code") or "no_result"
        message = error.get("message") or ""
        reason = {
            "batch_expired": FailureCode.EXPIRED,
            "batch_cancelled": FailureCode.CANCELLED,
        }.get(code)
        _fail(
            out,
            asked,
            Failure(reason, message)
            if reason
            else Failure(FailureCode.HTTP_ERROR, f"{code} {message}"),
        )
        return
    status = response.get("status_code")
    body = found if isinstance(found := response.get("body"), dict) else {}
    err = found if isinstance(found := body.get("error"), dict) else {}
    if err.get("code") == "not_found":  # the offline provider: no local source knows it
        _fail(out, asked, Failure(FailureCode.NOT_FOUND, err.get("message") or "not found"))
        return
    detail = err.get("message") or err.get("code") or ""
    _fail(out, asked, Failure(FailureCode.HTTP_ERROR, f"HTTP {status} {detail}"))


def _route_answer(
    body: dict[str, Any],
    usage: tuple[int, int, int],
    custom_id: str,
    asked: list[str],
    out: Ingested,
    price: Price,
    prov: Provenance,
) -> None:
    inp, cached, outp = usage
    cost = price.cost(inp, outp, cached, batch=True)
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else {}
    choice = choice if isinstance(choice, dict) else {}
    message = found if isinstance(found := choice.get("message"), dict) else {}
    if choice.get("finish_reason") == "length":
        _fail(out, asked, Failure(FailureCode.TRUNCATED, f"answer cut off at {outp} output tokens"))
        out.failed_cost += cost
        return
    if message.get("refusal"):
        _fail(
            out,
            asked,
            Failure(FailureCode.REFUSED, " ".join(str(message["refusal"]).split())[:200]),
        )
        out.failed_cost += cost
        return
    if choice.get("finish_reason") == "content_filter":
        _fail(out, asked, Failure(FailureCode.REFUSED, "content filter"))
        out.failed_cost += cost
        return
    unknown = body.get(NOT_FOUND_KEY)
    if isinstance(unknown, list) and unknown:
        unknown = {w for w in unknown if isinstance(w, str)}
        _fail(
            out,
            [w for w in asked if w in unknown],
            Failure(FailureCode.NOT_FOUND, "not found in local lexical sources"),
        )
        asked = [w for w in asked if w not in unknown]
    content = message.get("content")
    if not isinstance(content, str | None):
        _fail(out, asked, Failure(FailureCode.INVALID, "the answer's content is not text"))
        out.failed_cost += cost
        return
    outcome, entry_count = read_answer(content, asked)
    out.extra_entries += max(0, entry_count - len(asked))
    n = max(1, len(asked))
    for i, word in enumerate(asked):
        result = outcome[word]
        if isinstance(result, Failure):
            out.failures[word] = result
            if result.code not in FINAL_CODES:  # a verdict (not a word) is what was bought
                out.failed_cost += cost / n
            continue
        out.records.append(_record(word, result, custom_id, prov, usage, cost, i, n))


def _record(
    word: str,
    entry: dict[str, Any],
    custom_id: str,
    prov: Provenance,
    usage: tuple[int, int, int],
    cost: float,
    i: int,
    n: int,
) -> EntryRecord:
    """The record of one validated entry: the store keeps that very object, as text."""
    inp, cached, outp = usage
    if n > 1:  # integer shares of the request's tokens that add up to its totals
        inp, cached, outp = (t // n + (1 if i < t % n else 0) for t in usage)
    return EntryRecord(
        word=word,
        entry=entry,
        provider=prov.provider,
        model=prov.model,
        prompt_version=prov.prompt_version,
        schema_version=prov.schema_version,
        batch_id=prov.batch_id,
        custom_id=custom_id,
        input_tokens=inp,
        cached_tokens=cached,
        output_tokens=outp,
        cost_usd=cost / n,
        grounded=prov.grounded,
        run_id=prov.run_id,
        created_at=prov.created_at,
        api_location=prov.api_location,
        entry_json=orjson.dumps(entry).decode(),
    )


def _fail(out: Ingested, asked: list[str], failure: Failure) -> None:
    failure = Failure(failure.code, " ".join(failure.detail.split()))
    for word in asked:
        out.failures[word] = failure
