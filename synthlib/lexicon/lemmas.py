"""Which lemma a word is an inflected form of: ``children`` is the plural of ``child``, ``went``
the past tense of ``go``, ``better`` the comparative of ``good`` and of ``well``.

Candidate lemmas come from WordNet (its exception lists and Morphy's rules of detachment, through
:meth:`WordNet.base_forms`) and from whatever else the caller proposes (the inflector proposes
lemminflect's lemmas). Morphy only strips endings, so it proposes bases the word is no form of
(``news`` -> ``new``); every candidate is therefore confirmed by generating the forms of the
candidate lemma and finding the word among them.

What a caller may rely on for :func:`analyse`:

* Each :class:`Inflection` names a lemma WordNet has in that part of speech (written with spaces,
  as in ``give up``), never the word itself: ``set`` is not "past tense of set".
* The word is one of the spellings the ``spellings`` callable accepts for that form of that lemma,
  so an analysis never says more than the generator of word forms would.
* A verb form that is both the past tense and the past participle (``left``, ``taught``) is one
  :class:`Inflection` with the form ``"past tense and past participle"``; other coincidences
  (``studies``: noun plural and verb third person) are one Inflection per part of speech.
* Results are ordered by how often the lemma was tagged in that part of speech in WordNet's
  semantic concordances (``cntlist.rev``), the most frequent first; ties keep the order candidates
  were found in (exception lists, then Morphy, then proposed lemmas).
* A word that is no inflected form of anything (``table``, ``quickly``) gives ``[]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from .wordnet import POS_ORDER, Pos, WordNet

Form = Literal[
    "plural",
    "past tense",
    "past participle",
    "past tense and past participle",
    "present participle",
    "third person singular",
    "comparative",
    "superlative",
]
"""The name of an inflected form, as an entry states it ("past tense of go")."""

Spellings = Mapping[str, tuple[str, ...]]
"""Accepted spellings per :class:`synthlib.core.schema.WordForms` field, the preferred one first."""

_FORM_OF_FIELD: Final[dict[str, Form]] = {
    "plural": "plural",
    "past_tense": "past tense",
    "past_participle": "past participle",
    "present_participle": "present participle",
    "third_person_singular": "third person singular",
    "comparative": "comparative",
    "superlative": "superlative",
}


@dataclass(frozen=True, slots=True)
class Inflection:
    """``word`` is the ``form`` of ``lemma`` (spaces, not underscores) in part of speech ``pos``."""

    lemma: str
    pos: Pos
    form: Form


def forms_named(fields: Iterable[str]) -> list[Form]:
    """The form names for the WordForms fields a word matched, past tense and participle merged."""
    matched = list(dict.fromkeys(fields))
    if "past_tense" in matched and "past_participle" in matched:
        matched.remove("past_participle")
        return [
            "past tense and past participle" if f == "past_tense" else _FORM_OF_FIELD[f]
            for f in matched
        ]
    return [_FORM_OF_FIELD[f] for f in matched]


def analyse(
    word: str,
    *,
    wordnet: WordNet,
    spellings: Callable[[str, Pos], Spellings],
    proposed: Iterable[tuple[str, Pos]] = (),
) -> list[Inflection]:
    """The lemmas ``word`` is an inflected form of (see the module docstring).

    ``spellings(lemma, pos)`` gives the forms of a lemma (spaces, not underscores); ``proposed``
    adds candidate lemmas to WordNet's own, as (lemma, part of speech) pairs.
    """
    text = " ".join(word.split())
    key = text.replace(" ", "_")
    candidates: dict[tuple[str, Pos], None] = {}
    for pos in POS_ORDER:
        for base in wordnet.base_forms(key, pos):
            candidates[(base, pos)] = None
    for lemma, pos in proposed:
        lemma_key = lemma.replace(" ", "_")
        if lemma_key != key and wordnet.has_lemma(lemma_key, pos):
            candidates[(lemma_key, pos)] = None
    found: list[tuple[int, Inflection]] = []
    for lemma_key, pos in candidates:
        lemma = lemma_key.replace("_", " ")
        forms = spellings(lemma, pos)
        matched = [field for field, spelled in forms.items() if text in spelled]
        tags = wordnet.tag_count(lemma_key, pos)
        found += [(tags, Inflection(lemma, pos, form)) for form in forms_named(matched)]
    found.sort(key=lambda pair: -pair[0])  # stable: ties keep the order of discovery
    return [inflection for _, inflection in found]
