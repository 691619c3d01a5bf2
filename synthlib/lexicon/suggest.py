""" "Did you mean": spelling suggestions for a word no dictionary has, from local lists only.

The vocabulary is WordNet's single-word lemmas and wordfreq's most frequent English words; a
suggestion is a vocabulary word within two edits (insert, delete, substitute, or swap two
neighbouring letters) of the word, ranked by edits first and then by how common it is. Nothing
is sent anywhere: this runs on the user's machine, for free.

The index is SymSpell's idea: every vocabulary word is filed under itself and each string made by
deleting one of its letters; a word looks itself up under itself and its one- and two-letter
deletions, so candidates come from a few dozen dictionary reads, not a scan. It is built once per
process (about a second), on the first word that needs it.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Final

from ..core.schema import FailureCode

MAX_SUGGESTIONS: Final[int] = 3
# the failures that get suggestions: no local source has the word / the model judged it no word
SUGGESTED_CODES: Final[frozenset[str]] = frozenset({FailureCode.NOT_FOUND, FailureCode.NOT_A_WORD})
MAX_EDITS: Final[int] = 2
# wordfreq's list also holds common misspellings ("recieve" 2.75, "definately" 2.87, "teh" 3.04):
# from it, only words at least this common (function words and inflected forms WordNet lacks);
# WordNet's lemmas are real words, taken when wordfreq has seen them at all
COMMON_ZIPF: Final[float] = 3.3
MIN_LENGTH: Final[int] = 3  # shorter words have too many neighbours to suggest from
# an edit costs as much as this many Zipf points of frequency (10x more common = 1 Zipf point)
FREQUENCY_WEIGHT: Final[float] = 0.3

_WORD = re.compile(r"[a-z][a-z'-]*[a-z]")
_PREFIX: Final[str] = "did you mean: "
_SUGGESTED = re.compile(r"\(did you mean: ([^)]*)\?\)")


class Suggester:
    """Spelling suggestions over a vocabulary of (word, frequency) pairs."""

    def __init__(self, vocabulary: Iterable[tuple[str, float]]) -> None:
        self.words: list[str] = []
        self.zipf: list[float] = []
        self._known: set[str] = set()
        self._index: dict[str, int | list[int]] = {}  # a list only where keys are shared
        for word, frequency in vocabulary:
            if word in self._known or len(word) < MIN_LENGTH or not _WORD.fullmatch(word):
                continue
            number = len(self.words)
            self.words.append(word)
            self.zipf.append(math.log10(frequency * 1e9) if frequency > 0 else 0.0)
            self._known.add(word)
            index = self._index
            for key in {word, *_deletions(word)}:
                held = index.get(key)
                if held is None:
                    index[key] = number
                elif isinstance(held, int):
                    index[key] = [held, number]
                else:
                    held.append(number)

    def suggest(self, word: str, limit: int = MAX_SUGGESTIONS) -> list[str]:
        """Up to ``limit`` vocabulary words close to ``word``, other than itself (none for a
        phrase or a word too short to guess from), best first."""
        query = word.strip().lower()
        if len(query) < MIN_LENGTH or not _WORD.fullmatch(query):
            return []
        keys = {query, *_deletions(query)}
        keys.update(d for k in list(keys) if k != query for d in _deletions(k))
        seen: set[int] = set()
        scored: list[tuple[float, str]] = []
        for key in keys:
            held = self._index.get(key, ())
            for number in (held,) if isinstance(held, int) else held:
                if number in seen:
                    continue
                seen.add(number)
                candidate = self.words[number]
                if abs(len(candidate) - len(query)) > MAX_EDITS:
                    continue
                edits = edit_distance(query, candidate)
                if 0 < edits <= MAX_EDITS:
                    scored.append((edits - FREQUENCY_WEIGHT * self.zipf[number], candidate))
        scored.sort()
        return [candidate for _, candidate in scored[:limit]]


def _deletions(word: str) -> Iterator[str]:
    return (word[:i] + word[i + 1 :] for i in range(len(word)))


def edit_distance(a: str, b: str) -> int:
    """Edits from ``a`` to ``b``: insertions, deletions, substitutions and swaps of two
    neighbouring letters (optimal string alignment)."""
    if a == b:
        return 0
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return previous[-1]


def _vocabulary() -> Iterator[tuple[str, float]]:
    """WordNet's single-word lemmas that wordfreq has seen, then wordfreq's common words, each
    with its wordfreq frequency."""
    from wordfreq import get_frequency_dict

    frequencies = get_frequency_dict("en")
    for lemma in _wordnet_lemmas():
        if frequencies.get(lemma, 0.0) > 0:
            yield lemma, frequencies[lemma]
    common = 10 ** (COMMON_ZIPF - 9)
    for word, frequency in frequencies.items():
        if frequency >= common:
            yield word, frequency


def _wordnet_lemmas() -> set[str]:
    """WordNet's single-word lemmas (none when WordNet is not installed: wordfreq's list alone)."""
    from ..core.errors import UsageError
    from .wordnet import _FILE_SUFFIX, POS_ORDER, locate

    try:
        source = locate()
    except UsageError:
        return set()
    lemmas: set[str] = set()
    try:  # the first field of each index line (the licence header's lines start with spaces)
        for pos in POS_ORDER:
            data = source.read(f"index.{_FILE_SUFFIX[pos]}")
            lemmas.update(m.decode() for m in _INDEX_LEMMA.findall(data))
    finally:
        source.close()
    return lemmas


_INDEX_LEMMA = re.compile(rb"^([a-z][^ \n_]*) ", re.MULTILINE)  # no "_": multi-word lemmas


_shared: Suggester | None = None
_lock = threading.Lock()


def suggester() -> Suggester:
    """The process's suggester over WordNet and wordfreq, built on first use."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = Suggester(_vocabulary())
        return _shared


def suggest(word: str, limit: int = MAX_SUGGESTIONS) -> list[str]:
    """Up to ``limit`` spelling suggestions for ``word`` (see :class:`Suggester`)."""
    return suggester().suggest(word, limit)


def with_suggestions(detail: str, suggestions: list[str]) -> str:
    """A failure's detail with its suggestions, as :func:`suggestions_in` reads them back."""
    if not suggestions or _SUGGESTED.search(detail):
        return detail
    said = f"({_PREFIX}{', '.join(suggestions)}?)"
    return f"{detail} {said}" if detail else said


def suggestions_in(reason: str | None) -> list[str]:
    """The suggestions a failure's reason carries ([] when none)."""
    found = _SUGGESTED.search(reason or "")
    return [w.strip() for w in found.group(1).split(",") if w.strip()] if found else []
