"""Word forms: spelling rules, the reading of WordNet's exception lists, and real words."""

from __future__ import annotations

import pytest

from synthlib.lexicon import Lexicon
from synthlib.lexicon.forms import (
    classify_verb_exceptions,
    comparison_forms,
    doubling_choices,
    ed_forms,
    ends_consonant_vowel_consonant,
    ing_forms,
    s_forms,
)
from synthlib.lexicon.pronounce import syllabify

# --- spelling rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "forms"),
    [
        ("box", ["boxes"]),
        ("church", ["churches"]),
        ("wish", ["wishes"]),
        ("bus", ["buses"]),
        ("city", ["cities"]),
        ("play", ["plays"]),
        ("bank", ["banks"]),
        ("potato", ["potatos", "potatoes"]),
    ],
)
def test_s_forms(word: str, forms: list[str]):
    assert s_forms(word) == forms


def test_ed_and_ing_forms():
    assert ed_forms("bake", (False,)) == ["baked"]
    assert ed_forms("try", (False,)) == ["tried"]
    assert ed_forms("stop", (True,)) == ["stopped"]
    assert ed_forms("panic", (False,)) == ["panicked"]
    assert ing_forms("make", (False,)) == ["making"]
    assert ing_forms("see", (False,)) == ["seeing"]
    assert ing_forms("die", (False,)) == ["dying"]
    assert ing_forms("run", (True,)) == ["running"]
    assert ing_forms("kidnap", (True, False)) == ["kidnapping", "kidnaping"]


def test_comparison_forms():
    assert comparison_forms("big", (True,)) == [("bigger", "biggest")]
    assert comparison_forms("happy", (False,)) == [("happier", "happiest")]
    assert comparison_forms("nice", (False,)) == [("nicer", "nicest")]
    assert comparison_forms("cold", (False,)) == [("colder", "coldest")]


def test_consonant_doubling_shape():
    assert ends_consonant_vowel_consonant("stop")
    assert ends_consonant_vowel_consonant("quit")  # the u of qu is a consonant
    assert not ends_consonant_vowel_consonant("cool")
    assert not ends_consonant_vowel_consonant("snow")
    assert not ends_consonant_vowel_consonant("fix")


def test_doubling_follows_the_stress_of_the_last_syllable():
    begin = tuple(syllabify(["B", "IH0", "G", "IH1", "N"]))
    visit = tuple(syllabify(["V", "IH1", "Z", "AH0", "T"]))
    kidnap = tuple(syllabify(["K", "IH1", "D", "N", "AE2", "P"]))
    assert doubling_choices("begin", begin) == (True,)
    assert doubling_choices("visit", visit) == (False,)
    assert doubling_choices("kidnap", kidnap) == (True, False)
    assert doubling_choices("stop", None) == (True,)


# --- the exception lists -------------------------------------------------------------------------


def test_classify_irregular_verbs():
    go = classify_verb_exceptions("go", ["gone", "went"])
    assert go["past_tense"] == ["went"] and go["past_participle"] == ["gone"]
    begin = classify_verb_exceptions("begin", ["began", "begun", "beginning"])
    assert begin["past_tense"] == ["began"] and begin["past_participle"] == ["begun"]
    assert begin["present_participle"] == ["beginning"]
    run = classify_verb_exceptions("run", ["ran", "running"])
    assert run["past_tense"] == ["ran"] and run["past_participle"] == ["run"]
    teach = classify_verb_exceptions("teach", ["taught"])
    assert teach["past_tense"] == teach["past_participle"] == ["taught"]
    have = classify_verb_exceptions("have", ["had", "has", "having"])
    assert have["third_person_singular"] == ["has"]


def test_exception_lists_read_backwards(lexicon: Lexicon):
    assert set(lexicon.wordnet.inflections("go", "v")) >= {"went", "gone"}
    assert lexicon.wordnet.inflections("mouse", "n") == ["mice"]


# --- real words ----------------------------------------------------------------------------------


def _forms(lexicon: Lexicon, word: str):
    entry = lexicon.entry(word)
    assert entry is not None
    return entry.word_forms


def test_run_and_go(lexicon: Lexicon):
    run = _forms(lexicon, "run")
    assert (run.past_tense, run.past_participle) == ("ran", "run")
    assert (run.present_participle, run.third_person_singular) == ("running", "runs")
    go = _forms(lexicon, "go")
    assert (go.past_tense, go.past_participle) == ("went", "gone")
    assert (go.present_participle, go.third_person_singular) == ("going", "goes")


@pytest.mark.parametrize(
    ("word", "past", "participle"),
    [
        ("stop", "stopped", "stopped"),
        ("visit", "visited", "visited"),
        ("lie", "lay", "lain"),
        ("begin", "began", "begun"),
        ("prefer", "preferred", "preferred"),
        ("try", "tried", "tried"),
        ("be", "was", "been"),
    ],
)
def test_verb_pasts(lexicon: Lexicon, word: str, past: str, participle: str):
    forms = _forms(lexicon, word)
    assert (forms.past_tense, forms.past_participle) == (past, participle)


def test_zero_change_verbs_keep_the_base_as_past(lexicon: Lexicon):
    put = _forms(lexicon, "put")
    assert (put.past_tense, put.past_participle) == ("put", "put")  # not "putted"
    assert put.present_participle == "putting"


@pytest.mark.parametrize(
    ("word", "plural"),
    [
        ("bank", "banks"),
        ("mouse", "mice"),
        ("child", "children"),
        ("woman", "women"),
        ("city", "cities"),
        ("box", "boxes"),
        ("potato", "potatoes"),
        ("photo", "photos"),
        ("ice cream", "ice creams"),
        ("information", None),
        ("advice", None),
        ("music", None),
        ("history", "histories"),
        ("datum", "data"),
    ],
)
def test_plurals(lexicon: Lexicon, word: str, plural: str | None):
    forms = _forms(lexicon, word)
    assert (forms.plural if forms else None) == plural


def test_only_the_parts_of_speech_the_word_has(lexicon: Lexicon):
    apple = _forms(lexicon, "apple")
    assert apple.plural == "apples"
    assert apple.past_tense is None and apple.comparative is None
    big = _forms(lexicon, "big")
    assert (big.comparative, big.superlative) == ("bigger", "biggest")
    assert big.plural is None and big.past_tense is None


@pytest.mark.parametrize(
    ("word", "comparative", "superlative"),
    [
        ("happy", "happier", "happiest"),
        ("good", "better", "best"),
        ("bad", "worse", "worst"),
        ("nice", "nicer", "nicest"),
        ("beautiful", None, None),
        ("main", None, None),
        ("modern", None, None),
        ("black", "blacker", "blackest"),
        ("simple", "simpler", "simplest"),
        ("free", "freer", "freest"),
        ("far", "further", "furthest"),
        ("wrong", None, None),
    ],
)
def test_comparison(lexicon: Lexicon, word: str, comparative, superlative):
    forms = _forms(lexicon, word)
    got = (forms.comparative, forms.superlative) if forms else (None, None)
    assert got == (comparative, superlative)


def test_phrasal_verb_inflects_its_verb(lexicon: Lexicon):
    forms = _forms(lexicon, "give up")
    assert (forms.past_tense, forms.past_participle) == ("gave up", "given up")
    assert (forms.present_participle, forms.third_person_singular) == ("giving up", "gives up")


def test_inflected_words_have_no_forms_of_their_own(lexicon: Lexicon):
    assert _forms(lexicon, "mice") is None
    assert _forms(lexicon, "ran") is None


# --- forms the hand rules alone missed -----------------------------------------------------------


def _all_verb_forms(forms) -> tuple[str | None, ...]:
    return (
        forms.past_tense,
        forms.past_participle,
        forms.present_participle,
        forms.third_person_singular,
    )


def test_set_has_its_zero_change_past(lexicon: Lexicon):
    forms = _forms(lexicon, "set")
    assert _all_verb_forms(forms) == ("set", "set", "setting", "sets")
    assert forms.plural == "sets"


def test_parent_has_verb_forms_as_well_as_a_plural(lexicon: Lexicon):
    forms = _forms(lexicon, "parent")
    assert _all_verb_forms(forms) == ("parented", "parented", "parenting", "parents")
    assert forms.plural == "parents"


def test_a_verb_lemminflect_does_not_know_gets_regular_forms(lexicon: Lexicon):
    forms = _forms(lexicon, "speciate")
    assert _all_verb_forms(forms) == ("speciated", "speciated", "speciating", "speciates")


def test_a_rare_regular_verb_gets_all_four_forms(lexicon: Lexicon):
    forms = _forms(lexicon, "embitter")
    assert _all_verb_forms(forms) == ("embittered", "embittered", "embittering", "embitters")


def test_go_is_irregular(lexicon: Lexicon):
    assert _all_verb_forms(_forms(lexicon, "go")) == ("went", "gone", "going", "goes")


def test_be_is_written_out(lexicon: Lexicon):
    forms = _forms(lexicon, "be")
    assert _all_verb_forms(forms) == ("was", "been", "being", "is")
    assert forms.plural is None


def test_child_has_an_irregular_plural(lexicon: Lexicon):
    assert _forms(lexicon, "child").plural == "children"


def test_mouse_has_an_irregular_plural_and_regular_verb_forms(lexicon: Lexicon):
    forms = _forms(lexicon, "mouse")
    assert forms.plural == "mice"
    assert forms.past_tense == "moused"


def test_an_uncountable_noun_has_no_plural(lexicon: Lexicon):
    assert _forms(lexicon, "information") is None


def test_happy_compares_with_er(lexicon: Lexicon):
    forms = _forms(lexicon, "happy")
    assert (forms.comparative, forms.superlative) == ("happier", "happiest")


def test_a_non_comparable_adjective_has_no_comparative(lexicon: Lexicon):
    forms = _forms(lexicon, "main")
    assert (forms.comparative, forms.superlative) == (None, None)
    assert forms.plural == "mains"  # the noun (a water main)


def test_a_noun_expression_inflects_its_last_word(lexicon: Lexicon):
    forms = _forms(lexicon, "ice cream")
    assert forms.plural == "ice creams"
    assert forms.past_tense is None


def test_a_strong_participle_beside_a_regular_past(lexicon: Lexicon):
    forms = _forms(lexicon, "show")
    assert (forms.past_tense, forms.past_participle) == ("showed", "shown")


def test_the_more_frequent_doubling_wins_where_lemminflect_has_one(lexicon: Lexicon):
    forms = _forms(lexicon, "program")
    assert (forms.past_tense, forms.present_participle) == ("programmed", "programming")


def test_modal_spellings_are_inflected_as_wordnet_verbs(lexicon: Lexicon):
    forms = _forms(lexicon, "can")
    assert (forms.past_tense, forms.third_person_singular) == ("canned", "cans")  # not "could"


def test_spellings_keep_the_variants_forms_does_not_give(lexicon: Lexicon):
    spellings = lexicon.inflector.spellings("dream", "v")
    assert spellings["past_tense"][0] == "dreamed"
    assert "dreamt" in spellings["past_tense"]
