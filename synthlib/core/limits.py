"""Every limit a run's settings and shards must keep, declared once.

The providers' per-batch limits (requests and bytes of one batch's input) are read by sharding
(:mod:`synthlib.core.shards`, the cost estimate), by the providers that check a batch before
sending it, and by the settings' validation (:mod:`synthlib.jobs.config`), so a ``batch_size``
a provider cannot take is refused up front in one line naming the setting and the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1_000_000


@dataclass(frozen=True)
class BatchLimits:
    """What one batch of a provider may hold: ``requests`` requests, ``bytes`` bytes of input."""

    requests: int
    bytes: int


# The Batch APIs' documented limits (OpenAI and Anthropic docs as of 2026). The offline provider
# stands in for OpenAI, so it keeps OpenAI's: a run planned offline plans the same batches.
BATCH_LIMITS: dict[str, BatchLimits] = {
    "openai": BatchLimits(requests=50_000, bytes=200 * MB),
    "anthropic": BatchLimits(requests=100_000, bytes=256 * MB),
    "offline": BatchLimits(requests=50_000, bytes=200 * MB),
}
DEFAULT_LIMITS = BATCH_LIMITS["openai"]  # a provider not (yet) in the table

# Words one request may ask for (the ``words_per_request`` setting), and so the most a custom_id
# may stand for when results are read: a batch made with other packing is still read right.
MAX_WORDS_PER_REQUEST = 20
DEFAULT_BATCH_SIZE = 1_000  # words per batch (see :mod:`synthlib.core.shards` for why)


def batch_limits(provider: str) -> BatchLimits:
    """The per-batch limits of ``provider`` (OpenAI's for one the table does not know)."""
    return BATCH_LIMITS.get(provider, DEFAULT_LIMITS)


def most_batch_size(provider: str, words_per_request: int) -> int:
    """The largest ``batch_size`` (words) whose batch stays within ``provider``'s requests."""
    return batch_limits(provider).requests * words_per_request
