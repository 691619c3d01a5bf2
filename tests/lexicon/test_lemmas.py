"""Inflection analysis: which lemma a word is a form of, confirmed by generating the form."""

from __future__ import annotations

import pytest

from synthlib.lexicon import Lexicon
from synthlib.lexicon.lemmas import Inflection, forms_named


def _analysis(lexicon: Lexicon, word: str) -> list[tuple[str, str, str]]:
    return [(i.lemma, i.pos, i.form) for i in lexicon.inflector.analyse(word)]


# --- one reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "lemma", "pos", "form"),
    [
        ("children", "child", "n", "plural"),
        ("mice", "mouse", "n", "plural"),
        ("geese", "goose", "n", "plural"),
        ("data", "datum", "n", "plural"),
        ("went", "go", "v", "past tense"),
        ("gone", "go", "v", "past participle"),
        ("ran", "run", "v", "past tense"),
        ("saw", "see", "v", "past tense"),
        ("taught", "teach", "v", "past tense and past participle"),
        ("left", "leave", "v", "past tense and past participle"),
    ],
)
def test_an_irregular_form_has_one_reading(lexicon: Lexicon, word, lemma, pos, form):
    assert _analysis(lexicon, word) == [(lemma, pos, form)]


def test_a_verb_form_is_found_though_the_word_is_also_a_noun(lexicon: Lexicon):
    assert ("break", "v", "present participle") in _analysis(lexicon, "breaking")


# --- several readings ----------------------------------------------------------------------------


def test_better_is_the_comparative_of_good_and_of_well(lexicon: Lexicon):
    analysis = _analysis(lexicon, "better")
    assert analysis[0] == ("good", "a", "comparative")
    assert ("well", "r", "comparative") in analysis


def test_best_is_the_superlative_of_good_and_of_well(lexicon: Lexicon):
    analysis = _analysis(lexicon, "best")
    assert analysis[0] == ("good", "a", "superlative")
    assert ("well", "r", "superlative") in analysis


def test_leaves_is_a_plural_of_leaf_and_a_third_person_of_leave(lexicon: Lexicon):
    analysis = _analysis(lexicon, "leaves")
    assert ("leaf", "n", "plural") in analysis
    assert ("leave", "v", "third person singular") in analysis


def test_studies_is_a_noun_plural_and_a_verb_third_person(lexicon: Lexicon):
    analysis = _analysis(lexicon, "studies")
    assert set(analysis) == {("study", "n", "plural"), ("study", "v", "third person singular")}


def test_readings_are_ordered_by_how_often_the_lemma_is_tagged(lexicon: Lexicon):
    wordnet = lexicon.wordnet
    inflections = lexicon.inflector.analyse("leaves")
    tags = [wordnet.tag_count(i.lemma.replace(" ", "_"), i.pos) for i in inflections]
    assert tags == sorted(tags, reverse=True)


# --- no reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["table", "quickly"])
def test_a_word_that_is_no_form_has_no_reading(lexicon: Lexicon, word: str):
    assert _analysis(lexicon, word) == []


def test_a_word_is_never_a_form_of_itself(lexicon: Lexicon):
    assert all(lemma != "set" for lemma, _, _ in _analysis(lexicon, "set"))


def test_a_spurious_morphy_base_is_dropped(lexicon: Lexicon):
    # Morphy strips -s from "news" and -ing from "bring"; neither is a form of what is left
    assert _analysis(lexicon, "news") == []
    assert all(lemma != "br" for lemma, _, _ in _analysis(lexicon, "bring"))


def test_an_uncountable_noun_has_no_plural_to_analyse(lexicon: Lexicon):
    assert ("information", "n", "plural") not in _analysis(lexicon, "informations")


# --- expressions ---------------------------------------------------------------------------------


def test_a_phrasal_verb_is_analysed_by_its_verb(lexicon: Lexicon):
    assert _analysis(lexicon, "gave up") == [("give up", "v", "past tense")]


def test_a_noun_expression_is_analysed_by_its_last_word(lexicon: Lexicon):
    assert ("ice cream", "n", "plural") in _analysis(lexicon, "ice creams")


# --- agreement with the generator ----------------------------------------------------------------


@pytest.mark.parametrize("word", ["children", "went", "left", "better", "studies", "gave up"])
def test_every_reading_is_a_spelling_of_its_lemma(lexicon: Lexicon, word: str):
    for inflection in lexicon.inflector.analyse(word):
        spellings = lexicon.inflector.spellings(inflection.lemma, inflection.pos)
        assert any(word in spelled for spelled in spellings.values())


def test_past_tense_and_participle_merge_into_one_form():
    assert forms_named(["past_tense", "past_participle"]) == ["past tense and past participle"]
    assert forms_named(["past_participle"]) == ["past participle"]


def test_an_inflection_is_a_frozen_value():
    inflection = Inflection("go", "v", "past tense")
    assert inflection == Inflection("go", "v", "past tense")
    with pytest.raises(AttributeError):
        inflection.lemma = "come"  # type: ignore[misc]
