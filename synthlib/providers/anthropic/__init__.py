"""Anthropic's Message Batches (or a server that speaks them at ``ANTHROPIC_BASE_URL``):
:data:`SPEC` declares it; :mod:`.backend` adapts the ``anthropic`` SDK (extra ``anthropic``),
imported only when a run needs it.

The backend module loads no SDK at import (only its factory does), so the spec takes the batch
limits from it.

Claude's tokenizer is not published, so input tokens are estimates, and say so: the o200k_base
count scaled by :data:`TOKENS_PER_O200K_TOKEN`, plus the tool-use system prompt Anthropic adds
when a tool is forced (Anthropic docs as of 2026, tool use pricing: 313 tokens for
``tool_choice`` ``any``/``tool`` on Claude 4 models)."""

from __future__ import annotations

from ...core.pricing import Price
from ...core.tokens import TokenScale
from ..base import Backend
from ..spec import BackendOptions, ProviderSpec, Refind
from .backend import SHARD_LIMITS

DEFAULT_MODEL = "claude-haiku-4-5"
# Claude tokens per o200k_base token on synthlib's prompts: an assumption, not a published
# figure (Anthropic documents no offline tokenizer); Claude's tokenizers split English and JSON
# into somewhat more pieces than o200k_base, and this errs on the high side
TOKENS_PER_O200K_TOKEN = 1.25
TOOL_PROMPT_TOKENS = 313

# USD per 1M tokens at the standard rate, checked 2026-11-01 (Anthropic docs as of 2026,
# "Pricing"; see core.pricing.PRICES_AS_OF): base input, cache hits (the cached input rate;
# synthlib writes no cache), output; Message Batches bill half of each, like OpenAI's Batch API.
# Last, the most output one request may take (Anthropic's model pages as of 2026).
PRICES = (
    Price("claude-opus-4-8", 5.00, 0.50, 25.00, max_output=64_000),
    Price("claude-opus-4-7", 5.00, 0.50, 25.00, max_output=64_000),
    Price("claude-opus-4-6", 5.00, 0.50, 25.00, max_output=64_000),
    Price("claude-opus-4-5", 5.00, 0.50, 25.00, max_output=64_000),
    Price("claude-opus-4-1", 15.00, 1.50, 75.00, max_output=32_000),
    Price("claude-opus-4-0", 15.00, 1.50, 75.00, max_output=32_000),
    Price("claude-sonnet-4-6", 3.00, 0.30, 15.00, max_output=64_000),
    Price("claude-sonnet-4-5", 3.00, 0.30, 15.00, max_output=64_000),
    Price("claude-sonnet-4-0", 3.00, 0.30, 15.00, max_output=64_000),
    Price("claude-haiku-4-5", 1.00, 0.10, 5.00, max_output=64_000),
    Price("claude-3-5-haiku-latest", 0.80, 0.08, 4.00, max_output=8_192),
)


def _backend(options: BackendOptions) -> Backend:
    from .backend import AnthropicBackend, client

    if options.api_key is None and options.base_url is None and options.max_retries is None:
        return AnthropicBackend(options.state_dir)  # the key and base URL from the environment
    made = client(options.api_key, options.base_url, options.max_retries)
    return AnthropicBackend(options.state_dir, made)


SPEC = ProviderSpec(
    name="anthropic",
    title="Anthropic",
    backend=_backend,
    key_variables=("ANTHROPIC_API_KEY",),
    base_url_variable="ANTHROPIC_BASE_URL",
    default_base_url="https://api.anthropic.com",
    models=("claude",),
    model_kind="a Claude model",
    default_model=DEFAULT_MODEL,
    prices=PRICES,
    tokens=TokenScale(
        TOKENS_PER_O200K_TOKEN,
        TOOL_PROMPT_TOKENS,
        f"estimated: o200k_base x{TOKENS_PER_O200K_TOKEN:g}, Claude's tokenizer is not public",
    ),
    limits=SHARD_LIMITS,
    extra="anthropic",
    sdk_modules=("anthropic",),
    # Message Batches carry no metadata: the tags travel in every custom_id and are read from
    # the results, so a lost create is resolved by its journalled attempt
    batch_metadata=False,
    refind=Refind.BY_ATTEMPT,
    lists_newest_first=True,  # documented: "most recently created ... first"
    summary="Message Batches",
)
