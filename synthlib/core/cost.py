"""The cost estimate: what a run will send, and what it will cost at regular and batch prices."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from . import schema
from .errors import UsageError
from .limits import DEFAULT_LIMITS, BatchLimits
from .pricing import BATCH_DISCOUNT, PRICES_AS_OF, Price
from .prompts import PAYLOAD_HEAD, PAYLOAD_TAIL, json_string
from .requests import RequestTemplate, build_requests, escaped_size, max_output_tokens
from .shards import DEFAULT_BATCH_SIZE, DEFAULT_TOKEN_BUDGET, cut
from .tokens import EXACT, RequestTokens, TokenScale, request_tokens
from .words import WordList

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Estimate:
    """A dry run's answer. Token counts are exact unless ``tokens_exact`` is False."""

    model: str
    provider: str
    words_total: int
    already_processed: int
    in_flight: int
    given_up: int
    remaining: int
    requests: int
    batch_jobs: int
    input_tokens: int
    output_tokens: int
    tokens_exact: bool
    output_tokens_per_word: float
    output_tokens_source: str
    regular_cost: float
    batch_cost: float
    words_per_request: int
    batch_size: int
    prices_as_of: str
    grounding_tokens: int = 0  # input tokens the reference senses add (0: no grounding)
    checkpoint: str | None = None  # the run's checkpoint file
    notes: tuple[str, ...] = ()  # what else counts as done (store, imported checkpoint)
    tokens_note: str = ""  # how inexact token counts were made
    largest_request_tokens: int = 0  # input tokens of the biggest request: the least budget
    # Of batch_cost: the retries the remaining words are expected to need, from the share of
    # this run's spend that went to answers that made no entry (0 before any was measured)
    retry_cost: float = 0.0
    retry_share: float = 0.0
    free: bool = False  # the provider costs nothing (offline): the costs are what the model would
    # Words other runs' live batches hold in the store's ledger: not bought by this run (it
    # waits for their entries, or adopts a batch whose run is gone), so not in ``remaining``
    held_elsewhere: int = 0

    @property
    def savings(self) -> float:
        return self.regular_cost - self.batch_cost

    @property
    def cost_per_1000_words(self) -> float:
        return self.batch_cost / self.remaining * 1000 if self.remaining else 0.0

    def rows(self) -> list[tuple[str, str]]:
        """The table as (label, value) rows, formatted for people."""
        approx = ""
        if not self.tokens_exact:
            approx = f" ({self.tokens_note or 'estimated: no tokenizer'})"
        rows = [
            ("Model", self.model),
            (
                "Provider",
                f"{self.provider}: free (the costs below are what {self.model} would cost)"
                if self.free
                else self.provider,
            ),
            ("Total words", f"{self.words_total:,}"),
            ("Already processed", f"{self.already_processed:,}"),
        ]
        if self.in_flight:
            rows.append(("In flight (already submitted)", f"{self.in_flight:,}"))
        if self.given_up:
            rows.append(("Given up", f"{self.given_up:,}"))
        if self.held_elsewhere:
            rows.append(
                (
                    "Held by other runs",
                    f"{self.held_elsewhere:,} (they will be waited for, not bought)",
                )
            )
        rows += [
            ("Remaining", f"{self.remaining:,}"),
            ("Batch jobs", f"{self.batch_jobs:,} (up to {self.batch_size:,} words each)"),
            ("Requests", f"{self.requests:,} ({self.words_per_request} word(s) each)"),
            ("Estimated input tokens", f"{self.input_tokens:,}{approx}"),
            *(
                [("Grounding (local senses)", f"+{self.grounding_tokens:,} input tokens")]
                if self.grounding_tokens
                else []
            ),
            (
                "Estimated output tokens",
                f"{self.output_tokens:,} ({self.output_tokens_per_word:,.0f}/word, "
                f"{self.output_tokens_source})",
            ),
            *(
                [
                    (
                        "Retries (expected)",
                        f"${self.retry_cost:,.4f} in the batch cost ({self.retry_share:.1%} of "
                        "this run's spend went to answers retried)",
                    )
                ]
                if self.retry_cost
                else []
            ),
            ("Regular API cost", f"${self.regular_cost:,.4f}"),
            ("Batch API cost", f"${self.batch_cost:,.4f}"),
            ("Savings", f"${self.savings:,.4f} ({(1 - BATCH_DISCOUNT):.0%})"),
            ("Batch cost per 1,000 words", f"${self.cost_per_1000_words:,.4f}"),
            ("Prices as of", self.prices_as_of),
        ]
        return rows

    def to_frame(self) -> pd.DataFrame:
        """The table as a two-column DataFrame (for notebooks)."""
        import pandas as pd  # only here: a dry run on the terminal needs no pandas

        return pd.DataFrame(self.rows(), columns=["item", "value"]).set_index("item")

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "savings": self.savings,
            "cost_per_1000_words": self.cost_per_1000_words,
        }

    def __str__(self) -> str:
        width = max(len(label) for label, _ in self.rows())
        return "\n".join(f"{label:<{width}}  {value}" for label, value in self.rows())


def single_word_sizes(
    words: Iterable[str],
    positions: Mapping[str, int],
    template: RequestTemplate,
    counter: RequestTokens,
) -> Iterator[tuple[None, int, int, int]]:
    """``(None, 1, tokens, bytes)`` of each one-word request, exactly as
    :func:`~synthlib.core.shards.plan_shards` counts them, without building the requests: the
    payload's
    tokens are its frame's plus the word piece's (see :mod:`synthlib.core.prompts`)."""
    encode = counter.encoder.encode_ordinary
    base_tokens = counter.fixed + counter.frame
    one_word = template.fixed_bytes(max_output_tokens(template.price, 1))
    base_bytes = one_word + 1 + escaped_size(PAYLOAD_HEAD + PAYLOAD_TAIL)
    # A word of letters only is one run of letters between ' "' and '"', which the tokenizer
    # splits exactly as it splits the bare word: count the word, add its quotes.
    letters_tokens = base_tokens + len(encode(' "')) + len(encode('"'))
    letters_bytes = base_bytes + 5  # the space, the quotes, and their escapes
    for word in words:
        cid = (positions[word].bit_length() + 3) >> 2 or 1  # hex digits of the custom_id
        if word.isalpha():
            size = len(word) if word.isascii() else len(word.encode("utf-8"))
            yield None, 1, letters_tokens + len(encode(word)), letters_bytes + cid + size
        else:
            piece = " " + json_string(word)
            yield None, 1, base_tokens + len(encode(piece)), base_bytes + cid + escaped_size(piece)


def estimate(
    words: WordList,
    price: Price,
    *,
    provider: str = "openai",
    tokens: TokenScale = EXACT,
    limits: BatchLimits = DEFAULT_LIMITS,
    free: bool = False,
    processed: Iterable[str] = (),
    in_flight: Iterable[str] = (),
    given_up: Iterable[str] = (),
    held: Iterable[str] = (),
    batch_size: int = DEFAULT_BATCH_SIZE,
    words_per_request: int = 1,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    measured_output_per_word: float | None = None,
    measured_words: int = 0,
    retry_share: float = 0.0,
    reference: Mapping[str, Any] | None = None,
    track: Callable[[Iterator[Any], int], Iterable[Any]] | None = None,
) -> Estimate:
    """Count and price the requests the remaining words will need (pure: no I/O; ``track``,
    given the requests' sizes and the number of words, may show progress over them). A
    ``token_budget`` that not one of them fits is a :class:`UsageError`: a run would submit
    nothing, for ever.

    ``retry_share`` is the share of a run's spend so far that went to answers that made no
    entry (cut off, refused, broken): the remaining words are expected to need as much again
    in retries, ``share / (1 - share)`` of their cost (the share counted at most 1/2)."""
    processed, in_flight, given_up = set(processed), set(in_flight), set(given_up)
    skip = processed | in_flight | given_up
    held = {w for w in held if w not in skip}  # other runs' batches hold them: not bought here
    skip |= held
    remaining = [w for w in words if w not in skip]
    template = RequestTemplate(price)
    counter = request_tokens(price.model, tokens)

    def sizes(ref: Mapping[str, Any] | None) -> Iterator[tuple[None, int, int, int]]:
        if words_per_request == 1 and not ref:
            return single_word_sizes(remaining, words.positions, template, counter)
        requests = build_requests(
            remaining, words.positions, words_per_request=words_per_request, reference=ref
        )
        return (
            (None, len(r.words), counter.request(r.payload), template.line_bytes(r))
            for r in requests
        )

    jobs = n_requests = input_tokens = largest = 0

    def measured(sized: Iterator[tuple[None, int, int, int]]) -> Iterator[Any]:
        nonlocal largest
        for size in sized:
            largest = max(largest, size[2])
            yield size

    counted = measured(sizes(reference))
    for items, _, shard_tokens, _ in cut(
        track(counted, len(remaining)) if track else counted,
        batch_size=batch_size,
        max_tokens=token_budget,
        max_requests=limits.requests,
        max_bytes=limits.bytes,
    ):
        jobs += 1
        n_requests += len(items)
        input_tokens += shard_tokens
    if remaining and largest > token_budget:  # a run would submit nothing, for ever
        raise UsageError(
            f"{{token_budget={token_budget}}} is below one request: the largest request to "
            f"send takes {largest:,} input tokens; {{pass token_budget={largest}}} or more "
            "(nothing was sent)",
            settings="token_budget",
        )
    grounding_tokens = 0
    if reference:  # what the same requests would take without the reference senses
        grounding_tokens = input_tokens - sum(t for _, _, t, _ in sizes(None))
    if measured_output_per_word is not None and measured_words:
        per_word = measured_output_per_word
        source = f"measured over {measured_words:,} words"
    else:
        per_word = schema.DEFAULT_OUTPUT_TOKENS_PER_WORD.get(schema.SCHEMA_VERSION, 650)
        source = f"default for schema v{schema.SCHEMA_VERSION}"
    output_tokens = round(per_word * len(remaining))
    regular = price.cost(input_tokens, output_tokens, batch=False)
    batch = price.cost(input_tokens, output_tokens, batch=True)
    share = min(max(retry_share, 0.0), 0.5)
    retries = share / (1 - share)
    return Estimate(
        model=price.model,
        provider=provider,
        words_total=len(words),
        already_processed=len(processed),
        in_flight=len(in_flight),
        given_up=len(given_up),
        remaining=len(remaining),
        requests=n_requests,
        batch_jobs=jobs,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        tokens_exact=counter.exact,
        output_tokens_per_word=per_word,
        output_tokens_source=source,
        regular_cost=regular * (1 + retries),
        batch_cost=batch * (1 + retries),
        words_per_request=words_per_request,
        batch_size=batch_size,
        prices_as_of=PRICES_AS_OF,
        grounding_tokens=grounding_tokens,
        tokens_note=counter.note,
        largest_request_tokens=largest,
        retry_cost=batch * retries,
        retry_share=share,
        free=free,
        held_elsewhere=len(held),
    )
