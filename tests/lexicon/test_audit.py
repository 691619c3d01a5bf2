"""The audit of entries against the local sources (issue 20): findings on known corruptions of
offline entries (recall and precision), none on the offline provider's own entries, and the
single checks a lexicographer relies on."""

from __future__ import annotations

import collections
import copy
from typing import Any

import pytest
from wordfreq import top_n_list

from synthlib.lexicon import Lexicon
from synthlib.lexicon.audit import Auditor, Finding, phoneme_distance, read_ipa

from .corruption import CORRUPTIONS, corrupt, on


@pytest.fixture(scope="module")
def auditor(lexicon: Lexicon) -> Auditor:
    return Auditor(lexicon)


@pytest.fixture(scope="module")
def common_entries(lexicon: Lexicon) -> list[dict[str, Any]]:
    """The offline entries of wordfreq's 2,000 most common English words (those it has)."""
    entries = []
    for word in top_n_list("en", 2000):
        entry = lexicon.entry(word)
        if entry is not None:
            entries.append(entry.model_dump(mode="json", by_alias=True))
    return entries


def _entry(lexicon: Lexicon, word: str) -> dict[str, Any]:
    entry = lexicon.entry(word)
    assert entry is not None, word
    return entry.model_dump(mode="json", by_alias=True)


def _checks(findings: list[Finding], severity: str | None = None) -> set[tuple[str, str]]:
    return {(f.check, f.path) for f in findings if severity is None or f.severity == severity}


# --- the offline provider's entries are clean ---------------------------------------------------


def test_offline_entries_of_2000_common_words_have_no_errors(auditor, common_entries):
    assert len(common_entries) > 1800
    errors = [
        (e["word"], f.path, f.reason)
        for e in common_entries
        for f in auditor.audit(e)
        if f.severity == "error"
    ]
    assert errors == []


def test_offline_entries_of_2000_common_words_have_almost_no_warnings(auditor, common_entries):
    warnings = [
        (e["word"], f.path, f.reason)
        for e in common_entries
        for f in auditor.audit(e)
        if f.severity == "warning"
    ]
    assert len(warnings) <= len(common_entries) // 200, warnings[:20]


# --- recall and precision on known corruptions ---------------------------------------------------


def test_corruptions_are_found_with_recall_and_precision_of_95_percent(auditor, common_entries):
    cases = corrupt(common_entries[:1200], rate=0.2, seed=20, wn=auditor.wordnet)
    made: collections.Counter[str] = collections.Counter()
    found: collections.Counter[str] = collections.Counter()
    true_findings = false_findings = 0
    for entry, changed in cases:
        findings = [f for f in auditor.audit(entry) if f.severity != "info"]
        for path, name in changed.items():
            made[name] += 1
            found[name] += any(on(path, f.path) for f in findings)
        for finding in findings:
            if any(on(path, finding.path) for path in changed):
                true_findings += 1
            else:
                false_findings += 1
    assert set(made) == set(CORRUPTIONS)  # every kind was made, and often enough to measure
    assert min(made.values()) >= 50, made
    recall = sum(found.values()) / sum(made.values())
    precision = true_findings / (true_findings + false_findings)
    assert recall >= 0.95, {k: f"{found[k]}/{made[k]}" for k in made}
    assert precision >= 0.95, (true_findings, false_findings)
    assert all(found[k] / made[k] >= 0.9 for k in made), {k: f"{found[k]}/{made[k]}" for k in made}


def test_the_corruption_rate_is_what_was_asked(auditor, common_entries):
    cases = corrupt(common_entries[:1000], rate=0.2, seed=3, wn=auditor.wordnet)
    denied = sum("is_real_word" in changed for _, changed in cases)  # applies to every entry
    assert 160 <= denied <= 240


# --- forms ---------------------------------------------------------------------------------------


def test_a_regularised_irregular_form_is_an_error(lexicon, auditor):
    child = _entry(lexicon, "child")
    child["word_forms"]["plural"] = "childs"
    run = _entry(lexicon, "run")
    run["word_forms"]["past_tense"] = "runned"
    assert ("form_wrong", "word_forms.plural") in _checks(auditor.audit(child), "error")
    assert ("form_wrong", "word_forms.past_tense") in _checks(auditor.audit(run), "error")


def test_a_missing_irregular_form_is_a_warning(lexicon, auditor):
    go = _entry(lexicon, "go")
    go["word_forms"]["past_tense"] = None
    findings = auditor.audit(go)
    assert ("form_missing", "word_forms.past_tense") in _checks(findings, "warning")
    assert any(f.expected == "went" for f in findings)


def test_other_accepted_spellings_and_periphrastic_comparison_pass(lexicon, auditor):
    travel = _entry(lexicon, "travel")
    travel["word_forms"]["past_tense"] = "travelled"  # British
    beautiful = _entry(lexicon, "beautiful")
    beautiful["word_forms"] = {
        **dict.fromkeys(travel["word_forms"]),
        "comparative": "more beautiful",
        "superlative": "most beautiful",
    }
    assert not _checks(auditor.audit(travel), "error")
    assert not [f for f in auditor.audit(beautiful) if f.field == "word_forms"]


# --- parts of speech -----------------------------------------------------------------------------


def test_a_noun_only_word_given_as_a_verb_is_a_warning_not_an_error(lexicon, auditor):
    elephant = _entry(lexicon, "elephant")
    elephant["parts_of_speech"][0]["part_of_speech"] = "verb"
    findings = [f for f in auditor.audit(elephant) if f.field == "part_of_speech"]
    assert [f.severity for f in findings] == ["warning"]
    assert "noun" in findings[0].expected


def test_closed_class_words_may_be_what_they_are(lexicon, auditor):
    table = _entry(lexicon, "table")
    table["parts_of_speech"][0]["part_of_speech"] = "preposition"
    assert ("part_unsupported", "parts_of_speech[0].part_of_speech") in _checks(
        auditor.audit(table), "warning"
    )
    entry = copy.deepcopy(table)
    entry["word"] = "under"
    entry["parts_of_speech"] = [entry["parts_of_speech"][0]]
    assert not [f for f in auditor.audit(entry) if f.field == "part_of_speech"]


# --- pronunciation -------------------------------------------------------------------------------


def test_notation_and_accent_do_not_make_an_ipa_wrong():
    american, _ = read_ipa("/ˈwɔtɚ/")
    for other in ("/ˈwɔːtə/", "[ˈwɔːtər]", "/'wɔ:tɚ/", "ˈwɑ.tɚ"):
        read, unknown = read_ipa(other)
        assert unknown == 0
        assert phoneme_distance(read[0], american[0]) < 0.3, other


def test_another_words_ipa_is_an_error(lexicon, auditor):
    cat = _entry(lexicon, "elephant")
    cat["pronunciation"]["ipa"] = "/ˈteɪ.bəl/"
    findings = auditor.audit(cat)
    assert ("ipa_mismatch", "pronunciation.ipa") in _checks(findings, "error")
    assert "ˈɛl.ə.fənt" in next(f.expected for f in findings if f.check == "ipa_mismatch")


def test_the_stress_on_another_syllable_is_a_warning(lexicon, auditor):
    apple = _entry(lexicon, "banana")
    apple["pronunciation"]["ipa"] = "/ˈbə.næ.nə/"
    assert ("stress_mismatch", "pronunciation.ipa") in _checks(auditor.audit(apple), "warning")


def test_a_heteronym_is_checked_per_part_of_speech(lexicon, auditor):
    record = _entry(lexicon, "record")
    noun, verb = "/ˈrɛk.ɚd/", "/rɪˈkɔrd/"
    for part in record["parts_of_speech"]:
        part["pronunciation"] = {"ipa": noun, "respelling": None, "syllables": [], "note": None}
    findings = auditor.audit(record)
    verb_index = next(
        i for i, p in enumerate(record["parts_of_speech"]) if p["part_of_speech"] == "verb"
    )
    assert {(f.check, f.path) for f in findings if f.severity == "warning"} == {
        ("heteronym_stress", f"parts_of_speech[{verb_index}].pronunciation.ipa")
    }
    record["parts_of_speech"][verb_index]["pronunciation"]["ipa"] = verb
    assert not _checks(auditor.audit(record), "warning")


def test_a_word_cmudict_lacks_is_compared_with_espeaks_reading(lexicon, auditor):
    word = "speciate"
    assert word not in lexicon.pronouncer._table
    entry = _entry(lexicon, word)
    assert not auditor.audit(entry)
    entry["pronunciation"]["ipa"] = "/ˈbæŋ.kɚ/"
    assert ("ipa_mismatch", "pronunciation.ipa") in _checks(auditor.audit(entry), "error")


def test_syllables_must_spell_the_word_and_match_the_spoken_count(lexicon, auditor):
    apple = _entry(lexicon, "apple")
    apple["pronunciation"]["syllables"] = ["ap", "pel"]
    assert ("syllables_misspelled", "pronunciation.syllables") in _checks(auditor.audit(apple))
    apple["pronunciation"]["syllables"] = ["a", "p", "ple"]
    assert ("syllable_count", "pronunciation.syllables") in _checks(auditor.audit(apple))


# --- examples, lemma, labels, consistency --------------------------------------------------------


def test_an_example_may_show_a_form_and_split_a_phrasal_verb(lexicon, auditor):
    give_up = _entry(lexicon, "give up")
    give_up["parts_of_speech"][0]["senses"][0]["examples"] = ["She gave her seat up at once."]
    assert not [f for f in auditor.audit(give_up) if f.field == "examples"]
    give_up["parts_of_speech"][0]["senses"][0]["examples"] = ["The cat sat on the mat."]
    assert [f.severity for f in auditor.audit(give_up) if f.field == "examples"] == ["warning"]


def test_a_lemma_the_word_is_no_form_of_is_an_error_and_a_missing_one_a_warning(lexicon, auditor):
    children = _entry(lexicon, "children")
    assert children["lemma"] == "child"
    assert not auditor.audit(children)
    children["lemma"] = "chill"
    assert ("lemma_wrong", "lemma") in _checks(auditor.audit(children), "error")
    children["lemma"] = None
    assert ("lemma_missing", "lemma") in _checks(auditor.audit(children), "warning")
    cafe = _entry(lexicon, "café")
    assert not [f for f in auditor.audit(cafe) if f.field == "lemma"]


def test_labels_far_from_the_frequency_are_warnings(lexicon, auditor):
    house = _entry(lexicon, "house")
    house["cefr_level"] = "C2"
    house["frequency_band"] = 1
    assert _checks(auditor.audit(house), "warning") == {
        ("cefr_far", "cefr_level"),
        ("band_far", "frequency_band"),
    }
    house["cefr_level"] = "B1"  # two levels from A1: a judgement, not a finding
    house["frequency_band"] = 3
    assert not _checks(auditor.audit(house), "warning")


def test_a_well_known_word_denied_is_an_error(lexicon, auditor):
    house = _entry(lexicon, "house")
    house["is_real_word"] = False
    assert ("real_word_denied", "is_real_word") in _checks(auditor.audit(house), "error")


def test_self_synonyms_contradicting_antonyms_and_repeated_senses(lexicon, auditor):
    hot = _entry(lexicon, "hot")
    sense = hot["parts_of_speech"][0]["senses"][0]
    sense["synonyms"].append("hot")
    sense["antonyms"].append(sense["synonyms"][0])
    hot["parts_of_speech"][0]["senses"].append(copy.deepcopy(sense))
    checks = _checks(auditor.audit(hot))
    assert (
        "synonym_is_word",
        "parts_of_speech[0].senses[0].synonyms[" + str(len(sense["synonyms"]) - 1) + "]",
    ) in checks
    assert any(c == "antonym_contradicts" for c, _ in checks)
    assert any(c == "sense_duplicate" for c, _ in checks)


def test_the_audit_reads_an_entry_model_and_never_raises_on_odd_content(lexicon, auditor):
    entry = lexicon.entry("house")
    assert auditor.audit(entry) == auditor.audit(entry.model_dump(mode="json", by_alias=True))
    odd = {"word": "house", "pronunciation": {"ipa": "???", "syllables": "x"}, "word_forms": 3}
    assert [f.check for f in auditor.audit(odd)] == ["ipa_unread"]
    assert auditor.audit({"word": ""}) == []


def test_findings_round_trip_through_their_dict(lexicon, auditor):
    house = _entry(lexicon, "house")
    house["cefr_level"] = "C2"
    for finding in auditor.audit(house):
        assert Finding.from_dict(finding.to_dict()) == finding
