"""Prices: one dated table, overridable by the user.

Prices are USD per 1M tokens at the standard (synchronous) rate: input, cached input and output.
The Batch API bills half of each. Prices change: ``PRICES_AS_OF`` says when the table was checked,
and a user file (JSON, ``{"model": {"input": .., "cached_input": .., "output": ..}}``) or a mapping
passed as ``prices=`` overrides or adds models.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import PricingError

PRICES_AS_OF = "2026-11-01"
BATCH_DISCOUNT = 0.5
_PER = 1_000_000


@dataclass(frozen=True)
class Price:
    """Standard-rate USD per 1M tokens for one model."""

    model: str
    input: float
    cached_input: float
    output: float
    reasoning: bool = False  # takes max_completion_tokens and rejects temperature
    max_output: int | None = None  # the most output one request may take (None: see requests)

    def cost(
        self, input_tokens: int, output_tokens: int, cached_tokens: int = 0, *, batch: bool = True
    ) -> float:
        """USD for this usage; ``cached_tokens`` is the part of ``input_tokens`` served cached."""
        uncached = input_tokens - cached_tokens
        usd = (
            uncached * self.input + cached_tokens * self.cached_input + output_tokens * self.output
        ) / _PER
        return usd * BATCH_DISCOUNT if batch else usd


def _p(model: str, i: float, c: float, o: float) -> Price:
    return Price(model, i, c, o, reasoning=_is_reasoning(model))


def _is_reasoning(model: str) -> bool:
    return model.startswith(("gpt-5", "o1", "o3", "o4"))


PRICES: dict[str, Price] = {
    p.model: p
    for p in (
        _p("gpt-4o-mini", 0.15, 0.075, 0.60),
        _p("gpt-4o", 2.50, 1.25, 10.00),
        _p("gpt-4.1", 2.00, 0.50, 8.00),
        _p("gpt-4.1-mini", 0.40, 0.10, 1.60),
        _p("gpt-4.1-nano", 0.10, 0.025, 0.40),
        _p("gpt-5", 1.25, 0.125, 10.00),
        _p("gpt-5-mini", 0.25, 0.025, 2.00),
        _p("gpt-5-nano", 0.05, 0.005, 0.40),
        _p("o4-mini", 1.10, 0.275, 4.40),
        # Anthropic, checked 2026-11-01 (Anthropic docs as of 2026, "Pricing"): base input,
        # cache hits (the cached input rate; synthlib writes no cache), output. Message Batches
        # bill half of each, like OpenAI's Batch API.
        _p("claude-opus-4-8", 5.00, 0.50, 25.00),
        _p("claude-opus-4-7", 5.00, 0.50, 25.00),
        _p("claude-opus-4-6", 5.00, 0.50, 25.00),
        _p("claude-opus-4-5", 5.00, 0.50, 25.00),
        _p("claude-opus-4-1", 15.00, 1.50, 75.00),
        _p("claude-opus-4-0", 15.00, 1.50, 75.00),
        _p("claude-sonnet-4-6", 3.00, 0.30, 15.00),
        _p("claude-sonnet-4-5", 3.00, 0.30, 15.00),
        _p("claude-sonnet-4-0", 3.00, 0.30, 15.00),
        _p("claude-haiku-4-5", 1.00, 0.10, 5.00),
        _p("claude-3-5-haiku-latest", 0.80, 0.08, 4.00),
        # Google Gemini, checked 2026-11-01 (Gemini API docs, "Pricing"; prompts up to 200k
        # tokens): input, context-cache hits (synthlib caches nothing), output with thinking.
        # The Batch API bills half of each.
        _p("gemini-2.5-flash", 0.30, 0.03, 2.50),
        _p("gemini-2.5-flash-lite", 0.10, 0.01, 0.40),
        _p("gemini-2.5-pro", 1.25, 0.125, 10.00),
    )
}

DEFAULT_MODEL = "gpt-4o-mini"  # a run's model unless its provider's spec names its own


def price_table(
    overrides: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    base: Mapping[str, Price] | None = None,
) -> dict:
    """``base`` (default: the built-in table; the registry adds the rows provider specs
    declare) with ``overrides`` (a JSON file path or a mapping) applied."""
    table = dict(PRICES if base is None else base)
    if overrides is None:
        return table
    if isinstance(overrides, Mapping):
        source, data = "prices", overrides
    else:
        source = str(overrides)
        try:
            data = json.loads(Path(overrides).read_text(encoding="utf-8"))
        except OSError as exc:
            raise PricingError(f"{source}: cannot read price file: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise PricingError(f"{source}:{exc.lineno}: not valid JSON: {exc.msg}") from None
        if not isinstance(data, Mapping):
            raise PricingError(f"{source}: a price file is a JSON object of models")
    for model, row in data.items():
        table[model] = _parse_row(source, model, row, table.get(model))
    return table


def _parse_row(source: str, model: str, row: Any, base: Price | None) -> Price:
    if not isinstance(row, Mapping):
        raise PricingError(
            f"{source}: {model}: expected an object with input, cached_input, output"
        )
    values: dict[str, float] = {}
    for key in ("input", "cached_input", "output"):
        value = row.get(key, getattr(base, key, None) if base else None)
        if key == "cached_input" and value is None:
            value = values.get("input")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PricingError(f"{source}: {model}: {key} must be a number (USD per 1M tokens)")
        if value < 0 or not math.isfinite(value):
            raise PricingError(f"{source}: {model}: {key} must be a finite price >= 0")
        values[key] = float(value)
    reasoning = row.get("reasoning", base.reasoning if base else _is_reasoning(model))
    return Price(
        model,
        values["input"],
        values["cached_input"],
        values["output"],
        bool(reasoning),
        base.max_output if base else None,
    )


def price_for(model: str, table: Mapping[str, Price] | None = None) -> Price:
    """The price of ``model``; an unknown model is a :class:`PricingError` listing known ones."""
    table = PRICES if table is None else table
    try:
        return table[model]
    except KeyError:
        known = ", ".join(sorted(table))
        raise PricingError(
            f"unknown model {model!r}; known models: {known} (add prices with {{prices}}: a "
            "JSON file of prices)",
            settings="prices",
        ) from None


@dataclass(frozen=True)
class Usage:
    """Billed tokens and their cost at batch prices: of a batch as its API reports it (no cost
    yet: see :meth:`priced`), of a batch's lines (ingest), of a batch as the journal keeps it,
    of a run (the run's state). The one usage type: a provider converts its API's usage to it
    at its edge, and the engine's JSON (checkpoint, journal) is :meth:`to_dict`."""

    input_tokens: int = 0
    cached_tokens: int = 0  # the part of input_tokens served from the cache
    output_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.cached_tokens + other.cached_tokens,
            self.output_tokens + other.output_tokens,
            self.cost_usd + other.cost_usd,
        )

    def priced(self, price: Price) -> Usage:
        """These tokens with their cost at ``price``'s batch rates."""
        cost = price.cost(self.input_tokens, self.output_tokens, self.cached_tokens, batch=True)
        return Usage(self.input_tokens, self.cached_tokens, self.output_tokens, cost)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        """The usage :meth:`to_dict` wrote (a missing key is 0)."""
        return cls(
            int(data.get("input_tokens", 0)),
            int(data.get("cached_tokens", 0)),
            int(data.get("output_tokens", 0)),
            float(data.get("cost_usd", 0.0)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "cached_tokens": self.cached_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
        }
