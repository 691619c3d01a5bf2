"""synthlib: validated dictionary entries for a word list through the providers' Batch APIs.

The public interface is what this module exports; everything else is internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core.errors import (  # errors load at once: they are small, and callers catch them
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
from .core.version import VERSION as __version__

# name -> the module that defines it. Loaded on first use (PEP 562), so that `import synthlib`,
# `batch-synthesis --version` and `--help` start quickly and frames load pandas only when made.
_EXPORTS = {
    "dry_run": "jobs.plan",
    "Estimate": "core.cost",
    **dict.fromkeys(["Job", "RunResult", "run"], "jobs.job"),
    "PROMPT_VERSION": "core.prompts",
    **dict.fromkeys(["SCHEMA_VERSION", "Entry"], "core.schema"),
    **dict.fromkeys(["Store", "open_store"], "store"),
    **dict.fromkeys(["WordList", "read_words"], "core.words"),
    **dict.fromkeys(["load_entries", "load_failures", "load_senses"], "jobs.frames"),
    **dict.fromkeys(["export_entries", "copy_entries", "read_export"], "jobs.export"),
    **dict.fromkeys(["Pilot", "pilot", "latest_pilot"], "jobs.pilots"),
    **dict.fromkeys(
        ["audit", "load_findings", "findings_by_model", "AuditSummary"], "jobs.findings"
    ),
    "repair": "jobs.repair",
    "RunConfig": "jobs.config",
    # the notebook faces (need the [notebook] extra)
    **dict.fromkeys(["Workbench", "show_pilot"], "faces.workbench"),
    "notebook_store": "faces.notebook",
    "Review": "faces.review",
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
    from .core.cost import Estimate
    from .core.prompts import PROMPT_VERSION
    from .core.schema import SCHEMA_VERSION, Entry
    from .core.words import WordList, read_words
    from .faces.notebook import notebook_store
    from .faces.review import Review
    from .faces.workbench import Workbench, show_pilot
    from .jobs.config import RunConfig
    from .jobs.export import copy_entries, export_entries, read_export
    from .jobs.findings import AuditSummary, audit, findings_by_model, load_findings
    from .jobs.frames import load_entries, load_failures, load_senses
    from .jobs.job import Job, RunResult, run
    from .jobs.pilots import Pilot, latest_pilot, pilot
    from .jobs.plan import dry_run
    from .jobs.repair import repair
    from .store import Store, open_store

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
    "Review",
    "RunConfig",
    "RunResult",
    "SpendRefused",
    "Store",
    "StoreError",
    "SynthlibError",
    "UsageError",
    "WordList",
    "WordListError",
    "Workbench",
    "__version__",
    "audit",
    "copy_entries",
    "dry_run",
    "export_entries",
    "findings_by_model",
    "latest_pilot",
    "load_entries",
    "load_failures",
    "load_findings",
    "load_senses",
    "notebook_store",
    "open_store",
    "pilot",
    "read_export",
    "read_words",
    "repair",
    "run",
    "show_pilot",
]
