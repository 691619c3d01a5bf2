"""The money ledger's records: what is bought (:class:`Purchase`), who holds a word
(:class:`Holder`) and the reservation itself (:class:`Reservation`).

A word is bought once per purchase: (word, provider, model, prompt version, schema version, API
location). Before a run sends a word it reserves it in the store, in one transaction; a word
reserved by a live reservation of another run is never sent again by any run on that store,
whatever its checkpoint, settings, list file, process or machine.

A reservation goes ``reserved`` (before anything is uploaded) -> ``in_flight`` (its batch id is
known) -> ``done`` (the word has its entry) or ``released`` (the word failed, its shard was
abandoned, or its run ended without sending it). Only ``reserved`` and ``in_flight`` hold a word.

The lease (who counts as gone): every run renews its :class:`Holder` row as its loop turns (at
least every :data:`RENEW_SECONDS`). A holder is gone when it says it ended (its run stopped or
finished, however it ended in Python) or when it has not renewed for :data:`LEASE_SECONDS` (a
process killed, a machine lost). Holders compare their renewal times with the reader's clock, so
the machines sharing a store must keep their clocks within a few minutes of each other (NTP does);
the lease is long enough for that. A holder on the reader's own machine (the same ``host``)
whose process no longer exists is gone at once (killed: it could not say so); the reader marks
it ended, only while that process is still the one the store names. A gone holder's
reservations stay until another run takes them over or its own run resumes: its batches are
still billed, so they are never forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass

RESERVED = "reserved"
IN_FLIGHT = "in_flight"
DONE = "done"
RELEASED = "released"
LIVE = (RESERVED, IN_FLIGHT)

# A run renews its lease at least this often while its loop turns (the loop wakes at least every
# few minutes, pacing's MAX_POLL_INTERVAL), and is gone after LEASE_SECONDS without renewing.
RENEW_SECONDS = 60.0
LEASE_SECONDS = 900.0


@dataclass(frozen=True)
class Purchase:
    """What a word is bought as: two runs with the same purchase must not both pay for a word."""

    provider: str
    model: str
    prompt_version: str
    schema_version: str
    api_location: str  # the API's base URL ("local" for the offline provider); never a key

    def key(self, word: str) -> tuple[str, str, str, str, str, str]:
        return (
            word,
            self.provider,
            self.model,
            self.prompt_version,
            self.schema_version,
            self.api_location,
        )


@dataclass(frozen=True)
class Holder:
    """A run that holds reservations: its run id (the tag on its batches), where its checkpoint
    is, which process and machine, and the account its key belongs to (a fingerprint)."""

    run_id: str
    checkpoint: str = ""
    host: str = ""
    pid: int = 0
    account: str = ""


@dataclass(frozen=True)
class Reservation:
    """One word's reservation as the store holds it, with its holder's lease."""

    word: str
    purchase: Purchase
    run_id: str
    shard: str
    position: int  # the word's position in its holder's list (its batch's custom_ids use it)
    batch_id: str | None
    state: str
    reserved_at: float
    renewed_at: float = 0.0  # the holder's last renewal (epoch seconds, the holder's clock)
    ended: bool = False  # the holder said it ended
    checkpoint: str = ""
    account: str = ""
    host: str = ""  # the holder's machine and process (a process gone from it is gone)
    pid: int = 0

    def gone(self, now: float, lease: float = LEASE_SECONDS) -> bool:
        """Whether its holder is gone: ended, or silent for longer than the lease."""
        return self.ended or now - self.renewed_at > lease
