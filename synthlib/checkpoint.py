"""The checkpoint: durable run state, so a stopped or crashed run resumes without paying twice.

One JSON file keeps the original script's keys with their meaning (``processed_words``,
``failed_words`` {word: reason}, ``start_time``, ``total_cost``, ``total_tokens``, ``timestamp``)
and adds what resuming needs: a format version, the run's identity (word list fingerprint, model,
provider, prompt and schema versions), batches in flight with their ids and words, attempts.

Writes are atomic (temp file, fsync, rename). Between snapshots, each state change is appended as
one line to ``<checkpoint>.journal`` and fsynced; loading replays the journal over the snapshot.
A snapshot is rewritten when the journal outgrows it, so the bytes written over a run stay
proportional to the final checkpoint (not to words times batches), and every clean exit leaves a
complete snapshot and an empty journal. A torn last journal line (a crash mid-write) is ignored:
the step it recorded is found again from the API (batches carry the run's tag).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import CheckpointError
from .state import Event, RunState

FORMAT = "synthlib.checkpoint"
VERSION = 1
_MIN_COMPACT_BYTES = 64 * 1024


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RunIdentity:
    """What makes two runs the same run: resuming with anything else would mix results."""

    words_sha256: str
    word_count: int
    model: str
    provider: str
    prompt_version: str
    schema_version: str
    words_per_request: int = 1
    grounded: bool = False

    def differences(self, other: RunIdentity) -> list[str]:
        out = []
        if self.words_sha256 != other.words_sha256:
            out.append(
                f"the word list differs ({other.word_count:,} words then, {self.word_count:,} now)"
            )
        for name in ("model", "provider", "prompt_version", "schema_version",
                     "words_per_request", "grounded"):  # fmt: skip
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                out.append(f"{name.replace('_', ' ')} was {theirs!r}, now {mine!r}")
        return out


def new_run_id() -> str:
    return "run-" + secrets.token_hex(6)


class Checkpoint:
    """A run's checkpoint file: owns the :class:`RunState` and persists every event applied."""

    def __init__(
        self,
        path: Path,
        identity: RunIdentity,
        state: RunState,
        *,
        run_id: str,
        start_time: str,
        source: str = "",
        store: str = "",
    ) -> None:
        self.path = path
        self.identity = identity
        self.state = state
        self.run_id = run_id
        self.start_time = start_time
        self.source = source
        self.store = store
        self.bytes_written = 0
        self._snapshot_bytes = 0
        self._journal_bytes = 0
        self._journal: Any = None

    @property
    def journal_path(self) -> Path:
        return self.path.with_name(self.path.name + ".journal")

    # --- opening -------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        identity: RunIdentity,
        words: Iterable[str],
        *,
        max_attempts: int = 3,
        source: str = "",
        store: str = "",
    ) -> Checkpoint:
        """A new checkpoint for a new run, written at once."""
        cp = cls(
            Path(path),
            identity,
            RunState(words=tuple(words), max_attempts=max_attempts),
            run_id=new_run_id(),
            start_time=_now(),
            source=source,
            store=store,
        )
        cp.journal_path.unlink(missing_ok=True)
        cp.save()
        return cp

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        identity: RunIdentity,
        words: Iterable[str],
        *,
        max_attempts: int = 3,
    ) -> Checkpoint:
        """Load a run's checkpoint; a corrupt or foreign one is a :class:`CheckpointError`."""
        path = Path(path)
        data = read_raw(path)
        theirs = RunIdentity(**data["run"])
        differences = identity.differences(theirs)
        if differences:
            raise CheckpointError(
                f"{path}: this checkpoint belongs to another run: {'; '.join(differences)}. "
                "Pass another --checkpoint, or --fresh to set this one aside and start anew"
            )
        state = RunState.restore(words, data, max_attempts=max_attempts)
        cp = cls(
            path,
            identity,
            state,
            run_id=data["run_id"],
            start_time=data.get("start_time") or _now(),
            source=data.get("source", ""),
            store=data.get("store", ""),
        )
        cp._snapshot_bytes = path.stat().st_size
        for event in _journal_events(cp.journal_path):
            state.apply(event)
        return cp

    # --- writing -------------------------------------------------------------------------------

    def record(self, event: Event) -> None:
        """Apply ``event`` to the state and make it durable before returning."""
        if not self.state.apply(event):
            return
        line = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        if self._journal is None:
            self._journal = open(self.journal_path, "ab")  # noqa: SIM115 - kept open across calls
        self._journal.write(line)
        self._journal.flush()
        os.fsync(self._journal.fileno())
        self._journal_bytes += len(line)
        self.bytes_written += len(line)
        if self._journal_bytes > max(_MIN_COMPACT_BYTES, self._snapshot_bytes):
            self.save()

    def save(self) -> None:
        """Write a full snapshot atomically and empty the journal."""
        body = {
            "format": FORMAT,
            "version": VERSION,
            "run_id": self.run_id,
            "run": asdict(self.identity),
            "source": self.source,
            "store": self.store,
            "start_time": self.start_time,
            "timestamp": _now(),
            **self.state.snapshot(),
        }
        data = json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")
        _atomic_write(self.path, data)
        self.bytes_written += len(data)
        self._snapshot_bytes = len(data)
        # the snapshot holds every journalled event now (they carry seq numbers, so a crash
        # between the rename and this truncation only replays events that are no-ops)
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if self.journal_path.exists():
            self.journal_path.unlink()
        self._journal_bytes = 0

    def close(self) -> None:
        self.save()


def read_raw(path: Path) -> dict[str, Any]:
    """The snapshot's JSON, checked to be a synthlib checkpoint of a version this code reads."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"{path}:{exc.lineno}: corrupt checkpoint (not valid JSON: {exc.msg}); "
            "restore it, or pass --fresh to set it aside and start anew"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        hint = (
            " (it looks like the original script's checkpoint)"
            if isinstance(data, dict) and "processed_words" in data
            else ""
        )
        raise CheckpointError(
            f"{path}: not a synthlib checkpoint{hint}; pass another --checkpoint, "
            "or --fresh to set it aside and start anew"
        )
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version!r} is newer than this synthlib "
            f"reads ({VERSION}); upgrade synthlib"
        )
    if not isinstance(data.get("run"), dict) or "run_id" not in data:
        raise CheckpointError(f"{path}: corrupt checkpoint (no run identity)")
    try:
        RunIdentity(**data["run"])
    except TypeError:
        raise CheckpointError(f"{path}: corrupt checkpoint (bad run identity)") from None
    return data


def _journal_events(path: Path) -> Iterable[Event]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    events = []
    lines = raw.split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):  # the last line, torn by a crash mid-write: never acknowledged
                break
            raise CheckpointError(f"{path}:{number}: corrupt checkpoint journal") from None
    return events


def set_aside(path: str | os.PathLike[str]) -> Path | None:
    """Rename an existing checkpoint (and journal) out of the way; returns the new name."""
    path = Path(path)
    if not path.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.{stamp}.bak")
    os.replace(path, target)
    journal = path.with_name(path.name + ".journal")
    if journal.exists():
        os.replace(journal, target.with_name(target.name + ".journal"))
    return target


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
