"""OpenAI's Batch API (or any OpenAI-compatible server at ``OPENAI_BASE_URL``, such as the
bundled emulator): :data:`SPEC` declares it; :mod:`.backend` adapts the ``openai`` SDK (a core
dependency), imported only when a run needs it."""

from __future__ import annotations

from ...core.limits import MB, BatchLimits
from ...core.pricing import DEFAULT_MODEL
from ..base import Backend
from ..spec import BackendOptions, ProviderSpec, Refind


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
    limits=BatchLimits(requests=50_000, bytes=200 * MB),  # a batch (OpenAI docs as of 2026)
    batch_metadata=True,  # batches carry the run's tags in their metadata
    refind=Refind.BY_METADATA,
)
