"""Bulk upsert throughput and peak memory of each store.

    python bench/store_upsert.py [--n 100000] [--mock-n 2000]

Each store runs in its own child process (so its peak RSS is its own): the embedded SQLite store
in a temporary directory with ``--n`` entries, MongoStore on mongomock with ``--mock-n`` entries,
and MongoStore on a real server with ``--n`` entries when ``SYNTHLIB_TEST_MONGO_URI`` is set (in
a fresh database, dropped afterwards). Per store it prints the rate of the first write (all
inserts), of a second write of the same words (all replacements, as a re-run does), the peak RSS
of the child and how much the peak grew during the writes (the records are built before).

mongomock gets a smaller count by default: it scans the whole collection for every upserted
document, so its time grows with the square of the count (10,000 entries take minutes). Its
figure checks the code path; it says nothing about MongoDB's speed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REAL_URI_ENV = "SYNTHLIB_TEST_MONGO_URI"


def build_records(n: int) -> list[Any]:
    """``n`` distinct, valid records (each entry validated through :class:`Entry`)."""
    from synthlib.core.schema import Entry
    from synthlib.store.records import EntryRecord

    records = []
    for i in range(n):
        word = f"word{i:07d}"
        entry = Entry.model_validate(
            {
                "word": word,
                "is_real_word": True,
                "pronunciation": {"ipa": "/wɜːd/", "respelling": "WURD", "syllables": [word]},
                "parts_of_speech": [
                    {
                        "part_of_speech": "noun",
                        "senses": [
                            {
                                "definition": f"the {i}th word of the benchmark list",
                                "examples": [f"They wrote {word} down.", f"{word} again."],
                                "synonyms": ["term", "token"],
                                "antonyms": [],
                                "register": "neutral",
                                "domain": None,
                                "region": None,
                                "cefr_level": "B1",
                                "usage_notes": None,
                            }
                        ],
                    }
                ],
                "word_forms": None,
                "etymology": {
                    "text": "Made up for the benchmark.",
                    "origin_language": "English",
                    "roots": [],
                    "first_known_use": None,
                },
                "frequency_band": 3,
                "cefr_level": "B1",
            }
        )
        records.append(
            EntryRecord(
                word=word,
                entry=entry.model_dump(mode="json"),
                provider="openai",
                model="gpt-4o-mini",
                prompt_version="1",
                schema_version="1",
                batch_id="batch_bench",
                custom_id=f"req-{i}",
                input_tokens=120,
                output_tokens=650,
                cost_usd=0.0004,
            )
        )
    return records


def _mongomock_client() -> Any:
    import mongomock_ng  # the project's test dependency

    return mongomock_ng.MongoClient()


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(kind: str, n: int) -> dict[str, Any]:
    """Write ``n`` records twice into a fresh store of ``kind``; the measurements."""
    from synthlib.store.mongo import MongoStore
    from synthlib.store.sqlite import SQLiteStore

    records = build_records(n)
    rss_before = _max_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        database = f"synthlib_bench_{uuid.uuid4().hex[:8]}"
        if kind == "sqlite":
            store: Any = SQLiteStore(Path(tmp) / "bench.db")
        elif kind == "mongomock":
            store = MongoStore("mongodb://bench/bench", client=_mongomock_client())
        else:
            store = MongoStore(os.environ[REAL_URI_ENV], database=database)
        try:
            started = time.perf_counter()
            store.upsert_entries(records)
            first = time.perf_counter() - started
            started = time.perf_counter()
            store.upsert_entries(records)
            second = time.perf_counter() - started
            if store.count() != n:
                raise SystemExit(f"{kind}: expected {n} entries, found {store.count()}")
        finally:
            store.close()
            if kind == "mongodb":
                from pymongo import MongoClient

                with MongoClient(os.environ[REAL_URI_ENV], serverSelectionTimeoutMS=5_000) as c:
                    c.drop_database(database)
    peak = _max_rss_mb()
    return {
        "kind": kind,
        "n": n,
        "insert_rate": n / first,
        "replace_rate": n / second,
        "peak_mb": peak,
        "growth_mb": peak - rss_before,
        "seconds": first + second,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="entries for SQLite and MongoDB")
    parser.add_argument(
        "--mock-n", type=int, default=2_000, help="entries for mongomock (quadratic; keep small)"
    )
    kinds = ["sqlite", "mongomock", "mongodb"]
    parser.add_argument("--child", choices=kinds, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.n)))
        return

    runs = [("sqlite", args.n), ("mongomock", args.mock_n)]
    if os.environ.get(REAL_URI_ENV):
        runs.append(("mongodb", args.n))
    else:
        print(f"(set {REAL_URI_ENV} to include a real MongoDB server)")
    print(f"mongomock runs {args.mock_n:,} entries, not {args.n:,}: it is quadratic (see --help)")
    header = f"{'store':<10} {'entries':>9} {'insert/s':>10} {'replace/s':>10} {'peak MB':>8}"
    print(f"{header} {'+MB':>6} {'seconds':>8}")
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    for kind, n in runs:
        done = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--n", str(n)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            print(f"{kind:<10} failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{r['kind']:<10} {r['n']:>9,} {r['insert_rate']:>10,.0f} {r['replace_rate']:>10,.0f}"
            f" {r['peak_mb']:>8.0f} {r['growth_mb']:>6.0f} {r['seconds']:>8.1f}"
        )


if __name__ == "__main__":
    main()
