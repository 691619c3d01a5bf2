"""Start-up and lookup speed of the local lexical sources (synthlib.lexicon).

    python bench/lexicon_lookup.py [--n 10000] [--wordnet-dir DIR]

Times each source's start-up (WordNet index and exception lists, CMUdict, wordfreq's table), then
builds an entry for each of the N most frequent English words in wordfreq's list, twice: the first
pass reads every synset from disk, the second finds most of them in the synset cache. Reports
entries per second, the share of words that got an entry, the senses and entries that could not
be represented, and the process's peak memory. Targets: start-up under 5 s (aim 2 s), at least
1,000 entries/s.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="words from wordfreq's top list")
    parser.add_argument("--wordnet-dir", default=None, help="WordNet database folder")
    args = parser.parse_args(argv)

    rows: list[tuple[str, str]] = []
    start = time.perf_counter()
    from synthlib.lexicon import Lexicon, frequency
    from synthlib.lexicon.pronounce import Pronouncer
    from synthlib.lexicon.wordnet import WordNet

    rows.append(("import synthlib.lexicon", f"{time.perf_counter() - start:.2f} s"))

    timings = {}
    begin = time.perf_counter()
    wordnet = WordNet.open(args.wordnet_dir)
    timings["WordNet (index, exceptions)"] = time.perf_counter() - begin
    begin = time.perf_counter()
    pronouncer = Pronouncer.load()
    timings["CMUdict"] = time.perf_counter() - begin
    begin = time.perf_counter()
    frequency.warm_up()
    timings["wordfreq"] = time.perf_counter() - begin
    lexicon = Lexicon(wordnet, pronouncer, load_seconds=sum(timings.values()))
    for name, seconds in timings.items():
        rows.append((f"start-up: {name}", f"{seconds:.2f} s"))
    rows.append(("start-up: total (Lexicon.load)", f"{lexicon.load_seconds:.2f} s"))
    rows.append(("sources", lexicon.version))

    from wordfreq import top_n_list

    words = top_n_list("en", args.n)
    first_pass: dict[str, int] = {}
    for label in ("first pass (synsets from disk)", "second pass (synset cache)"):
        found = 0
        begin = time.perf_counter()
        for word in words:
            if lexicon.entry(word) is not None:
                found += 1
        elapsed = time.perf_counter() - begin
        rows.append((f"entries/s, {label}", f"{len(words) / elapsed:,.0f}"))
        first_pass = first_pass or lexicon.stats
    rows.append(
        (f"words with an entry (of {len(words):,})", f"{found:,} ({found / len(words):.1%})")
    )
    rows.append(("senses dropped (no definition)", f"{first_pass.get('senses_dropped', 0):,}"))
    rows.append(("found, but no sense to show", f"{first_pass.get('no_entry', 0):,}"))
    rows.append(("senses with examples cut to 3", f"{first_pass.get('examples_truncated', 0):,}"))
    rows.append(("peak memory (whole process)", f"{_peak_mb():,.0f} MB"))
    lexicon.close()

    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 20}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
