"""The emulator's on-disk state, so a restarted emulator carries on where the last one stopped.

Layout under the state directory::

    .lock                  held (flock) by the one emulator using the directory
    counters.json          how many files and batches were ever made (ids derive from it)
    files/<id>.json        a file's metadata
    files/<id>.data        a file's bytes
    batches/<id>.json      a batch record (see :mod:`.lifecycle`)
    batches/<id>.input     the batch's input bytes (a hard link, so deleting the file is safe)
    ledger.jsonl           one line per billed request, append-only

Every JSON file is replaced atomically (written to a temporary file, then ``os.replace``), so a
killed emulator leaves either the old or the new version, never half of one. The ledger is
appended with one ``write`` per batch. Callers serialise writers (the :class:`~.api.Api` lock);
the directory lock only keeps a second emulator process out.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import threading
from pathlib import Path
from typing import IO, Any


class StateDirInUse(RuntimeError):
    """Another emulator already serves this state directory."""


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class StateDir:
    """Reads and writes the emulator's state under ``root`` (created if missing)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.files_dir = self.root / "files"
        self.batches_dir = self.root / "batches"
        self.ledger_path = self.root / "ledger.jsonl"
        self._lock_handle: IO[str] | None = None

    # -- ownership -----------------------------------------------------------------------------

    def acquire(self) -> None:
        """Create the layout and take the directory lock; StateDirInUse if another holds it."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.batches_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / ".lock", "a+")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StateDirInUse(
                f"state directory {self.root} is used by another emulator"
            ) from None
        self._lock_handle = handle

    def release(self) -> None:
        """Give up the directory lock (the state stays on disk)."""
        if self._lock_handle is not None:
            fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    # -- ids -----------------------------------------------------------------------------------

    def new_id(self, kind: str, seed: int) -> tuple[str, int]:
        """A fresh id for a ``"file"`` or ``"batch"`` and its sequence number.

        Ids are derived from (seed, kind, sequence number), so the same seed and the same
        sequence of calls give the same ids, and fault draws keyed by them repeat too.
        """
        path = self.root / "counters.json"
        counters = json.loads(path.read_bytes()) if path.exists() else {}
        number = counters.get(kind, 0) + 1
        counters[kind] = number
        _write_atomic(path, _json_bytes(counters))
        digest = hashlib.blake2b(f"{seed}:{kind}:{number}".encode(), digest_size=12).hexdigest()
        prefix = "file-" if kind == "file" else "batch_"
        return prefix + digest, number

    # -- files ---------------------------------------------------------------------------------

    def file_data_path(self, file_id: str) -> Path:
        return self.files_dir / f"{file_id}.data"

    def write_file_data(self, file_id: str, data: bytes) -> None:
        """Store a file's bytes; the file exists only once :meth:`save_file` stores its record."""
        _write_atomic(self.file_data_path(file_id), data)

    def save_file(self, record: dict[str, Any]) -> None:
        """Store a file's metadata (after its bytes)."""
        _write_atomic(self.files_dir / f"{record['id']}.json", _json_bytes(record))

    def load_files(self) -> dict[str, dict[str, Any]]:
        files = {}
        for path in self.files_dir.glob("*.json"):
            record = json.loads(path.read_bytes())
            files[record["id"]] = record
        return files

    def read_file(self, file_id: str) -> bytes:
        return self.file_data_path(file_id).read_bytes()

    def delete_file(self, file_id: str) -> None:
        (self.files_dir / f"{file_id}.json").unlink(missing_ok=True)
        self.file_data_path(file_id).unlink(missing_ok=True)

    # -- batches -------------------------------------------------------------------------------

    def save_batch(self, record: dict[str, Any]) -> None:
        _write_atomic(self.batches_dir / f"{record['id']}.json", _json_bytes(record))

    def load_batches(self) -> dict[str, dict[str, Any]]:
        batches = {}
        for path in self.batches_dir.glob("*.json"):
            record = json.loads(path.read_bytes())
            batches[record["id"]] = record
        return batches

    def batch_input_path(self, batch_id: str) -> Path:
        return self.batches_dir / f"{batch_id}.input"

    def keep_batch_input(self, file_id: str, batch_id: str) -> None:
        """Give the batch its own reference to the input bytes, so deleting the file is safe."""
        target = self.batch_input_path(batch_id)
        target.unlink(missing_ok=True)
        try:
            os.link(self.file_data_path(file_id), target)
        except OSError:  # file systems without hard links get a copy
            shutil.copyfile(self.file_data_path(file_id), target)

    def read_batch_input(self, batch_id: str) -> bytes:
        return self.batch_input_path(batch_id).read_bytes()

    # -- ledger --------------------------------------------------------------------------------

    def append_ledger(self, entries: list[dict[str, Any]]) -> None:
        """Append billed requests, all in one write so a batch is billed whole or not at all."""
        if not entries:
            return
        data = b"".join(_json_bytes(entry) + b"\n" for entry in entries)
        fd = os.open(self.ledger_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            os.close(fd)

    def read_ledger(self) -> list[dict[str, Any]]:
        """Every billed request so far, in billing order (a torn last line is skipped)."""
        if not self.ledger_path.exists():
            return []
        entries = []
        for line in self.ledger_path.read_bytes().splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries

    def billed_batch_ids(self) -> set[str]:
        """Ids of batches with at least one ledger line (their billing already happened)."""
        billed: set[str] = set()
        if not self.ledger_path.exists():
            return billed
        prefix = b'{"batch_id":"'
        with open(self.ledger_path, "rb") as handle:
            for line in handle:
                # Entries are written with batch_id first, so the id can be sliced out cheaply.
                if line.startswith(prefix):
                    end = line.find(b'"', len(prefix))
                    billed.add(line[len(prefix) : end].decode("utf-8"))
        return billed
