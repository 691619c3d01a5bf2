"""Inflected forms of a word: plural, verb forms, comparative and superlative.

Irregular forms come from WordNet's exception lists read backwards (base -> inflected, e.g.
``go`` -> ``went``, ``gone``); regular ones from English spelling rules: ``-es`` after sibilants,
``-y`` -> ``-ies``/``-ied`` after a consonant, a final ``-e`` dropped before ``-ing``/``-ed``,
``-ie`` -> ``-ying``, ``-c`` -> ``-cked``, and a final consonant doubled after a single vowel when
the last syllable is stressed (CMUdict's stress; ``stop``/``stopped``, ``begin``/``beginning``,
but ``visit``/``visited`` - American spelling, as CMUdict is American).

What a caller may rely on:

* Forms are given only for the parts of speech passed in: verbs get verb forms, nouns a plural,
  adjectives a comparative and superlative only when short (one syllable, or two ending in ``-y``).
* A form is ``None`` when unsure. Regular forms must be attested in wordfreq and, where a word
  may not take the form at all, frequent enough next to the base (Zipf difference at most
  :data:`MASS_NOUN_MARGIN` for a plural, :data:`MARGIN` otherwise): that is how uncountable nouns
  (``information``), adjectives not compared with ``-er`` (``main``) and verbs whose past is the
  base itself (``put``, ``cut``; the ``-ed`` test only applies to verbs ending in ``t``/``d``)
  end up ``None`` rather than wrong. When several candidates survive (``dreamed``/``dreamt``,
  an irregular form and a regular one), the most frequent wins.
* The exception lists do not say which form an irregular word is; it is read from the spelling:
  ``-ing`` present participle, ``-s`` third person, a ``u`` form beside an ``a`` form (``begun``/
  ``began``) or a form in ``-n``/``-ne`` (``gone``, ``taken``) past participle, the rest past
  tense; a verb with only one of the two uses it for both (``taught``). ``be`` is the one verb
  whose forms are written out here, since no one-form-per-slot reading of its list is possible.
* A verb whose past tense is irregular keeps an irregular participle (``lie``/``lay``/``lain``);
  a regular past tense is its own participle. A noun ending in consonant + ``o`` that is also
  another part of speech gets no plural (``do``: ``dos``?), as the ``-s`` form's frequency is
  then mostly the other part of speech's.
* Expressions: a verb inflects its first word (``give up`` -> ``gave up``), a noun its last
  (``ice cream`` -> ``ice creams``) unless the list has the whole expression; a noun expression
  with a preposition in it (``man of war``) and any adjective expression get ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Final

from ..schema import WordForms
from .pronounce import Pronouncer, Syllable
from .wordnet import Pos, WordNet

MARGIN: Final[float] = 2.0
MASS_NOUN_MARGIN: Final[float] = 1.5  # a noun that is only a noun: its frequency is all noun use
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


def classify_verb_exceptions(base: str, forms: list[str]) -> dict[str, list[str]]:
    """Sort a verb's irregular forms into schema slots (see the module docstring)."""
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
    if not slots["past_tense"]:
        slots["past_tense"] = list(slots["past_participle"])
    if not slots["past_participle"]:
        slots["past_participle"] = list(slots["past_tense"])
    return slots


# --- the inflector -------------------------------------------------------------------------------


class Inflector:
    """Word forms from WordNet's exception lists, spelling rules and wordfreq attestation."""

    def __init__(
        self, wordnet: WordNet, pronouncer: Pronouncer, zipf: Callable[[str], float]
    ) -> None:
        self._wordnet = wordnet
        self._pronouncer = pronouncer
        self._zipf = zipf

    def forms(
        self, word: str, parts: Collection[Pos], *, common_noun: bool = True
    ) -> WordForms | None:
        """The forms of ``word`` for the parts of speech it has; None if none could be given.

        ``common_noun`` False (only proper-noun senses) gives no plural.
        """
        text = " ".join(word.split())
        if not text or not (text.islower() or text[1:].islower() or len(text) == 1):
            return None  # "NASA", "iPhone": no rule applies to mixed case
        lowered = text.lower()
        if len(lowered) < 2:
            return None  # letters: the plural of "a" is not "as", whatever its frequency says
        values: dict[str, str | None] = {}
        if "n" in parts and common_noun:
            values["plural"] = self._plural(lowered, only_noun=set(parts) == {"n"})
        if "v" in parts:
            values.update(self._verb(lowered))
        if "a" in parts:
            values["comparative"], values["superlative"] = self._comparison(lowered)
        if not any(values.values()):
            return None
        fields = (
            "plural",
            "past_tense",
            "past_participle",
            "present_participle",
            "third_person_singular",
            "comparative",
            "superlative",
        )
        return WordForms(**{f: _match_case(values.get(f), text) for f in fields})

    # --- choosing among candidates ---------------------------------------------------------------

    def _choose(
        self, irregular: list[str], regular: list[str], base: str, margin: float | None
    ) -> str | None:
        """The most frequent of the irregular forms and the attested regular ones."""
        floor = self._zipf(base) - margin if margin is not None else 0.0
        scored = [(self._zipf(f), 1, f) for f in dict.fromkeys(irregular)]
        for form in dict.fromkeys(regular):
            if form in irregular:
                continue
            frequency = self._zipf(form)
            if frequency > 0 and frequency >= floor:
                scored.append((frequency, 0, form))
        if not scored:
            return None
        return max(scored)[2]

    def _syllables(self, word: str) -> tuple[Syllable, ...] | None:
        spoken = self._pronouncer.spoken(word)
        return tuple(spoken.syllables) if spoken is not None else None

    # --- nouns -----------------------------------------------------------------------------------

    def _plural(self, noun: str, *, only_noun: bool) -> str | None:
        margin = MASS_NOUN_MARGIN if only_noun else MARGIN
        key = noun.replace(" ", "_")
        whole = self._wordnet.inflections(key, "n")
        if whole:
            return self._choose([f.replace("_", " ") for f in whole], [], noun, None)
        words = noun.split(" ")
        if len(words) > 1 and _PREPOSITIONS.intersection(words):
            return None
        if "-" in words[-1]:
            return None  # "mother-in-law": which part takes the plural is not spelled out
        head = words[-1]
        prefix = noun[: len(noun) - len(head)]
        irregular = [prefix + f for f in self._wordnet.inflections(head, "n")]
        regular = [prefix + f for f in s_forms(head)]
        if len(regular) > 1 and not only_noun and not irregular:
            return None  # "do": "dos" or "does"? the verb's "does" would win on frequency
        if head.endswith("man"):
            regular.append(prefix + head[:-3] + "men")  # Morphy's men -> man: not in the list
        return self._choose(irregular, regular, noun, margin)

    # --- verbs -----------------------------------------------------------------------------------

    def _verb(self, verb: str) -> dict[str, str | None]:
        head, _, tail = verb.partition(" ")
        tail = " " + tail if tail else ""
        if head == "be":
            return {slot: form + tail for slot, form in _BE.items()}
        irregular = classify_verb_exceptions(head, self._wordnet.inflections(head, "v"))
        doubling = doubling_choices(head, self._syllables(head))
        past_margin = MARGIN if head.endswith(("t", "d")) else None  # put/put, cut/cut
        regular_past = [] if head.endswith(("come", "run")) else ed_forms(head, doubling)
        past = self._choose(irregular["past_tense"], regular_past, head, past_margin)
        if past is not None and past not in irregular["past_tense"]:
            participle: str | None = past  # a regular past: the participle is the same form
        else:
            # an irregular past keeps an irregular participle: lie/lay/lain, not lay/lied
            participle = self._choose(irregular["past_participle"], [], head, None) or past
        chosen = {
            "past_tense": past,
            "past_participle": participle,
            "present_participle": self._choose(
                irregular["present_participle"], ing_forms(head, doubling), head, None
            ),
            "third_person_singular": self._choose(
                irregular["third_person_singular"], s_forms(head), head, None
            ),
        }
        return {slot: (form + tail if form else None) for slot, form in chosen.items()}

    # --- adjectives ------------------------------------------------------------------------------

    def _comparison(self, adjective: str) -> tuple[str | None, str | None]:
        if " " in adjective or "-" in adjective:
            return None, None
        syllables = self._syllables(adjective)
        count = len(syllables) if syllables is not None else _vowel_groups(adjective)
        if not (count == 1 or (count == 2 and adjective.endswith("y"))):
            return None, None
        exceptions = self._wordnet.inflections(adjective, "a")
        irregular_sup = [f for f in exceptions if f.endswith("st")]
        irregular_comp = [f for f in exceptions if not f.endswith("st")]
        pairs = comparison_forms(adjective, doubling_choices(adjective, syllables))
        comparative = self._choose(irregular_comp, [c for c, _ in pairs], adjective, MARGIN)
        superlative = self._choose(irregular_sup, [s for _, s in pairs], adjective, MARGIN)
        if (comparative is None) != (superlative is None):
            return None, None  # one without the other: the adjective is probably not compared
        return comparative, superlative


def _vowel_groups(word: str) -> int:
    return sum(
        1 for i, c in enumerate(word) if c in _VOWELS and (i == 0 or word[i - 1] not in _VOWELS)
    )


def _match_case(form: str | None, word: str) -> str | None:
    if form is None or word.islower():
        return form
    return form[:1].upper() + form[1:]  # "Run" -> "Ran"
