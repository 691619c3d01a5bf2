"""Every limit a run's settings and shards must keep, declared once.

A provider's per-batch limits (requests and bytes of one batch's input) are a :class:`BatchLimits`
its spec declares (:attr:`synthlib.providers.spec.ProviderSpec.limits`); sharding (the cost
estimate, the submitter), the provider's own check before sending and the settings' validation
(:mod:`synthlib.jobs.config`) are given them, so a ``batch_size`` a provider cannot take is
refused up front in one line naming the setting and the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1_000_000


@dataclass(frozen=True)
class BatchLimits:
    """What one batch of a provider may hold: ``requests`` requests, ``bytes`` bytes of input."""

    requests: int
    bytes: int

    def most_batch_size(self, words_per_request: int) -> int:
        """The largest ``batch_size`` (words) whose batch stays within these requests."""
        return self.requests * words_per_request


# OpenAI's Batch API (docs as of 2026): what a caller given no provider's limits goes by
DEFAULT_LIMITS = BatchLimits(requests=50_000, bytes=200 * MB)

# Words one request may ask for (the ``words_per_request`` setting), and so the most a custom_id
# may stand for when results are read: a batch made with other packing is still read right.
MAX_WORDS_PER_REQUEST = 20
DEFAULT_BATCH_SIZE = 1_000  # words per batch (see :mod:`synthlib.core.shards` for why)
