"""Inflected forms of a word (plural, verb forms, comparative and superlative) and, the other way
round, the lemmas an inflected word is a form of (:meth:`Inflector.analyse`, see :mod:`.lemmas`).

Where the forms come from:

* lemminflect's lexicon (built from the SPECIALIST Lexicon) for the nouns, verbs, adjectives and
  adverbs it knows: irregular forms, verbs whose past is the base itself (``set``, ``put``), the
  regular forms of rare verbs (``embitter``), whether a noun has a plural at all and whether an
  adjective compares with ``-er``/``-est``.
* WordNet's exception lists read backwards (base -> inflected: ``go`` -> ``went``, ``gone``;
  ``lie`` -> ``lain``), added to lemminflect's spellings.
* English spelling rules for what lemminflect does not know (``speciate``, ``parent`` as a verb)
  and for the spelling variants it leaves out (``programmed`` beside its ``programed``): ``-es``
  after sibilants, ``-y`` -> ``-ies``/``-ied`` after a consonant, a final ``-e`` dropped before
  ``-ing``/``-ed``, ``-ie`` -> ``-ying``, ``-c`` -> ``-cked``, and a final consonant doubled after a
  single vowel when the last syllable is stressed (CMUdict's stress; ``stop``/``stopped``,
  ``begin``/``beginning``, but ``visit``/``visited`` - American spelling, as CMUdict is American).
* wordfreq chooses among spellings, the most frequent first (``dreamed`` before ``dreamt``,
  ``programmed`` before ``programed``), and decides where a form may not exist (below).

What a caller may rely on:

* :meth:`Inflector.forms` gives forms only for the parts of speech passed in: verbs get verb
  forms, nouns a plural, adjectives a comparative and superlative; adverbs get none (the schema's
  comparative is the adjective's). Each form is the first of :meth:`Inflector.spellings`.
* A form is ``None`` when the word has none or it is unsure:

  - Verbs lemminflect knows get lemminflect's forms, so zero-change pasts are given (``set``,
    ``put``); other verbs get regular forms, unattested ones included (``speciated``), as every
    irregular English verb is in lemminflect or WordNet's lists. ``be`` is written out here, and
    the verbs lemminflect replaces with a modal's forms (``can`` -> ``could``) are inflected as
    WordNet's lexical verbs (``can``, preserve in a can: ``canned``).
  - A noun lemminflect lists as uncountable only (``music``) gets no plural; one it lists as both
    countable and uncountable gets its plural only when the plural's Zipf frequency is within
    :data:`MASS_NOUN_MARGIN` of the singular's (``histories`` yes, ``informations`` no). A noun
    lemminflect does not know needs an attested plural within :data:`UNKNOWN_NOUN_MARGIN` (only a
    noun) or :data:`MARGIN` (also another part of speech) of it, and a noun ending in consonant +
    ``o`` that is also another part of speech gets none (``do``: ``dos``?), as the ``-s`` form's
    frequency is then mostly the other part of speech's.
  - An adjective is compared with ``-er``/``-est`` only when lemminflect says it is, both forms
    are attested and the comparative is within :data:`ADJECTIVE_MARGIN` of the adjective
    (``blacker``, not ``mainer`` or ``moderner``); an adjective lemminflect does not know only
    when short (one syllable, or two ending in ``-y``) and within :data:`MARGIN`. Irregular
    comparisons come from WordNet's list (``good``, ``better``, ``best``).
* A verb whose chosen past tense is irregular keeps an irregular participle when one is listed
  (``lie``/``lay``/``lain``, ``wake``/``woke``/``woken``); a regular past tense is its own
  participle unless a strong participle in ``-n`` is listed (``show``/``showed``/``shown``).
* WordNet's exception lists do not say which form an irregular word is; it is read from the
  spelling (:func:`classify_verb_exceptions`): ``-ing`` present participle, ``-s`` third person,
  a ``u`` form beside an ``a`` form (``begun``/``began``) or a form in ``-n``/``-ne`` (``gone``,
  ``taken``) past participle, the rest past tense.
* Expressions: a verb inflects its first word (``give up`` -> ``gave up``), a noun its last
  (``ice cream`` -> ``ice creams``) unless the list has the whole expression; a noun expression
  with a preposition in it (``man of war``) and any adjective expression get ``None``.
* :meth:`Inflector.spellings` and :meth:`Inflector.analyse` agree: a word is analysed as a form
  of a lemma exactly when it is among that lemma's spellings of the form.

lemminflect's inflection table loads when the :class:`Inflector` is made (0.3 s with the import,
measured), its lemma table on the first :meth:`Inflector.analyse` (0.3-0.6 s).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable
from functools import lru_cache
from typing import Final

from ..core.schema import WordForms
from .lemmas import Inflection, Spellings, analyse
from .pronounce import Pronouncer, Syllable
from .wordnet import Pos, WordNet

MARGIN: Final[float] = 2.0
UNKNOWN_NOUN_MARGIN: Final[float] = 1.5  # a noun that is only a noun: its frequency is all noun use
# Measured on the 600 most frequent WordNet nouns lemminflect lists as countable and uncountable:
# plurals in common use sit within 2.0 of the singular (histories 1.7, peoples 2.0); from 2.0 to
# 2.5 some are in use and some not (footballs 2.4; advices 2.1, evidences 2.2, todays 2.4), from
# 2.7 the noun is used as uncountable (informations, educations, moneys 3.0). Unsure means None.
MASS_NOUN_MARGIN: Final[float] = 2.0
# Measured on the 400 most frequent WordNet adjectives lemminflect compares: comparatives in use
# sit up to about 3.5 below the adjective (blacker 2.8, redder 2.9, likelier 3.1, surer 3.5);
# the ones nobody writes from 3.6 (moderner, choicer, abler, righter).
ADJECTIVE_MARGIN: Final[float] = 3.5
_VOWELS: Final[frozenset[str]] = frozenset("aeiou")
_PREPOSITIONS: Final[frozenset[str]] = frozenset(
    {"of", "in", "on", "at", "to", "for", "by", "with", "from", "de", "du", "la", "le", "en", "a"}
)
_BE: Final[dict[str, str]] = {
    "past_tense": "was",
    "past_participle": "been",
    "present_participle": "being",
    "third_person_singular": "is",
}
_FIELDS: Final[tuple[str, ...]] = (
    "plural",
    "past_tense",
    "past_participle",
    "present_participle",
    "third_person_singular",
    "comparative",
    "superlative",
)
_UPOS: Final[dict[Pos, str]] = {"n": "NOUN", "v": "VERB", "a": "ADJ", "r": "ADV"}
_POS_OF_UPOS: Final[dict[str, Pos]] = {
    "NOUN": "n",
    "VERB": "v",
    "AUX": "v",
    "ADJ": "a",
    "ADV": "r",
}
# lemminflect hard-codes these as modal verbs (can -> could); WordNet's verbs of the same spelling
# are lexical ones (can: preserve in a can; will: bequeath; dare: dared), so its table is not used.
_MODALS: Final[frozenset[str]] = frozenset({"can", "may", "will", "shall", "must", "ought", "dare"})
_VERB_TAGS: Final[dict[str, str]] = {
    "past_tense": "VBD",
    "present_participle": "VBG",
    "third_person_singular": "VBZ",
}


# --- spelling rules ------------------------------------------------------------------------------


def _consonant_before(word: str, index: int) -> bool:
    """Whether the letter at ``index`` is a consonant (the u of ``qu`` counts as one)."""
    if index < 0:
        return False
    letter = word[index]
    if letter == "u" and index > 0 and word[index - 1] == "q":
        return True
    return letter not in _VOWELS


def ends_consonant_vowel_consonant(word: str) -> bool:
    """``stop``, ``begin``, ``quit``: one vowel letter before a final consonant other than
    w, x or y (the shape in which the consonant may double)."""
    return (
        len(word) >= 3
        and word[-1] not in _VOWELS
        and word[-1] not in "wxy"
        and word[-2] in _VOWELS
        and _consonant_before(word, len(word) - 3)
    )


def doubling_choices(word: str, syllables: tuple[Syllable, ...] | None) -> tuple[bool, ...]:
    """Whether to double the final consonant: (True,), (False,) or both when unsure.

    Doubled when the last syllable carries the primary stress (or the word has one syllable);
    not when it is unstressed; both candidates when it has secondary stress (``kidnapped``,
    ``programmed``) or the pronunciation is unknown and the word has more than one vowel group.
    """
    if not ends_consonant_vowel_consonant(word):
        return (False,)
    if syllables is None:
        groups = sum(
            1 for i, c in enumerate(word) if c in _VOWELS and (i == 0 or word[i - 1] not in _VOWELS)
        )
        return (True,) if groups == 1 else (True, False)
    if len(syllables) == 1 or syllables[-1].stress == 1:
        return (True,)
    if syllables[-1].stress == 2:
        return (True, False)
    return (False,)


def _y_after_consonant(word: str) -> bool:
    return len(word) >= 2 and word[-1] == "y" and word[-2] not in _VOWELS


def s_forms(word: str) -> list[str]:
    """Candidate ``-s`` forms (plural, third person singular), most regular first."""
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return [word + "es"]
    if _y_after_consonant(word):
        return [word[:-1] + "ies"]
    if len(word) >= 2 and word[-1] == "o" and word[-2] not in _VOWELS:
        return [word + "s", word + "es"]  # photos, potatoes: frequency decides
    return [word + "s"]


def ed_forms(word: str, doubling: tuple[bool, ...]) -> list[str]:
    """Candidate regular past tense (= past participle) forms."""
    if word.endswith("e"):
        return [word + "d"]
    if _y_after_consonant(word):
        return [word[:-1] + "ied"]
    if len(word) >= 2 and word.endswith("c") and word[-2] in _VOWELS:
        return [word + "ked"]  # panicked
    return [word + word[-1] + "ed" if double else word + "ed" for double in doubling]


def ing_forms(word: str, doubling: tuple[bool, ...]) -> list[str]:
    """Candidate present participles."""
    if word.endswith("ie"):
        return [word[:-2] + "ying"]
    if word.endswith("e") and not word.endswith(("ee", "ye", "oe")) and len(word) > 2:
        return [word[:-1] + "ing"]
    if len(word) >= 2 and word.endswith("c") and word[-2] in _VOWELS:
        return [word + "king"]
    return [word + word[-1] + "ing" if double else word + "ing" for double in doubling]


def comparison_forms(word: str, doubling: tuple[bool, ...]) -> list[tuple[str, str]]:
    """Candidate (comparative, superlative) pairs."""
    if word.endswith("e"):
        return [(word + "r", word + "st")]
    if _y_after_consonant(word):
        return [(word[:-1] + "ier", word[:-1] + "iest")]
    pairs = []
    for double in doubling:
        stem = word + word[-1] if double else word
        pairs.append((stem + "er", stem + "est"))
    return pairs


# --- irregular forms -----------------------------------------------------------------------------


def _swapped_vowel(form: str, other: str, mine: str, theirs: str) -> bool:
    """Whether ``form`` and ``other`` differ only in one letter, ``mine`` vs ``theirs``."""
    if len(form) != len(other):
        return False
    differences = [(a, b) for a, b in zip(form, other, strict=True) if a != b]
    return differences == [(mine, theirs)]


def _is_participle(form: str, others: list[str]) -> bool:
    if any(_swapped_vowel(form, other, "u", "a") for other in others):
        return True  # begun beside began
    if any(_swapped_vowel(form, other, "a", "u") for other in others):
        return False
    return form.endswith(("n", "ne"))  # gone, taken, shown


def classify_verb_exceptions(
    base: str, forms: list[str], *, fill_missing: bool = True
) -> dict[str, list[str]]:
    """Sort a verb's irregular forms into schema slots (see the module docstring).

    With ``fill_missing`` a verb with only a past tense or only a participle uses it for both
    (``taught``); without, the slots hold only what the spelling says.
    """
    slots: dict[str, list[str]] = {
        "past_tense": [],
        "past_participle": [],
        "present_participle": [],
        "third_person_singular": [],
    }
    rest = []
    for form in forms:
        if form == base:
            continue
        if form.endswith("ing"):
            slots["present_participle"].append(form)
        elif form.endswith("s") and not form.endswith("ss"):
            slots["third_person_singular"].append(form)
        else:
            rest.append(form)
    if base.endswith(("come", "run")):
        # come/came/come, run/ran/run: the participle is the base itself
        slots["past_tense"] = rest
        slots["past_participle"] = [base] if rest else []
        return slots
    for form in rest:
        others = [f for f in rest if f != form]
        slot = "past_participle" if _is_participle(form, others) else "past_tense"
        slots[slot].append(form)
    if fill_missing and not slots["past_tense"]:
        slots["past_tense"] = list(slots["past_participle"])
    if fill_missing and not slots["past_participle"]:
        slots["past_participle"] = list(slots["past_tense"])
    return slots


# --- the inflector -------------------------------------------------------------------------------


class Inflector:
    """Word forms and their analysis from lemminflect, WordNet's exception lists, spelling rules
    and wordfreq. Thread-safe; results are cached (``cache_size`` lemmas per part of speech)."""

    def __init__(
        self,
        wordnet: WordNet,
        pronouncer: Pronouncer,
        zipf: Callable[[str], float],
        *,
        cache_size: int = 16384,
    ) -> None:
        import lemminflect  # imported here: loading its tables takes a moment

        self._wordnet = wordnet
        self._pronouncer = pronouncer
        self._zipf = zipf
        self._lemminflect = lemminflect
        self._lemmas_loaded = False
        self._lemmas_lock = threading.Lock()
        self._tables = lru_cache(maxsize=cache_size)(self._read_tables)
        self._spellings = lru_cache(maxsize=cache_size)(self._make_spellings)
        lemminflect.getAllInflections("be")  # loads the inflection table now, not on first use

    # --- public ----------------------------------------------------------------------------------

    def forms(
        self, word: str, parts: Collection[Pos], *, common_noun: bool = True
    ) -> WordForms | None:
        """The forms of ``word`` for the parts of speech it has; None if none could be given.

        ``common_noun`` False (only proper-noun senses) gives no plural. A capitalised word gets
        capitalised forms (``Run`` -> ``Ran``); other mixed case and single letters get None.
        """
        text = " ".join(word.split())
        if not text or not (text.islower() or text[1:].islower() or len(text) == 1):
            return None  # "NASA", "iPhone": no rule applies to mixed case
        lowered = text.lower()
        if len(lowered) < 2:
            return None  # letters: the plural of "a" is not "as", whatever its frequency says
        values: dict[str, str | None] = {}
        wanted: list[Pos] = [p for p in ("n", "v", "a") if p in parts]
        if not common_noun and "n" in wanted:
            wanted.remove("n")
        for pos in wanted:
            for field, spelled in self.spellings(lowered, pos).items():
                values[field] = spelled[0] if spelled else None
        if not any(values.values()):
            return None
        return WordForms(**{f: _match_case(values.get(f), text) for f in _FIELDS})

    def spellings(self, lemma: str, pos: Pos) -> Spellings:
        """Every accepted spelling of each form of ``lemma`` (lowercase, spaces) in ``pos``, the
        one :meth:`forms` gives first; an empty tuple where the lemma has no such form.

        The keys are the :class:`WordForms` fields of the part of speech: ``plural`` (n); past
        tense, past participle, present participle, third person singular (v); comparative,
        superlative (a and r).
        """
        return self._spellings(" ".join(lemma.lower().split()), pos)

    def analyse(self, word: str) -> list[Inflection]:
        """The lemmas ``word`` is an inflected form of, most likely first; [] when none.

        See :mod:`.lemmas`: candidates from WordNet's exception lists and Morphy and from
        lemminflect's lemmas, each kept only when :meth:`spellings` of the candidate lemma has the
        word. The word is taken lowercase; an expression (``gave up``) is analysed like a word.
        """
        text = " ".join(word.lower().split())
        if not text:
            return []
        proposed: list[tuple[str, Pos]] = []
        if " " not in text:
            self._load_lemmas()
            for upos, lemmas in self._lemminflect.getAllLemmas(text).items():
                pos = _POS_OF_UPOS.get(upos)
                if pos is not None:
                    proposed += [(lemma, pos) for lemma in lemmas]
        return analyse(text, wordnet=self._wordnet, spellings=self.spellings, proposed=proposed)

    # --- sources ---------------------------------------------------------------------------------

    def _load_lemmas(self) -> None:
        # lemminflect loads its tables on first use without a lock; load it once, here
        if not self._lemmas_loaded:
            with self._lemmas_lock:
                if not self._lemmas_loaded:
                    self._lemminflect.getAllLemmas("be")
                    self._lemmas_loaded = True

    def _read_tables(self, word: str, pos: Pos) -> dict[str, tuple[str, ...]]:
        """lemminflect's forms of ``word`` in ``pos`` by Penn tag; {} when it does not know it."""
        if pos == "v" and word in _MODALS:
            return {}
        return self._lemminflect.getAllInflections(word, _UPOS[pos])

    def _make_spellings(self, lemma: str, pos: Pos) -> dict[str, tuple[str, ...]]:
        if pos == "n":
            return {"plural": self._plural(lemma)}
        if pos == "v":
            return self._verb(lemma)
        if pos == "a":
            comparative, superlative = self._comparison(lemma)
        else:
            comparative, superlative = self._adverb_comparison(lemma)
        return {"comparative": comparative, "superlative": superlative}

    # --- choosing among candidates ---------------------------------------------------------------

    def _ranked(self, forms: Iterable[str]) -> tuple[str, ...]:
        """Distinct forms, the most frequent first; ties keep the given order."""
        return tuple(sorted(dict.fromkeys(forms), key=lambda f: -self._zipf(f)))

    def _attested(
        self, irregular: list[str], regular: list[str], base: str, margin: float | None
    ) -> tuple[str, ...]:
        """The irregular forms and the regular ones attested within ``margin`` of ``base``."""
        floor = self._zipf(base) - margin if margin is not None else 0.0
        kept = list(irregular)
        for form in regular:
            frequency = self._zipf(form)
            if frequency > 0 and frequency >= floor:
                kept.append(form)
        return self._ranked(kept)

    def _syllables(self, word: str) -> tuple[Syllable, ...] | None:
        spoken = self._pronouncer.spoken(word)
        return tuple(spoken.syllables) if spoken is not None else None

    # --- nouns -----------------------------------------------------------------------------------

    def _plural(self, noun: str) -> tuple[str, ...]:
        key = noun.replace(" ", "_")
        words = noun.split(" ")
        whole = self._wordnet.inflections(key, "n") if len(words) > 1 else []
        if whole:
            return self._ranked(f.replace("_", " ") for f in whole)
        if len(words) > 1 and _PREPOSITIONS.intersection(words):
            return ()
        if "-" in words[-1]:
            return ()  # "mother-in-law": which part takes the plural is not spelled out
        head = words[-1]
        prefix = noun[: len(noun) - len(head)]
        irregular = self._wordnet.inflections(head, "n")
        listed = self._tables(head, "n").get("NNS")
        if listed is not None:
            plurals = [prefix + f for f in (*listed, *irregular) if f != head]
            if not plurals:
                return ()  # uncountable ("music") or the same in the plural: not a distinct form
            ranked = self._ranked(plurals)
            if head in listed and self._zipf(noun) - self._zipf(ranked[0]) > MASS_NOUN_MARGIN:
                return ()  # countable and uncountable, used as uncountable ("information")
            return ranked
        only_noun = not any(self._wordnet.has_lemma(key, p) for p in ("v", "a", "r"))
        regular = [prefix + f for f in s_forms(head)]
        if len(regular) > 1 and not only_noun and not irregular:
            return ()  # "do": "dos" or "does"? the verb's "does" would win on frequency
        if head.endswith("man"):
            regular.append(prefix + head[:-3] + "men")  # Morphy's men -> man: not in the list
        margin = UNKNOWN_NOUN_MARGIN if only_noun else MARGIN
        return self._attested([prefix + f for f in irregular], regular, noun, margin)

    # --- verbs -----------------------------------------------------------------------------------

    def _verb(self, verb: str) -> dict[str, tuple[str, ...]]:
        head, _, tail = verb.partition(" ")
        tail = " " + tail if tail else ""
        slots: dict[str, tuple[str, ...]]
        if head == "be":
            slots = {slot: (form,) for slot, form in _BE.items()}
        else:
            slots = self._verb_word(head)
        return {slot: tuple(f + tail for f in forms) for slot, forms in slots.items()}

    def _verb_word(self, verb: str) -> dict[str, tuple[str, ...]]:
        listed = self._tables(verb, "v")
        exceptions = classify_verb_exceptions(
            verb, self._wordnet.inflections(verb, "v"), fill_missing=not listed
        )
        either = (True, False) if ends_consonant_vowel_consonant(verb) else (False,)
        regular_past = set(ed_forms(verb, either))
        candidates: dict[str, list[str]] = {}
        if listed:
            for slot, tag in _VERB_TAGS.items():
                candidates[slot] = [*listed.get(tag, ()), *exceptions[slot]]
            participles = [*listed.get("VBN", ()), *exceptions["past_participle"]]
            undoubled = ed_forms(verb, (False,))
            # lemminflect gives only the undoubled spelling of some verbs stressed on the last
            # syllable (programed): the doubled one competes on frequency. Not the other way
            # round: "starred" undoubled is "stared", another verb's form.
            rules: dict[str, list[str]] = {slot: [] for slot in _VERB_TAGS}
            if listed.get("VBD") and all(f in undoubled for f in listed["VBD"]):
                doubling = doubling_choices(verb, self._syllables(verb))
                if True in doubling:
                    rules["past_tense"] = ed_forms(verb, (True,))
                    rules["present_participle"] = ing_forms(verb, (True,))
        else:
            candidates = {slot: list(exceptions[slot]) for slot in _VERB_TAGS}
            participles = list(exceptions["past_participle"])
            doubling = doubling_choices(verb, self._syllables(verb))
            if len(doubling) > 1:
                doubling = self._lemminflect_doubling(verb)
            rules = {
                "past_tense": [] if verb.endswith(("come", "run")) else ed_forms(verb, doubling),
                "present_participle": ing_forms(verb, doubling),
                "third_person_singular": [],
            }
        for slot, forms in rules.items():
            candidates[slot] += forms
        if not candidates["present_participle"]:
            candidates["present_participle"] = ing_forms(verb, (False,))
        if not candidates["third_person_singular"]:
            candidates["third_person_singular"] = s_forms(verb)
        chosen = {slot: self._ranked(forms) for slot, forms in candidates.items()}
        pasts = chosen["past_tense"]
        participles += [f for f in pasts if f in regular_past]  # a regular past is a participle
        chosen["past_participle"] = self._participles(pasts, participles, regular_past)
        return {slot: chosen[slot] for slot in _BE}

    def _participles(
        self, pasts: tuple[str, ...], candidates: list[str], regular: set[str]
    ) -> tuple[str, ...]:
        ranked = self._ranked(candidates)
        if not pasts:
            return ranked
        if pasts[0] in regular:
            strong = [p for p in ranked if p not in regular and p.endswith("n")]  # shown, sewn
            return tuple(dict.fromkeys([*strong, pasts[0], *ranked]))
        # an irregular past keeps an irregular participle (lay -> lain, not lied) or is its own
        # (lit -> lit, not lighted)
        irregular = [p for p in ranked if p not in regular] or [pasts[0]]
        return tuple(dict.fromkeys([*irregular, *ranked]))

    def _lemminflect_doubling(self, verb: str) -> tuple[bool, ...]:
        """Both doubling choices, lemminflect's guess for an unknown verb first."""
        guess = self._lemminflect.getAllInflectionsOOV(verb, "VERB").get("VBD", ())
        doubled = bool(guess) and guess[0] == verb + verb[-1] + "ed"
        return (True, False) if doubled else (False, True)

    # --- adjectives and adverbs ------------------------------------------------------------------

    def _comparison(self, adjective: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if " " in adjective or "-" in adjective:
            return (), ()
        listed = self._tables(adjective, "a")
        # lemminflect's irregular spellings count when WordNet's adverb list confirms one of them
        # (far: farther; well: better); alone they are not trusted (wrong: worse, free: freeer)
        adverb_forms = set(self._wordnet.inflections(adjective, "r"))
        exceptions = self._wordnet.inflections(adjective, "a")
        if adverb_forms.intersection(listed.get("JJR", ())):
            regular = {f for pair in comparison_forms(adjective, (True, False)) for f in pair}
            exceptions += [
                f for tag in ("JJR", "JJS") for f in listed.get(tag, ()) if f not in regular
            ]
        irregular_sup = [f for f in exceptions if f.endswith("st")]
        irregular_comp = [f for f in exceptions if not f.endswith("st")]
        syllables = self._syllables(adjective)
        pairs = comparison_forms(adjective, doubling_choices(adjective, syllables))
        if listed:
            margin = ADJECTIVE_MARGIN
            if "JJR" not in listed:
                pairs = []  # lemminflect: compared with more/most, or not at all ("main")
        else:
            margin = MARGIN
            count = len(syllables) if syllables is not None else _vowel_groups(adjective)
            if not (count == 1 or (count == 2 and adjective.endswith("y"))):
                pairs = []
        comparative = self._attested(irregular_comp, [c for c, _ in pairs], adjective, margin)
        superlative = self._attested(irregular_sup, [s for _, s in pairs], adjective, None)
        if not comparative or not superlative:
            return (), ()  # one without the other: the adjective is probably not compared
        return comparative, superlative

    def _adverb_comparison(self, adverb: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if " " in adverb or "-" in adverb:
            return (), ()
        exceptions = self._wordnet.inflections(adverb, "r")
        listed = self._tables(adverb, "r")
        comparative = [*listed.get("RBR", ()), *(f for f in exceptions if not f.endswith("st"))]
        superlative = [*listed.get("RBS", ()), *(f for f in exceptions if f.endswith("st"))]
        return self._ranked(comparative), self._ranked(superlative)


def _vowel_groups(word: str) -> int:
    return sum(
        1 for i, c in enumerate(word) if c in _VOWELS and (i == 0 or word[i - 1] not in _VOWELS)
    )


def _match_case(form: str | None, word: str) -> str | None:
    if form is None or word.islower():
        return form
    return form[:1].upper() + form[1:]  # "Run" -> "Ran"
