"""OpenAI's Batch API (or any OpenAI-compatible server at ``OPENAI_BASE_URL``, such as the
bundled emulator): :data:`SPEC` declares it; :mod:`.backend` adapts the ``openai`` SDK (a core
dependency), imported only when a run needs it."""

from __future__ import annotations

from ...core.limits import MB, BatchLimits
from ...core.pricing import Price
from ..base import Backend
from ..spec import BackendOptions, ProviderSpec, Refind

# a run's model unless its provider's spec names its own (the registry's DEFAULT_MODEL)
DEFAULT_MODEL = "gpt-4o-mini"
# reasoning models take max_completion_tokens and reject temperature and max_tokens
REASONING_MODELS = ("gpt-5", "o1", "o3", "o4")


def _row(model: str, input: float, cached_input: float, output: float, most: int) -> Price:
    reasoning = model.startswith(REASONING_MODELS)
    return Price(model, input, cached_input, output, reasoning=reasoning, max_output=most)


# USD per 1M tokens at the standard rate: input, cached input, output (checked 2026-11-01, see
# core.pricing.PRICES_AS_OF; the Batch API bills half of each), and the most output one request
# may take (OpenAI's model pages as of 2026)
PRICES = (
    _row("gpt-4o-mini", 0.15, 0.075, 0.60, 16_384),
    _row("gpt-4o", 2.50, 1.25, 10.00, 16_384),
    _row("gpt-4.1", 2.00, 0.50, 8.00, 32_768),
    _row("gpt-4.1-mini", 0.40, 0.10, 1.60, 32_768),
    _row("gpt-4.1-nano", 0.10, 0.025, 0.40, 32_768),
    _row("gpt-5", 1.25, 0.125, 10.00, 128_000),
    _row("gpt-5-mini", 0.25, 0.025, 2.00, 128_000),
    _row("gpt-5-nano", 0.05, 0.005, 0.40, 128_000),
    _row("o4-mini", 1.10, 0.275, 4.40, 100_000),
)


def _backend(options: BackendOptions) -> Backend:
    from .backend import OpenAIBackend, client

    if options.api_key is None and options.base_url is None and options.max_retries is None:
        return OpenAIBackend()  # the key and the base URL from the environment
    return OpenAIBackend(client(options.api_key, options.base_url, options.max_retries))


SPEC = ProviderSpec(
    name="openai",
    title="OpenAI",
    backend=_backend,
    key_variables=("OPENAI_API_KEY",),
    base_url_variable="OPENAI_BASE_URL",
    base_url_path="/v1",
    default_base_url="https://api.openai.com/v1",
    models=("gpt-", "chatgpt-", "o1", "o3", "o4", "ft:"),
    model_kind="an OpenAI model",
    takes_any_model=True,  # an OpenAI-compatible server may serve any model name
    default_model=DEFAULT_MODEL,
    prices=PRICES,
    reasoning_models=REASONING_MODELS,
    limits=BatchLimits(requests=50_000, bytes=200 * MB),  # a batch (OpenAI docs as of 2026)
    batch_metadata=True,  # batches carry the run's tags in their metadata
    refind=Refind.BY_METADATA,
    # newest first as served (OpenAI-compatible servers document it; OpenAI's reference
    # does not say): a listing that shows another order is read to its end all the same
    lists_newest_first=True,
)
