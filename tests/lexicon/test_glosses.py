"""Definitions and examples for a learner's dictionary, from WordNet 3.0's own glosses."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import pytest

from synthlib.lexicon.glosses import (
    clean_definition,
    clean_example,
    form_note,
    pick_examples,
    shows,
)
from synthlib.lexicon.wordnet import POS_ORDER, Synset, WordNet

# --- helpers -----------------------------------------------------------------------------------


def _synset_with(wordnet: WordNet, lemma: str, pos: str, text: str) -> Synset:
    """The synset of ``lemma`` whose definition or examples contain ``text``."""
    for synset in wordnet.synsets(lemma, pos):  # type: ignore[arg-type]
        if text in synset.definition or any(text in e for e in synset.examples):
            return synset
    raise AssertionError(f"no {pos} synset of {lemma!r} mentions {text!r}")


_CONSONANT_VOWEL_CONSONANT = re.compile(r"(?:^|[^aeiou])[aeiou]([bdgklmnprtv])$")


def simple_forms(lemma: str) -> set[str]:
    """A rough stand-in for an inflector, for measuring only: the lemma, ``-s/-es/-ed/-ing/-d``,
    ``y`` -> ``ies/ied``, a final ``e`` dropped and a final consonant doubled. In an expression
    the first word is inflected (``gives up``) and so is the last (``ice creams``)."""
    words = lemma.replace("_", " ").lower().split()
    if not words:
        return set()

    def inflect(word: str) -> set[str]:
        found = {word, word + "s", word + "es", word + "ed", word + "ing", word + "d"}
        if len(word) > 1 and word.endswith("y") and word[-2] not in "aeiou":
            found |= {word[:-1] + "ies", word[:-1] + "ied"}
        if word.endswith("e"):
            found |= {word[:-1] + "ing", word[:-1] + "ed"}
        match = _CONSONANT_VOWEL_CONSONANT.search(word)
        if match:
            found |= {word + match.group(1) + "ed", word + match.group(1) + "ing"}
        return found

    forms = {" ".join([first, *words[1:]]) for first in inflect(words[0])}
    if len(words) > 1:
        forms |= {" ".join([*words[:-1], last]) for last in inflect(words[-1])}
    return forms


@dataclass
class Measure:
    """What picking does to a sample of senses, against today's WordNet's-first-three."""

    senses: int = 0
    senses_with_examples_before: int = 0
    senses_with_examples: int = 0
    shown_before: int = 0
    shown_before_with_word: int = 0
    available: int = 0  # examples left after cleaning
    shown: int = 0
    shown_with_word: int = 0
    shown_with_synonym: int = 0
    dropped_beyond_limit: int = 0  # showed the headword, but the sense had enough
    dropped_synonym_only: int = 0  # showed only a synonym, and was not the one kept
    dropped_neither: int = 0

    @property
    def share_before(self) -> float:
        return self.shown_before_with_word / self.shown_before

    @property
    def share(self) -> float:
        return self.shown_with_word / self.shown


def sample_pairs(wordnet: WordNet, size: int, seed: int) -> list[tuple[str, str, int]]:
    """A seeded sample of (lemma, pos, offset) pairs from WordNet's index files."""
    pairs: list[tuple[str, str, int]] = []
    suffix = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
    for pos in POS_ORDER:
        for line in wordnet.source.read(f"index.{suffix[pos]}").decode().splitlines():
            if line.startswith(" "):
                continue  # licence header
            lemma = line.split(" ", 1)[0]
            pairs += [(lemma, pos, offset) for offset in wordnet.offsets(lemma, pos)]
    return random.Random(seed).sample(pairs, size)


def measure(wordnet: WordNet, size: int = 2000, seed: int = 20240601) -> Measure:
    result = Measure()
    for lemma, pos, offset in sample_pairs(wordnet, size, seed):
        synset = wordnet.synset(pos, offset)
        forms = simple_forms(lemma)
        synonyms = {
            other.replace("_", " "): simple_forms(other)
            for other in synset.lemmas
            if other.lower() != lemma
        }
        before = synset.examples[:3]
        examples = [e for e in (clean_example(x) for x in synset.examples) if e]
        picked, used = pick_examples(examples, forms, synonyms)
        with_word = [e for e in examples if shows(e, forms)]
        result.senses += 1
        result.senses_with_examples_before += bool(before)
        result.senses_with_examples += bool(picked)
        result.shown_before += len(before)
        result.shown_before_with_word += sum(shows(e, forms) for e in before)
        result.available += len(examples)
        result.shown += len(picked)
        result.shown_with_word += sum(shows(e, forms) for e in picked)
        result.shown_with_synonym += len(used)
        for example in examples:
            if example in picked:
                continue
            if example in with_word:
                result.dropped_beyond_limit += 1
            elif any(shows(example, f) for f in synonyms.values()):
                result.dropped_synonym_only += 1
            else:
                result.dropped_neither += 1
    return result


@pytest.fixture(scope="module")
def sample(wordnet: WordNet) -> Measure:
    return measure(wordnet)


# --- definitions -------------------------------------------------------------------------------


def test_form_note_takes_comparative_of_good_off_better(wordnet: WordNet):
    synset = _synset_with(wordnet, "better", "a", "superior to another")
    assert synset.definition.startswith("(comparative of `good') superior to another")
    text, relation = form_note(synset.definition)
    assert relation == "comparative of good"
    assert text.startswith("superior to another (of the same class or set or kind)")


def test_form_note_keeps_what_the_note_says_besides_the_relation(wordnet: WordNet):
    synset = _synset_with(wordnet, "more", "a", "mass nouns")
    text, relation = form_note(synset.definition)
    assert relation == "comparative of much"
    assert text.startswith("(used with mass nouns) a quantifier meaning greater in size")


def test_form_note_names_both_words_of_near_or_close():
    text, relation = form_note("(comparative of `near' or `close') within a shorter distance")
    assert (text, relation) == ("within a shorter distance", "comparative of near or close")


def test_form_note_is_none_without_a_note():
    assert form_note("(law) a formal accusation") == ("(law) a formal accusation", None)


def test_definition_prints_the_form_note_word_plain():
    assert clean_definition("(comparative of `good') superior") == "(comparative of good) superior"


def test_definition_puts_mentioned_words_in_double_quotes():
    text = 'killed; `slain\' is formal or literary as in "slain warriors"'
    assert clean_definition(text) == 'killed; "slain" is formal or literary as in "slain warriors"'


def test_definition_quotes_a_mention_inside_a_quotation_with_single_quotes():
    text = 'a report of the exact words used in a discourse (e.g., "he said `I am a fool\'")'
    assert clean_definition(text).endswith("(e.g., \"he said 'I am a fool'\")")


def test_definition_keeps_a_lone_backtick():
    text = "a mark (`) placed above a vowel to indicate pronunciation"
    assert clean_definition(text) == text


def test_definition_loses_the_space_before_a_semicolon():
    assert clean_definition("administer an oil or ointment to ; often in a religious ceremony") == (
        "administer an oil or ointment to; often in a religious ceremony"
    )


def test_definition_gets_a_space_after_a_leading_label():
    assert clean_definition("(meteorology)an isogram").startswith("(meteorology) an isogram")


def test_definition_loses_spaces_inside_parentheses():
    assert clean_definition("(poetic )beautiful") == "(poetic) beautiful"
    assert clean_definition("( bridge) a suit") == "(bridge) a suit"


def test_definition_loses_a_trailing_colon():
    assert clean_definition("jaegers and skuas:") == "jaegers and skuas"


def test_definition_merges_a_doubled_separator():
    text = "orchids closely related to genus Cleistes;: of damp or boggy areas"
    assert (
        clean_definition(text)
        == "orchids closely related to genus Cleistes; of damp or boggy areas"
    )


def test_definition_leaves_ratio_notation_alone():
    text = "such that short : long :: long : (short + long)"
    assert clean_definition(text) == text


def test_definition_leaves_brackets_named_in_it_alone():
    text = "either of two punctuation marks ([ or ]) used to enclose textual material"
    assert clean_definition(text) == text


# --- examples ----------------------------------------------------------------------------------


def test_example_loses_a_dashed_attribution():
    text = '"lovers and madmen have such seething brains"- Shakespeare'
    assert clean_example(text) == "lovers and madmen have such seething brains"


def test_example_loses_a_double_dashed_attribution():
    text = '"a great concourse of phantasmagoric shadows"--J.C.Powys'
    assert clean_example(text) == "a great concourse of phantasmagoric shadows"


def test_example_loses_a_spaced_attribution_after_an_unquoted_sentence():
    assert clean_example("the readiness is all -- Shakespeare") == "the readiness is all"


def test_example_loses_a_parenthesised_source():
    assert clean_example('"These things befell" (Santayana)') == "These things befell"


def test_example_keeps_a_dash_between_clauses():
    assert (
        clean_example("My cold is gone--I feel fine today") == "My cold is gone--I feel fine today"
    )


def test_example_keeps_a_hyphenated_proper_name():
    assert clean_example("they were anti-American") == "they were anti-American"


def test_example_quotes_mentioned_words_with_single_quotes():
    text = "the barn spider was made famous in E. B. White's book `Charlotte's Web'"
    assert clean_example(text).endswith("book 'Charlotte's Web'")


def test_example_loses_a_leading_ellipsis():
    assert clean_example("..startled him awake") == "startled him awake"


def test_example_loses_a_trailing_separator():
    assert clean_example("he was in bondage to fear:;") == "he was in bondage to fear"


def test_example_gets_its_parenthesis_closed():
    text = "at the time appointed (or the appointed time"
    assert clean_example(text) == "at the time appointed (or the appointed time)"


def test_example_of_punctuation_only_is_empty():
    assert clean_example(";") == ""


# --- shows -------------------------------------------------------------------------------------


def test_shows_ignores_case():
    assert shows("Go away before I start to cry", {"go"})


def test_shows_does_not_find_a_word_inside_another():
    assert not shows("fall into a category", {"cat"})


def test_shows_takes_a_hyphenated_word_as_one_word():
    assert not shows("she moved with a cat-like grace", {"cat"})


def test_shows_finds_a_word_before_a_possessive():
    assert shows("the cat's whiskers", {"cat"})


def test_shows_finds_give_up_split_by_its_object(wordnet: WordNet):
    synset = _synset_with(wordnet, "give_up", "v", "drowning victim")
    example = next(e for e in synset.examples if "drowning victim" in e)
    assert example == "We gave the drowning victim up for dead"
    assert shows(example, simple_forms("give_up") | {"gave up"})


def test_shows_does_not_find_an_expression_spread_too_far():
    assert not shows("we gave the poor old drowning victim up", {"gave up"})


def test_shows_does_not_find_an_expression_out_of_order():
    assert not shows("things went up and we gave", {"gave up"})


def test_shows_finds_a_spaced_form_written_with_a_hyphen():
    assert shows("an ice-cream cone", {"ice cream"})
    assert shows("an ice cream cone", {"ice-cream"})


# --- picking -----------------------------------------------------------------------------------


def test_pick_keeps_examples_showing_the_headword_in_order_up_to_the_limit(wordnet: WordNet):
    synset = _synset_with(wordnet, "better", "a", "superior to another")
    picked, used = pick_examples(synset.examples, simple_forms("better"), {})
    assert picked == list(synset.examples[:3])
    assert used == []


def test_pick_drops_an_example_without_the_headword(wordnet: WordNet):
    synset = _synset_with(wordnet, "go", "v", "The train departs at noon")
    picked, _ = pick_examples(synset.examples, simple_forms("go"), {})
    assert picked == ["Go away before I start to cry"]


def test_pick_prefers_an_example_of_go_to_one_of_its_synonym_depart(wordnet: WordNet):
    synset = _synset_with(wordnet, "go", "v", "The train departs at noon")
    synonyms = {"depart": simple_forms("depart")}
    assert pick_examples(synset.examples, simple_forms("go"), synonyms) == (
        ["Go away before I start to cry"],
        [],
    )


def test_pick_falls_back_on_an_example_of_a_synonym_and_names_it(wordnet: WordNet):
    synset = _synset_with(wordnet, "go", "v", "The train departs at noon")
    examples = [e for e in synset.examples if "depart" in e]
    synonyms = {"go away": simple_forms("go away"), "depart": simple_forms("depart")}
    assert pick_examples(examples, simple_forms("go"), synonyms) == (
        ["The train departs at noon"],
        ["depart"],
    )


def test_pick_keeps_at_most_one_example_of_a_synonym():
    examples = ["The train departs at noon", "The bus departed late"]
    synonyms = {"depart": simple_forms("depart")}
    assert pick_examples(examples, simple_forms("go"), synonyms) == (
        ["The train departs at noon"],
        ["depart"],
    )


def test_pick_returns_nothing_when_no_example_shows_a_lemma_of_the_synset():
    assert pick_examples(["the oceans are teeming with life"], {"go"}, {"depart": {"depart"}}) == (
        [],
        [],
    )


def test_sample_examples_show_the_headword_unless_marked_with_a_synonym(sample: Measure):
    assert sample.shown_with_word + sample.shown_with_synonym == sample.shown


def test_sample_examples_show_the_headword_more_often_than_wordnets_first_three(
    sample: Measure,
):
    assert sample.share > sample.share_before


def test_sample_senses_keep_examples_nearly_as_often_as_before(sample: Measure):
    assert sample.senses_with_examples >= 0.95 * sample.senses_with_examples_before


@pytest.mark.parametrize(
    ("lemma", "form"),
    [("run", "running"), ("try", "tried"), ("make", "making"), ("give_up", "gives up")],
)
def test_simple_forms_for_measuring_include_regular_inflections(lemma: str, form: str):
    assert form in simple_forms(lemma)
