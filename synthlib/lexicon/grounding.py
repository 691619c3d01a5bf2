"""Grounding: each request carries its words' senses from the local dictionary (WordNet), so the
model merges and corrects rather than invents. Looked up lazily, one word at a time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any


class References(Mapping[str, Any]):
    """Word -> reference material (``Lexicon.reference``), for words the lexicon knows."""

    def __init__(self, lexicon: Any = None) -> None:
        if lexicon is None:
            from . import Lexicon

            lexicon = Lexicon.load()
        self._lexicon = lexicon
        self._cache: dict[str, Any] = {}

    def _get(self, word: str) -> Any:
        if word not in self._cache:
            self._cache[word] = self._lexicon.reference(word)
        return self._cache[word]

    def __getitem__(self, word: str) -> Any:
        found = self._get(word)
        if found is None:
            raise KeyError(word)
        return found

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._get(word) is not None

    def __iter__(self) -> Iterator[str]:
        return (w for w, ref in self._cache.items() if ref is not None)

    def __len__(self) -> int:
        return sum(1 for ref in self._cache.values() if ref is not None)

    def __bool__(self) -> bool:
        return True  # "grounding on", even before the first lookup


def references(words: Iterable[str] = (), lexicon: Any = None) -> References:
    """Reference material for any word asked of it (``words`` are looked up at once)."""
    refs = References(lexicon)
    for word in words:
        refs._get(word)
    return refs
