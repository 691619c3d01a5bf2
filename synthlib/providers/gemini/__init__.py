"""Google's Gemini Batch API (Gemini Developer API, or a server that speaks it at
``GOOGLE_GEMINI_BASE_URL``, such as the bundled emulator): :data:`SPEC` declares it;
:mod:`.backend` adapts the official ``google-genai`` SDK (extra ``gemini``), imported only when a
run needs it (the backend module loads no SDK at import, so the spec takes its constants).

Gemini's tokenizer is not used offline, so input tokens are estimates, and say so: the
o200k_base count scaled by :data:`TOKENS_PER_O200K_TOKEN`. Batches carry the run's tags in their
display name from the moment they exist, so a batch whose create was not answered is found by
listing (as OpenAI's by their metadata)."""

from __future__ import annotations

from ...core.pricing import Price
from ...core.tokens import TokenScale
from ..base import Backend
from ..spec import BackendOptions, ProviderSpec, Refind
from .backend import DEFAULT_BASE_URL, KEY_VARIABLES, LIMITS, LISTS_NEWEST_FIRST, URL_VARIABLE

DEFAULT_MODEL = "gemini-2.5-flash"
# Gemini tokens per o200k_base token on synthlib's prompts: an assumption, not a published
# figure. Google publishes no offline tokenizer, only a countTokens call and "a token is about 4
# characters" (ai.google.dev/gemini-api/docs/tokens); on synthlib's prompts this scale counts
# about 13% more than 4 characters a token (test_the_token_estimate_covers_a_bill_of_4_...)
TOKENS_PER_O200K_TOKEN = 1.1

# USD per 1M tokens at the standard rate, checked 2026-11-01 (Gemini API docs, "Pricing", prompts
# up to 200k tokens; see core.pricing.PRICES_AS_OF): input, context-cache hits (synthlib caches
# nothing), output with thinking; the Batch API bills half of each. The largest output, thinking
# included, is the models' documented 65,535 tokens (Google Cloud's model pages say 65,535 where
# ai.google.dev says 65,536: the lower is kept): a truncated word is retried up to it.
PRICES = (
    Price("gemini-2.5-flash", 0.30, 0.03, 2.50, max_output=65_535),
    Price("gemini-2.5-flash-lite", 0.10, 0.01, 0.40, max_output=65_535),
    Price("gemini-2.5-pro", 1.25, 0.125, 10.00, max_output=65_535),
)


def _backend(options: BackendOptions) -> Backend:
    from .backend import GeminiBackend

    retries = options.max_retries
    return GeminiBackend(
        options.state_dir,
        api_key=options.api_key,
        base_url=options.base_url,
        retry=None if retries is None else {"attempts": retries + 1},
    )


SPEC = ProviderSpec(
    name="gemini",
    title="Gemini",
    backend=_backend,
    key_variables=KEY_VARIABLES,  # GOOGLE_API_KEY, then GEMINI_API_KEY, as the SDK reads them
    base_url_variable=URL_VARIABLE,  # GOOGLE_GEMINI_BASE_URL (the SDK adds /v1beta itself)
    default_base_url=DEFAULT_BASE_URL,
    models=("gemini-",),
    model_kind="a Gemini model",
    default_model=DEFAULT_MODEL,
    prices=PRICES,
    tokens=TokenScale(
        TOKENS_PER_O200K_TOKEN,
        0,
        f"estimated: o200k_base x{TOKENS_PER_O200K_TOKEN:g}, Gemini's tokenizer is not used "
        "offline",
    ),
    limits=LIMITS,
    extra="gemini",
    sdk_modules=("google.genai",),
    batch_metadata=True,  # the display name carries the run's tags from creation
    refind=Refind.BY_METADATA,
    lists_newest_first=LISTS_NEWEST_FIRST,  # undocumented: every listing is read to its end
    summary="Gemini Batch API",
)
