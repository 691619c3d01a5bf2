"""An audit of one dictionary entry against the local lexical sources: findings a lexicographer can
act on, each naming the field, the entry's value, what the sources say, how sure the audit is and
why.

    auditor = Auditor(Lexicon.load())
    auditor.audit(entry)              # entry: an Entry or its JSON object -> list[Finding]

What a caller may rely on:

* :meth:`Auditor.audit` is pure: it reads the entry and the sources, writes nothing, and gives the
  same findings for the same entry and sources (:attr:`Auditor.version` names both). It never
  raises on an entry's content: a value it cannot read is skipped or reported as ``info``.
* Severity: ``error`` the sources contradict the value (a plural that is no form of the word, an
  IPA that reads another word, a lemma the word is no form of); ``warning`` the sources do not
  support it (a part of speech WordNet and lemminflect do not give the word, an example that shows
  neither the word nor a form of it, a CEFR level more than two levels from the word's frequency);
  ``info`` worth a look, nothing wrong shown.
* Each :class:`Finding` has ``field`` (one of :data:`FIELDS`, for filtering) and ``path`` (where in
  the entry: ``word_forms.plural``, ``parts_of_speech[1].senses[0].examples[2]``).
* What is checked, and against what:

  - *pronunciation*: the IPA read into phonemes (tolerant of notation: ``ɹ``/``r``, length marks,
    British or American vowels, rhoticity, ``ɚ``/``ər``) against every CMUdict variant of the word,
    or eSpeak NG's reading where CMUdict lacks it; far from all of them is an error, the stress on
    another syllable than any close variant's a warning. Heteronyms that move the stress (``record``
    noun /ˈrɛk.ɚd/, verb /rɪˈkɔrd/) are checked per part of speech where a part carries its own
    pronunciation. The written syllables must spell the word (error) and be as many as the spoken
    ones of some variant (warning).
  - *forms*: each form must be among the spellings lemminflect, WordNet's exception lists and the
    spelling rules give (:meth:`.forms.Inflector.spellings`, also for the entry's lemma) or be one
    lemminflect reads back to the word; a form of a word the sources know is an error (``childs``,
    ``runned``), of one they do not know a warning. A missing irregular form is a warning.
  - *parts of speech*: noun, verb, adjective and adverb against WordNet (the word, its lemma, or an
    inflection of a lemma) and lemminflect; closed classes against :data:`CLOSED_CLASSES`. A part
    of speech neither supports is a warning (models know usages WordNet lacks).
  - *examples*: each shows the word, its lemma or one of their forms (:func:`.glosses.shows`,
    so phrasal verbs may be split), else a warning; one noted as using a synonym is only ``info``.
  - *lemma*: a lemma the word is no inflection or variant spelling of is an error; a word with no
    senses of its own left without its lemma (``went``) a warning.
  - *labels*: CEFR level and frequency band against wordfreq's Zipf value (more than two levels
    or bands apart: warning); ``is_real_word`` false for a word WordNet has or wordfreq knows well
    (Zipf >= :data:`REAL_WORD_ZIPF`) is an error.
  - *consistency*: a synonym that is the headword (warning), an antonym that is also a synonym or
    the headword (error), two senses with the same definition (warning).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, Literal

import lemminflect

from ..core.schema import Entry
from . import _inflected, frequency, glosses
from .espeak import IPA_TO_ARPABET
from .forms import comparison_forms, ed_forms, ing_forms, s_forms
from .phonemes import _VOWELS, Phone, phoneme_distance
from .phonemes import phonemes as _phonemes
from .spelling import american_spellings
from .wordnet import Pos

if TYPE_CHECKING:
    from . import Lexicon

__all__ = ["AUDIT_VERSION", "CLOSED_CLASSES", "FIELDS", "Auditor", "Finding", "Severity"]

AUDIT_VERSION: Final[str] = "2"
"""Changes when the checks change: entries audited by another version are audited again."""

Severity = Literal["error", "warning", "info"]
SEVERITIES: Final[tuple[Severity, ...]] = ("error", "warning", "info")

FIELDS: Final[tuple[str, ...]] = (
    "pronunciation",
    "syllables",
    "word_forms",
    "part_of_speech",
    "examples",
    "lemma",
    "cefr_level",
    "frequency_band",
    "is_real_word",
    "synonyms",
    "antonyms",
    "senses",
)

REAL_WORD_ZIPF: Final[float] = 3.0
"""wordfreq's Zipf value from which a word is known well (once per million words)."""
IPA_ERROR_DISTANCE: Final[float] = 0.45
"""Share of the phonemes that must differ from every variant for an IPA to read another word.
Measured on offline entries: an IPA swapped with another word's sits at 0.6 or more for most
words; notation and accent differences (British vowels, rhoticity, reduced vowels) under 0.3."""
LEVEL_GAP: Final[int] = 2
"""CEFR levels or frequency bands an entry may be from the frequency's before a warning."""


def _listed(text: str) -> frozenset[str]:
    return frozenset(text.split())


CLOSED_CLASSES: Final[dict[str, frozenset[str]]] = {
    "pronoun": _listed(
        "i me my mine myself you your yours yourself yourselves he him his himself she her hers "
        "herself it its itself we us our ours ourselves they them their theirs themselves one "
        "oneself who whom whose which what that this these those whoever whomever whatever "
        "whichever anybody anyone anything everybody everyone everything nobody none nothing "
        "somebody someone something each either neither both all any some many much few several "
        "other others another such thou thee thy thine ye yall y'all"
    ),
    "determiner": _listed(
        "a an the this that these those my your his her its our their whose which what whatever "
        "whichever each every either neither both all any some no many much few fewer fewest "
        "little less least more most several enough such another other half own same certain "
        "one two three"
    ),
    "preposition": _listed(
        "aboard about above across after against along alongside amid amidst among amongst "
        "around as at atop before behind below beneath beside besides between beyond but by "
        "circa concerning considering despite down during except excluding following for from "
        "in including inside into like minus near nearby next notwithstanding of off on onto "
        "opposite out outside over past per plus regarding round save since than through "
        "throughout till to toward towards under underneath unlike until unto up upon versus "
        "via with within without worth ago apart aside away"
    ),
    "conjunction": _listed(
        "and or but nor so yet for because although though while whilst if unless until till "
        "since as whereas whether than that once lest provided providing supposing both either "
        "neither when whenever where wherever after before now then how why"
    ),
    "numeral": _listed(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
        "eighty ninety hundred thousand million billion trillion first second third fourth "
        "fifth sixth seventh eighth ninth tenth eleventh twelfth twentieth hundredth "
        "thousandth millionth dozen half once twice thrice"
    ),
    "article": _listed("a an the"),
    "auxiliary verb": _listed(
        "be am is are was were been being have has had having do does did done doing get got"
    ),
    "modal verb": _listed("can could may might must shall should will would ought need dare"),
    "particle": _listed("to not n't up down off out in on over away back about along around"),
    "interjection": _listed(
        "ah aha ahem alas amen aw aye bah bravo bye cheers congratulations damn darn eh er gee "
        "golly gosh goodbye ha hallelujah hey hi hello hmm ho huh hurrah hurray hush mm no nope "
        "oh okay ok oops ouch ow phew please pooh psst shh shoo thanks ugh um uh wow whoa yay "
        "yeah yes yep yikes yuck welcome well boo hooray indeed right sorry what why"
    ),
}
"""Closed-class words by part of speech (WordNet has none of them); a word claimed for one of
these parts of speech that is not listed is checked against WordNet instead."""

_WN_POS: Final[dict[str, Pos]] = {
    "noun": "n",
    "verb": "v",
    "adjective": "a",
    "adverb": "r",
}
_UPOS: Final[dict[Pos, tuple[str, ...]]] = {
    "n": ("NOUN", "PROPN"),
    "v": ("VERB", "AUX"),
    "a": ("ADJ",),
    "r": ("ADV",),
}
_FORM_POS: Final[dict[str, tuple[Pos, ...]]] = {
    "plural": ("n",),
    "past_tense": ("v",),
    "past_participle": ("v",),
    "present_participle": ("v",),
    "third_person_singular": ("v",),
    "comparative": ("a", "r"),
    "superlative": ("a", "r"),
}
_FORM_TAGS: Final[dict[str, tuple[str, ...]]] = {
    "plural": ("NNS",),
    "past_tense": ("VBD",),
    "past_participle": ("VBN",),
    "present_participle": ("VBG",),
    "third_person_singular": ("VBZ",),
    "comparative": ("JJR", "RBR"),
    "superlative": ("JJS", "RBS"),
}
_FORM_NAMES: Final[dict[str, str]] = {
    "plural": "plural",
    "past_tense": "past tense",
    "past_participle": "past participle",
    "present_participle": "present participle",
    "third_person_singular": "third person singular",
    "comparative": "comparative",
    "superlative": "superlative",
}
_PART_POS: Final[dict[str, Pos]] = {
    **_WN_POS,
    "phrasal verb": "v",
    "proper noun": "n",
    "idiom": "v",
}
_CEFR: Final[tuple[str, ...]] = ("A1", "A2", "B1", "B2", "C1", "C2")
_SYNONYM_NOTE: Final = re.compile(r"example uses the synonym ([^;]+)")
_SYLLABLE_MARKS: Final = re.compile(r"[\s\-·‧•.'’]")


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the audit found in one entry."""

    field: str  # one of FIELDS
    path: str  # where in the entry: "word_forms.plural", "parts_of_speech[0].senses[1].examples[0]"
    value: str  # the entry's value, as text
    expected: str  # what the local sources say
    severity: Severity
    reason: str  # a short sentence in plain words
    check: str  # the check's name, e.g. "form_not_of_word"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(**{k: str(data.get(k, "")) for k in cls.__slots__})  # type: ignore[arg-type]


# --- reading IPA ---------------------------------------------------------------------------------

_IPA_FOLD: Final[dict[str, str]] = {
    "'": "ˈ",
    "’": "ˈ",
    "′": "ˈ",
    "ˊ": "ˈ",
    ",": "ˌ",
    "ˏ": "ˌ",
    ":": "ː",
    "ˑ": "",
    "ɫ": "l",
    "ɒ": "ɑ",
    "ɐ": "ə",
    "ɘ": "ə",
    "ɵ": "o",
    "ʉ": "u",
    "ɨ": "ɪ",
    "ʤ": "dʒ",
    "ʧ": "tʃ",
    "ʦ": "ts",
    "g": "ɡ",
    "ʰ": "",
    "ʲ": "",
    "ʷ": "",
    "\u0361": "",  # tie bar
    "\u035c": "",
    "\u0329": "",  # syllabic mark below: a syllabic consonant reads as schwa + consonant
    "\u030d": "",
    "\u0306": "",
    "‿": "",
    "(": "",
    ")": "",
    "[": "",
    "]": "",
    "/": "",
    "|": "",
    "ˈˈ": "ˈ",
}
_IPA_SYMBOLS: Final[dict[str, tuple[str, ...]]] = {
    **IPA_TO_ARPABET,
    "ɪə": ("IH", "AH"),
    "eə": ("EH", "AH"),
    "ɛə": ("EH", "AH"),
    "ʊə": ("UH", "AH"),
    "ɔr": ("AO", "R"),
    "ər": ("ER",),
    "ɜr": ("ER",),
    "ɝr": ("ER",),
    "ɚr": ("ER",),
    "oʊ": ("OW",),
    "ɛ": ("EH",),
    "e": ("EH",),  # British dictionaries write the vowel of "bed" e
    "ɑ̃ː": ("AA", "N"),
    "ts": ("T", "S"),
    "ɲ": ("N", "Y"),
    "ʎ": ("L", "Y"),
    "ɣ": ("G",),
    "β": ("B",),
    "ɸ": ("F",),
    "ɦ": ("HH",),
    "ʁ": ("R",),
    "ʀ": ("R",),
    "ɻ": ("R",),
    "y": ("UW",),
    "ø": ("ER",),
    "œ": ("ER",),
    "ɯ": ("UW",),
    "ɤ": ("OW",),
    "ɛ̃": ("EH", "N"),
    "œ̃": ("ER", "N"),
}
_LONGEST: Final = max(len(s) for s in _IPA_SYMBOLS)


def read_ipa(text: str) -> tuple[list[list[Phone]], int]:
    """``text`` (an IPA transcription in any common notation) as phonemes, word by word, and how
    many of its symbols could not be read."""
    folded = unicodedata.normalize("NFD", text.strip())
    folded = "".join(_IPA_FOLD.get(c, c) for c in folded)
    folded = unicodedata.normalize("NFC", folded)
    words: list[list[str]] = []
    unknown = 0
    for chunk in folded.split():
        phones: list[str] = []
        tokens: list[str] = []
        i = 0
        while i < len(chunk):
            c = chunk[i]
            if c in "ˈˌ":
                tokens.append(c)
                i += 1
                continue
            if c in ".-ː‧·" or unicodedata.combining(c):
                i += 1
                continue
            for size in range(min(_LONGEST, len(chunk) - i), 0, -1):
                piece = chunk[i : i + size]
                if piece in _IPA_SYMBOLS:
                    tokens.append(piece)
                    i += size
                    break
            else:
                unknown += 1
                i += 1
        pending = ""
        for token in tokens:
            if token in "ˈˌ":
                pending = "1" if token == "ˈ" else "2"
                continue
            for index, phone in enumerate(_IPA_SYMBOLS[token]):
                if phone in _VOWELS:
                    phones.append(phone + ((pending or "0") if index == 0 else "0"))
                    pending = ""
                else:
                    phones.append(phone)
        if phones:
            words.append(phones)
    return [_phonemes(w) for w in words], unknown


def _primary(phones: Sequence[Phone]) -> int | None:
    """Which vowel (counting vowels from 0) carries the primary stress; None when none does."""
    vowels = [stress for _, stress in phones if stress >= 0]
    return vowels.index(1) if 1 in vowels else None


def _vowel_count(phones: Sequence[Phone]) -> int:
    return sum(1 for _, stress in phones if stress >= 0)


# --- the auditor ---------------------------------------------------------------------------------


class Auditor:
    """Audits entries against a :class:`synthlib.lexicon.Lexicon`'s sources. Thread-safe as the
    Lexicon is; results of the source lookups are cached per word."""

    def __init__(self, lexicon: Lexicon, *, cache_size: int = 65536) -> None:
        self.lexicon = lexicon
        self.wordnet = lexicon.wordnet
        self.pronouncer = lexicon.pronouncer
        self.inflector = lexicon.inflector
        self.version = f"audit-{AUDIT_VERSION}+{lexicon.version}"
        self._readings = lru_cache(maxsize=cache_size)(self._make_readings)
        self._analysis = lru_cache(maxsize=cache_size)(self._make_analysis)
        self._zipf = lru_cache(maxsize=cache_size)(frequency.zipf)
        self._example_forms = lru_cache(maxsize=cache_size)(self._make_example_forms)
        self._inflections = lru_cache(maxsize=cache_size)(self._make_inflections)

    def audit(self, entry: Entry | Mapping[str, Any]) -> list[Finding]:
        """Every finding for ``entry`` (an :class:`Entry` or its JSON object), in field order."""
        data: Mapping[str, Any] = (
            entry.model_dump(mode="json", by_alias=True) if isinstance(entry, Entry) else entry
        )
        word = " ".join(str(data.get("word") or "").split())
        if not word:
            return []
        findings: list[Finding] = []
        parts = [p for p in data.get("parts_of_speech") or () if isinstance(p, Mapping)]
        findings += self._real_word(word, data)
        findings += self._pronunciation(word, data.get("pronunciation"), parts)
        findings += self._lemma(word, data.get("lemma"), parts)
        findings += self._word_forms(word, data.get("lemma"), data.get("word_forms"), parts)
        findings += self._parts_of_speech(word, data.get("lemma"), parts)
        findings += self._senses(word, data.get("lemma"), data.get("word_forms"), parts)
        findings += self._labels(word, data)
        return findings

    # --- sources ---------------------------------------------------------------------------------

    def zipf(self, word: str) -> float:
        return self._zipf(word)

    def _make_inflections(self, word: str, upos: str | None) -> dict[str, tuple[str, ...]]:
        return (
            lemminflect.getAllInflections(word, upos)
            if upos
            else lemminflect.getAllInflections(word)
        )

    def inflections(self, word: str, upos: str | None = None) -> dict[str, tuple[str, ...]]:
        """lemminflect's inflections of ``word`` by Penn tag (cached; do not change them)."""
        return self._inflections(word, upos)

    def _key(self, word: str) -> str:
        return word.lower().replace(" ", "_")

    def _knows(self, word: str) -> bool:
        key = self._key(word)
        return any(self.wordnet.has_lemma(key, p) for p in ("n", "v", "a", "r"))

    def _make_analysis(self, word: str) -> tuple[tuple[str, Pos, str], ...]:
        return tuple((i.lemma, i.pos, i.form) for i in self.inflector.analyse(word))

    def analysis(self, word: str) -> tuple[tuple[str, Pos, str], ...]:
        """(lemma, part of speech, form) for each lemma ``word`` is an inflected form of."""
        return self._analysis(" ".join(word.lower().split()))

    def _make_readings(self, word: str) -> tuple[tuple[Phone, ...], ...]:
        """Every reading the sources accept for one written word (case kept)."""
        table = self.pronouncer._table
        found: list[list[str]] = [list(v) for v in table.get(word.lower(), ())]
        folded = table.get(_fold(word).lower(), ()) if not found else ()
        if not found and "-" in word:
            parts = [self.pronouncer.phones(p) for p in word.split("-") if p]
            if parts and all(p is not None for p in parts):
                found.append([ph for p in parts if p is not None for ph in p])
        if not found or word[:1].isupper():
            estimator = self.pronouncer.estimator
            guess = estimator.phones(word) if estimator is not None else None
            if guess is not None:
                found.append(guess)
                # château: CMUdict's chateau, when it sounds like eSpeak's reading of château
                # (chargé is no charge)
                read = _phonemes(guess)
                found += [
                    list(v)
                    for v in folded
                    if phoneme_distance(_phonemes(v), read) < IPA_ERROR_DISTANCE
                ]
        return tuple(tuple(_phonemes(v)) for v in found)

    def readings(self, word: str) -> tuple[tuple[Phone, ...], ...]:
        return self._readings(word)

    # --- is_real_word ----------------------------------------------------------------------------

    def _real_word(self, word: str, data: Mapping[str, Any]) -> list[Finding]:
        if data.get("is_real_word") is not False:
            return []
        zipf = self.zipf(word)
        known = self._knows(word)
        if not known and zipf < REAL_WORD_ZIPF:
            return []
        said = "WordNet has it" if known else f"wordfreq's Zipf frequency is {zipf:.1f}"
        return [
            Finding(
                "is_real_word",
                "is_real_word",
                "false",
                said,
                "error",
                f"marked as no real word, but {said}",
                "real_word_denied",
            )
        ]

    # --- pronunciation ---------------------------------------------------------------------------

    def _pronunciation(
        self, word: str, pronunciation: Any, parts: list[Mapping[str, Any]]
    ) -> list[Finding]:
        findings: list[Finding] = []
        if isinstance(pronunciation, Mapping):
            pos = str(parts[0].get("part_of_speech")) if parts else None
            findings += self._ipa(word, pronunciation.get("ipa"), "pronunciation.ipa", pos, False)
            findings += self._syllables(word, pronunciation.get("syllables"))
        for index, part in enumerate(parts):  # a part of speech's own pronunciation, if any
            own = part.get("pronunciation")
            if isinstance(own, Mapping):
                path = f"parts_of_speech[{index}].pronunciation.ipa"
                pos = str(part.get("part_of_speech"))
                findings += self._ipa(word, own.get("ipa"), path, pos, True)
        return findings

    def _ipa(
        self, word: str, ipa: Any, path: str, pos: str | None, own_part: bool
    ) -> list[Finding]:
        if not isinstance(ipa, str) or not ipa.strip():
            return []
        tokens = word.split()
        read, _ = read_ipa(ipa)
        flat = [p for w in read for p in w]
        if not flat:
            return [
                Finding(
                    "pronunciation",
                    path,
                    ipa,
                    "",
                    "info",
                    "the IPA could not be read",
                    "ipa_unread",
                )
            ]
        per_token = [self.readings(t) for t in tokens]
        if not all(per_token):
            return []  # neither CMUdict nor eSpeak NG can read a word of it: nothing to compare
        if len(read) == len(tokens):
            cost = length = 0.0
            for phones, readings in zip(read, per_token, strict=True):
                best = min(phoneme_distance(phones, r) for r in readings)
                size = max(len(phones), min(len(r) for r in readings))
                cost += best * size
                length += size
            distance = cost / length
        else:
            joined = [tuple(p for r in combo for p in r) for combo in _first_and_each(per_token)]
            distance = min(phoneme_distance(flat, r) for r in joined)
        if distance >= IPA_ERROR_DISTANCE:
            expected = self._expected_ipa(word)
            return [
                Finding(
                    "pronunciation",
                    path,
                    ipa,
                    expected,
                    "error",
                    f"the IPA does not read {word!r}: CMUdict/eSpeak NG give {expected}",
                    "ipa_mismatch",
                )
            ]
        if len(tokens) != 1 or len(read) != 1:
            return []  # an expression's stress depends on how it is used
        return self._stress(word, read[0], ipa, path, pos, own_part)

    def _stress(
        self,
        word: str,
        phones: list[Phone],
        ipa: str,
        path: str,
        pos: str | None,
        own_part: bool,
    ) -> list[Finding]:
        readings = self.readings(word)
        close = [r for r in readings if phoneme_distance(phones, r) < IPA_ERROR_DISTANCE]
        if _vowel_count(phones) < 2 or not close:
            return []
        mine = _primary(phones)
        if mine is None:
            return [
                Finding(
                    "pronunciation",
                    path,
                    ipa,
                    self._expected_ipa(word),
                    "info",
                    "the IPA marks no primary stress",
                    "stress_missing",
                )
            ]
        stresses = {_primary(r) for r in close if _vowel_count(r) == _vowel_count(phones)}
        stresses.discard(None)
        if stresses and mine not in stresses:
            return [
                Finding(
                    "pronunciation",
                    path,
                    ipa,
                    self._expected_ipa(word),
                    "warning",
                    f"the stress is on syllable {mine + 1}; the sources stress syllable "
                    + " or ".join(str(s + 1) for s in sorted(s for s in stresses if s is not None)),
                    "stress_mismatch",
                )
            ]
        # heteronyms that move the stress: nouns and adjectives on the first syllable, verbs later
        if len(stresses) > 1 and _vowel_count(phones) == 2 and pos in ("noun", "verb"):
            # adjectives go either way (perfect, compact): only nouns and verbs are checked
            wants_first = pos == "noun"
            if (mine == 0) != wants_first:
                kind = "first" if wants_first else "a later"
                return [
                    Finding(
                        "pronunciation",
                        path,
                        ipa,
                        self._expected_ipa(word),
                        "warning" if own_part else "info",
                        f"as a {pos} the word is stressed on the {kind} syllable (CMUdict has "
                        f"both readings)",
                        "heteronym_stress",
                    )
                ]
        return []

    def _expected_ipa(self, word: str) -> str:
        return " or ".join(self._shown_readings(word))

    def _shown_readings(self, word: str) -> list[str]:
        """CMUdict's (or eSpeak NG's) readings of ``word`` as IPA, for a finding's text."""
        from .pronounce import ipa, syllabify

        if " " in word:  # an expression: as the pronouncer stresses it
            spoken = self.pronouncer.spoken(word)
            return [spoken.pronunciation().ipa or ""] if spoken is not None else []
        variants = list(self.pronouncer._table.get(word.lower(), ()))[:3]
        if not variants and self.pronouncer.estimator is not None:
            guess = self.pronouncer.estimator.phones(word)
            variants = [guess] if guess is not None else []
        shown: list[str] = []
        for variant in variants:
            text = "/" + ipa(syllabify(variant)) + "/"
            if text not in shown:
                shown.append(text)
        return shown

    def _syllables(self, word: str, syllables: Any) -> list[Finding]:
        if not isinstance(syllables, list) or not syllables:
            return []
        pieces = [str(s) for s in syllables]
        spelled = _SYLLABLE_MARKS.sub("", "".join(pieces)).lower()
        letters = _SYLLABLE_MARKS.sub("", word).lower()
        value = "-".join(pieces)
        if spelled != letters:
            return [
                Finding(
                    "syllables",
                    "pronunciation.syllables",
                    value,
                    word,
                    "error",
                    f"the syllables spell {spelled!r}, not {word!r}",
                    "syllables_misspelled",
                )
            ]
        per_token = [self.readings(t) for t in word.replace("-", " ").split()]
        if not all(per_token):
            return []
        counts = {sum(_vowel_count(r) for r in combo) for combo in _first_and_each(per_token)}
        if len(pieces) in counts:
            return []
        return [
            Finding(
                "syllables",
                "pronunciation.syllables",
                value,
                " or ".join(str(c) for c in sorted(counts)) + " syllables",
                "warning",
                f"{len(pieces)} written syllables, but the word is spoken in "
                + " or ".join(str(c) for c in sorted(counts)),
                "syllable_count",
            )
        ]

    # --- lemma -----------------------------------------------------------------------------------

    def _lemma(self, word: str, lemma: Any, parts: list[Mapping[str, Any]]) -> list[Finding]:
        analysis = self.analysis(word)
        lemmas = list(dict.fromkeys(lemma for lemma, _, _ in analysis))
        if not isinstance(lemma, str) or not lemma.strip():
            if lemmas and not self._knows(word) and word.islower():
                inflection = analysis[0]
                return [
                    Finding(
                        "lemma",
                        "lemma",
                        "",
                        inflection[0],
                        "warning",
                        f"{word!r} is the {inflection[2]} of {inflection[0]!r}, but no lemma "
                        "is given",
                        "lemma_missing",
                    )
                ]
            return []
        given = " ".join(lemma.split())
        if given.lower() == word.lower():
            return [
                Finding(
                    "lemma",
                    "lemma",
                    lemma,
                    "",
                    "info",
                    "the lemma is the word itself (it should then be null)",
                    "lemma_is_word",
                )
            ]
        if given.lower() in {m.lower() for m in lemmas} or _variant(word, given):
            return []
        if given.lower() in american_spellings(word.lower()):  # colour -> color, centre
            return []
        if self._base_of(word, given):
            return []
        if not self._knows(word) and self._key(given) in self._morphy(word):
            return []  # a word with no senses of its own read by WordNet's rules (byes: bye)
        folded = _fold(word)
        if folded != word and not self._knows(word):  # cafés: the plural of cafe, folded
            lemmas_folded = {m.lower() for m, _, _ in self.analysis(folded)}
            if given.lower() in lemmas_folded | self._morphy(folded) or _variant(folded, given):
                return []
        expected = ", ".join(lemmas) or "none (no inflection of another word)"
        return [
            Finding(
                "lemma",
                "lemma",
                lemma,
                expected,
                "error",
                f"{word!r} is no inflected form or variant spelling of {given!r} in WordNet or "
                f"lemminflect (they give: {expected})",
                "lemma_wrong",
            )
        ]

    def _base_of(self, word: str, lemma: str) -> bool:
        """Whether lemminflect or WordNet's exception lists make ``word`` a form of ``lemma``."""
        lower = word.lower()
        for lemmas in lemminflect.getAllLemmas(lower).values():
            if lemma.lower() in lemmas:
                return True
        key = self._key(word)
        target = self._key(lemma)
        return any(
            target in self.wordnet.base_forms(key, p) and self._is_exception(key, p)
            for p in ("n", "v", "a", "r")
        )

    def _morphy(self, word: str) -> set[str]:
        """The bases WordNet's rules of detachment find for ``word`` (index form), any part of
        speech: unconfirmed readings (``news`` -> ``new``), for words WordNet lacks."""
        key = self._key(word)
        return {b for p in ("n", "v", "a", "r") for b in self.wordnet.base_forms(key, p)}

    def _is_exception(self, key: str, pos: Pos) -> bool:
        return key in self.wordnet._exceptions[pos]

    # --- word forms ------------------------------------------------------------------------------

    def _word_forms(
        self, word: str, lemma: Any, forms: Any, parts: list[Mapping[str, Any]]
    ) -> list[Finding]:
        if not isinstance(forms, Mapping):
            return []
        base = word.lower()
        bases = [base]
        if isinstance(lemma, str) and lemma.strip() and lemma.lower() != base:
            bases.append(" ".join(lemma.lower().split()))
        has = {_WN_POS.get(str(p.get("part_of_speech"))) for p in parts}
        if any(str(p.get("part_of_speech")) == "phrasal verb" for p in parts):
            has.add("v")
        findings: list[Finding] = []
        for field, wanted in _FORM_POS.items():
            value = forms.get(field)
            path = f"word_forms.{field}"
            if isinstance(value, str) and value.strip():
                finding = self._form(word, bases, field, wanted, value, path)
            elif value is None and any(p in has for p in wanted):
                finding = self._missing_form(word, base, field, wanted, path)
            else:
                finding = None
            if finding is not None:
                findings.append(finding)
        return findings

    def _form(
        self,
        word: str,
        bases: list[str],
        field: str,
        wanted: tuple[Pos, ...],
        value: str,
        path: str,
    ) -> Finding | None:
        given = " ".join(value.lower().split())
        accepted: list[str] = []
        known = False
        for base in bases:
            for pos in wanted:
                spelled = self.inflector.spellings(base, pos).get(field, ())
                accepted += [s for s in spelled if s not in accepted]
                if self._lemminflect_knows(base, pos) or self.wordnet.inflections(
                    self._key(base), pos
                ):
                    known = True
        if given in accepted:
            return None
        if field in ("comparative", "superlative"):
            head = "more " if field == "comparative" else "most "
            if any(given == head + base for base in bases):
                return None  # compared with more/most
        for base in bases:
            if self._lemminflect_form(base, given, field):
                return None
        name = _FORM_NAMES[field]
        expected = ", ".join(accepted[:3]) if accepted else f"no {name}"
        if not known:
            return Finding(
                "word_forms",
                path,
                value,
                expected,
                "warning",
                f"the sources do not know {word!r} well; they would give {expected}",
                "form_unsupported",
            )
        if not accepted:
            return Finding(
                "word_forms",
                path,
                value,
                expected,
                "warning",
                f"lemminflect and WordNet give {word!r} no {name}",
                "form_unsupported",
            )
        return Finding(
            "word_forms",
            path,
            value,
            expected,
            "error",
            f"{value!r} is not the {name} of {word!r}: lemminflect and WordNet give {expected}",
            "form_wrong",
        )

    def _lemminflect_knows(self, base: str, pos: Pos) -> bool:
        if " " in base:
            return False
        return bool(self.inflections(base, _UPOS[pos][0]))

    def _lemminflect_form(self, base: str, given: str, field: str) -> bool:
        if " " in base:
            return False
        table = self.inflections(base)
        if given == base and field == "plural":
            return base in table.get("NNS", ())  # sheep, fish
        return any(given in table.get(tag, ()) for tag in _FORM_TAGS[field]) and given != base

    def _missing_form(
        self, word: str, base: str, field: str, wanted: tuple[Pos, ...], path: str
    ) -> Finding | None:
        if " " in base or not base.isalpha():
            return None
        for pos in wanted[:1]:
            spelled = self.inflector.spellings(base, pos).get(field, ())
            if not spelled or spelled[0] == base:
                continue
            if spelled[0] in _regular_forms(base, field):
                continue
            name = _FORM_NAMES[field]
            return Finding(
                "word_forms",
                path,
                "",
                spelled[0],
                "warning",
                f"the irregular {name} {spelled[0]!r} is missing",
                "form_missing",
            )
        return None

    # --- parts of speech -------------------------------------------------------------------------

    def _parts_of_speech(
        self, word: str, lemma: Any, parts: list[Mapping[str, Any]]
    ) -> list[Finding]:
        findings: list[Finding] = []
        seen: set[str] = set()
        for index, part in enumerate(parts):
            pos = str(part.get("part_of_speech"))
            path = f"parts_of_speech[{index}].part_of_speech"
            if pos in seen:
                findings.append(
                    Finding(
                        "part_of_speech",
                        path,
                        pos,
                        "",
                        "info",
                        f"{pos} is listed twice; its senses belong in one group",
                        "part_repeated",
                    )
                )
                continue
            seen.add(pos)
            reason = self._unsupported_part(word, lemma, pos)
            if reason is not None:
                findings.append(
                    Finding(
                        "part_of_speech",
                        path,
                        pos,
                        self._known_parts(word),
                        "warning",
                        reason,
                        "part_unsupported",
                    )
                )
        return findings

    def _known_parts(self, word: str) -> str:
        key = self._key(word)
        found = [name for name, p in _WN_POS.items() if self.wordnet.has_lemma(key, p)]
        found += [name for name, words in CLOSED_CLASSES.items() if word.lower() in words]
        for _, p, _ in self.analysis(word):
            name = next(n for n, q in _WN_POS.items() if q == p)
            if name not in found:
                found.append(name)
        return ", ".join(found) or "nothing"

    def _unsupported_part(self, word: str, lemma: Any, pos: str) -> str | None:
        lower = " ".join(word.lower().split())
        key = self._key(word)
        multiword = " " in lower
        keys = [key]
        if isinstance(lemma, str) and _variant(word, lemma):  # ice-cream: ice cream, adrián
            keys.append(self._key(lemma))
        if pos in _WN_POS:
            p = _WN_POS[pos]
            if any(self.wordnet.has_lemma(k, p) for k in keys):
                return None
            if any(q == p for _, q, _ in self.analysis(word)):
                return None
            if not multiword and any(u in lemminflect.getAllLemmas(lower) for u in _UPOS[p]):
                return None
            if p == "a" and lower.isdigit():
                return None
            if not self._knows(word) and not lemminflect.getAllLemmas(lower):
                return None  # the sources know nothing of the word: no grounds to doubt
            if not self._knows(word) and any(self.wordnet.base_forms(key, p)):
                return None  # completer: read by WordNet's rules as a form of complete
            return f"WordNet and lemminflect do not give {word!r} as a {pos}"
        if pos in CLOSED_CLASSES:
            if lower in CLOSED_CLASSES[pos] or (pos == "numeral" and _number_word(lower)):
                return None
            if not self._knows(word) and not lemminflect.getAllLemmas(lower):
                return None
            return f"{word!r} is no {pos} the closed-class lists know (WordNet has the word)"
        if pos == "proper noun":
            if word[:1].isupper() or any(self._capitalised_in_wordnet(k) for k in keys):
                return None
            return f"{word!r} is written lowercase and WordNet has no capitalised {word!r}"
        if pos == "phrasal verb":
            head = key.split("_")[0]
            if multiword and (self.wordnet.has_lemma(head, "v") or self.analysis(head)):
                return None
            return f"{word!r} is not a verb with a particle"
        if pos in ("idiom", "phrase"):
            return None if multiword else f"{word!r} is one word, not a {pos}"
        if pos == "prefix":
            return (
                None if word.endswith("-") or not self._knows(word) else "not written as a prefix"
            )
        if pos == "suffix":
            return (
                None if word.startswith("-") or not self._knows(word) else "not written as a suffix"
            )
        return None

    def _capitalised_in_wordnet(self, key: str) -> bool:
        for synset in self.wordnet.synsets(key, "n"):
            if any(n.lower() == key and n[:1].isupper() for n in synset.lemmas):
                return True
        return False

    # --- senses: examples and consistency --------------------------------------------------------

    def example_forms(
        self, word: str, lemma: Any, forms: Any, parts: Iterable[str] = ("noun", "verb")
    ) -> frozenset[str]:
        """What an example of the entry may show: the word, its lemma and their forms in the
        entry's parts of speech (``parts``), and the forms the entry gives."""
        wanted = {_PART_POS[p] for p in parts if p in _PART_POS}
        return self._example_forms(
            " ".join(word.lower().split()),
            " ".join(lemma.lower().split()) if isinstance(lemma, str) else "",
            tuple(sorted(str(v).lower() for v in (forms or {}).values() if v))
            if isinstance(forms, Mapping)
            else (),
            tuple(p for p in ("n", "v", "a", "r") if p in wanted),
        )

    def _make_example_forms(
        self, word: str, lemma: str, given: tuple[str, ...], parts: tuple[Pos, ...]
    ) -> frozenset[str]:
        spellings = {word, *given}
        heads = {word}
        if lemma:
            heads.add(lemma)
        analysed = self.analysis(word)
        heads.update(m for m, _, _ in analysed)
        heads.update(b.replace("_", " ") for b in self._morphy(word))
        wanted = {*parts, *(p for _, p, _ in analysed)}
        for head in heads:
            spellings.add(head)
            for pos in wanted:
                for spelled in self.inflector.spellings(head, pos).values():
                    spellings.update(spelled)
            if " " not in head:
                for spelled in self.inflections(head).values():
                    spellings.update(spelled)
        return frozenset(spellings)

    def _senses(
        self, word: str, lemma: Any, forms: Any, parts: list[Mapping[str, Any]]
    ) -> list[Finding]:
        findings: list[Finding] = []
        shown = self.example_forms(
            word, lemma, forms, [str(p.get("part_of_speech")) for p in parts]
        )
        lower = word.lower()
        for p, part in enumerate(parts):
            definitions: dict[str, str] = {}  # a form's sense may repeat in another part
            for s, sense in enumerate(part.get("senses") or ()):
                if not isinstance(sense, Mapping):
                    continue
                where = f"parts_of_speech[{p}].senses[{s}]"
                findings += self._examples(word, sense, shown, where)
                synonyms = [str(x) for x in sense.get("synonyms") or ()]
                antonyms = [str(x) for x in sense.get("antonyms") or ()]
                folded = {x.lower() for x in synonyms}
                for i, synonym in enumerate(synonyms):
                    if synonym.lower() == lower:
                        findings.append(
                            Finding(
                                "synonyms",
                                f"{where}.synonyms[{i}]",
                                synonym,
                                "",
                                "warning",
                                "the headword is listed as its own synonym",
                                "synonym_is_word",
                            )
                        )
                for i, antonym in enumerate(antonyms):
                    if antonym.lower() == lower or antonym.lower() in folded:
                        what = "the headword" if antonym.lower() == lower else "also a synonym"
                        findings.append(
                            Finding(
                                "antonyms",
                                f"{where}.antonyms[{i}]",
                                antonym,
                                "",
                                "error",
                                f"the antonym {antonym!r} is {what}",
                                "antonym_contradicts",
                            )
                        )
                definition = _normal_definition(sense.get("definition"))
                if definition:
                    if definition in definitions:
                        findings.append(
                            Finding(
                                "senses",
                                f"{where}.definition",
                                str(sense.get("definition")),
                                definitions[definition],
                                "warning",
                                f"the same definition as {definitions[definition]}",
                                "sense_duplicate",
                            )
                        )
                    else:
                        definitions[definition] = where
        return findings

    def _examples(
        self, word: str, sense: Mapping[str, Any], shown: frozenset[str], where: str
    ) -> list[Finding]:
        findings: list[Finding] = []
        notes = str(sense.get("usage_notes") or "")
        synonyms = [m.strip() for m in _SYNONYM_NOTE.findall(notes)]
        for e, example in enumerate(sense.get("examples") or ()):
            text = str(example)
            if glosses.shows(text, shown):
                continue
            path = f"{where}.examples[{e}]"
            via = next((s for s in synonyms if glosses.shows(text, _inflected(s.lower()))), None)
            if via is not None:
                findings.append(
                    Finding(
                        "examples",
                        path,
                        text,
                        word,
                        "info",
                        f"the example shows the synonym {via!r}, not {word!r} (as its note says)",
                        "example_synonym",
                    )
                )
                continue
            findings.append(
                Finding(
                    "examples",
                    path,
                    text,
                    word,
                    "warning",
                    f"the example shows neither {word!r} nor one of its forms",
                    "example_without_word",
                )
            )
        return findings

    # --- labels ----------------------------------------------------------------------------------

    def _labels(self, word: str, data: Mapping[str, Any]) -> list[Finding]:
        findings: list[Finding] = []
        zipf = self.zipf(word)
        cefr = data.get("cefr_level")
        expected_cefr = frequency.estimated_cefr(zipf)
        if isinstance(cefr, str) and cefr in _CEFR:
            if expected_cefr is None:
                if cefr in ("A1", "A2"):
                    findings.append(
                        Finding(
                            "cefr_level",
                            "cefr_level",
                            cefr,
                            "unknown to wordfreq",
                            "warning",
                            f"{cefr} is a beginner's level, but wordfreq does not know the word",
                            "cefr_far",
                        )
                    )
            elif abs(_CEFR.index(cefr) - _CEFR.index(expected_cefr.value)) > LEVEL_GAP:
                # numbers and function words are taught early, whatever their frequency
                early = _CEFR.index(cefr) < _CEFR.index(expected_cefr.value) and any(
                    str(p.get("part_of_speech")) in CLOSED_CLASSES
                    for p in data.get("parts_of_speech") or ()
                    if isinstance(p, Mapping)
                )
                findings.append(
                    Finding(
                        "cefr_level",
                        "cefr_level",
                        cefr,
                        expected_cefr.value,
                        "info" if early else "warning",
                        f"{cefr} is far from the word's frequency (Zipf {zipf:.1f}, about "
                        f"{expected_cefr.value})"
                        + ("; a closed-class word is often taught earlier" if early else ""),
                        "cefr_far",
                    )
                )
        band = data.get("frequency_band")
        expected_band = frequency.frequency_band(zipf)
        if isinstance(band, int) and not isinstance(band, bool):
            if expected_band is None:
                if band >= 4:
                    findings.append(
                        Finding(
                            "frequency_band",
                            "frequency_band",
                            str(band),
                            "unknown to wordfreq",
                            "warning",
                            f"band {band} is common, but wordfreq does not know the word",
                            "band_far",
                        )
                    )
            elif abs(band - expected_band) > LEVEL_GAP:
                findings.append(
                    Finding(
                        "frequency_band",
                        "frequency_band",
                        str(band),
                        str(expected_band),
                        "warning",
                        f"band {band} is far from the word's frequency (Zipf {zipf:.1f}, band "
                        f"{expected_band})",
                        "band_far",
                    )
                )
        return findings


# --- helpers -------------------------------------------------------------------------------------


def _first_and_each(
    per_token: Sequence[Sequence[tuple[Phone, ...]]],
) -> list[tuple[tuple[Phone, ...], ...]]:
    """Readings of an expression: every word's first reading, then each word's other readings
    with the others' first (not every combination: an expression's words multiply)."""
    first = tuple(r[0] for r in per_token)
    combos = [first]
    for i, readings in enumerate(per_token):
        for other in readings[1:]:
            combos.append((*first[:i], other, *first[i + 1 :]))
    return combos


def _regular_forms(base: str, field: str) -> set[str]:
    both = (True, False)
    if field in ("plural", "third_person_singular"):
        return set(s_forms(base))
    if field in ("past_tense", "past_participle"):
        return set(ed_forms(base, both))
    if field == "present_participle":
        return set(ing_forms(base, both))
    pairs = comparison_forms(base, both)
    return {c for c, _ in pairs} if field == "comparative" else {s for _, s in pairs}


def _variant(word: str, lemma: str) -> bool:
    """Whether ``lemma`` is ``word`` spelled another way: case, accents, hyphens or spaces."""

    def plain(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text.lower())
        letters = "".join(c for c in decomposed if not unicodedata.combining(c))
        return re.sub(r"[\s\-_'’.]", "", letters.replace("æ", "ae").replace("œ", "oe"))

    return plain(word) == plain(lemma)


def _fold(text: str) -> str:
    """``text`` without accents (``cafés`` -> ``cafes``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def _numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[\d.,]+(st|nd|rd|th)?", text))


_NUMBER_WORD = re.compile(
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)-?)?"
    r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|hundred|thousand|million|billion|trillion|first|second|third|fourth|fifth|"
    r"sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|"
    r"sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth|fortieth|fiftieth|"
    r"sixtieth|seventieth|eightieth|ninetieth|hundredth|thousandth|millionth|billionth)"
)


def _number_word(text: str) -> bool:
    """Digits, or a number word written out (``eighteenth``, ``twenty-one``)."""
    return _numeric(text) or bool(_NUMBER_WORD.fullmatch(text))


def _normal_definition(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def summarise(findings: Iterable[Finding]) -> dict[str, int]:
    """How many findings of each severity."""
    counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for finding in findings:
        counts[finding.severity] += 1
    return counts
