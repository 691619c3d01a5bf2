"""The closed classes WordNet lacks: the project's own entries for function words.

WordNet has only nouns, verbs, adjectives and adverbs, so ``the``, ``would``, ``although`` and
every article, pronoun, preposition, conjunction, auxiliary and modal verb would have no entry,
and a list taken from a frequency list would lose half of its first hundred words. The package
ships its own entries for them (``synthlib/data/closed_class.txt``, written for this project):
part of speech, learner's-dictionary definitions, examples that use the word, CEFR levels, and
the strong and weak forms of words that have both. :func:`load` reads them; the format is
described at the top of the file.

What a caller may rely on:

* :func:`parse` returns, for each headword exactly as written (``I``, ``the``, ``each other``),
  its parts of speech in the order written; each part has at least one sense, each sense at least
  one example, at most three; a line it cannot read raises :class:`ClosedClassError` naming the
  line.
* ``say`` and ``weak`` are ARPAbet phone lists with CMUdict's stress digits (``DH IY1``), or
  None when the file gives none (the strong form is then CMUdict's).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Final

from ..core.schema import CEFR, PartOfSpeech

DATA_FILE: Final = "closed_class.txt"
MAX_EXAMPLES: Final = 3


class ClosedClassError(ValueError):
    """A line of the closed-class data that cannot be read (the message names it)."""


@dataclass(frozen=True, slots=True)
class ClosedSense:
    definition: str
    examples: tuple[str, ...]
    synonyms: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ClosedPart:
    """One part of speech of a function word, as written in the data."""

    word: str
    part_of_speech: PartOfSpeech
    cefr: CEFR
    senses: tuple[ClosedSense, ...]
    say: tuple[str, ...] | None = None  # the strong form, when not CMUdict's first reading
    weak: tuple[str, ...] | None = None  # the unstressed form
    lemma: str | None = None  # the headword this word is a form of (was -> be)
    after: bool = False  # WordNet's parts of speech come first (like: the verb)


@dataclass(frozen=True, slots=True)
class ClosedClass:
    """Every closed-class headword's parts of speech, and a version for cache keys."""

    parts: dict[str, tuple[ClosedPart, ...]]
    version: str

    def get(self, word: str) -> tuple[ClosedPart, ...] | None:
        return self.parts.get(word)

    def __contains__(self, word: object) -> bool:
        return word in self.parts

    def __len__(self) -> int:
        return len(self.parts)


def _phones(value: str, where: str) -> tuple[str, ...]:
    phones = tuple(value.split())
    if not phones or not any(p[-1:].isdigit() for p in phones):
        raise ClosedClassError(f"{where}: {value!r} is not ARPAbet with stress digits")
    return phones


def parse(text: str, source: str = DATA_FILE) -> ClosedClass:
    """The closed-class entries written in ``text`` (see the data file's header)."""
    parts: dict[str, list[ClosedPart]] = {}
    header: dict | None = None
    senses: list[ClosedSense] = []

    def close(where: str) -> None:
        if header is None:
            return
        if not senses:
            raise ClosedClassError(f"{where}: {header['word']!r} has no senses")
        parts.setdefault(header["word"], []).append(ClosedPart(senses=tuple(senses), **header))

    for number, raw in enumerate(text.splitlines(), start=1):
        where = f"{source} line {number}"
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if raw[:1].isspace():  # a sense of the current part of speech
            if header is None:
                raise ClosedClassError(f"{where}: a sense before any headword")
            senses.append(_sense(raw.strip(), where))
            continue
        close(where)
        senses = []
        header = _header(raw.strip(), where)
    close(f"{source} end")
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return ClosedClass({w: tuple(p) for w, p in parts.items()}, f"closed-class-{digest}")


def _header(line: str, where: str) -> dict:
    fields = [f.strip() for f in line.split(" ; ")]
    if len(fields) < 3:
        raise ClosedClassError(f"{where}: want 'word ; part of speech ; CEFR', got {line!r}")
    word, part, level, *options = fields
    try:
        header: dict = {
            "word": word,
            "part_of_speech": PartOfSpeech(part),
            "cefr": CEFR(level),
        }
    except ValueError as exc:
        raise ClosedClassError(f"{where}: {exc}") from None
    for option in options:
        key, _, value = option.partition(" ")
        if key in ("say", "weak"):
            header[key] = _phones(value, where)
        elif key == "lemma" and value:
            header["lemma"] = value
        elif key == "after" and not value:
            header["after"] = True
        else:
            raise ClosedClassError(f"{where}: unknown option {option!r}")
    return header


def _sense(line: str, where: str) -> ClosedSense:
    body, _, note = line.partition(" ## ")
    body, _, synonyms = body.partition(" ~ ")
    definition, sep, examples = body.partition(" = ")
    shown = tuple(e.strip() for e in examples.split(" | ") if e.strip())
    if not sep or not definition.strip() or not shown:
        raise ClosedClassError(f"{where}: want 'definition = example | example', got {line!r}")
    if len(shown) > MAX_EXAMPLES:
        raise ClosedClassError(f"{where}: more than {MAX_EXAMPLES} examples")
    return ClosedSense(
        definition.strip(),
        shown,
        tuple(s.strip() for s in synonyms.split(",") if s.strip()),
        note.strip() or None,
    )


@lru_cache(maxsize=1)
def load() -> ClosedClass:
    """The closed-class entries shipped with the package."""
    text = resources.files("synthlib").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return parse(text)
