"""Batch API request lines, and the custom_ids that map them back to their words.

A request asks for one or more words (``words_per_request``). Its ``custom_id`` encodes the
positions of its words in the run's word list, in hexadecimal, consecutive positions as a range:
``w0``, ``w1f3``, ``wa_f`` (10 to 15), ``w3.ff_101`` (3, 255, 256, 257). It is short (the Batch
API is not documented to accept long ids; we keep to :data:`MAX_CUSTOM_ID`), unique within a
file since a word is in at most one request of a batch, and decodes without any lookup table.

Every line of one model, prompt and schema shares all of its JSON but the custom_id and the user
message, so :class:`RequestTemplate` renders the body once and splices those two in: writing a
million lines costs two string escapes each, and the byte size of a line is known without
writing it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from . import prompts, schema
from .pricing import Price
from .prompts import json_string

ENDPOINT = "/v1/chat/completions"
# 64 characters is Anthropic's limit (Anthropic docs as of 2026); its backend appends a tag of up
# to 20 (``-<12 hex run>-s<shard>``) to each id, so synthlib's own ids stay within 44
MAX_CUSTOM_ID = 44
_ID_PREFIX = "w"

# Output tokens allowed per word: a long entry is about 1,500; truncation beyond it is recorded
# as a failure and retried. Reasoning models also spend completion tokens on thinking.
MAX_OUTPUT_TOKENS_PER_WORD = 2_500
REASONING_ALLOWANCE = 4_000
MAX_OUTPUT_TOKENS = 16_384
TEMPERATURE = 0.2


def _hex(n: int) -> str:
    if n < 0:
        raise ValueError("word positions are non-negative")
    return f"{n:x}"


def encode_custom_id(positions: Sequence[int]) -> str:
    """The custom_id of a request for the words at ``positions`` (in the order asked)."""
    if not positions:
        raise ValueError("a request asks for at least one word")
    parts: list[str] = []
    start = prev = positions[0]
    for pos in [*positions[1:], None]:
        if pos is not None and pos == prev + 1:
            prev = pos
            continue
        parts.append(_hex(start) if start == prev else f"{_hex(start)}_{_hex(prev)}")
        if pos is not None:
            start = prev = pos
    return _ID_PREFIX + ".".join(parts)


def decode_custom_id(
    custom_id: str, *, limit: int | None = None, most: int | None = None
) -> list[int]:
    """The word positions a custom_id stands for; ValueError for an id synthlib did not make.

    An output line is untrusted input: with ``limit`` every position must be below it (the
    run's word count), and with ``most`` the id may stand for at most that many words, checked
    before any list is built (``w0_fffffffff`` must not cost gigabytes)."""
    if (
        not isinstance(custom_id, str)
        or not custom_id.startswith(_ID_PREFIX)
        or len(custom_id) == 1
    ):
        raise ValueError(f"not a synthlib custom_id: {custom_id!r}")
    spans: list[tuple[int, int]] = []
    count = 0
    for part in custom_id[1:].split("."):
        lo, _, hi = part.partition("_")
        if not _is_hex(lo) or (hi and not _is_hex(hi)):
            raise ValueError(f"not a synthlib custom_id: {custom_id!r}")
        a, b = int(lo, 16), int(hi or lo, 16)
        if b < a or (limit is not None and b >= limit):
            raise ValueError(f"not a custom_id of this run: {custom_id[:80]!r}")
        count += b - a + 1
        if most is not None and count > most:
            raise ValueError(
                f"custom_id stands for more words than a request has: {custom_id[:80]!r}"
            )
        spans.append((a, b))
    return [p for a, b in spans for p in range(a, b + 1)]


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text)


class Request(NamedTuple):
    """One request of a batch: its words and how it is identified."""

    custom_id: str
    words: tuple[str, ...]
    payload: str  # the JSON line of the user message that carries the words


def max_output_tokens(price: Price, words: int) -> int:
    per_word = MAX_OUTPUT_TOKENS_PER_WORD * words
    return min(MAX_OUTPUT_TOKENS, per_word + (REASONING_ALLOWANCE if price.reasoning else 0))


@dataclass
class RequestTemplate:
    """Renders Batch API JSONL lines for one model with the current prompt and schema."""

    price: Price
    _parts: dict[int, tuple[str, str, str]] = field(default_factory=dict, repr=False)
    _fixed_bytes: dict[int, int] = field(default_factory=dict, repr=False)

    @property
    def model(self) -> str:
        return self.price.model

    def body(self, request: Request) -> dict[str, Any]:
        """The request body, as the API receives it."""
        return json.loads(self.line(request))["body"]

    def _template(self, words: int) -> tuple[str, str, str]:
        if words not in self._parts:
            body: dict[str, Any] = {
                "model": self.price.model,
                "messages": [
                    {"role": "system", "content": prompts.SYSTEM},
                    {"role": "user", "content": "\0USER\0"},
                ],
                "response_format": schema.response_format(),
            }
            limit = max_output_tokens(self.price, words)
            if self.price.reasoning:  # reasoning models reject temperature and max_tokens
                body["max_completion_tokens"] = limit
            else:
                body["temperature"] = TEMPERATURE
                body["max_tokens"] = limit
            line = {"custom_id": "\0CID\0", "method": "POST", "url": ENDPOINT, "body": body}
            text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
            head, rest = text.split('"\\u0000CID\\u0000"')
            mid, tail = rest.split('"\\u0000USER\\u0000"')
            self._parts[words] = (head, mid, tail)
        return self._parts[words]

    def line(self, request: Request) -> str:
        """The JSONL line of ``request`` (no trailing newline)."""
        head, mid, tail = self._template(len(request.words))
        user = prompts.USER_PREAMBLE + request.payload
        return f'{head}"{request.custom_id}"{mid}{prompts.json_string(user)}{tail}'

    def line_bytes(self, request: Request) -> int:
        """UTF-8 size of ``request``'s line plus its newline (without rendering the line)."""
        return (
            self.fixed_bytes(len(request.words))
            + len(request.custom_id)
            + escaped_size(request.payload)
        )

    def fixed_bytes(self, words: int) -> int:
        """Bytes of a line of ``words`` words but its custom_id and payload (newline included)."""
        fixed = self._fixed_bytes.get(words)
        if fixed is None:
            head, mid, tail = self._template(words)
            preamble = prompts.json_string(prompts.USER_PREAMBLE)
            fixed = len(f"{head}{mid}{tail}{preamble}".encode()) + 3  # cid quotes, newline
            self._fixed_bytes[words] = fixed
        return fixed


def escaped_size(text: str) -> int:
    """UTF-8 bytes of JSON text ``text`` once embedded in a JSON string (quotes excluded).

    JSON text holds no raw control characters, so escaping only doubles quotes and backslashes.
    """
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    return size + text.count('"') + text.count("\\")


def build_requests(
    words: Iterable[str],
    positions: Mapping[str, int],
    *,
    words_per_request: int = 1,
    reference: Mapping[str, Any] | None = None,
) -> Iterator[Request]:
    """Pack ``words`` into requests of up to ``words_per_request`` words, in order.

    ``positions`` maps each word to its place in the run's word list (for the custom_id);
    ``reference`` optionally maps words to grounding material carried beside them.
    """
    if words_per_request == 1 and not reference:
        # one word a request: the common case
        head, tail = prompts.PAYLOAD_HEAD, prompts.PAYLOAD_TAIL
        for word in words:
            yield Request(f"w{positions[word]:x}", (word,), f"{head} {json_string(word)}{tail}")
        return
    pack: list[str] = []
    for word in words:
        pack.append(word)
        if len(pack) == words_per_request:
            yield from _requests_for(pack, positions, reference)
            pack = []
    if pack:
        yield from _requests_for(pack, positions, reference)


def _requests_for(
    pack: list[str], positions: Mapping[str, int], reference: Mapping[str, Any] | None
) -> Iterator[Request]:
    custom_id = encode_custom_id([positions[w] for w in pack])
    if len(custom_id) > MAX_CUSTOM_ID and len(pack) > 1:
        # scattered positions (retries) can make a long id: split the pack rather than the limit
        half = len(pack) // 2
        yield from _requests_for(pack[:half], positions, reference)
        yield from _requests_for(pack[half:], positions, reference)
        return
    refs = {w: reference[w] for w in pack if w in reference} if reference else None
    yield Request(custom_id, tuple(pack), prompts.payload(pack, refs))
