"""Bulk upsert of entries into each store: entries/s and peak memory.

    python bench/store_upsert.py [--n 100000] [--mock-n 2000]

The embedded SQLite store gets N entries; MongoDB gets them on a real server when
SYNTHLIB_TEST_MONGO_URI is set, and always on mongomock with a smaller count (mongomock scans the
whole collection for every upsert, so its figure is a check of the code path, not of MongoDB).
Each store runs in a fresh child process so that peak memory is its own.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path


def _records(n: int):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from factories import record

    template = record("x")
    return [type(template)(**{**template.to_dict(), "word": f"word{i:06d}"}) for i in range(n)]


def _child(kind: str, n: int, tmp: str, queue) -> None:
    records = _records(n)
    if kind == "sqlite":
        from synthlib.store.sqlite import SQLiteStore

        store = SQLiteStore(Path(tmp) / "bench.db")
    elif kind == "mongomock":
        import mongomock_ng

        from synthlib.store.mongo import MongoStore

        store = MongoStore("mongodb://bench/bench", client=mongomock_ng.MongoClient())
    else:
        from synthlib.store.mongo import MongoStore

        store = MongoStore(os.environ["SYNTHLIB_TEST_MONGO_URI"],
                           database=f"synthlib_bench_{uuid.uuid4().hex[:6]}")  # fmt: skip
    start = time.perf_counter()
    store.upsert_entries(records)
    elapsed = time.perf_counter() - start
    assert store.count() == n
    if kind == "mongodb":
        store._client.drop_database(store.database)
    queue.put((n / elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--mock-n", type=int, default=2_000)
    args = parser.parse_args()
    runs = [("sqlite", args.n), ("mongomock", args.mock_n)]
    if os.environ.get("SYNTHLIB_TEST_MONGO_URI"):
        runs.append(("mongodb", args.n))
    ctx = mp.get_context("spawn")
    print(f"{'store':<10} {'entries':>9} {'entries/s':>10} {'peak MB':>8}")
    for kind, n in runs:
        with tempfile.TemporaryDirectory() as tmp:
            queue = ctx.Queue()
            child = ctx.Process(target=_child, args=(kind, n, tmp, queue))
            child.start()
            rate, peak = queue.get()
            child.join()
        print(f"{kind:<10} {n:>9,} {rate:>10,.0f} {peak:>8.0f}")


if __name__ == "__main__":
    main()
