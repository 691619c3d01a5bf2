"""Dictionary entries from local lexical sources: WordNet, CMUdict and wordfreq. Nothing invented.

    lexicon = Lexicon.load()          # about a second; raises UsageError if WordNet is missing
    lexicon.entry("bank")             # an Entry, or None when no source has senses for the word
    lexicon.reference("bank")         # compact senses to ground a model's prompt, or None

What a caller may rely on for :meth:`Lexicon.entry`:

* ``word`` is exactly the string given, ``is_real_word`` is True, and the entry validates as
  :class:`synthlib.schema.Entry`. A word with no WordNet senses gets ``None``, even when CMUdict
  or wordfreq know it (an entry needs senses): that includes function words such as ``the``.
* Lookup is case-insensitive, as WordNet's index is, with spaces as underscores, so expressions
  (``ice cream``, ``give up``) are found like single words. When some of the synsets spell the
  lemma exactly as given, only those are used (``Turkey`` the country, ``turkey`` the bird).
* A word that is no lemma itself but is written with a hyphen where WordNet has a space or the
  other way round (``ice-cream``) gets that lemma's senses, each with the usage note ``variant
  spelling of <lemma>``; failing that, an inflection of a lemma (``mice``, ``ran``) gets the
  senses of its base form(s), each noted ``inflected form of <base>``. Neither gets word forms.
* Parts of speech are ordered by how often their senses were tagged in WordNet's semantic
  concordances (``cntlist.rev``; ``run`` is a verb first), ties and untagged words in WordNet's
  order noun, verb, adjective (satellites included), adverb. Senses keep WordNet's order, most
  frequent first.
* A sense has WordNet's definition, up to three of its example sentences (none when WordNet has
  none; the schema allows that), the synset's other lemmas as synonyms, antonyms from the word's
  own ``!`` pointers (for an adjective satellite also those of its head adjective), and labels
  from WordNet's domain pointers (:data:`USAGE_REGISTERS`, :data:`REGIONS`,
  :data:`LEXFILE_DOMAINS`). Everything else is null: ``cefr_level`` per sense, etymology.
* ``frequency_band`` and ``cefr_level`` come from wordfreq (see :mod:`.frequency`); the CEFR level
  is an estimate and the first sense's usage notes say so.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from ..schema import Entry, PartOfSpeech, PartOfSpeechSenses, Register, Sense
from . import frequency
from .forms import Inflector
from .pronounce import Pronouncer
from .wordnet import POS_ORDER, Pos, Synset, WordNet

__all__ = ["LEXFILE_DOMAINS", "REGIONS", "USAGE_REGISTERS", "Lexicon"]

PARTS_OF_SPEECH: Final[dict[Pos, PartOfSpeech]] = {
    "n": PartOfSpeech.NOUN,
    "v": PartOfSpeech.VERB,
    "a": PartOfSpeech.ADJECTIVE,
    "r": PartOfSpeech.ADVERB,
}

LEXFILE_DOMAINS: Final[dict[str, str]] = {
    name: name.split(".", 1)[1]
    for name in (
        "noun.animal",
        "noun.body",
        "noun.communication",
        "noun.feeling",
        "noun.food",
        "noun.plant",
        "noun.quantity",
        "noun.shape",
        "noun.substance",
        "noun.time",
        "verb.body",
        "verb.communication",
        "verb.competition",
        "verb.consumption",
        "verb.emotion",
        "verb.motion",
        "verb.perception",
        "verb.weather",
    )
}
"""Sense domain from the synset's lexicographer file (``noun.food`` -> ``food``), used when the
synset has no topic pointer (``;c``, e.g. ``law``, ``music``), which is more specific and wins.
Files that are logical classes rather than subject fields give no domain: ``noun.Tops``, ``act``,
``artifact``, ``attribute``, ``cognition``, ``event``, ``group``, ``location``, ``motive``,
``object``, ``person``, ``phenomenon``, ``possession``, ``process``, ``relation``, ``state``;
``verb.change``, ``cognition``, ``contact``, ``creation``, ``possession``, ``social``,
``stative``; and the adjective and adverb files."""

USAGE_REGISTERS: Final[dict[str, Register]] = {
    "colloquialism": Register.INFORMAL,
    "slang": Register.SLANG,
    "street_name": Register.SLANG,
    "archaism": Register.ARCHAIC,
    "disparagement": Register.OFFENSIVE,
    "ethnic_slur": Register.OFFENSIVE,
    "obscenity": Register.VULGAR,
    "formality": Register.FORMAL,
}
"""Register from the target of a usage-domain pointer (``;u``). Other usage targets (``trade
name``, ``plural``, ``trope``, ...) become the usage note ``usage label: <target>``."""

REGIONS: Final[dict[str, str]] = {
    "United_Kingdom": "UK",
    "United_States": "US",
    "England": "England",
    "Scotland": "Scotland",
    "Wales": "Wales",
    "Ireland": "Ireland",
    "Northern_Ireland": "Northern Ireland",
    "Australia": "Australia",
    "New_Zealand": "New Zealand",
    "Canada": "Canada",
    "South_Africa": "South Africa",
    "India": "India",
}
"""Region from the target of a region-domain pointer (``;r``, or ``;u`` naming a country). Only
places with a variety of English count: WordNet also links ``Marduk`` to Babylon and ``sumo`` to
Japan, which say where a thing belongs, not where English speakers use the word."""

MAX_EXAMPLES: Final[int] = 3
REFERENCE_SENSES: Final[int] = 8


@dataclass(slots=True)
class _Group:
    """The synsets of one part of speech, each with the lemma it was found under."""

    pos: Pos
    found: list[tuple[str, str | None, Synset]] = field(default_factory=list)  # lemma, note, synset
    tags: int = 0


@dataclass(frozen=True, slots=True)
class _Built:
    entry: Entry
    bases: tuple[str, ...]  # lemmas the senses came from when the word is not one itself


class Lexicon:
    """Entries for words from WordNet, CMUdict and wordfreq. Thread-safe; :meth:`close` frees
    the open WordNet files."""

    def __init__(self, wordnet: WordNet, pronouncer: Pronouncer, *, load_seconds: float = 0.0):
        self.wordnet = wordnet
        self.pronouncer = pronouncer
        self.inflector = Inflector(wordnet, pronouncer, frequency.zipf)
        self.load_seconds = load_seconds
        self.version = (
            f"wordnet-{wordnet.version}+cmudict-{pronouncer.version}"
            f"+wordfreq-{frequency.wordfreq_version()}"
        )
        self._stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()

    @classmethod
    def load(cls, wordnet_dir: str | os.PathLike[str] | None = None) -> Lexicon:
        """Open every source. ``wordnet_dir`` overrides the search for WordNet (see
        :func:`synthlib.lexicon.wordnet.locate`); raises :class:`synthlib.errors.UsageError` with
        install instructions when no WordNet database is found."""
        start = time.perf_counter()
        wordnet = WordNet.open(wordnet_dir)
        pronouncer = Pronouncer.load()
        frequency.warm_up()
        return cls(wordnet, pronouncer, load_seconds=time.perf_counter() - start)

    def close(self) -> None:
        self.wordnet.close()

    def __enter__(self) -> Lexicon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stats(self) -> dict[str, int]:
        """Counts since loading: ``senses_dropped`` (no definition), ``examples_truncated``
        (more than three in WordNet), ``no_entry`` (found, but no representable sense)."""
        with self._stats_lock:
            return dict(self._stats)

    def _count(self, key: str, n: int = 1) -> None:
        if n:
            with self._stats_lock:
                self._stats[key] += n

    # --- public lookups --------------------------------------------------------------------------

    def entry(self, word: str) -> Entry | None:
        """The entry for ``word`` exactly as given, or None when no source has senses for it."""
        built = self._build(word)
        return built.entry if built is not None else None

    def reference(self, word: str) -> dict[str, Any] | None:
        """Compact grounding for a prompt: ``{"senses": [{"pos", "definition", "examples",
        "synonyms"}, ...], "ipa": str | None}``, plus ``"base_form"`` naming the WordNet lemma(s)
        the senses belong to when the word is not one itself (``ran`` -> ``run``, ``ice-cream`` ->
        ``ice cream``). At most :data:`REFERENCE_SENSES` senses, taken
        in turn from each part of speech (so ``bank`` keeps its verb senses), listed grouped by
        part of speech. None when :meth:`entry` is None."""
        built = self._build(word)
        if built is None:
            return None
        entry = built.entry
        picked = _round_robin([len(p.senses) for p in entry.parts_of_speech], REFERENCE_SENSES)
        senses = [
            {
                "pos": part.part_of_speech.value,
                "definition": sense.definition,
                "examples": list(sense.examples),
                "synonyms": list(sense.synonyms),
            }
            for g, part in enumerate(entry.parts_of_speech)
            for s, sense in enumerate(part.senses)
            if (g, s) in picked
        ]
        result: dict[str, Any] = {
            "senses": senses,
            "ipa": entry.pronunciation.ipa if entry.pronunciation else None,
        }
        if built.bases:
            result["base_form"] = ", ".join(built.bases)
        return result

    # --- building --------------------------------------------------------------------------------

    def _build(self, word: str) -> _Built | None:
        text = " ".join(word.split())
        if not text:
            return None
        groups, bases = self._groups(text)
        if not groups:
            return None
        parts: list[tuple[Pos, list[dict[str, Any]]]] = []
        for group in groups:
            senses = [self._sense(text, lemma, note, synset) for lemma, note, synset in group.found]
            kept = [s for s in senses if s is not None]
            self._count("senses_dropped", len(senses) - len(kept))
            if kept:
                parts.append((group.pos, kept))
        if not parts:
            self._count("no_entry")
            return None
        zipf = frequency.zipf(text)
        cefr = frequency.estimated_cefr(zipf)
        if cefr is not None:
            first = parts[0][1][0]
            first["usage_notes"] = _join_notes(first["usage_notes"], frequency.CEFR_NOTE)
        forms = None
        if not bases:
            common_noun = any(
                lemma in synset.lemmas
                for g in groups
                if g.pos == "n"
                for lemma, _, synset in g.found
            )
            forms = self.inflector.forms(text, [p for p, _ in parts], common_noun=common_noun)
        entry = Entry(
            word=word,
            is_real_word=True,
            pronunciation=self.pronouncer.pronunciation(text),
            parts_of_speech=[
                PartOfSpeechSenses(
                    part_of_speech=PARTS_OF_SPEECH[pos], senses=[Sense(**s) for s in senses]
                )
                for pos, senses in parts
            ],
            word_forms=forms,
            etymology=None,
            frequency_band=frequency.frequency_band(zipf),
            cefr_level=cefr,
        )
        return _Built(entry, bases)

    def _groups(self, text: str) -> tuple[list[_Group], tuple[str, ...]]:
        """Synsets per part of speech for ``text``, and the other lemmas they came from.

        The word's own lemma first; failing that, the same words joined the other way
        (``ice-cream`` -> ``ice cream``); failing that, its base forms (``mice`` -> ``mouse``).
        """
        wn = self.wordnet
        as_given = text.replace(" ", "_")
        key = as_given.lower()
        groups: list[_Group] = []
        for pos in POS_ORDER:
            if wn.has_lemma(key, pos):
                group = _Group(pos, tags=wn.tag_count(key, pos))
                group.found = [(key, None, s) for s in _prefer_case(as_given, wn.synsets(key, pos))]
                groups.append(group)
        if groups:
            return _sorted(groups), ()
        variants = {key.replace("-", "_"), key.replace("_", "-")} - {key}
        others: dict[str, None] = {}
        for pos in POS_ORDER:
            group = _Group(pos)
            for lemma in sorted(v for v in variants if wn.has_lemma(v, pos)):
                note = f"variant spelling of {lemma.replace('_', ' ')}"
                group.tags += wn.tag_count(lemma, pos)
                group.found += [(lemma, note, s) for s in wn.synsets(lemma, pos)]
                others[lemma] = None
            if not group.found:
                for base in wn.base_forms(key, pos):
                    note = f"inflected form of {base.replace('_', ' ')}"
                    group.tags += wn.tag_count(base, pos)
                    group.found += [(base, note, s) for s in wn.synsets(base, pos)]
                    others[base] = None
            if group.found:
                groups.append(group)
        return _sorted(groups), tuple(lemma.replace("_", " ") for lemma in others)

    def _sense(
        self, text: str, lemma: str, note: str | None, synset: Synset
    ) -> dict[str, Any] | None:
        if not synset.definition:
            return None  # a sense needs a definition; WordNet gave only examples
        number = synset.word_number(lemma)
        excluded = {text.lower().replace("_", " "), lemma.replace("_", " ")}
        synonyms: list[str] = []
        seen = set(excluded)  # compared lowercase: "Bank" and "bank" are one synonym
        for name in synset.lemmas:
            spaced = name.replace("_", " ")
            if spaced.lower() not in seen:
                seen.add(spaced.lower())
                synonyms.append(spaced)
        register, region, topic, notes = self._labels(synset, number)
        if note is not None:
            notes.append(note)
        if len(synset.examples) > MAX_EXAMPLES:
            self._count("examples_truncated")
        return {
            "definition": synset.definition,
            "examples": list(synset.examples[:MAX_EXAMPLES]),
            "synonyms": synonyms,
            "antonyms": self._antonyms(synset, number),
            "register_": register,
            "domain": topic or LEXFILE_DOMAINS.get(synset.lexname),
            "region": region,
            "cefr_level": None,
            "usage_notes": "; ".join(notes) or None,
        }

    def _target_lemma(self, pos: str, offset: int, number: int = 0) -> str:
        target = self.wordnet.synset(pos, offset)
        return target.lemmas[number - 1] if 0 < number <= len(target.lemmas) else target.lemmas[0]

    def _antonyms(self, synset: Synset, number: int) -> list[str]:
        names: dict[str, None] = {}
        if number:
            for p in synset.pointers:
                if p.symbol == "!" and p.source == number:
                    names[self._target_lemma(p.pos, p.offset, p.target)] = None
        if synset.ss_type == "s":
            # a satellite's antonyms are its head adjective's ("full" -> "empty")
            for head_pointer in synset.pointers:
                if head_pointer.symbol != "&":
                    continue
                head = self.wordnet.synset(head_pointer.pos, head_pointer.offset)
                if head.ss_type != "a":
                    continue
                for p in head.pointers:
                    if p.symbol == "!":
                        names[self._target_lemma(p.pos, p.offset, p.target)] = None
        return [name.replace("_", " ") for name in names]

    def _labels(
        self, synset: Synset, number: int
    ) -> tuple[Register | None, str | None, str | None, list[str]]:
        register = region = topic = None
        notes: list[str] = []
        for p in synset.pointers:
            if p.symbol not in (";u", ";r", ";c") or p.source not in (0, number):
                continue  # lexical labels apply to one word of the synset only
            target = self._target_lemma(p.pos, p.offset)
            if p.symbol == ";c":
                topic = topic or target.replace("_", " ")
            elif target in REGIONS:
                region = region or REGIONS[target]
            elif p.symbol == ";u":
                if target in USAGE_REGISTERS:
                    register = register or USAGE_REGISTERS[target]
                else:
                    notes.append(f"usage label: {target.replace('_', ' ')}")
        return register, region, topic, notes


def _sorted(groups: list[_Group]) -> list[_Group]:
    return sorted(groups, key=lambda g: (-g.tags, POS_ORDER.index(g.pos)))


def _prefer_case(as_given: str, synsets: list[Synset]) -> list[Synset]:
    exact = [s for s in synsets if as_given in s.lemmas]
    return exact or synsets


def _join_notes(existing: str | None, note: str) -> str:
    return f"{existing}; {note}" if existing else note


def _round_robin(sizes: Iterable[int], limit: int) -> set[tuple[int, int]]:
    """(group, index) pairs: the first of each group, then the second of each, ... up to limit."""
    sizes = list(sizes)
    picked: set[tuple[int, int]] = set()
    depth = 0
    while len(picked) < limit and any(depth < n for n in sizes):
        for g, n in enumerate(sizes):
            if depth < n and len(picked) < limit:
                picked.add((g, depth))
        depth += 1
    return picked
