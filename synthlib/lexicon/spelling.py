"""British and American spellings: the American spellings a British one may stand for.

:func:`american_spellings` proposes, by the regular correspondences (colour -> color, centre ->
center, defence -> defense, travelled -> traveled, organise -> organize, analyse -> analyze,
catalogue -> catalog, programme -> program, anaemia -> anemia) and a short list of single words
(grey -> gray, tyre -> tire, cheque -> check), the spellings a lowercase word would have in
American English. Candidates only: whoever uses them checks that the spelling exists and means
the same (:class:`synthlib.lexicon.Lexicon` does, against WordNet).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["american_spellings"]

BRITISH_ENDINGS: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern), american)
    for pattern, american in (
        (r"our(s|ed|ing|ite|ites|ful|able|less|er|ers)?$", r"or\1"),  # colour, favourite
        (r"tre(s)?$", r"ter\1"),  # centre, theatre, metres
        (r"tr(ed|ing)$", r"ter\1"),  # centred, centring
        (r"ence(s)?$", r"ense\1"),  # defence, licence, offence
        (r"([aeiou])ll(ed|ing|er|ers)$", r"\1l\2"),  # travelled, cancelling, traveller
        (r"is(e|es|ed|ing|ation|ations)$", r"iz\1"),  # organise, realised, organisation
        (r"ys(e|es|ed|ing)$", r"yz\1"),  # analyse, paralysed
        (r"ogue(s)?$", r"og\1"),  # catalogue
        (r"mme(s)?$", r"m\1"),  # programme
        (r"ae", "e"),  # anaemia, paediatric
        (r"oe", "e"),  # oestrogen, manoeuvre
    )
)
BRITISH_WORDS: Final[dict[str, str]] = {
    "grey": "gray",
    "tyre": "tire",
    "kerb": "curb",
    "cheque": "check",
    "plough": "plow",
    "sceptic": "skeptic",
    "sceptical": "skeptical",
    "mould": "mold",
    "aluminium": "aluminum",
    "pyjamas": "pajamas",
    "draught": "draft",
    "storey": "story",
    "jewellery": "jewelry",
    "ageing": "aging",
    "moustache": "mustache",
    "cosy": "cozy",
    "enrol": "enroll",
    "fulfil": "fulfill",
    "skilful": "skillful",
    "woollen": "woolen",
    "manoeuvre": "maneuver",
}


def american_spellings(word: str) -> list[str]:
    """American spellings ``word`` might be the British spelling of, by the regular
    correspondences and a short list of single words; the caller checks they exist."""
    found = [BRITISH_WORDS[word]] if word in BRITISH_WORDS else []
    for pattern, american in BRITISH_ENDINGS:
        changed = pattern.sub(american, word, count=1)
        if changed != word and changed not in found:
            found.append(changed)
    return found
