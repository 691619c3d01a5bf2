"""What the engine's parts share: the API, the checkpoint (and its state), the pacing, the spool
folder, the stop signal, the engine's one path for recording events and telling the user, and
the run's reservations in the store's ledger."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..providers.base import Backend
from .checkpoint import Checkpoint
from .ledger import RunLedger
from .pacing import Pacing

Record = Callable[..., None]  # record(type, **data): journal an event and apply it
Notify = Callable[[str | None], None]  # notify(message): progress to the listener


@dataclass(frozen=True)
class Crew:
    """The run's shared parts, handed to the :class:`~synthlib.engine.submit.Submitter`, the
    :class:`~synthlib.engine.recover.Recoverer` and the :class:`~synthlib.engine.collect.Collector`
    by the engine that owns them."""

    backend: Backend
    checkpoint: Checkpoint
    pacing: Pacing
    spool: Path
    stop: threading.Event
    record: Record
    notify: Notify
    ledger: RunLedger


class Part:
    """One of the engine's parts: the shared crew under short names."""

    def __init__(self, crew: Crew) -> None:
        self.backend = crew.backend
        self.cp = crew.checkpoint
        self.state = crew.checkpoint.state
        self.pacing = crew.pacing
        self.spool = crew.spool
        self._stop = crew.stop
        self._record = crew.record
        self._notify = crew.notify
        self.ledger = crew.ledger
