"""The audit of a store's entries: entries/s over 100,000 entries, and peak memory.

    python bench/audit.py [--entries 100000] [--store PATH] [--workers 2]

The store holds the offline provider's entries of wordfreq's most common English words (built by
an offline run the first time, then reused from --store). In a fresh child process: loading the
sources, then ``synthlib.audit`` over every entry (entries/s after loading, wall time, peak
memory of the process and of its workers), then the same audit again, which finds everything
audited and audits nothing (the resume path). Target: at least 2,000 entries/s on 2 cores.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import tempfile
import time
from pathlib import Path


def _build(store: Path, entries: int) -> None:
    """An offline run into ``store`` over enough common words to give ``entries`` entries."""
    from wordfreq import top_n_list

    from synthlib.jobs.job import Job, build_config
    from synthlib.lexicon import Lexicon
    from synthlib.providers.offline import OfflineBackend

    lexicon = Lexicon.load()
    words = top_n_list("en", int(entries * 2.4))  # about 42% of them have an entry
    with tempfile.TemporaryDirectory() as work:
        os.chdir(work)
        Path("words.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
        config = build_config("words.txt", provider="offline", store=str(store))
        job = Job(config, backend=OfflineBackend(Path(work) / "offline", lexicon=lexicon))
        job.run()


def _child(store: str, entries: int, workers: int, queue) -> None:
    from synthlib.jobs.findings import audit
    from synthlib.lexicon import Lexicon
    from synthlib.store import open_store

    opened = open_store(store)
    words = sorted(opened.words_with_entries())[:entries]
    start = time.perf_counter()
    lexicon = Lexicon.load()
    startup = time.perf_counter() - start
    cpu = time.process_time()
    first = audit(opened, words=words, workers=workers, lexicon=lexicon)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_cpu = time.process_time() - cpu
    cpu = own_cpu + children.ru_utime + children.ru_stime
    again = audit(opened, words=words, workers=workers, lexicon=lexicon)
    opened.close()
    queue.put(
        {
            "startup": startup,
            "entries": first.entries,
            "audited": first.audited,
            "seconds": first.seconds,
            "rate": first.rate,
            "cpu": cpu,
            "own_cpu": own_cpu,
            "errors": first.severities["error"],
            "warnings": first.severities["warning"],
            "again_audited": again.audited,
            "again_seconds": again.seconds,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "workers_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--store", default=str(Path(tempfile.gettempdir()) / "audit-bench.db"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    store = Path(args.store).resolve()
    ctx = mp.get_context("spawn")
    if not store.exists():
        print(f"building {store} with the offline provider (once) ...", flush=True)
        builder = ctx.Process(target=_build, args=(store, args.entries))
        builder.start()
        builder.join()
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(str(store), args.entries, args.workers, queue))
    child.start()
    result = queue.get()
    child.join()
    print(
        f"entries {result['entries']:,}  audited {result['audited']:,}  "
        f"start-up {result['startup']:.1f} s  audit {result['seconds']:.1f} s  "
        f"{result['rate']:,.0f} entries/s  ({args.workers} workers)"
    )
    print(
        f"cpu: {result['cpu']:.1f} s in all processes ({result['own_cpu']:.1f} s reading and "
        "writing the store in the auditing process), "
        f"{result['audited'] / max(result['cpu'], 1e-9):,.0f} entries per cpu-second"
    )
    print(f"findings: {result['errors']:,} errors, {result['warnings']:,} warnings")
    print(
        f"again: {result['again_audited']:,} audited in {result['again_seconds']:.1f} s "
        "(everything resumed)"
    )
    print(
        f"peak memory: {result['peak_mb']:,.0f} MB (auditing process), "
        f"{result['workers_peak_mb']:,.0f} MB (largest worker)"
    )


if __name__ == "__main__":
    main()
