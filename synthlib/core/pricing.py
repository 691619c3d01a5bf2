"""Prices: what a price row is, how a dated table is read and overridden by the user.

Prices are USD per 1M tokens at the standard (synchronous) rate: input, cached input and output.
The Batch API bills half of each. The rows themselves are each provider's (its spec's
``prices``; ``synthlib.providers.registry.prices()`` is the table of them all): core names no
provider's model. Prices change: ``PRICES_AS_OF`` says when the rows were checked, and a user file
(JSON, ``{"model": {"input": .., "cached_input": .., "output": ..}}``) or a mapping passed as
``prices=`` overrides or adds models.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
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
    # the most output one request may take (None: requests.MAX_OUTPUT_TOKENS)
    max_output: int | None = None

    def cost(
        self, input_tokens: int, output_tokens: int, cached_tokens: int = 0, *, batch: bool = True
    ) -> float:
        """USD for this usage; ``cached_tokens`` is the part of ``input_tokens`` served cached."""
        uncached = input_tokens - cached_tokens
        usd = (
            uncached * self.input + cached_tokens * self.cached_input + output_tokens * self.output
        ) / _PER
        return usd * BATCH_DISCOUNT if batch else usd


def price_table(
    overrides: str | os.PathLike[str] | Mapping[str, Any] | None,
    base: Mapping[str, Price],
    reasoning: Callable[[str], bool],
) -> dict[str, Price]:
    """``base`` (the providers' rows: ``registry.price_table`` passes them) with ``overrides``
    (a JSON file path or a mapping) applied. An override keeps what it does not give of the
    row it replaces; a model it adds is a reasoning model when its row says so, else when
    ``reasoning(model)`` does (the providers' naming rules), and has no declared largest
    output."""
    table = dict(base)
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
        table[model] = _parse_row(source, model, row, table.get(model), reasoning)
    return table


def _parse_row(
    source: str, model: str, row: Any, base: Price | None, is_reasoning: Callable[[str], bool]
) -> Price:
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
    reasoning = row.get("reasoning", base.reasoning if base else is_reasoning(model))
    return Price(
        model,
        values["input"],
        values["cached_input"],
        values["output"],
        bool(reasoning),
        base.max_output if base else None,
    )


def price_for(model: str, table: Mapping[str, Price]) -> Price:
    """The price of ``model`` in ``table`` (the registry's ``prices()``, or a run's table with
    the user's overrides); an unknown model is a :class:`PricingError` listing known ones."""
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
