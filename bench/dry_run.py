"""Dry run over 1,000,000 distinct words, beside a bare tiktoken encode_ordinary loop.

    python bench/dry_run.py [--words 1000000]

Words come from wordfreq's English list plus generated forms. Reports the dry run's wall time
(reading the file, counting, sharding, pricing) and peak memory, each measured in a fresh child
process, and the bare loop over the same words in the same run. Target: at most 3x the bare loop,
under 500 MB peak.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

SUFFIXES = [
    "",
    "s",
    "ed",
    "ing",
    "er",
    "est",
    "ly",
    "ness",
    "less",
    "ful",
    "able",
    "ism",
    "ist",
    "ize",
    "ment",
    "ship",
    "ward",
    "like",
    "wise",
    "hood",
]


def make_words(n: int) -> list[str]:
    from wordfreq import top_n_list

    base = top_n_list("en", 200_000)
    seen: dict[str, None] = {}
    for suffix in SUFFIXES:
        for word in base:
            seen.setdefault(word + suffix, None)
            if len(seen) >= n:
                return list(seen)
    i = 0
    while len(seen) < n:
        seen.setdefault(f"{base[i % len(base)]}-{i}", None)
        i += 1
    return list(seen)


def _dry_run_child(path: str, queue: mp.Queue) -> None:
    import synthlib
    from synthlib.core.tokens import request_tokens

    request_tokens("gpt-4o-mini")  # load the encoding first: the bare loop gets it warm too
    start = time.perf_counter()
    estimate = synthlib.dry_run(path, checkpoint=str(Path(path).with_suffix(".cp.json")))
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((elapsed, peak_mb, estimate.input_tokens, estimate.batch_jobs, estimate.batch_cost))


def _bare_child(path: str, queue: mp.Queue) -> None:
    import tiktoken  # noqa: F401 - imported before timing, like the dry run's imports

    from synthlib.core.tokens import encoding_for

    encoder, _ = encoding_for("gpt-4o-mini")
    words = Path(path).read_text(encoding="utf-8").splitlines()
    start = time.perf_counter()
    total = 0
    for word in words:
        total += len(encoder.encode_ordinary(word))
    elapsed = time.perf_counter() - start
    queue.put((elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, total))


def _in_child(target, path: str) -> tuple:
    queue: mp.Queue = mp.get_context("spawn").Queue()
    proc = mp.get_context("spawn").Process(target=target, args=(path, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    args = parser.parse_args()
    words = make_words(args.words)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "words.txt"
        path.write_text("\n".join(words) + "\n", encoding="utf-8")
        del words
        bare_s, bare_mb, bare_tokens = _in_child(_bare_child, str(path))
        dry_s, dry_mb, input_tokens, jobs, cost = _in_child(_dry_run_child, str(path))
    print(f"words: {args.words:,}")
    print(
        f"bare encode_ordinary loop: {bare_s:.2f} s, {bare_tokens:,} tokens, peak {bare_mb:.0f} MB"
    )
    print(
        f"dry run:                   {dry_s:.2f} s, {input_tokens:,} input tokens, "
        f"{jobs:,} batch jobs, ${cost:,.2f}, peak {dry_mb:.0f} MB"
    )
    print(f"ratio dry run / bare loop: {dry_s / bare_s:.2f}x (target <= 3x)")
    print(f"peak memory: {dry_mb:.0f} MB (target < 500 MB)")


if __name__ == "__main__":
    main()
