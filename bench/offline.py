"""The main job offline, end to end into the embedded store, at 10,000 and 100,000 words.

    python bench/offline.py [--words 10000 100000]

Words are wordfreq's most common English words (the kind of list people bring). For each size,
in a fresh child process: start-up of the lexical sources, then the whole run (requests, batch
files, the offline backend, ingest, SQLite store, checkpoint) as words/s after start-up, wall
time and peak memory. Target: start-up under 5 s, at least 1,000 words/s after it.

The machine may be shared: the run's CPU time (user + system of the child) is reported beside
its wall time, and words per CPU second, which other processes' load barely moves; the wall
rate over the CPU rate says how much of the machine the run had.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import tempfile
import time
from pathlib import Path


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(n: int, workdir: str, queue) -> None:
    os.chdir(workdir)
    os.environ.pop("OPENAI_API_KEY", None)
    from wordfreq import top_n_list

    words = top_n_list("en", n)
    Path("words.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    start = time.perf_counter()
    from synthlib.lexicon import Lexicon

    lexicon = Lexicon.load()
    startup = time.perf_counter() - start
    from synthlib.jobs.job import Job, build_config
    from synthlib.providers.offline import OfflineBackend

    config = build_config("words.txt", provider="offline")
    job = Job(config, backend=OfflineBackend(Path(workdir) / "offline", lexicon=lexicon))
    cpu_start = _cpu()
    run_start = time.perf_counter()
    result = job.run()
    run = time.perf_counter() - run_start
    cpu = _cpu() - cpu_start
    queue.put(
        {
            "startup": startup,
            "run": run,
            "cpu": cpu,
            "wall": time.perf_counter() - start,
            "processed": result.progress.processed,
            "given_up": result.progress.given_up,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    print(
        f"{'words':>8} {'start-up s':>10} {'run s':>7} {'words/s':>8} {'cpu s':>7} "
        f"{'words/cpu-s':>11} {'wall s':>7} {'entries':>8} {'not found':>9} {'peak MB':>8}"
    )
    for n in args.words:
        with tempfile.TemporaryDirectory() as tmp:
            queue = ctx.Queue()
            child = ctx.Process(target=_child, args=(n, tmp, queue))
            child.start()
            r = queue.get()
            child.join()
        rate = n / r["run"]
        print(
            f"{n:>8,} {r['startup']:>10.2f} {r['run']:>7.1f} {rate:>8,.0f} {r['cpu']:>7.1f} "
            f"{n / r['cpu']:>11,.0f} {r['wall']:>7.1f} {r['processed']:>8,} {r['given_up']:>9,} "
            f"{r['peak_mb']:>8.0f}"
        )
    print("targets: start-up < 5 s, >= 1,000 words/s after start-up")
    print("words/cpu-s: the rate on a free core; words/s below it means the machine was shared")


if __name__ == "__main__":
    main()
