"""A run's side of the money ledger (:mod:`synthlib.store.ledger`): reserve words before they are
sent, attach the batch, settle them when their batch ends, renew the run's lease, and say which
words another run holds.

The engine owns one :class:`RunLedger`; the submitter reserves through it before anything is
uploaded, and the engine's record path attaches and settles (``created``, ``ended``,
``abandoned``). When the run ends it releases what it holds outside its batches in flight and
says it ended, so another run can tell its batches have no owner.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..core import prompts, schema
from ..providers import registry
from ..store.ledger import (
    DONE,
    LEASE_SECONDS,
    RELEASED,
    RENEW_SECONDS,
    Holder,
    Purchase,
    Reservation,
)


def api_location(backend: Any) -> str:
    """Where ``backend`` buys (its base URL; ``local`` offline): part of what a word is bought
    as, so entries made against an emulator never count as bought from the real API."""
    given = getattr(backend, "api_location", None)
    return given if isinstance(given, str) and given else str(backend.provider)


def expected_api_location(provider: str) -> str:
    """Where a run of ``provider`` will buy, read from the environment as its SDK reads it
    (its spec's base-URL variable, else its default; nothing is contacted): what a dry run, and
    a run before its backend exists, go by. An unknown name stands for itself."""
    spec = registry.find(provider)
    return spec.api_location() if spec is not None else provider


def purchase_of(backend: Any, model: str, *, grounding: bool = False) -> Purchase:
    """What a run on ``backend`` with ``model`` buys each word as."""
    return Purchase(
        provider=str(backend.provider),
        model=model,
        prompt_version=prompts.prompt_version(grounding),
        schema_version=schema.SCHEMA_VERSION,
        api_location=api_location(backend),
    )


class RunLedger:
    """One run's reservations in the store. Store errors from :meth:`reserve` reach the caller
    (nothing may be sent without a reservation); those of bookkeeping after the fact are kept
    and tried again at the next :meth:`renew`."""

    def __init__(
        self,
        store: Any,
        purchase: Purchase,
        holder: Holder,
        *,
        clock: Callable[[], float] = time.time,
        lease: float = LEASE_SECONDS,
    ) -> None:
        self.store = store
        self.purchase = purchase
        self.holder = holder
        self.clock = clock
        self.lease = lease
        self._renewed: float | None = None
        self._owed: list[Callable[[], None]] = []  # bookkeeping a store error put off

    @classmethod
    def for_run(
        cls, store: Any, backend: Any, model: str, run_id: str, checkpoint: Any, **kw: Any
    ) -> RunLedger:
        holder = Holder(
            run_id=run_id,
            checkpoint=os.fspath(checkpoint),
            host=process_home(),
            pid=os.getpid(),
            account=str(getattr(backend, "account", "") or ""),
        )
        grounding = bool(kw.pop("grounding", False))
        return cls(store, purchase_of(backend, model, grounding=grounding), holder, **kw)

    # --- reserving -----------------------------------------------------------------------------

    def reserve(self, shard: str, positions: Mapping[str, int]) -> set[str]:
        """Reserve these words for ``shard``; returns those now reserved by this run."""
        now = self.clock()
        got = self.store.reserve(self.purchase, self.holder, shard, positions, now)
        self._renewed = now
        return got

    def attach(self, shard: str, batch_id: str) -> None:
        self._do(lambda: self.store.attach_batch(self.holder.run_id, shard, batch_id))

    def settle(self, done: Iterable[str], released: Iterable[str]) -> None:
        """Words whose batch ended (or whose shard was given back): done ones have entries.
        Both steps are owed before either is tried, so a store error loses neither: what is
        left is done again at the next renewal."""
        done, released = list(done), list(released)
        if done:
            self._owed.append(lambda: self.store.release(self.holder.run_id, done, DONE))
        if released:
            self._owed.append(lambda: self.store.release(self.holder.run_id, released, RELEASED))
        self._pay_owed()

    def _do(self, step: Callable[[], None]) -> None:
        self._owed.append(step)
        self._pay_owed()

    def _pay_owed(self) -> None:
        """Do the owed steps in order (a later step may rest on an earlier one): a store error
        leaves that step and the rest owed, and is raised."""
        while self._owed:
            self._owed[0]()
            self._owed.pop(0)

    # --- the lease -----------------------------------------------------------------------------

    def renew(self, *, force: bool = False) -> None:
        """Renew the lease when due (and do bookkeeping put off by a store error)."""
        now = self.clock()
        if force or self._renewed is None or now - self._renewed >= RENEW_SECONDS:
            self.store.renew(self.holder, now)
            self._renewed = now
        if self._owed:
            self._pay_owed()

    def end(self, keep: Iterable[str]) -> None:
        """The run ends: release what it holds outside ``keep`` (its words in flight, whose
        batches run on) and say it ended."""
        kept = set(keep)
        try:
            self.renew(force=True)
            loose = self.store.reserved_by(self.holder.run_id) - kept
            if loose:
                self.store.release(self.holder.run_id, sorted(loose), RELEASED)
        finally:
            # said even when the bookkeeping failed: other runs need not wait out the lease
            self.store.renew(self.holder, self.clock(), ended=True)

    # --- other runs ----------------------------------------------------------------------------

    def held_elsewhere(self, words: Iterable[str]) -> dict[str, Reservation]:
        """The words of ``words`` another run holds, with their reservations."""
        return {
            r.word: r
            for r in self.store.reservations(self.purchase, words)
            if r.run_id != self.holder.run_id
        }

    def take_over(self, reservation: Reservation, shard: str) -> dict[str, int]:
        """Take over the batch of ``reservation`` (its holder gone); the words taken, with their
        places in the batch (empty when its holder came back meanwhile)."""
        assert reservation.batch_id is not None
        return self.store.take_over(
            reservation.batch_id, reservation.run_id, self.holder, shard, self.clock(), self.lease
        )

    def take_over_shard(
        self, reservation: Reservation, shard: str, batch_id: str | None = None
    ) -> dict[str, int]:
        """Take over the words of ``reservation``'s shard, reserved by its gone holder with no
        batch known, into this run's ``shard`` (``batch_id``: the batch found for them, which
        this run adopts); the words taken, with their places in the gone run's list (empty
        when its holder came back meanwhile)."""
        return self.store.take_over_shard(
            reservation.run_id,
            reservation.shard,
            self.holder,
            shard,
            self.clock(),
            self.lease,
            batch_id,
        )

    def creating(self, shard: str, at: float, requests: int) -> bool:
        """A create of ``shard`` is about to be sent (at ``at``, the API's clock): marked in the
        store first, so a run that finds this one gone knows whether to look for its batch.
        False when this run no longer holds the shard's words (another run found it gone and
        took them): the create must not be sent. A store error reaches the caller (the create
        is not sent)."""
        return self.store.mark_creating(self.holder.run_id, shard, at, requests)

    def mine(self) -> set[str]:
        """The words this run holds in the store."""
        return self.store.reserved_by(self.holder.run_id)

    def gone(self, reservation: Reservation) -> bool:
        """Whether ``reservation``'s holder is gone (see :mod:`synthlib.store.ledger`): it said
        it ended, its lease ran out, or it ran on this machine and its process is gone (it is
        then marked ended in the store, unless it came back meanwhile)."""
        if reservation.gone(self.clock(), self.lease):
            return True
        r = reservation
        if not r.pid or r.host != self.holder.host or process_exists(r.pid):
            return False
        return bool(self.store.end_if_process(r.run_id, r.host, r.pid))


def process_home() -> str:
    """Where this process runs, as far as another process can tell whether it still exists:
    the machine's name and, on Linux, its boot and process namespace (two machines may share a
    name, two containers a machine: only a run with the same value can see this one's
    process)."""
    parts = []
    with contextlib.suppress(OSError):
        parts.append("boot " + Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8])
    with contextlib.suppress(OSError):
        parts.append(os.readlink("/proc/self/ns/pid"))
    name = socket.gethostname()
    return f"{name} ({', '.join(parts)})" if parts else name


def process_exists(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (a process that cannot be asked counts as
    existing; so does every one where signal 0 cannot be sent)."""
    if os.name == "nt":
        return True  # os.kill(pid, 0) would send CTRL_C_EVENT there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
