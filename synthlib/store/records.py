"""What a store keeps: an entry with its provenance and cost, and a failure with its reason."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from ..core.schema import Failure

log = logging.getLogger("synthlib")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class EntryRecord:
    """One word's entry as stored: the content (``entry``, the JSON form of
    :class:`synthlib.core.schema.Entry`) beside who made it, from what, and what it cost."""

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
    # where it was bought (the API's base URL, "local" offline; "" when made before synthlib
    # recorded it): an entry made against an emulator is not one bought from the real API
    api_location: str = ""
    # ``entry`` as JSON text when ingest already has it (saves re-serialising for the store)
    entry_json: str | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["entry_json"]
        return d

    @property
    def key(self) -> tuple[str, str, str, str, str, str]:
        """What the store keeps one entry per: the word and what it was bought as."""
        return (
            self.word,
            self.provider,
            self.model,
            self.prompt_version,
            self.schema_version,
            self.api_location,
        )

    @property
    def paid(self) -> bool:
        return self.provider != OFFLINE_PROVIDER


OFFLINE_PROVIDER = "offline"
PREFERENCES = ("paid", "latest")


def preferred(records: Iterable[EntryRecord], prefer: str = "paid") -> EntryRecord | None:
    """The entry a view shows for one word among its ``records`` (one per purchase).

    ``prefer``: ``paid`` (the default) is the latest paid entry, else the latest; ``latest`` the
    latest whoever made it; any other text is a provider or model name: its latest entry, else
    as ``paid``. The offline provider's entry never hides a paid one unless asked for by name.
    """
    listed = list(records)
    if not listed:
        return None

    def latest(rows: list[EntryRecord]) -> EntryRecord:
        return max(enumerate(rows), key=lambda pair: (pair[1].created_at, pair[0]))[1]

    if prefer not in PREFERENCES:
        named = [r for r in listed if prefer in (r.provider, r.model)]
        if named:
            return latest(named)
    if prefer == "latest":
        return latest(listed)
    paid = [r for r in listed if r.paid]
    return latest(paid or listed)


def preferred_per_word(
    records: Iterable[EntryRecord], prefer: str = "paid"
) -> Iterator[EntryRecord]:
    """:func:`preferred` of each word of ``records`` (given in word order), in word order."""
    for _, group in groupby(records, key=lambda r: r.word):
        chosen = preferred(group, prefer)
        if chosen is not None:
            yield chosen


# the key of a run summary holding that run's given-up words ({word: {reason, attempts}})
GIVEN_UP_WORDS = "given_up_words"


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
        return Failure.parse(self.reason).code

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def readable_entries[T](
    rows: Iterable[T], to_record: Callable[[T], EntryRecord], where: str
) -> Iterator[EntryRecord]:
    """``rows`` as records, skipping (and saying, once, how many) rows that cannot be read: a
    reader never crashes on one bad row written by an older version or another tool."""
    skipped: list[str] = []
    for row in rows:
        try:
            record = to_record(row)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            skipped.append(f"{type(exc).__name__}: {exc}"[:120])
            continue
        if not isinstance(record.entry, dict):
            skipped.append("the entry is not a JSON object")
            continue
        yield record
    if skipped:
        log.warning(
            "%s: skipped %d unreadable entries (first: %s)", where, len(skipped), skipped[0]
        )


def entry_key(record: EntryRecord) -> str:
    """Which version of which entry ``record`` holds: a digest of the word, who made it (provider,
    model, prompt and schema version) and the entry's content. An entry made again, or repaired,
    has another key; findings are kept by it."""
    content = json.dumps(record.entry, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    made = "\x1f".join(
        (record.word, record.provider, record.model, record.prompt_version, record.schema_version)
    )
    return hashlib.sha256(f"{made}\x1e{content}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class AuditRecord:
    """The audit of one version of one entry (:func:`entry_key`) by one audit version: its
    findings (:meth:`synthlib.lexicon.audit.Finding.to_dict` each), and, when any is an error or
    a warning, the entry as audited, so a later repair that replaces the entry leaves this
    version readable beside its findings."""

    entry_key: str
    audit_version: str
    word: str
    provider: str
    model: str
    findings: tuple[dict[str, str], ...] = ()
    entry: dict[str, Any] | None = None
    run_id: str | None = None
    audited_at: str = field(default_factory=now_iso)

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.get("severity") == severity)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["findings"] = list(self.findings)
        return d
