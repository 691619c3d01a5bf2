"""'Did you mean': suggestions for words no source has, from WordNet and wordfreq, offline."""

from __future__ import annotations

import time

import pytest

import synthlib
from synthlib.jobs.frames import load_failures
from synthlib.lexicon.suggest import (
    Suggester,
    edit_distance,
    suggest,
    suggester,
    suggestions_in,
    with_suggestions,
)


@pytest.mark.parametrize(
    ("a", "b", "edits"),
    [("recieve", "receive", 1), ("definately", "definitely", 1), ("acommodate", "accommodate", 1),
     ("tommorow", "tomorrow", 2), ("abc", "abc", 0), ("", "ab", 2), ("ca", "abc", 3)],
)  # fmt: skip
def test_edit_distance_counts_a_swap_of_neighbours_as_one_edit(a, b, edits):
    assert edit_distance(a, b) == edits


@pytest.mark.parametrize(
    ("word", "first"),
    [("recieve", "receive"), ("definately", "definitely"), ("seperate", "separate"),
     ("goverment", "government"), ("neccessary", "necessary"), ("thier", "their")],
)  # fmt: skip
def test_common_misspellings_get_the_word_first(word, first):
    found = suggest(word)
    assert found[0] == first and len(found) <= 3


def test_no_suggestion_for_noise_phrases_or_short_words():
    assert suggest("zzqxv") == []
    assert suggest("ice creem") == []  # a phrase: not guessed at
    assert suggest("qz") == []


def test_frequency_breaks_ties_between_equally_close_words():
    words = Suggester([("relieve", 1e-5), ("receive", 1e-4), ("recipe", 1e-4)])
    assert words.suggest("recieve") == ["receive", "relieve", "recipe"]  # 1, 1 and 2 edits
    flipped = Suggester([("relieve", 1e-4), ("receive", 1e-5)])
    assert flipped.suggest("recieve") == ["relieve", "receive"]


def test_a_word_is_never_its_own_suggestion():
    assert "receive" not in suggest("receive")


def test_suggestions_are_fast_once_the_index_is_built():
    suggester()  # built once per process
    words = ["recieve", "definately", "seperate", "acommodate", "wierd", "occured"] * 50
    started = time.process_time()
    for word in words:
        suggest(word)
    per_word = (time.process_time() - started) / len(words)
    assert per_word < 0.02  # a scan of the vocabulary would take ~50x longer


def test_the_reason_carries_the_suggestions_and_gives_them_back():
    detail = with_suggestions("not found in local lexical sources", ["receive", "relieve"])
    assert detail == "not found in local lexical sources (did you mean: receive, relieve?)"
    assert suggestions_in(f"not_found: {detail}") == ["receive", "relieve"]
    assert with_suggestions(detail, ["x"]) == detail  # said once
    assert suggestions_in("not_found: nowhere") == []


def test_a_run_offers_suggestions_in_the_reason_the_frame_and_the_review(offline_env, no_network):
    from synthlib.faces.review import Review

    result = synthlib.run(["apple", "recieve", "zzqxv"])
    reason = str(result.given_up["recieve"])
    assert reason.startswith("not_found: ") and "did you mean: receive" in reason
    failures = load_failures(run=result).set_index("word")
    assert failures.loc["recieve", "suggestions"][0] == "receive"
    assert failures.loc["zzqxv", "suggestions"] == []
    table = Review().frames()["Failures"].set_index("word")
    assert list(table.columns) == ["why", "detail", "did you mean", "attempts"]
    assert table.loc["recieve", "detail"] == "not found in local lexical sources"
    assert table.loc["recieve", "did you mean"][0] == "receive"
    assert "receive" in Review.table(table).to_html()
