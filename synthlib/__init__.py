"""synthlib: validated dictionary entries for a word list through OpenAI's Batch API.

The public interface is what this module exports; everything else is internal.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from .errors import (  # errors load at once: they are small, and callers catch them
    BackendError,
    CheckpointError,
    Interrupted,
    MissingExtra,
    PricingError,
    SpendRefused,
    StoreError,
    SynthlibError,
    UsageError,
    WordListError,
)

# name -> the module that defines it. Loaded on first use (PEP 562), so that `import synthlib`,
# `batch-synthesis --version` and `--help` start quickly and frames load pandas only when made.
_EXPORTS = {
    "dry_run": "api",
    "Estimate": "cost",
    **dict.fromkeys(["Job", "RunResult", "run"], "job"),
    "PROMPT_VERSION": "prompts",
    **dict.fromkeys(["SCHEMA_VERSION", "Entry"], "schema"),
    **dict.fromkeys(["Store", "open_store"], "store"),
    **dict.fromkeys(["WordList", "read_words"], "words"),
    **dict.fromkeys(["load_entries", "load_failures", "load_senses"], "frames"),
    **dict.fromkeys(["Pilot", "pilot", "latest_pilot"], "pilots"),
    **dict.fromkeys(["audit", "load_findings", "findings_by_model", "AuditSummary"], "findings"),
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'synthlib' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:
    from .api import dry_run
    from .cost import Estimate
    from .findings import AuditSummary, audit, findings_by_model, load_findings
    from .frames import load_entries, load_failures, load_senses
    from .job import Job, RunResult, run
    from .pilots import Pilot, latest_pilot, pilot
    from .prompts import PROMPT_VERSION
    from .schema import SCHEMA_VERSION, Entry
    from .store import Store, open_store
    from .words import WordList, read_words

__all__ = [
    "PROMPT_VERSION",
    "SCHEMA_VERSION",
    "AuditSummary",
    "BackendError",
    "CheckpointError",
    "Entry",
    "Estimate",
    "Interrupted",
    "Job",
    "MissingExtra",
    "Pilot",
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
    "audit",
    "dry_run",
    "findings_by_model",
    "latest_pilot",
    "load_entries",
    "load_failures",
    "load_findings",
    "load_senses",
    "open_store",
    "pilot",
    "read_words",
    "run",
]
