"""Ingest of batch output lines into the embedded store, beside a bare ``json.loads``.

    python bench/ingest.py [--lines 20000] [--words-per-request 1] [--runs 5] [--profile]

Builds ``--lines`` output lines the way the project's Batch API emulator writes them (the real
request lines of the run's word list, answered by the emulator's responder with schema-valid
entries, in shuffled order), then times, in the same process and run after run: (a) a bare
``json.loads`` of every line, the floor, and (b) what the engine does with a batch's output file:
``ingest_lines`` (parse, route, validate every entry, build records) and
``SQLiteStore.upsert_entries`` into a store in a temporary directory (opening and closing it are
not timed; the engine does that once per run). Rates are lines per second, in wall time and in
CPU time (steadier on a shared machine); the target is an ingest rate of at least 1/3 of the bare
parse rate. It reports the best and the median ratio of ``--runs`` runs (each run times both,
back to back). ``--profile`` prints a cProfile of one ingest first.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import statistics
import tempfile
import time
from pathlib import Path

from synthlib.core.pricing import price_for
from synthlib.core.requests import RequestTemplate, build_requests
from synthlib.emulator.responder import RequestFaults, Responder, request_ids
from synthlib.engine.ingest import Ingested, Provenance, ingest_lines
from synthlib.providers import registry
from synthlib.store.sqlite import SQLiteStore

MODEL = "gpt-4o-mini"
BATCH_ID = "batch_bench"


def build_lines(n: int, words_per_request: int) -> tuple[list[str], list[bytes]]:
    """The run's words and ``n`` output lines answering them (bytes with their newline, as
    the engine reads a downloaded file)."""
    words = [f"word{i}" for i in range(n * words_per_request)]
    positions = {w: i for i, w in enumerate(words)}
    template = RequestTemplate(price_for(MODEL, registry.prices()))
    responder = Responder(RequestFaults(), BATCH_ID, 1_767_225_600)
    lines = []
    for request in build_requests(words, positions, words_per_request=words_per_request):
        outcome = responder.respond(request.custom_id, template.body(request))
        line_id, request_id = request_ids(BATCH_ID, request.custom_id)
        response = {"status_code": outcome.status_code, "request_id": request_id}
        response["body"] = outcome.body
        line = {"id": line_id, "custom_id": request.custom_id, "response": response}
        line["error"] = None
        text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
        lines.append(text.encode() + b"\n")
    random.Random(0).shuffle(lines)  # an output file follows no order (the emulator shuffles)
    return words, lines


class Clock:
    """Wall and CPU seconds of a block (CPU time, user and system, is the steadier figure on
    a shared machine; wall time also holds waits for the disk)."""

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def bare(lines: list[bytes]) -> Clock:
    """A bare ``json.loads`` of every line."""
    loads = json.loads
    with Clock() as clock:
        for line in lines:
            loads(line)
    return clock


def ingest(
    lines: list[bytes], words: list[str], words_per_request: int, db: Path
) -> tuple[Clock, Ingested]:
    """What the engine does with one batch's output file, into an open store at ``db`` (opening
    and closing the store, once per run in the engine, are not timed)."""
    store = SQLiteStore(db)
    try:
        with Clock() as clock:
            result = ingest_lines(
                lines,
                words=words,
                expected=words,
                price=price_for(MODEL, registry.prices()),
                provenance=Provenance("openai", MODEL, "1", "1", BATCH_ID, "run-bench"),
                words_per_request=words_per_request,
            )
            store.upsert_entries(result.records)
    finally:
        store.close()
    return clock, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--words-per-request", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one ingest")
    args = parser.parse_args()
    wpr = args.words_per_request
    words, lines = build_lines(args.lines, wpr)
    size = sum(map(len, lines)) / len(lines)
    print(f"{len(lines):,} output lines of {wpr} word(s), {size:,.0f} bytes each on average")
    with tempfile.TemporaryDirectory() as tmp:
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(ingest, lines, words, wpr, Path(tmp) / "profile.db")
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        walls, cpus = [], []
        for run in range(1, args.runs + 1):
            floor = bare(lines)
            clock, result = ingest(lines, words, wpr, Path(tmp) / f"run{run}.db")
            if len(result.records) != len(words) or result.failures or result.anomalies():
                raise SystemExit(f"run {run}: not every line became an entry: {result}")
            del result
            walls.append(floor.wall / clock.wall)
            cpus.append(floor.cpu / clock.cpu)
            n = len(lines)
            print(
                f"run {run}: bare json.loads {n / floor.wall:>7,.0f} lines/s "
                f"({n / floor.cpu:,.0f} per CPU s); ingest into the store {n / clock.wall:>6,.0f} "
                f"lines/s ({n / clock.cpu:,.0f} per CPU s); ratio {walls[-1]:.3f} "
                f"(CPU {cpus[-1]:.3f})"
            )
    print(
        f"ratio ingest/bare over {args.runs} runs, wall: best {max(walls):.3f}, median "
        f"{statistics.median(walls):.3f}; CPU time: best {max(cpus):.3f}, median "
        f"{statistics.median(cpus):.3f} (target >= 0.333)"
    )


if __name__ == "__main__":
    main()
