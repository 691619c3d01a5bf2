"""The emulator's knobs: phase durations, limits and fault rates, validated in one place.

A batch follows the configuration in force when it was created (its phase durations, seed and
fault rates are copied into the batch), so changing the configuration mid-run never rewrites the
history of batches already submitted. ``stall`` is the one exception: it acts on running batches
at once, because its purpose is to freeze work that is already in flight.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_RATES = (
    "error_rate",
    "truncate_rate",
    "refusal_rate",
    "expire_rate",
    "no_output_rate",
    "http_429_rate",
    "http_500_rate",
)
_DURATIONS = (
    "validating_seconds",
    "seconds_per_request",
    "finalizing_seconds",
    "cancelling_seconds",
)


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything that shapes the emulator's behaviour; immutable, change it with :meth:`replace`.

    Rates are probabilities in [0, 1], decided by hashing ``seed`` with the ids involved, so the
    same state directory, seed and inputs give the same outcomes on every run.
    """

    seed: int = 0
    # Phase durations of a batch, in seconds.
    validating_seconds: float = 0.2
    seconds_per_request: float = 0.002
    finalizing_seconds: float = 0.2
    cancelling_seconds: float = 0.2
    # Per-request faults, drawn from (seed, batch_id, custom_id).
    error_rate: float = 0.0
    truncate_rate: float = 0.0
    refusal_rate: float = 0.0
    # Per-batch faults, drawn from (seed, batch_id).
    expire_rate: float = 0.0
    no_output_rate: float = 0.0
    # Transient failures of API calls themselves, drawn from (seed, call counter).
    http_429_rate: float = 0.0
    http_500_rate: float = 0.0
    max_consecutive_http_faults: int = 2
    # While true, no batch gets past in_progress.
    stall: bool = False
    # Enqueued input tokens allowed per model; models not in token_limits get the default.
    default_token_limit: int = 2_000_000
    token_limits: Mapping[str, int] = field(default_factory=dict)
    # Limits of one batch input file, as OpenAI documents them.
    max_requests: int = 50_000
    max_file_bytes: int = 200 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in _RATES:
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
        for name in _DURATIONS:
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        for name in ("max_consecutive_http_faults", "default_token_limit", "max_requests"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if not isinstance(self.max_file_bytes, int) or self.max_file_bytes < 0:
            raise ValueError("max_file_bytes must be a non-negative integer")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if not isinstance(self.stall, bool):
            raise ValueError(f"stall must be true or false, got {self.stall!r}")
        limits = dict(self.token_limits)
        for model, limit in limits.items():
            if not isinstance(model, str) or not isinstance(limit, int) or limit < 0:
                raise ValueError(f"token_limits needs model -> non-negative int, got {model!r}")
        # A plain dict copy, so a caller mutating its mapping cannot change a frozen config.
        object.__setattr__(self, "token_limits", limits)

    def replace(self, **changes: Any) -> EmulatorConfig:
        """A copy with ``changes`` applied; ValueError for an unknown field or a bad value."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown emulator setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def token_limit(self, model: str) -> int:
        """Enqueued input tokens allowed for ``model`` across its unfinished batches."""
        return self.token_limits.get(model, self.default_token_limit)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every setting (what ``GET /_emulator/config`` returns)."""
        out = dataclasses.asdict(self)
        out["token_limits"] = dict(self.token_limits)
        return out
