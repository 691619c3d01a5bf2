"""eSpeak NG's reading of a spelling, as CMUdict-style ARPAbet phones."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from synthlib.lexicon.espeak import IPA_TO_ARPABET, Espeak, EspeakLibrary, ipa_phones
from synthlib.lexicon.pronounce import VOWELS, phone_ipa
from synthlib.lexicon.wordnet import WordNet


@pytest.fixture(scope="module")
def espeak() -> Espeak:
    engine = Espeak()
    if not engine.available:
        pytest.skip(f"eSpeak NG is not installed: {engine.problem}")
    return engine


def _lemmas(wordnet: WordNet, count: int, seed: int) -> list[str]:
    """A fixed sample of WordNet's single-word lemmas (every part of speech)."""
    lemmas: set[str] = set()
    for pos in ("noun", "verb", "adj", "adv"):
        for line in wordnet.source.read(f"index.{pos}").decode("latin-1").splitlines():
            if line and not line.startswith(" "):
                lemma = line.split(" ", 1)[0]
                if "_" not in lemma:
                    lemmas.add(lemma)
    return random.Random(seed).sample(sorted(lemmas), count)


# --- the symbol table ----------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", sorted(IPA_TO_ARPABET))
@pytest.mark.parametrize("mark", ["", "ˈ", "ˌ"])
def test_every_symbol_reads_back_from_the_ipa_it_is_written_in(symbol: str, mark: str):
    phones = ipa_phones([mark + symbol])
    assert phones is not None
    for phone in phones:
        base, digit = phone.rstrip("012"), phone[len(phone.rstrip("012")) :]
        written = phone_ipa(phone)  # what pronounce.py writes for it; KeyError if it cannot
        again_mark = {"1": "ˈ", "2": "ˌ"}.get(digit, "")
        again = ipa_phones([again_mark + ("ɹ" if written == "r" else written)])
        assert again == [phone], (symbol, phone, written)
        assert (base in VOWELS) == bool(digit)


def test_table_covers_every_symbol_espeak_emits_for_wordnet_lemmas(
    espeak: Espeak, wordnet: WordNet
):
    emitted = set()
    for lemma in _lemmas(wordnet, 3000, seed=11):
        for token in espeak.ipa(lemma) or []:
            emitted.add(token.lstrip("ˈˌ"))
    emitted.discard("")
    assert emitted <= set(IPA_TO_ARPABET)


# --- converting eSpeak's phonemes ----------------------------------------------------------------


def test_stress_marks_become_digits_on_the_next_vowel():
    assert ipa_phones(["h", "ˈæ", "p", "i"]) == ["HH", "AE1", "P", "IY0"]
    assert ipa_phones(["ˌɛ", "k", "s", "ɹ", "ˈeɪ"]) == ["EH2", "K", "S", "R", "EY1"]


def test_only_the_first_primary_stress_is_kept():
    assert ipa_phones(["ˈɛ", "k", "s", "ɹ", "ˈeɪ"]) == ["EH1", "K", "S", "R", "EY2"]


def test_a_symbol_for_two_vowels_stresses_only_the_first():
    assert ipa_phones(["aɪ", "d", "ˈiə"]) == ["AY0", "D", "IY1", "AH0"]


def test_a_repeated_r_is_dropped_after_an_r_coloured_vowel():
    assert ipa_phones(["ɡ", "l", "ˈuː", "ɾ", "ɑːɹ", "ɹ", "ˌɪ", "l"]) == [
        *("G", "L", "UW1", "T", "AA0", "R", "IH2", "L")
    ]
    assert ipa_phones(["f", "ˈɜː", "ɹ", "i"]) == ["F", "ER1", "IY0"]


def test_a_linking_r_after_an_unstressed_schwa_starts_the_next_syllable():
    # efflorescence: ɚ before ɹ is a schwa and the r opens the stressed syllable
    assert ipa_phones(["ˌɛ", "f", "l", "ɚ", "ɹ", "ˈɛ", "s"]) == [
        *("EH2", "F", "L", "AH0", "R", "EH1", "S")
    ]


def test_empty_tokens_are_skipped():
    assert ipa_phones(["", "ˈæ", "", "t", ""]) == ["AE1", "T"]


def test_an_unknown_symbol_gives_no_phones():
    assert ipa_phones(["k", "ˈææ", "t"]) is None


# --- the engine ----------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["efflorescence", "mellifluous", "amnion", "speciate"])
def test_reads_words_cmudict_lacks_with_one_primary_stress(espeak: Espeak, word: str):
    phones = espeak.phones(word)
    assert phones is not None
    assert [p[-1] for p in phones if p[-1].isdigit()].count("1") == 1


def test_reads_a_capitalised_spelling_as_written(espeak: Espeak):
    assert espeak.phones("Polish") == ["P", "OW1", "L", "IH0", "SH"]
    assert espeak.phones("polish") == ["P", "AA1", "L", "IH0", "SH"]


@pytest.mark.parametrize("text", ["東京", "Москва", "!", "", "zzqxv", "psst"])
def test_gives_no_phones_for_what_it_cannot_read_as_a_word(espeak: Espeak, text: str):
    assert espeak.phones(text) is None


def test_keeps_the_spelled_out_reading_of_a_short_abbreviation(espeak: Espeak):
    assert espeak.phones("dna") == ["D", "IY2", "EH2", "N", "EY1"]


def test_a_library_that_is_not_there_is_unavailable_not_an_error():
    engine = Espeak(lambda: EspeakLibrary("/nonexistent/libespeak-ng.so"))
    assert engine.phones("efflorescence") is None
    assert engine.ipa("efflorescence") is None
    assert not engine.available
    assert engine.version is None
    assert "/nonexistent/libespeak-ng.so" in (engine.problem or "")


def test_no_library_found_is_unavailable_and_says_how_to_install():
    engine = Espeak(lambda: None)
    assert engine.phones("efflorescence") is None
    assert "espeakng-loader" in (engine.problem or "")


def test_reports_its_version(espeak: Espeak):
    assert espeak.version and espeak.version[0].isdigit()


def test_same_phones_from_many_threads(espeak: Espeak, wordnet: WordNet):
    words = _lemmas(wordnet, 400, seed=3)
    alone = [espeak.phones(w) for w in words]
    with ThreadPoolExecutor(max_workers=16) as pool:
        # several engines share the one C library, so they must share its lock too
        engines = [espeak, Espeak(), Espeak()]
        together = list(pool.map(lambda i: engines[i % 3].phones(words[i % 400]), range(2400)))
    assert together == [alone[i % 400] for i in range(2400)]
