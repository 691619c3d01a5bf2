"""Cutting requests into shards: the input file of one batch job each.

A shard holds at most ``batch_size`` words (the user's knob), the provider's requests and bytes of
one batch (its spec's :class:`~synthlib.core.limits.BatchLimits`: 50,000 requests and 200 MB of
JSONL on OpenAI), and ``max_tokens`` input tokens (so that a batch fits under the
enqueued-token limit of the model, which would otherwise fail it at validation).

Why 1,000 words a batch by default: a 20-word trial is one batch; a million words make 1,000
batches, half of the roughly 2,000 batch creations the API allows an hour, and a 1,000-word batch
of about a million input tokens fits gpt-4o-mini's 2M enqueued-token limit at tier 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .limits import DEFAULT_BATCH_SIZE, DEFAULT_LIMITS
from .requests import Request, RequestTemplate
from .tokens import RequestTokens

MAX_REQUESTS_PER_FILE = DEFAULT_LIMITS.requests  # OpenAI's; a provider's own: its spec's limits
MAX_FILE_BYTES = DEFAULT_LIMITS.bytes
DEFAULT_TOKEN_BUDGET = 2_000_000


@dataclass(frozen=True)
class Shard:
    """Requests that go into one batch, with their size in words, tokens and bytes."""

    requests: tuple[Request, ...]
    input_tokens: int
    nbytes: int

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(w for r in self.requests for w in r.words)

    @property
    def word_count(self) -> int:
        return sum(len(r.words) for r in self.requests)

    @property
    def output_limit(self) -> int:
        """The most output tokens its answers can take: every request's ``max_tokens``."""
        return sum(r.max_tokens for r in self.requests)

    @property
    def shapes(self) -> list[list[int]]:
        """Its requests in order, run-length coded: ``[count, words each, max_tokens each]``."""
        out: list[list[int]] = []
        for r in self.requests:
            if out and out[-1][1] == len(r.words) and out[-1][2] == r.max_tokens:
                out[-1][0] += 1
            else:
                out.append([1, len(r.words), r.max_tokens])
        return out


def plan_shards(
    requests: Iterable[Request],
    template: RequestTemplate,
    counter: RequestTokens,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_tokens: int = DEFAULT_TOKEN_BUDGET,
    max_requests: int = MAX_REQUESTS_PER_FILE,
    max_bytes: int = MAX_FILE_BYTES,
) -> Iterator[Shard]:
    """Group ``requests`` (in order) into shards within every limit."""
    encode, fixed, line_bytes = counter.encoder.encode_ordinary, counter.fixed, template.line_bytes
    sized = ((r, len(r.words), fixed + len(encode(r.payload)), line_bytes(r)) for r in requests)
    for items, _, tokens, nbytes in cut(
        sized,
        batch_size=batch_size,
        max_tokens=max_tokens,
        max_requests=max_requests,
        max_bytes=max_bytes,
    ):
        yield Shard(tuple(items), tokens, nbytes)


def cut[T](
    sized: Iterable[tuple[T, int, int, int]],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_tokens: int = DEFAULT_TOKEN_BUDGET,
    max_requests: int = MAX_REQUESTS_PER_FILE,
    max_bytes: int = MAX_FILE_BYTES,
) -> Iterator[tuple[list[T], int, int, int]]:
    """Cut ``(item, words, tokens, bytes)`` tuples, in order, into runs within every limit;
    yields ``(items, words, tokens, bytes)`` for each.

    A single item over a limit still gets a run of its own: refusing it here would hide it; the
    API's answer (a validation failure) is recorded against its words instead.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    current: list[T] = []
    words = tokens = nbytes = 0
    for item, r_words, r_tokens, r_bytes in sized:
        if current and (
            words + r_words > batch_size
            or tokens + r_tokens > max_tokens
            or nbytes + r_bytes > max_bytes
            or len(current) >= max_requests
        ):
            yield current, words, tokens, nbytes
            current, words, tokens, nbytes = [], 0, 0, 0
        current.append(item)
        words += r_words
        tokens += r_tokens
        nbytes += r_bytes
    if current:
        yield current, words, tokens, nbytes
