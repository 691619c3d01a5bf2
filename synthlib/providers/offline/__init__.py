"""The offline provider: the Batch API's shape answered from local lexical sources, free.
:data:`SPEC` declares it; :mod:`.backend` runs it on local disk (no SDK: imported here)."""

from __future__ import annotations

from ...core.limits import MB, BatchLimits
from ..base import Backend
from ..spec import BackendOptions, ProviderSpec, Refind
from .backend import OFFLINE_MODEL, OfflineBackend


def _backend(options: BackendOptions) -> Backend:
    return OfflineBackend(options.state_dir, senses=options.offline_senses)


SPEC = ProviderSpec(
    name="offline",
    title="the offline provider",
    backend=_backend,
    default_base_url="local",  # its batches are made on this machine
    owns=lambda model: model == "offline" or model.startswith("offline:"),
    model_kind="no model (it names its sources)",
    default_model=OFFLINE_MODEL,
    paid=False,
    # no API limits a local batch: a limit that never binds, so any batch_size runs
    limits=BatchLimits(requests=10**9, bytes=10**9 * MB),
    batch_metadata=True,
    refind=Refind.BY_METADATA,
    lists_newest_first=True,  # its own listing, newest first
    first_poll_interval=0.05,  # it finishes a batch as it is created
    summary="free, local dictionaries",
)

__all__ = ["OFFLINE_MODEL", "SPEC", "OfflineBackend"]
