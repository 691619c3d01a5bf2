"""The checkpoint: durable run state, so a stopped or crashed run resumes without paying twice.

One JSON file keeps the original script's keys with their meaning (``processed_words``,
``failed_words`` {word: reason}, ``start_time``, ``total_cost``, ``total_tokens``, ``timestamp``)
and adds what resuming needs: a format version, the run's identity (word list fingerprint, model,
provider, prompt and schema versions), batches in flight with their ids and words, attempts, and
where the batches live (``backend``).

Writes are atomic (a temp file unique to the writer, fsync, rename; the temp file never outlives a
failed write). Between snapshots, each state change is appended as one line to
``<checkpoint>.journal`` and fsynced; loading replays the journal over the snapshot. A snapshot is
rewritten when the journal outgrows it, so the bytes written over a run stay proportional to the
final checkpoint (not to words times batches), and every clean exit leaves a complete snapshot and
an empty journal. A torn last journal line (a crash mid-write) is ignored, and cut off before the
next append: the step it recorded is found again from the API (batches carry the run's tag). A
write that fails (disk full, read-only, file too large) is a :class:`CheckpointWriteError` saying
which state is on disk.

A job's checkpoint is named here too: :func:`run_identity` says what makes two runs the same
run, and :func:`default_checkpoint` names its file after the word list and a key standing for
what is bought (:func:`job_key`), in :func:`checkpoint_dir`. Reading one without a run:
:func:`flights_on_disk`, and :func:`refuse_fresh_over_flights` (``fresh`` must not set aside
batches in flight).

One run at a time per checkpoint: :class:`CheckpointLock` holds an exclusive OS lock on
``<checkpoint>.lock`` for the life of a run (the OS drops it when the process dies). A checkpoint
named through a symlink is the file it names (:func:`real_path`): its lock, journal and writes
are that file's, and the link stays a link. A lock on a shared filesystem that another host's
process holds may go unseen; the store's reservations still keep that run from paying twice.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from ..core import failpoints, prompts, schema
from ..core.errors import CheckpointBusy, CheckpointError, CheckpointWriteError
from ..core.words import WordList
from ..store import default_store
from .events import Event, EventError, UnknownEvent, event_from_json
from .ledger import expected_api_location
from .state import UNREADABLE, RunState, StateError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the in-process guard only
    fcntl = None  # type: ignore[assignment]

FORMAT = "synthlib.checkpoint"  # written in every checkpoint: never changes
VERSION = 1
_MIN_COMPACT_BYTES = 64 * 1024
# a template naming settings (core.errors.Said): raised with settings=_NAMED
_FRESH_HINT = "restore it, or {pass fresh=True} to set it aside and start anew"
_NAMED = ("fresh", "checkpoint", "import_checkpoint")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


@dataclass(frozen=True)
class RunIdentity:
    """What makes two runs the same run: what is bought (the words as a set, provider, model,
    versions, grounding, API location); not how it is packed (``words_per_request`` and the
    list's order are kept, but a resume may change them)."""

    words_sha256: str  # the words in their order (custom_ids of batches in flight use it)
    word_count: int
    model: str
    provider: str
    prompt_version: str
    schema_version: str
    words_per_request: int = 1
    grounded: bool = False
    words_set_sha256: str = ""  # the words as a set ("" in checkpoints written before)
    api_location: str = ""  # where the words are bought ("" in checkpoints written before)

    def differences(self, other: RunIdentity, *, order_matters: bool = True) -> list[str]:
        """What makes ``other`` (a checkpoint's) another run than this one. The order of the
        words counts only when ``order_matters`` (batches in flight name words by position)."""
        out = []
        same_set = bool(self.words_set_sha256) and self.words_set_sha256 == other.words_set_sha256
        if self.words_sha256 != other.words_sha256 and not same_set:
            out.append(
                f"the word list differs ({other.word_count:,} words then, {self.word_count:,} now)"
            )
        elif self.words_sha256 != other.words_sha256 and order_matters:
            out.append(
                "the words are in another order, and the batches in flight name them by their "
                "place in the list: resume with the list in its former order to collect them "
                "(then any order will do)"
            )
        for name in ("model", "provider", "prompt_version", "schema_version", "grounded"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                out.append(f"{name.replace('_', ' ')} was {theirs!r}, now {mine!r}")
        return out  # the API location is checked against the backend itself (Job.open)


def new_run_id() -> str:
    return "run-" + secrets.token_hex(6)


# --- naming a job's checkpoint ----------------------------------------------------------------


def run_identity(
    words: WordList, provider: str, model: str, words_per_request: int, grounding: bool
) -> RunIdentity:
    """What makes two runs the same run (see :class:`RunIdentity`)."""
    return RunIdentity(
        words_sha256=words.fingerprint,
        word_count=len(words),
        model=model,
        provider=provider,
        prompt_version=prompts.PROMPT_VERSION,
        schema_version=schema.SCHEMA_VERSION,
        words_per_request=words_per_request,
        grounded=grounding,
        words_set_sha256=words.set_fingerprint,
        api_location=expected_api_location(provider),
    )


CHECKPOINT_DIR = ".synthlib"


def checkpoint_dir(store: Any = None) -> Path:
    """Where default checkpoints live: a ``.synthlib`` folder beside the store file (the working
    directory's for the default store and for MongoDB), so runs keep one tidy place whatever
    folder they are started from."""
    location = store if store is not None else default_store()
    if not isinstance(location, str | os.PathLike):
        location = getattr(location, "location", "")  # a Store
    location = os.fspath(location).strip().removeprefix("sqlite://")
    if not location or "://" in location:
        return Path(CHECKPOINT_DIR)
    return Path(location).parent / CHECKPOINT_DIR


def default_checkpoint(
    words: Any,
    name: str | None = None,
    identity: RunIdentity | None = None,
    folder: Path = Path(CHECKPOINT_DIR),
) -> Path:
    """``<folder>/<word file stem>.<job key>.checkpoint.json`` (``folder`` is
    :func:`checkpoint_dir`): the key (8 hex digits, :func:`job_key`) stands for the job (what is
    bought: the words as a set, provider, model, versions, grounding, API location; not the
    packing, the list's order or its file's name), so the same job resumes, from a renamed or
    reordered copy of the list too (a checkpoint with the key under another stem is found),
    and a new list is a new job. Without ``identity``, ``<stem>.checkpoint.json`` in the working
    directory (the name before job keys, still used when such a checkpoint of this very job is
    found)."""
    if name:
        stem = Path(name).stem
    elif isinstance(words, str | os.PathLike):
        stem = Path(words).stem
    else:
        stem = "words"
    unkeyed = Path(f"{stem}.checkpoint.json")
    if identity is None:
        return unkeyed
    key = job_key(identity)
    keyed = folder / f"{stem}.{key}.checkpoint.json"
    if keyed.exists():
        return keyed
    for key_of_the_job in (key, _packing_key(identity)):
        # the same job under another file name, or keyed before packing left the key
        found = sorted(folder.glob(f"*.{key_of_the_job}.checkpoint.json"))
        if found:
            return found[0]
    if unkeyed.exists() and _belongs_to(unkeyed, identity):
        return unkeyed  # a run started before checkpoints were keyed: resume it
    return keyed


def job_key(identity: RunIdentity) -> str:
    """8 hex digits standing for the job: what is bought (the words as a set, provider, model,
    prompt version with grounding, schema version, API location), not how it is packed."""
    bought = {
        "words": identity.words_set_sha256 or identity.words_sha256,
        "provider": identity.provider,
        "model": identity.model,
        "prompt_version": identity.prompt_version + ("+grounding" if identity.grounded else ""),
        "schema_version": identity.schema_version,
        "api_location": identity.api_location,
    }
    text = json.dumps(bought, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _packing_key(identity: RunIdentity) -> str:
    """The key checkpoints had before the job left packing out (found to resume them)."""
    old = {
        k: v for k, v in asdict(identity).items() if k not in ("words_set_sha256", "api_location")
    }
    text = json.dumps(old, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _belongs_to(path: Path, identity: RunIdentity) -> bool:
    try:
        return not identity.differences(RunIdentity(**read_raw(path)["run"]))
    except (CheckpointError, TypeError):
        return False


# --- one writer per checkpoint -----------------------------------------------------------------


def real_path(checkpoint: str | os.PathLike[str]) -> Path:
    """``checkpoint`` itself, or the file it names through symlinks (of the file or a folder):
    two runs given a file and a link to it share one lock, journal and spool, and a write
    replaces the file, never the link."""
    path = Path(checkpoint)
    real = os.path.realpath(path)
    return Path(real) if real != os.path.abspath(path) else path


def lock_path(checkpoint: str | os.PathLike[str]) -> Path:
    """The sidecar file a run locks: ``<checkpoint>.lock`` (beside the real file)."""
    path = real_path(checkpoint)
    return path.with_name(path.name + ".lock")


# Lock files held in this process (real path -> pid). An OS lock alone would do, but this names
# the holder right and survives code that opens the same file twice.
_held: dict[str, int] = {}
_held_guard = threading.RLock()


class CheckpointLock:
    """An exclusive, non-blocking lock on ``<checkpoint>.lock``: one run per checkpoint.

    Held from :meth:`acquire` to :meth:`release` (or the end of a ``with`` block); the OS releases
    it when the process dies, however it dies. The lock file holds the holder's pid, for the
    message another run gets (:class:`CheckpointBusy`)."""

    def __init__(self, checkpoint: str | os.PathLike[str]) -> None:
        self.checkpoint = Path(checkpoint)
        self.path = Path(os.path.abspath(lock_path(checkpoint)))  # a later chdir changes nothing
        self._fd: int | None = None
        self._key = ""

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> CheckpointLock:
        """Take the lock at once or raise :class:`CheckpointBusy` (nothing else is touched)."""
        if self._fd is not None:
            return self
        key = os.path.realpath(self.path)
        with _held_guard:
            if _held.get(key) == os.getpid():
                raise self._busy(os.getpid(), here=True)
            fd = self._lock_file()
            try:
                data = f"{os.getpid()}\n".encode()
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
            except OSError:
                pass  # the lock holds without the pid; another run is told "another process"
            self._fd, self._key = fd, key
            _held[key] = os.getpid()
        return self

    def check(self) -> None:
        """Raise :class:`CheckpointBusy` if another run holds the lock now; create nothing (a
        question asked before the user agrees to run)."""
        if self.path.exists():
            self.acquire()
            self.release()

    def _lock_file(self) -> int:
        """An open descriptor of the lock file, locked."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._cannot(exc) from None
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise self._cannot(exc) from None
            if fcntl is None:  # pragma: no cover
                return fd
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                raise self._busy(holder) from None
            except OSError as exc:
                os.close(fd)
                raise self._cannot(exc) from None
            # a holder that releases removes the file: the lock counts only on the file that is
            # still at the path (otherwise two runs could each hold a lock on a different file)
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except OSError:
                same = False
            if same:
                return fd
            os.close(fd)

    def release(self) -> None:
        """Let the next run in (idempotent)."""
        with _held_guard:
            fd, self._fd = self._fd, None
            if fd is None:
                return
            with contextlib.suppress(OSError):
                os.unlink(self.path)  # while still locked: see _lock_file
            os.close(fd)
            if _held.get(self._key) == os.getpid():
                del _held[self._key]

    def __enter__(self) -> CheckpointLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:  # a lost holder must not keep the checkpoint from this process
        with contextlib.suppress(Exception):
            self.release()

    def _busy(self, pid: int | None, *, here: bool = False) -> CheckpointBusy:
        who = f"process {pid}" if pid else "another process"
        if here:
            who += " (another run in this process)"
        return CheckpointBusy(
            f"checkpoint {self.checkpoint} is in use by {who}, which holds {self.path}; "
            "nothing was spent or changed. Wait for that run to end (or stop it), "
            "or choose another checkpoint file ({checkpoint})",
            settings="checkpoint",
        )

    def _cannot(self, exc: OSError) -> CheckpointError:
        return CheckpointError(
            f"cannot lock checkpoint {self.checkpoint} ({self.path}: {_reason(exc)}); "
            "nothing was spent or changed"
        )


def _read_pid(fd: int) -> int | None:
    try:
        first = os.pread(fd, 64, 0).split(b"\n", 1)[0]
        return int(first) if first.strip() else None
    except (OSError, ValueError):
        return None


# --- the checkpoint ----------------------------------------------------------------------------


class Checkpoint:
    """A run's checkpoint file: owns the :class:`RunState` and persists every event applied.

    ``backend`` records where the run's batches live (e.g. base URL, project fingerprint): saved
    with every snapshot (not journalled: call :meth:`save` after changing it), not part of the
    run's identity."""

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
        backend: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.identity = identity
        self.state = state
        self.run_id = run_id
        self.start_time = start_time
        self.source = source
        self.store = store
        self.backend: dict[str, str] = dict(backend or {})
        self.bought_at = identity.api_location  # where its words were bought, as it says
        self.bytes_written = 0
        self._snapshot_bytes = 0
        self._journal_bytes = 0  # since the last snapshot, for compaction
        self._journal: BinaryIO | None = None
        self._disk = _OnDisk()

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
        backend: dict[str, str] | None = None,
    ) -> Checkpoint:
        """A new checkpoint for a new run, written at once."""
        cp = cls(
            real_path(path),
            identity,
            RunState(words=tuple(words), max_attempts=max_attempts),
            run_id=new_run_id(),
            start_time=_now(),
            source=source,
            store=store,
            backend=backend,
        )
        try:
            cp.journal_path.unlink(missing_ok=True)
        except OSError as exc:
            raise CheckpointWriteError(
                f"could not remove the old journal {cp.journal_path}: {_reason(exc)}; "
                f"no checkpoint of this run was saved"
            ) from exc
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
        """Load a run's checkpoint; a corrupt or foreign one is a :class:`CheckpointError`.

        Reading writes nothing (a dry run may read the checkpoint of a run going on): a torn last
        journal line is cut off by the first write that follows."""
        path = real_path(path)
        data = read_raw(path)
        theirs = RunIdentity(**data["run"])
        differences = identity.differences(theirs, order_matters=False)
        if not differences and identity.words_sha256 != theirs.words_sha256:
            differences = identity.differences(theirs, order_matters=bool(flights_on_disk(path)))
        if differences:
            raise CheckpointError(
                f"{path}: this checkpoint belongs to another run: {'; '.join(differences)}. "
                + fresh_advice(flights_on_disk(path, data), data.get("source")),
                settings=_NAMED,
            )
        state, journal, stopped = _read_state(path, data, words, max_attempts=max_attempts)
        if stopped is not None:
            raise stopped
        backend = data.get("backend") or {}
        if not isinstance(backend, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in backend.items()
        ):
            raise CheckpointError(
                f"{path}: corrupt checkpoint (bad backend record); {_FRESH_HINT}", settings=_NAMED
            )
        cp = cls(
            path,
            identity,
            state,
            run_id=data["run_id"],
            start_time=data.get("start_time") or _now(),
            source=data.get("source", ""),
            store=data.get("store", ""),
            backend=backend,
        )
        cp.bought_at = theirs.api_location
        cp._snapshot_bytes = path.stat().st_size
        cp._disk = _OnDisk(
            snapshot=True,
            seq=state.seq,
            journal_good=journal.good,
            journal_unterminated=journal.unterminated,
        )
        cp._journal_bytes = journal.good
        return cp

    # --- writing -------------------------------------------------------------------------------

    def record(self, event: Event) -> None:
        """Apply ``event`` to the state and make it durable before returning.

        A failed write is a :class:`CheckpointWriteError`; the event stays applied in memory but
        is not on disk, and this checkpoint writes nothing more (what is on disk stays the last
        complete state, as the message says)."""
        self._refuse_if_broken()
        line = (
            json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"
        ).encode()
        if not self.state.apply(event):
            return
        try:
            written = self._append(line)
        except OSError as exc:
            self._journal_failed(exc, event)
        self._disk.seq = self.state.seq
        self._journal_bytes += written
        self.bytes_written += written
        if self._journal_bytes > max(_MIN_COMPACT_BYTES, self._snapshot_bytes):
            self.save()

    def _append(self, line: bytes) -> int:
        disk = self._disk
        if self._journal is None:
            journal = open(self.journal_path, "ab", buffering=0)  # noqa: SIM115 - kept open
            try:
                size = os.fstat(journal.fileno()).st_size
                if size > disk.journal_good:  # torn bytes of a crash mid-append: cut them off
                    os.ftruncate(journal.fileno(), disk.journal_good)
                else:
                    disk.journal_good = size
            except BaseException:
                journal.close()
                raise
            self._journal = journal
        if disk.journal_unterminated:  # a complete last step whose newline never made it
            line = b"\n" + line
        _write_all(self._journal, line)
        os.fsync(self._journal.fileno())
        disk.journal_good += len(line)
        disk.journal_unterminated = False
        return len(line)

    def _journal_failed(self, exc: OSError, event: Event) -> None:
        journal, self._journal = self._journal, None
        if journal is not None:
            with contextlib.suppress(OSError):
                journal.close()
        with contextlib.suppress(OSError):  # a part-written line: else a torn line, also ignored
            if self.journal_path.stat().st_size > self._disk.journal_good:
                os.truncate(self.journal_path, self._disk.journal_good)
        self._disk.broken = (
            f"could not write checkpoint journal {self.journal_path}: {_reason(exc)}; "
            f"step {event.seq} ({event.TYPE}) and any after it are not saved; "
            f"{self._saved()}"
        )
        raise CheckpointWriteError(self._disk.broken) from exc

    def _refuse_if_broken(self) -> None:
        if self._disk.broken:
            raise CheckpointWriteError(self._disk.broken)

    def _saved(self) -> str:
        """What is on disk, in words."""
        disk = self._disk
        if not disk.snapshot:
            return "no checkpoint of this run was saved"
        where = f"{self.path} + {self.journal_path.name}" if disk.journal_good else str(self.path)
        return f"the last complete state is in {where} as of step {disk.seq}"

    def save(self) -> None:
        """Write a full snapshot atomically and empty the journal."""
        self._refuse_if_broken()
        body = {
            "format": FORMAT,
            "version": VERSION,
            "run_id": self.run_id,
            "run": asdict(self.identity),
            "source": self.source,
            "store": self.store,
            "backend": dict(self.backend),
            "start_time": self.start_time,
            "timestamp": _now(),
            **self.state.snapshot(),
        }
        data = json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")
        try:
            _atomic_write(self.path, data)
        except OSError as exc:
            raise CheckpointWriteError(
                f"could not write checkpoint {self.path}: {_reason(exc)}; {self._saved()}"
            ) from exc
        self.bytes_written += len(data)
        self._snapshot_bytes = len(data)
        self._disk.snapshot = True
        self._disk.seq = self.state.seq
        # the snapshot holds every journalled event now (they carry seq numbers, so a crash
        # between the rename and this truncation only replays events that are no-ops)
        if self._journal is not None:
            with contextlib.suppress(OSError):
                self._journal.close()
            self._journal = None
        try:
            self.journal_path.unlink(missing_ok=True)
        except OSError:
            pass  # a stale journal only replays steps the snapshot holds
        else:
            self._disk.journal_good = 0
            self._disk.journal_unterminated = False
        self._journal_bytes = 0


@dataclass
class _OnDisk:
    """What a checkpoint has on disk: the truth its write errors tell."""

    snapshot: bool = False  # a snapshot of this run exists
    seq: int = 0  # the step snapshot + journal hold
    journal_good: int = 0  # journal bytes that are whole lines
    journal_unterminated: bool = False  # the last whole step lacks its newline
    broken: str = ""  # a journal write failed: nothing more is written


@dataclass
class _Journal:
    # (line number, the line's JSON object: an event, read by event_from_json)
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    good: int = 0
    unterminated: bool = False


def read_raw(path: Path) -> dict[str, Any]:
    """The snapshot's JSON, checked to be a synthlib checkpoint of a version this code reads."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint: {_reason(exc)}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise CheckpointError(
            f"{path}:{line}: corrupt checkpoint (not valid UTF-8: byte 0x{raw[exc.start]:02x}); "
            f"{_FRESH_HINT}",
            settings=_NAMED,
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"{path}:{exc.lineno}: corrupt checkpoint (not valid JSON: {exc.msg}); {_FRESH_HINT}",
            settings=_NAMED,
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        hint = (
            " (it looks like the original script's checkpoint: give it as {import_checkpoint} "
            "to skip the words it processed)"
            if isinstance(data, dict) and "processed_words" in data
            else ""
        )
        raise CheckpointError(
            f"{path}: not a synthlib checkpoint{hint}; choose another checkpoint file "
            "({checkpoint}), or {pass fresh=True} to set it aside and start anew",
            settings=_NAMED,
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


def _read_journal(path: Path) -> _Journal:
    """The journal's steps, and how many of its bytes are whole lines (a torn last line, the
    trace of a crash mid-append, was never acknowledged: it is left out)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return _Journal()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the journal: {_reason(exc)}") from None
    journal = _Journal()
    pos, number = 0, 0
    while pos < len(raw):
        number += 1
        end = raw.find(b"\n", pos)
        last = end == -1
        line = raw[pos:] if last else raw[pos:end]
        after = len(raw) if last else end + 1
        if line.strip():
            try:
                event = json.loads(line.decode("utf-8"))
                if not isinstance(event, dict) or not isinstance(event.get("seq"), int):
                    raise ValueError("not a step")
            except (UnicodeDecodeError, ValueError) as exc:
                if last:  # torn by a crash mid-write: cut off before the next append
                    break
                what = "not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else "not a step"
                raise CheckpointError(
                    f"{path}:{number}: corrupt checkpoint journal ({what}); {_FRESH_HINT}",
                    settings=_NAMED,
                ) from None
            journal.events.append((number, event))
        journal.good, journal.unterminated = after, last
        pos = after
    return journal


def _read_state(
    path: Path, data: dict[str, Any], words: Iterable[str] = (), *, max_attempts: int = 3
) -> tuple[RunState, _Journal, CheckpointError | None]:
    """The state of the checkpoint at ``path`` (``data``: its snapshot, which must restore, else
    a :class:`CheckpointError`) with the steps of its journal replayed; the journal as read; and
    what stopped the replay (None when every step was applied): a reader that can use what came
    before a bad step (:func:`flights_on_disk`) does, a run (:meth:`Checkpoint.load`) refuses."""
    try:
        state = RunState.restore(words, data, max_attempts=max_attempts)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(
            f"{path}: corrupt checkpoint ({type(exc).__name__}: {exc}); {_FRESH_HINT}",
            settings=_NAMED,
        ) from None
    journal_path = path.with_name(path.name + ".journal")
    try:
        journal = _read_journal(journal_path)
        _replay(state, journal, journal_path)
    except CheckpointError as exc:
        return state, _Journal(), exc
    return state, journal, None


def _replay(state: RunState, journal: _Journal, path: Path) -> None:
    """Apply the steps of ``journal`` (read from ``path``) to ``state``, the snapshot's, in
    order: a step this synthlib does not know, or one that does not fit, is a
    :class:`CheckpointError` naming its line (the steps before it stay applied)."""
    for number, line in journal.events:
        try:
            event = event_from_json(line)
        except UnknownEvent as exc:
            raise CheckpointError(
                f"{path}:{number}: a step this synthlib does not know: {exc}. "
                f"A newer synthlib may have written it: upgrade synthlib, or {_FRESH_HINT}",
                settings=_NAMED,
            ) from None
        except EventError as exc:
            raise CheckpointError(
                f"{path}:{number}: corrupt checkpoint journal ({exc}); {_FRESH_HINT}",
                settings=_NAMED,
            ) from None
        try:
            state.apply(event)
        except (StateError, KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(
                f"{path}:{number}: corrupt checkpoint journal (a step that does "
                f"not fit the checkpoint: {type(exc).__name__}: {exc}); {_FRESH_HINT}",
                settings=_NAMED,
            ) from None


def flights_on_disk(path: str | os.PathLike[str], data: dict[str, Any] | None = None) -> int:
    """How many batches the checkpoint at ``path`` has in flight (snapshot and journal) that a
    resume could still collect (not those a run found :data:`~synthlib.engine.state.UNREADABLE`); 0
    when there is no readable synthlib checkpoint there. ``data``: its snapshot, if read."""
    path = real_path(path)  # the journal lies beside the real file
    try:
        data = read_raw(path) if data is None else data
    except CheckpointError:
        return 0
    try:  # what the snapshot and the journal's readable part say
        state, _, _ = _read_state(path, data)
    except CheckpointError:
        return 0
    return sum(1 for f in state.flights.values() if f.status != UNREADABLE)


def refuse_fresh_over_flights(checkpoint: str | os.PathLike[str]) -> None:
    """``fresh`` must not set aside a checkpoint whose batches are still in flight: starting
    over would pay for them twice."""
    path = real_path(checkpoint)
    try:
        data = read_raw(path)
    except CheckpointError:
        return  # nothing readable in flight: setting it aside loses no batch
    flights = flights_on_disk(path, data)
    if flights:
        source = data.get("source")
        of = f" ({source})" if source else ""
        raise CheckpointError(
            f"{path}: {flights} batch(es) in flight; {{fresh=True}} would pay for them twice. "
            f"Resume with the old list{of} first (not {{fresh=True}}) to collect them",
            settings="fresh",
        )


def fresh_advice(flights: int, source: object = None) -> str:
    """What to do about a checkpoint that belongs to another run (``flights``: its batches in
    flight, ``source``: its word list): a template naming ``fresh`` and ``checkpoint`` (see
    :class:`~synthlib.core.errors.Said`)."""
    if flights:
        of = f" ({source})" if source else ""
        return (
            f"It still has {flights} batch(es) in flight: resume it with its own word list{of} "
            "and settings first to collect them ({fresh=True} would pay for them twice), "
            "or choose another checkpoint file ({checkpoint})"
        )
    return (
        "Choose another checkpoint file ({checkpoint}), or {pass fresh=True} to set this one "
        "aside and start anew (safe: words already in the store for this model and versions "
        "are not sent again)"
    )


def set_aside(path: str | os.PathLike[str]) -> Path | None:
    """Rename an existing checkpoint out of the way, with its journal; returns the new name.

    The journal's steps are folded into the snapshot first (written atomically; the journal is
    then removed, and a journal a crash leaves beside the folded snapshot only replays steps it
    holds), so the rename that sets it aside is one atomic step: a crash anywhere leaves either
    the checkpoint where it was, whole, or a ``.bak`` that holds every step, never a ``.bak``
    without its spend or a journal without its checkpoint (which the next run would delete). A
    checkpoint that cannot be read to fold it (corrupt, or of a newer format) is set aside with
    its journal linked beside the ``.bak`` before the rename. A symlink's real file is set aside."""
    path = real_path(path)
    if not path.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.{stamp}.bak")
    journal = path.with_name(path.name + ".journal")
    target_journal = target.with_name(target.name + ".journal")
    try:
        if journal.exists() and not _fold_journal(path, journal):
            _link_or_copy(journal, target_journal)  # before the rename: the .bak never lacks it
            failpoints.hit("set-aside-linked")
        os.replace(path, target)
        failpoints.hit("set-aside-moved")
        journal.unlink(missing_ok=True)
    except OSError as exc:
        raise CheckpointWriteError(
            f"could not set checkpoint {path} aside: {_reason(exc)}; nothing was spent"
        ) from exc
    return target


def _fold_journal(path: Path, journal: Path) -> bool:
    """Write the checkpoint at ``path`` with its journal's steps in its snapshot, then remove
    the journal; False (nothing changed) when the two cannot be read as one checkpoint."""
    try:
        data = read_raw(path)
        state = RunState.restore((), data)
        for _, line in _read_journal(journal).events:
            state.apply(event_from_json(line))
    except (CheckpointError, StateError, KeyError, TypeError, ValueError, AttributeError):
        return False
    folded = {**data, "timestamp": _now(), **state.snapshot()}
    _atomic_write(path, json.dumps(folded, ensure_ascii=False, indent=1).encode("utf-8"))
    failpoints.hit("set-aside-folded")
    journal.unlink()
    return True


def _link_or_copy(source: Path, target: Path) -> None:
    """``target`` holds what ``source`` holds (a hard link, or an atomic copy where links are
    not allowed)."""
    try:
        os.link(source, target)
    except OSError:
        _atomic_write(target, source.read_bytes())


def _write_all(fh: BinaryIO, data: bytes) -> None:
    """Write all of ``data`` (an unbuffered file may take part of it; the rest raises)."""
    view = memoryview(data)
    while view:
        written = fh.write(view)
        if not written:
            raise OSError(errno.EIO, "the write made no progress")
        view = view[written:]


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all; the temp file (unique to this writer) never stays."""
    path = real_path(path)  # a symlink stays a symlink: the file it names is replaced
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb", buffering=0) as fh:
            _write_all(fh, data)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    try:  # make the rename durable; best effort (some filesystems refuse a directory fsync)
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
