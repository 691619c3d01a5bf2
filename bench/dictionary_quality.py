"""How dictionary-like the offline provider's entries are, on lists it was not tuned on.

    python bench/dictionary_quality.py [--n 1000] [--seed 7]

Two lists, drawn with a fixed seed: N words from wordfreq's ranks 5,001-50,000 (everyday to
uncommon words), and N single-word WordNet lemmas that wordfreq rates rare (Zipf < 2.5; the words
CMUdict most often lacks). Neither list was used to set any rule. For each it builds every entry
with :meth:`synthlib.lexicon.Lexicon.entry` and reports, against the issue's targets:

* the share of shown examples containing the word or one of its forms (target >= 90%), checked
  here independently of the lexicon's own matcher: whole-word, case-insensitive search for the
  word, its ``lemma`` and every inflection lemminflect gives for either;
* IPA coverage: entries with a transcription (target >= 90%), and how many of those are eSpeak NG
  estimates;
* senses per entry (mean, largest) and per part of speech (largest; the default cap is 8);
* entries per second (target >= 1,000) and start-up (target < 5 s).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from pathlib import Path


def _forms(word: str) -> set[str]:
    import lemminflect

    found = {word}
    for spellings in lemminflect.getAllInflections(word).values():
        found.update(spellings)
    return found


def _shows(example: str, forms: set[str]) -> bool:
    low = example.lower()
    return any(re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", low) for f in forms)


def _lists(n: int, seed: int) -> dict[str, list[str]]:
    from wordfreq import top_n_list, zipf_frequency

    rng = random.Random(seed)
    common = rng.sample(top_n_list("en", 50_000)[5_000:], n)
    lemmas = []
    for name in ("noun", "verb", "adj", "adv"):
        for line in Path(f"/usr/share/wordnet/index.{name}").read_text().splitlines():
            if line and not line.startswith(" "):
                lemma = line.split(" ", 1)[0]
                if lemma.isalpha():
                    lemmas.append(lemma)
    rare = [w for w in sorted(set(lemmas)) if zipf_frequency(w, "en") < 2.5]
    return {"wordfreq ranks 5k-50k": common, "rare WordNet lemmas": rng.sample(rare, n)}


def _measure(lexicon, words: list[str]) -> dict[str, str]:
    begin = time.perf_counter()
    entries = [lexicon.entry(w) for w in words]
    elapsed = time.perf_counter() - begin
    entries = [e for e in entries if e is not None]
    shown = showing = 0
    senses, per_part = [], []
    with_ipa = estimated = 0
    for entry in entries:
        forms = {f.lower() for f in _forms(entry.word.lower())}
        if entry.lemma:
            forms |= {f.lower() for f in _forms(entry.lemma.lower())}
        total = 0
        for part in entry.parts_of_speech:
            per_part.append(len(part.senses))
            total += len(part.senses)
            for sense in part.senses:
                for example in sense.examples:
                    shown += 1
                    showing += _shows(example, forms)
        senses.append(total)
        if entry.pronunciation and entry.pronunciation.ipa:
            with_ipa += 1
            estimated += bool(entry.pronunciation.note)
    n = max(len(entries), 1)
    return {
        "words with an entry": f"{len(entries):,} of {len(words):,}",
        "examples showing the word (>= 90%)": f"{showing / max(shown, 1):.1%} of {shown:,}",
        "entries with IPA (>= 90%)": f"{with_ipa / n:.1%} ({estimated:,} estimated)",
        "senses per entry: mean / largest": f"{statistics.mean(senses or [0]):.1f} / "
        f"{max(senses or [0])}",
        "senses per part of speech: largest": f"{max(per_part or [0])}",
        "entries/s (>= 1,000)": f"{len(words) / elapsed:,.0f}",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="words in each list")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    begin = time.perf_counter()
    from synthlib.lexicon import Lexicon

    lexicon = Lexicon.load()
    lexicon.entry("warm")  # first use loads lemminflect, pyphen and eSpeak NG
    startup = time.perf_counter() - begin
    print(
        f"start-up (import, load, first entry): {startup:.2f} s (target < 5 s, "
        f"{startup / 5:.2f} of it)"
    )
    for name, words in _lists(args.n, args.seed).items():
        print(f"\n{name} ({len(words):,} words, seed {args.seed})")
        for measure, value in _measure(lexicon, words).items():
            print(f"  {measure:<40} {value}")


if __name__ == "__main__":
    main()
