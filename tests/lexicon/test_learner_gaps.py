"""The gaps issue 21 left (its closing note): everyday first senses per part of speech, accented
words said as themselves, capitalised British spellings. Expectations were written from a
learner's dictionary's point of view before the code changed, on words apart from the issue's
examples (table, party, brush, tear, excuse; chargé, rosé, café, née, fiancé; Colour, Centre)
and from the benchmark's lists; the rules were not tuned on them (held out)."""

from __future__ import annotations

import pytest

from synthlib.core.schema import Entry
from synthlib.lexicon import Lexicon
from synthlib.lexicon.pronounce import ESTIMATED_NOTE


def _entry(lexicon: Lexicon, word: str) -> Entry:
    entry = lexicon.entry(word)
    assert entry is not None, word
    return entry


def _first_of(entry: Entry, part: str) -> str:
    """The first sense's definition of the first group of ``part``."""
    for group in entry.parts_of_speech:
        if group.part_of_speech.value == part:
            return group.senses[0].definition
    raise AssertionError(f"{entry.word} has no {part}")


# --- everyday senses first, per part of speech (held out) ----------------------------------------


_NOT_YET = pytest.mark.xfail(
    strict=True,
    reason="WordNet's tag counts still lead: no rule tried (a sense the word's noun and verb "
    "share, a concrete lexicographer file, a synonym that is a compound of the word, part-of-"
    "speech order by sense count where tags are few) improved the held-out list C",
)


@pytest.mark.parametrize(
    ("word", "part", "everyday"),
    [
        pytest.param("bank", "noun", ("money", "financial", "deposit"), marks=_NOT_YET),
        pytest.param("plant", "noun", ("organism", "living", "grow"), marks=_NOT_YET),
        pytest.param("ring", "noun", ("circle", "circular", "finger", "jewel"), marks=_NOT_YET),
        pytest.param("band", "noun", ("music",), marks=_NOT_YET),
        pytest.param(
            "club", "noun", ("association", "members", "organization", "people"), marks=_NOT_YET
        ),
        pytest.param("sheet", "noun", ("bed", "paper", "cloth"), marks=_NOT_YET),
        ("tie", "noun", ("neck",)),
        ("tie", "verb", ("fasten", "knot", "string", "rope")),
    ],
)
def test_the_everyday_sense_of_each_part_of_speech_comes_first(
    lexicon: Lexicon, word: str, part: str, everyday: tuple[str, ...]
):
    first = _first_of(_entry(lexicon, word), part).lower()
    assert any(k in first for k in everyday), first


# --- accented words: CMUdict's folded spelling only when it says the same word --------------------


@pytest.mark.parametrize("word", ["sauté", "purée", "blasé", "risqué", "émigré", "mêlée", "abbé"])
def test_an_accented_loanword_says_its_final_e(lexicon: Lexicon, word: str):
    spoken = lexicon.pronouncer.pronunciation(word)
    assert spoken is not None and spoken.ipa.rstrip("/").endswith("eɪ"), word


# blasé was expected here, but CMUdict's blase is /ˈbleɪz/: estimated now, its é said (above)
@pytest.mark.parametrize("word", ["sauté", "purée", "risqué", "émigré", "mêlée", "abbé"])
def test_an_accented_loanword_takes_cmudicts_reading_of_its_folded_spelling(
    lexicon: Lexicon, word: str
):
    spoken = lexicon.pronouncer.pronunciation(word)
    assert spoken is not None and spoken.note is None, word


@pytest.mark.parametrize(
    ("word", "not_folded"),
    [
        pytest.param(
            "pâte",
            "pate",
            marks=pytest.mark.xfail(
                strict=True,
                reason="eSpeak NG reads pâte as CMUdict's pate: nothing tells them apart",
            ),
        ),
        ("lamé", "lame"),
    ],
)
def test_an_accented_word_whose_folded_spelling_is_another_word_is_estimated(
    lexicon: Lexicon, word: str, not_folded: str
):
    spoken = lexicon.pronouncer.pronunciation(word)
    other = lexicon.pronouncer.pronunciation(not_folded)
    assert spoken is not None and other is not None
    assert spoken.note == ESTIMATED_NOTE
    assert spoken.ipa != other.ipa


# --- capitalised British spellings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("british", "american"),
    [
        ("Theatre", "theater"),
        ("Neighbour", "neighbor"),
        ("Humour", "humor"),
        ("Realise", "realize"),
    ],
)
def test_a_capitalised_british_spelling_is_tied_to_the_american_headword(
    lexicon: Lexicon, british: str, american: str
):
    entry = _entry(lexicon, british)
    assert entry.word == british and entry.lemma == american
    first, *rest = entry.parts_of_speech[0].senses
    assert first.definition == f"British spelling of {american}"
    theirs = _entry(lexicon, american).parts_of_speech[0].senses
    assert [s.definition for s in rest] == [s.definition for s in theirs][: len(rest)]


def test_a_capitalised_british_spelling_keeps_its_own_proper_noun_after_the_tie(lexicon: Lexicon):
    # Metre: no proper noun; a British spelling that is also a name keeps the name, after
    entry = _entry(lexicon, "Centre")
    assert entry.parts_of_speech[0].senses[0].definition == "British spelling of center"
    assert entry.parts_of_speech[-1].part_of_speech.value == "proper noun"


def test_a_capitalised_word_that_only_looks_british_keeps_its_own_senses(lexicon: Lexicon):
    for word in ("Advertise", "Tour", "Goes"):
        entry = lexicon.entry(word)
        assert entry is None or not any(
            s.definition.startswith("British") for p in entry.parts_of_speech for s in p.senses
        ), word
