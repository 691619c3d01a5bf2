"""The whole run against the emulator at full speed, and ingest beside a bare json.loads.

    python bench/engine.py [--words 100000] [--batch-size 1000]

Starts the project's Batch API emulator as a separate process (phases of zero seconds), runs
``batch-synthesis``'s job through the real openai SDK in a child process, and reports: end-to-end
wall time, peak memory of the run, bytes of checkpoint written against the final checkpoint's
size; then the ingest rate (output lines -> validated entries -> embedded store) against a bare
``json.loads`` over the same lines. Targets: ingest >= 1/3 of the bare parse rate, peak memory
< 500 MB, checkpoint bytes < 20x the final checkpoint.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import tempfile
import time
from pathlib import Path

from rehearsal import start_emulator


def _run_child(words_path: str, workdir: str, base_url: str, batch_size: int, queue) -> None:
    os.chdir(workdir)
    os.environ.update(OPENAI_API_KEY="bench", OPENAI_BASE_URL=base_url)
    from synthlib.jobs.job import Job, build_config

    start = time.perf_counter()
    config = build_config(
        words_path,
        provider="openai",
        batch_size=batch_size,
        poll_interval=0.05,
        token_budget=10**10,
    )
    job = Job(config)
    result = job.run()
    elapsed = time.perf_counter() - start
    queue.put(
        {
            "elapsed": elapsed,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "checkpoint_written": job.checkpoint.bytes_written,
            "checkpoint_final": Path(result.checkpoint).stat().st_size,
            "processed": result.progress.processed,
            "phase": result.phase,
        }
    )


def _output_lines(base_url: str) -> list[bytes]:
    import openai

    client = openai.OpenAI(api_key="bench", base_url=base_url)
    lines: list[bytes] = []
    for batch in client.batches.list(limit=100):
        if batch.output_file_id:
            lines.extend(client.files.content(batch.output_file_id).content.splitlines())
    return lines


def _ingest_rates(lines: list[bytes], words_path: str, tmp: str) -> tuple[float, float]:
    from synthlib.core.pricing import price_for
    from synthlib.core.words import read_words
    from synthlib.engine.ingest import Provenance, ingest_lines
    from synthlib.providers import registry
    from synthlib.store.sqlite import SQLiteStore

    words = read_words(words_path)
    start = time.perf_counter()
    for line in lines:
        json.loads(line)
    bare = len(lines) / (time.perf_counter() - start)
    store = SQLiteStore(Path(tmp) / "ingest.db")
    prov = Provenance("openai", "gpt-4o-mini", "1", "1", "batch", "run")
    start = time.perf_counter()
    result = ingest_lines(
        lines,
        words=words.words,
        expected=words.words,
        price=price_for("gpt-4o-mini", registry.prices()),
        provenance=prov,
    )
    store.upsert_entries(result.records)
    ingest = len(result.records) / (time.perf_counter() - start)
    store.close()
    return bare, ingest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        words_path = Path(tmp) / "words.txt"
        words_path.write_text("\n".join(f"word{i}" for i in range(args.words)) + "\n")
        emulator, base_url = start_emulator(Path(tmp) / "emulator")
        try:
            work = Path(tmp) / "work"
            work.mkdir()
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            child_args = (str(words_path), str(work), base_url, args.batch_size, queue)
            child = ctx.Process(target=_run_child, args=child_args)
            child.start()
            run = queue.get()
            child.join()
            lines = _output_lines(base_url)
        finally:
            emulator.terminate()
            emulator.wait()
        bare, ingest = _ingest_rates(lines, str(words_path), tmp)
    ratio = run["checkpoint_written"] / run["checkpoint_final"]
    print(
        f"words: {args.words:,} in batches of {args.batch_size:,} ({run['phase']}, "
        f"{run['processed']:,} processed)"
    )
    print(f"end to end: {run['elapsed']:.1f} s ({args.words / run['elapsed']:,.0f} words/s)")
    print(
        f"peak memory of the run: {run['peak_mb']:.0f} MB "
        "(target < 500 MB for 100,000 words, < 1 GB for 1,000,000)"
    )
    print(
        f"checkpoint: {run['checkpoint_written']:,} bytes written, final "
        f"{run['checkpoint_final']:,} bytes: {ratio:.1f}x (target < 20x)"
    )
    print(
        f"ingest into the embedded store: {ingest:,.0f} entries/s; bare json.loads: "
        f"{bare:,.0f} lines/s; ratio {ingest / bare:.2f} (target >= 0.33)"
    )


if __name__ == "__main__":
    main()
