"""Word frequency from wordfreq, as the entry's frequency band and an estimated CEFR level.

wordfreq's Zipf frequency is log10 of occurrences per billion words: 6 is once per thousand words
("said"), 3 once per million. Multi-word expressions get wordfreq's own estimate for the phrase.

Frequency band (:func:`frequency_band`), 1 rare ... 5 very common:

====================  ====
Zipf frequency        band
====================  ====
>= 6.0                5
>= 5.0                4
>= 4.0                3
>= 3.0                2
> 0                   1
0 (unknown to it)     None
====================  ====

The CEFR level (:func:`estimated_cefr`) is an ESTIMATE from frequency alone, not a level from a
vocabulary profile: common words are assumed to be learnt first. The cut-offs were set from
wordfreq's ranking of English word forms (Zipf 5.0 is about rank 1,000, 4.5 rank 3,000, 4.0 rank
7,000, 3.5 rank 15,000, 3.0 rank 30,000) against the usual sizes of CEFR vocabularies:

====================  =====
Zipf frequency        CEFR
====================  =====
>= 5.0                A1
>= 4.5                A2
>= 4.0                B1
>= 3.5                B2
>= 3.0                C1
> 0                   C2
0                     None
====================  =====

The estimate is said once, in an offline entry's provenance (the entry card's provenance line),
not on each entry or sense: :data:`CEFR_NOTE` is that text. Closed-class entries
(:mod:`.closed`) carry levels written for them, not estimates.
"""

from __future__ import annotations

from typing import Final

from ..core.schema import CEFR

CEFR_NOTE: Final[str] = "CEFR level estimated from word frequency"

BAND_THRESHOLDS: Final[tuple[tuple[float, int], ...]] = ((6.0, 5), (5.0, 4), (4.0, 3), (3.0, 2))
CEFR_THRESHOLDS: Final[tuple[tuple[float, CEFR], ...]] = (
    (5.0, CEFR.A1),
    (4.5, CEFR.A2),
    (4.0, CEFR.B1),
    (3.5, CEFR.B2),
    (3.0, CEFR.C1),
)


def zipf(word: str) -> float:
    """wordfreq's Zipf frequency of ``word`` in English; 0.0 when wordfreq does not know it."""
    from wordfreq import zipf_frequency  # imported late: loading wordfreq takes a moment

    return zipf_frequency(word, "en")


_TABLE: dict[str, float] | None = None


def commonness(text: str) -> float:
    """A cheap measure for ordering words by frequency (a synonym list): wordfreq's probability
    of a single word, and for an expression its rarest word's divided by 1,000 (an expression
    is rarer than any of its words). Read from wordfreq's table, loaded on first use."""
    global _TABLE
    if _TABLE is None:
        from wordfreq import get_frequency_dict

        _TABLE = get_frequency_dict("en")
    table = _TABLE
    words = text.lower().split()
    if len(words) == 1:
        return table.get(words[0], 0.0)
    return min(table.get(w, 0.0) for w in words) / 1000


def frequency_band(zipf_value: float) -> int | None:
    """Band 1 (rare) ... 5 (very common) of a Zipf frequency; None for 0 (unknown)."""
    if zipf_value <= 0:
        return None
    for threshold, band in BAND_THRESHOLDS:
        if zipf_value >= threshold:
            return band
    return 1


def estimated_cefr(zipf_value: float) -> CEFR | None:
    """An ESTIMATED CEFR level from frequency alone (see the table above); None for 0."""
    if zipf_value <= 0:
        return None
    for threshold, level in CEFR_THRESHOLDS:
        if zipf_value >= threshold:
            return level
    return CEFR.C2


def wordfreq_version() -> str:
    """The installed wordfreq version (its data changes with it)."""
    from importlib.metadata import version

    return version("wordfreq")


def warm_up() -> None:
    """Load wordfreq's English table now rather than on the first lookup."""
    zipf("the")
