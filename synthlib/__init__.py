"""synthlib: validated dictionary entries for a word list through OpenAI's Batch API.

The public interface is what this module exports; everything else is internal.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import dry_run
from .cost import Estimate
from .errors import (
    BackendError,
    CheckpointError,
    Interrupted,
    PricingError,
    SpendRefused,
    StoreError,
    SynthlibError,
    UsageError,
    WordListError,
)
from .job import Job, RunResult, run
from .prompts import PROMPT_VERSION
from .schema import SCHEMA_VERSION, Entry
from .store import Store, open_store
from .words import WordList, read_words

_LAZY = {"load_entries", "load_failures", "load_senses"}  # pandas loads when they are used


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from . import frames

        return getattr(frames, name)
    raise AttributeError(f"module 'synthlib' has no attribute {name!r}")


__all__ = [
    "PROMPT_VERSION",
    "SCHEMA_VERSION",
    "BackendError",
    "CheckpointError",
    "Entry",
    "Estimate",
    "Interrupted",
    "Job",
    "PricingError",
    "RunResult",
    "SpendRefused",
    "Store",
    "StoreError",
    "SynthlibError",
    "UsageError",
    "WordList",
    "WordListError",
    "__version__",
    "dry_run",
    "load_entries",
    "load_failures",
    "load_senses",
    "open_store",
    "read_words",
    "run",
]
