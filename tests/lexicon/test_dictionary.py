"""The offline entries read as a learner's dictionary: case, accents, forms tied to their lemma,
labels, clean glosses, examples that show the word, a readable set of senses, syllables and
pronunciation (issue: dictionary-grade offline entries)."""

from __future__ import annotations

import re

import lemminflect
import pytest
from wordfreq import top_n_list

from synthlib.core.schema import Entry, PartOfSpeech
from synthlib.lexicon import MAX_SENSES, Lexicon
from synthlib.lexicon.glosses import clean_definition


def _entry(lexicon: Lexicon, word: str, **options) -> Entry:
    entry = lexicon.entry(word, **options)
    assert entry is not None, word
    return entry


def _parts(entry: Entry) -> list[PartOfSpeech]:
    return [p.part_of_speech for p in entry.parts_of_speech]


def _part(entry: Entry, pos: PartOfSpeech):
    return next(p for p in entry.parts_of_speech if p.part_of_speech == pos)


def _definitions(entry: Entry) -> list[str]:
    return [s.definition for p in entry.parts_of_speech for s in p.senses]


# --- case ----------------------------------------------------------------------------------------


def test_a_lowercase_word_never_gets_a_capitalised_lemmas_senses(lexicon: Lexicon):
    be = _entry(lexicon, "be")  # the verb, and the auxiliary from the closed-class data
    assert _parts(be) == [PartOfSpeech.VERB, PartOfSpeech.AUXILIARY_VERB]
    assert not any("metallic element" in d for d in _definitions(be))  # Be, beryllium
    polish = _entry(lexicon, "polish")
    assert not any("Poland" in d for d in _definitions(polish))


def test_a_capitalised_word_gets_only_its_own_cases_senses(lexicon: Lexicon):
    polish = _entry(lexicon, "Polish")
    assert PartOfSpeech.VERB not in _parts(polish)
    assert "the Slavic language of Poland" in _definitions(polish)
    assert not any("shine" in d for d in _definitions(polish))
    forms = polish.word_forms
    assert forms is None or (forms.past_tense is None and forms.plural is None)
    assert "metallic element" in _definitions(_entry(lexicon, "Be"))[0]


def test_a_word_that_exists_only_in_the_other_case_gets_that_cases_senses(lexicon: Lexicon):
    paris = _entry(lexicon, "paris")
    assert any("capital" in d and "France" in d for d in _definitions(paris))


def test_pronunciation_follows_the_case(lexicon: Lexicon):
    assert _entry(lexicon, "Polish").pronunciation.ipa == "/ˈpoʊ.lɪʃ/"
    assert _entry(lexicon, "polish").pronunciation.ipa == "/ˈpɑ.lɪʃ/"


# --- accents and punctuation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "matched"), [("café", "cafe"), ("naïve", "naive"), ("résumé", "resume")]
)
def test_accents_fold_to_the_headword_and_the_entry_records_it(
    lexicon: Lexicon, word: str, matched: str
):
    entry = _entry(lexicon, word)
    assert entry.word == word and entry.lemma == matched
    first = entry.parts_of_speech[0].senses[0]
    assert f"variant spelling of {matched}" in first.usage_notes


def test_a_typographic_apostrophe_finds_the_plain_one(lexicon: Lexicon):
    entry = _entry(lexicon, "O’Brien")
    assert entry.word == "O’Brien" and entry.lemma == "O'Brien"
    assert _parts(entry) == [PartOfSpeech.PROPER_NOUN]


# --- inflected forms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "pos", "first", "lemma"),
    [
        ("children", PartOfSpeech.NOUN, "plural of child", "child"),
        ("went", PartOfSpeech.VERB, "past tense of go", "go"),
        ("breaking", PartOfSpeech.VERB, "present participle of break", "break"),
        ("better", PartOfSpeech.ADJECTIVE, "comparative of good", "good"),
        ("gave up", PartOfSpeech.PHRASAL_VERB, "past tense of give up", "give up"),
    ],
)
def test_an_inflected_form_names_its_lemma_first(
    lexicon: Lexicon, word: str, pos: PartOfSpeech, first: str, lemma: str
):
    entry = _entry(lexicon, word)
    assert entry.lemma == lemma
    assert _part(entry, pos).senses[0].definition == first


def test_the_lemmas_main_senses_follow_marked_as_the_lemmas(lexicon: Lexicon):
    children = _part(_entry(lexicon, "children"), PartOfSpeech.NOUN)
    _form, *senses = children.senses
    child = _part(_entry(lexicon, "child"), PartOfSpeech.NOUN).senses
    assert 1 <= len(senses) <= 3
    assert [s.definition for s in senses] == [s.definition for s in child[: len(senses)]]
    assert all("a sense of child" in s.usage_notes for s in senses)
    assert children.sense_count == len(children.senses)  # child's own entry counts the rest
    assert _entry(lexicon, "children").word_forms is None


def test_a_form_that_is_also_a_lemma_keeps_its_own_senses(lexicon: Lexicon):
    breaking = _entry(lexicon, "breaking")
    assert "the act of breaking something" in _part_definitions(_part(breaking, PartOfSpeech.NOUN))
    assert _part(breaking, PartOfSpeech.VERB).senses[0].definition.startswith("present participle")


def _part_definitions(part) -> list[str]:
    return [s.definition for s in part.senses]


def test_the_form_sense_shows_the_form_when_the_lemma_has_such_an_example(lexicon: Lexicon):
    went = _part(_entry(lexicon, "went"), PartOfSpeech.VERB).senses[0]
    assert went.examples and all(re.search(r"\bwent\b", e) for e in went.examples)


@pytest.mark.parametrize(
    ("word", "field", "form"),
    [
        ("set", "past_tense", "set"),
        ("set", "third_person_singular", "sets"),
        ("parent", "past_tense", "parented"),
        ("speciate", "past_tense", "speciated"),
        ("embitter", "third_person_singular", "embitters"),
        ("go", "past_participle", "gone"),
        ("child", "plural", "children"),
    ],
)
def test_word_forms_are_complete(lexicon: Lexicon, word: str, field: str, form: str):
    assert getattr(_entry(lexicon, word).word_forms, field) == form


# --- labels --------------------------------------------------------------------------------------


def test_instances_of_a_capitalised_lemma_are_proper_nouns(lexicon: Lexicon):
    assert _parts(_entry(lexicon, "O'Brien")) == [PartOfSpeech.PROPER_NOUN]
    # a capitalised noun that is no instance (a language) stays a noun
    assert PartOfSpeech.NOUN in _parts(_entry(lexicon, "Polish"))


@pytest.mark.parametrize("word", ["give up", "look after", "carry on"])
def test_verb_and_particle_is_a_phrasal_verb(lexicon: Lexicon, word: str):
    assert _parts(_entry(lexicon, word))[0] == PartOfSpeech.PHRASAL_VERB


def test_a_verb_expression_without_particles_stays_a_verb(lexicon: Lexicon):
    assert PartOfSpeech.VERB in _parts(_entry(lexicon, "take place"))


def test_domains_come_only_from_topic_pointers(lexicon: Lexicon):
    assert _entry(lexicon, "tort").parts_of_speech[0].senses[0].domain == "law"
    language = _part(_entry(lexicon, "Polish"), PartOfSpeech.NOUN).senses[0]
    assert language.domain is None  # WordNet files it under noun.communication: no subject
    rock = _entry(lexicon, "rock and roll").parts_of_speech[0].senses[0]
    assert rock.domain is None
    dribble = _entry(lexicon, "dribble", senses=None)
    assert "sport" in {s.domain for p in dribble.parts_of_speech for s in p.senses}


# --- definitions and examples --------------------------------------------------------------------


def test_definitions_carry_no_wordnet_markup(lexicon: Lexicon):
    words = [*top_n_list("en", 2000), "better", "best", "worse", "further"]
    for entry in filter(None, map(lexicon.entry, words)):
        for definition in _definitions(entry):
            assert "`" not in definition, (entry.word, definition)
            assert not definition.startswith("(comparative"), (entry.word, definition)


def _forms(word: str) -> set[str]:
    found = {word}
    for spellings in lemminflect.getAllInflections(word).values():
        found.update(spellings)
    return found


def test_at_least_nine_examples_in_ten_show_the_word_or_a_form(lexicon: Lexicon):
    # an independent check: whole words, the entry's word and lemma and lemminflect's forms
    shown = showing = 0
    for entry in filter(None, map(lexicon.entry, top_n_list("en", 1500)[500:])):
        forms = {f.lower() for f in _forms(entry.word.lower()) | _forms(entry.lemma or "")}
        pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, forms - {""})) + r")(?!\w)")
        for part in entry.parts_of_speech:
            for sense in part.senses:
                shown += len(sense.examples)
                showing += sum(bool(pattern.search(e.lower())) for e in sense.examples)
    assert shown > 1000
    assert showing / shown >= 0.9


def test_no_example_shows_only_a_synonym(lexicon: Lexicon):
    # WordNet often illustrates a synset with another of its words; a learner's entry prints
    # none of those: a sense without an example beats a wrong one
    for entry in filter(None, map(lexicon.entry, top_n_list("en", 1000))):
        for sense in (s for p in entry.parts_of_speech for s in p.senses):
            assert "example uses the synonym" not in (sense.usage_notes or "")


# --- senses --------------------------------------------------------------------------------------


def test_at_most_eight_senses_per_part_with_the_total_kept(lexicon: Lexicon):
    run = _entry(lexicon, "run")
    for part in run.parts_of_speech:
        assert len(part.senses) <= MAX_SENSES
    verb = _part(run, PartOfSpeech.VERB)
    assert verb.sense_count > MAX_SENSES
    every = _part(_entry(lexicon, "run", senses=None), PartOfSpeech.VERB)
    assert len(every.senses) == every.sense_count == verb.sense_count


def test_senses_are_ordered_by_how_often_they_were_tagged(lexicon: Lexicon):
    # among senses no learner's penalty moves (no domain, register, region, plant or mineral)
    wn = lexicon.wordnet
    for word, pos, part in (("run", "v", PartOfSpeech.VERB), ("set", "n", PartOfSpeech.NOUN)):
        tags = {
            clean_definition(s.definition): t
            for s, t in zip(wn.synsets(word, pos), wn.sense_tags(word, pos), strict=True)
        }
        shown = _part(_entry(lexicon, word, senses=None), part).senses
        plain = [s for s in shown if not (s.domain or s.register_ or s.region)]
        counts = [tags[s.definition] for s in plain if s.definition in tags]
        assert len(counts) >= len(plain) - 1
        assert counts == sorted(counts, reverse=True)


def test_near_duplicate_senses_are_merged(lexicon: Lexicon):
    wn = lexicon.wordnet
    verb = _part(_entry(lexicon, "run", senses=None), PartOfSpeech.VERB)
    assert verb.sense_count < len(wn.synsets("run", "v"))  # verb groups merged
    shown = {s.definition for s in verb.senses}
    for synset in wn.synsets("run", "v"):
        grouped = [p for p in synset.pointers if p.symbol == "$"]
        for pointer in grouped:
            other = wn.synset("v", pointer.offset)
            if "run" in other.lemmas and "run" in synset.lemmas:
                both = {clean_definition(synset.definition), clean_definition(other.definition)}
                assert len(both & shown) <= 1, both


# --- syllables and pronunciation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "syllables"),
    [("breaking", ["break", "ing"]), ("moving", ["mov", "ing"]), ("Polish", ["Pol", "ish"])],
)
def test_written_syllables_fall_where_a_dictionary_puts_them(
    lexicon: Lexicon, word: str, syllables: list[str]
):
    assert _entry(lexicon, word).pronunciation.syllables == syllables


@pytest.mark.parametrize("word", ["efflorescence", "mellifluous", "amnion"])
def test_words_cmudict_lacks_get_an_estimated_pronunciation(lexicon: Lexicon, word: str):
    pronunciation = _entry(lexicon, word).pronunciation
    assert pronunciation.ipa.startswith("/") and pronunciation.note
    assert "estimated" in pronunciation.note
    assert _entry(lexicon, "apple").pronunciation.note is None  # CMUdict's own


def test_a_phrase_has_one_primary_stress(lexicon: Lexicon):
    for phrase in ("at hand", "give up", "ice cream", "look after"):
        assert _entry(lexicon, phrase).pronunciation.ipa.count("ˈ") == 1, phrase


def test_nine_words_in_ten_have_a_pronunciation(lexicon: Lexicon):
    words = top_n_list("en", 30000)[20000::10]
    entries = [e for e in map(lexicon.entry, words) if e is not None]
    with_ipa = [e for e in entries if e.pronunciation and e.pronunciation.ipa]
    assert len(entries) > 500 and len(with_ipa) / len(entries) >= 0.9
