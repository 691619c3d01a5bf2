"""What a store keeps: an entry with its provenance and cost, and a failure with its reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class EntryRecord:
    """One word's entry as stored: the content (``entry``, the JSON form of
    :class:`synthlib.schema.Entry`) beside who made it, from what, and what it cost."""

    word: str
    entry: dict[str, Any]
    provider: str
    model: str
    prompt_version: str
    schema_version: str
    batch_id: str | None = None
    custom_id: str | None = None
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    grounded: bool = False
    run_id: str | None = None
    created_at: str = field(default_factory=now_iso)
    # ``entry`` as JSON text when ingest already has it (saves re-serialising for the store)
    entry_json: str | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["entry_json"]
        return d


@dataclass(frozen=True)
class FailureRecord:
    """A word without an entry (yet): its last reason, attempts so far, whether it was given up."""

    word: str
    reason: str
    attempts: int = 1
    given_up: bool = False
    batch_id: str | None = None
    run_id: str | None = None
    updated_at: str = field(default_factory=now_iso)

    @property
    def code(self) -> str:
        return self.reason.split(":", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
