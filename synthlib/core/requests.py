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
# the key under which a provider answers that a word is not one (the offline provider's lexicon)
NOT_FOUND_KEY = "synthlib_not_found"
# 64 characters is Anthropic's limit (Anthropic docs as of 2026); its backend appends a tag of up
# to 20 (``-<12 hex run>-s<shard>``) to each id, so synthlib's own ids stay within 44
MAX_CUSTOM_ID = 44
_ID_PREFIX = "w"

# Output tokens a request may take (``max_tokens``, or ``max_completion_tokens`` for reasoning
# models) are sized per word by :class:`OutputLimits`: before a run has measured answers, four
# times the schema's typical entry (a long entry is about 1,500 tokens); once it has, twice the
# longest of its usual answers (the 99th percentile), so a long entry fits and a runaway answer
# is cut early. A truncated answer is retried with a larger limit (see :class:`OutputLimits`).
DEFAULT_LIMIT_FACTOR = 4
MEASURED_LIMIT_FACTOR = 2
MIN_MEASURED_ANSWERS = 20  # answers measured before their size replaces the default
MIN_TOKENS_PER_WORD = 256  # a measured limit never goes below this
MEASURE_BUCKET = 32  # measured answer sizes are kept as a histogram of this bucket width
MAX_OUTPUT_TOKENS_PER_WORD = DEFAULT_LIMIT_FACTOR * schema.DEFAULT_OUTPUT_TOKENS_PER_WORD.get(
    schema.SCHEMA_VERSION, 650
)
REASONING_ALLOWANCE = 4_000  # thinking tokens of a reasoning model, before any is measured
# The most output a model can give one request is its price row's ``max_output`` (each
# provider's spec declares its models'); a model without one gets MAX_OUTPUT_TOKENS.
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
    """One request of a batch: its words, how it is identified, and the most output tokens its
    answer may take."""

    custom_id: str
    words: tuple[str, ...]
    payload: str  # the JSON line of the user message that carries the words
    max_tokens: int


def model_max_output(price: Price) -> int:
    """The most output tokens ``price``'s model can give one request: its row's ``max_output``
    (declared by its provider's spec), else :data:`MAX_OUTPUT_TOKENS`."""
    return MAX_OUTPUT_TOKENS if price.max_output is None else price.max_output


def max_output_tokens(price: Price, words: int) -> int:
    """The default limit of a request of ``words`` words, before any answer is measured."""
    return OutputLimits.default(price).for_words(words)


def default_tokens_per_word() -> int:
    """The output limit per word before a run has measured answers: a few typical entries."""
    return MAX_OUTPUT_TOKENS_PER_WORD


def measured_tokens_per_word(histogram: Mapping[int, int]) -> int | None:
    """The output limit per word from a run's measured answers (``histogram``: bucket index ->
    answers whose output tokens per word fell in it, see :func:`bucket_of`): twice the 99th
    percentile, at least :data:`MIN_TOKENS_PER_WORD`; None with too few answers measured."""
    total = sum(histogram.values())
    if total < MIN_MEASURED_ANSWERS:
        return None
    below = total - total // 100  # answers at or under the 99th percentile
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= below:
            top = (bucket + 1) * MEASURE_BUCKET  # the bucket's upper edge
            return max(MIN_TOKENS_PER_WORD, MEASURED_LIMIT_FACTOR * top)
    raise AssertionError("unreachable: the histogram's counts add up to its total")


def bucket_of(output_tokens: int) -> int:
    """The histogram bucket of an answer of ``output_tokens`` tokens per word."""
    return max(0, output_tokens) // MEASURE_BUCKET


@dataclass(frozen=True)
class OutputLimits:
    """The ``max_tokens`` of each request: ``per_word`` tokens a word (plus ``allowance`` a
    request for a reasoning model's thinking), never more than the model's ``most``.

    ``refit`` holds the words whose last answer was truncated, each with the request it needs
    now: ``(most words in its request, least max_tokens)``. A packed request that was cut off is
    split (its words go in requests of half as many words, with the same limit each); a word cut
    off alone gets twice its limit, up to ``most`` (a word cut off at ``most`` cannot fit; the
    collector gives it up)."""

    per_word: int
    most: int = MAX_OUTPUT_TOKENS
    allowance: int = 0
    refit: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def default(cls, price: Price) -> OutputLimits:
        allowance = REASONING_ALLOWANCE if price.reasoning else 0
        return cls(default_tokens_per_word(), model_max_output(price), allowance)

    @classmethod
    def measured(
        cls,
        price: Price,
        histogram: Mapping[int, int],
        refit: Mapping[str, tuple[int, int]] | None = None,
    ) -> OutputLimits:
        """Limits sized from a run's measured answers (the default until there are enough)."""
        base = cls.default(price)
        per_word = measured_tokens_per_word(histogram)
        if per_word is not None:  # measured answers include a reasoning model's thinking
            base = cls(min(per_word, base.most), base.most, 0)
        return cls(base.per_word, base.most, base.allowance, dict(refit or {}))

    def for_words(self, words: int) -> int:
        """The limit of a request of ``words`` words that holds no word to refit."""
        return min(self.most, self.per_word * words + self.allowance)

    def for_request(self, words: Sequence[str]) -> int:
        limit = self.for_words(len(words))
        for word in words:
            shape = self.refit.get(word)
            if shape is not None:
                limit = max(limit, min(self.most, shape[1]))
        return limit

    def pack_size(self, word: str, words_per_request: int) -> int:
        """The most words the request of ``word`` may hold."""
        shape = self.refit.get(word)
        return words_per_request if shape is None else max(1, min(words_per_request, shape[0]))

    def after_truncation(self, words: int, max_tokens: int) -> tuple[int, int] | None:
        """The request a word needs after its answer was cut off in a request of ``words``
        words limited to ``max_tokens``: split a pack, else double the limit; None when the
        limit was already the model's most (the entry cannot fit)."""
        if words > 1:
            return (words // 2, max_tokens)
        if max_tokens >= self.most:
            return None
        return (1, min(self.most, max_tokens * 2))


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

    def _template(self, max_tokens: int) -> tuple[str, str, str]:
        if max_tokens not in self._parts:
            body: dict[str, Any] = {
                "model": self.price.model,
                "messages": [
                    {"role": "system", "content": prompts.SYSTEM},
                    {"role": "user", "content": "\0USER\0"},
                ],
                "response_format": schema.response_format(),
            }
            if self.price.reasoning:  # reasoning models reject temperature and max_tokens
                body["max_completion_tokens"] = max_tokens
            else:
                body["temperature"] = TEMPERATURE
                body["max_tokens"] = max_tokens
            line = {"custom_id": "\0CID\0", "method": "POST", "url": ENDPOINT, "body": body}
            text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
            head, rest = text.split('"\\u0000CID\\u0000"')
            mid, tail = rest.split('"\\u0000USER\\u0000"')
            self._parts[max_tokens] = (head, mid, tail)
        return self._parts[max_tokens]

    def line(self, request: Request) -> str:
        """The JSONL line of ``request`` (no trailing newline)."""
        head, mid, tail = self._template(request.max_tokens)
        user = prompts.USER_PREAMBLE + request.payload
        return f'{head}"{request.custom_id}"{mid}{prompts.json_string(user)}{tail}'

    def line_bytes(self, request: Request) -> int:
        """UTF-8 size of ``request``'s line plus its newline (without rendering the line)."""
        return (
            self.fixed_bytes(request.max_tokens)
            + len(request.custom_id)
            + escaped_size(request.payload)
        )

    def fixed_bytes(self, max_tokens: int) -> int:
        """Bytes of a line limited to ``max_tokens`` output tokens but its custom_id and payload
        (newline included)."""
        fixed = self._fixed_bytes.get(max_tokens)
        if fixed is None:
            head, mid, tail = self._template(max_tokens)
            preamble = prompts.json_string(prompts.USER_PREAMBLE)
            fixed = len(f"{head}{mid}{tail}{preamble}".encode()) + 3  # cid quotes, newline
            self._fixed_bytes[max_tokens] = fixed
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
    limits: OutputLimits | None = None,
) -> Iterator[Request]:
    """Pack ``words`` into requests of up to ``words_per_request`` words, in order, each limited
    as ``limits`` says (default: :data:`MAX_OUTPUT_TOKENS_PER_WORD` a word).

    ``positions`` maps each word to its place in the run's word list (for the custom_id);
    ``reference`` optionally maps words to grounding material carried beside them. A word to
    refit (``limits.refit``) goes in a request with words of the same refit only, as small and
    as large as it needs.
    """
    limits = limits or OutputLimits(MAX_OUTPUT_TOKENS_PER_WORD)
    if words_per_request == 1 and not reference and not limits.refit:
        # one word a request: the common case
        head, tail = prompts.PAYLOAD_HEAD, prompts.PAYLOAD_TAIL
        one = limits.for_words(1)
        for word in words:
            yield Request(
                f"w{positions[word]:x}", (word,), f"{head} {json_string(word)}{tail}", one
            )
        return
    pack: list[str] = []
    shape: tuple[int, int] | None = None  # the refit of the words in ``pack``, if any
    for word in words:
        word_shape = limits.refit.get(word)
        if pack and word_shape != shape:
            yield from _requests_for(pack, positions, reference, limits)
            pack = []
        shape = word_shape
        pack.append(word)
        if len(pack) >= limits.pack_size(word, words_per_request):
            yield from _requests_for(pack, positions, reference, limits)
            pack = []
    if pack:
        yield from _requests_for(pack, positions, reference, limits)


def _requests_for(
    pack: list[str],
    positions: Mapping[str, int],
    reference: Mapping[str, Any] | None,
    limits: OutputLimits,
) -> Iterator[Request]:
    custom_id = encode_custom_id([positions[w] for w in pack])
    if len(custom_id) > MAX_CUSTOM_ID and len(pack) > 1:
        # scattered positions (retries) can make a long id: split the pack rather than the limit;
        # each half is a request of its own, with its own output limit
        half = len(pack) // 2
        yield from _requests_for(pack[:half], positions, reference, limits)
        yield from _requests_for(pack[half:], positions, reference, limits)
        return
    refs = {w: reference[w] for w in pack if w in reference} if reference else None
    yield Request(custom_id, tuple(pack), prompts.payload(pack, refs), limits.for_request(pack))
