"""Comparing pronunciations as phonemes, past notation and accent.

:func:`phonemes` turns ARPAbet (with stress digits) into comparable phonemes: vowels by class
(cot/caught, British e/eI, i/I fall together), ``ER`` as a schwa and r, an r after a vowel dropped
unless a vowel follows. :func:`phoneme_distance` is their edit distance over the longer's length
(0 the same, 1 nothing in common). The audit uses them to tell an IPA that reads another word from
one in another accent; the pronouncer to tell whether CMUdict's entry for a folded spelling says
the accented word (``café``) or another one (``chargé`` is no ``charge``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

__all__ = ["Phone", "phoneme_distance", "phonemes", "syllable_count"]

_VOWELS: Final = frozenset(
    {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
)
# vowel classes within which notation and accent vary (cot/caught, British e/eɪ, i/ɪ)
_VOWEL_CLASS: Final[dict[str, str]] = {
    "AA": "A",
    "AO": "A",
    "AE": "Æ",
    "AH": "Ə",
    "ER": "Ə",
    "EH": "E",
    "EY": "E",
    "IH": "I",
    "IY": "I",
    "OW": "O",
    "UH": "U",
    "UW": "U",
    "AY": "AY",
    "AW": "AW",
    "OY": "OY",
}

Phone = tuple[str, int]  # (class, stress: -1 consonant, 0 none, 1 primary, 2 secondary)


def phonemes(arpabet: Sequence[str]) -> list[Phone]:
    """ARPAbet phones (with stress digits) as comparable phonemes: vowels by class, ``ER`` as a
    schwa + r, and an r after a vowel dropped unless a vowel follows (rhoticity is an accent)."""
    spread: list[Phone] = []
    for phone in arpabet:
        base = phone.rstrip("012")
        digit = int(phone[-1]) if phone[-1].isdigit() else (0 if base in _VOWELS else -1)
        if base == "ER":
            spread += [("Ə", digit), ("R", -1)]
        elif base in _VOWELS:
            spread.append((_VOWEL_CLASS[base], digit))
        else:
            spread.append((base, -1))
    out: list[Phone] = []
    for i, (symbol, stress) in enumerate(spread):
        if symbol == "R":
            after_vowel = bool(out) and out[-1][1] >= 0
            before_vowel = i + 1 < len(spread) and spread[i + 1][1] >= 0
            if (after_vowel and not before_vowel) or (out and out[-1][0] == "R"):
                continue
        out.append((symbol, stress))
    return out


def _cost(a: Phone, b: Phone) -> float:
    if a[0] == b[0]:
        return 0.0
    if a[1] >= 0 and b[1] >= 0:  # two vowels: an unstressed one is often reduced
        return 0.25 if a[1] == 0 or b[1] == 0 else 0.5
    return 1.0


def phoneme_distance(a: Sequence[Phone], b: Sequence[Phone]) -> float:
    """Edit distance of two phoneme sequences (vowels of another class count half, a reduced
    vowel a quarter), divided by the longer one's length: 0 the same, 1 nothing in common."""
    if not a or not b:
        return 1.0
    if len(a) == len(b) and all(x[0] == y[0] for x, y in zip(a, b, strict=True)):
        return 0.0  # the common case: the same phonemes
    row = [float(j) for j in range(len(b) + 1)]
    for i, x in enumerate(a, 1):
        diagonal, row[0] = row[0], float(i)
        for j, y in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + _cost(x, y))
    return row[-1] / max(len(a), len(b))


def syllable_count(phones: Sequence[Phone]) -> int:
    """How many vowels (syllables) a phoneme sequence says."""
    return sum(1 for _, stress in phones if stress >= 0)
