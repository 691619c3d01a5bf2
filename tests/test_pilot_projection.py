"""The pilot's projection of the whole list, as a pure function: one denominator (the sample's
words), the list's exact input, each frequency band standing for its share of the list, and a
seeded bootstrap band."""

from __future__ import annotations

import json

import pytest

from synthlib.core.pricing import price_for
from synthlib.jobs.pilots import PilotStore, Projection, billed_path, project, read_billed
from synthlib.providers import registry

PRICE = price_for("gpt-4o-mini", registry.prices())


def test_without_per_word_figures_the_totals_scale_to_the_list():
    got = project(
        PRICE, (10_000, 0, 2_000), words=10, sample_input=9_000, list_input=90_000, list_words=100
    )
    expected = PRICE.cost(10_000 * 10, 2_000 * 10)  # retries' input kept in proportion
    assert got == Projection(expected, expected, expected)


def test_per_word_figures_give_the_same_point_and_a_band_around_it():
    per_word = [(1_000, 0, 400), (1_000, 0, 500), (1_000, 0, 50), (2_000, 0, 900)] * 5
    totals = tuple(sum(t[j] for t in per_word) for j in range(3))
    args = dict(words=20, sample_input=20_000, list_input=100_000, list_words=100)
    plain = project(PRICE, totals, **args)
    got = project(PRICE, totals, per_word=per_word, **args)
    assert got.cost == pytest.approx(plain.cost, rel=1e-6)
    assert got.low < got.cost < got.high
    assert got == project(PRICE, totals, per_word=per_word, **args)  # seeded: the same band


def test_a_sample_of_the_whole_list_has_no_band():
    per_word = [(1_000, 0, 400), (1_000, 0, 40)]
    got = project(
        PRICE,
        (2_000, 0, 440),
        words=2,
        sample_input=2_000,
        list_input=2_000,
        list_words=2,
        per_word=per_word,
    )
    assert got.low == got.cost == got.high == PRICE.cost(2_000, 440)


def test_each_band_stands_for_its_share_of_the_list():
    # the sample drew junk (band 0, short answers) at half its share of the list
    per_word = [(1_000, 0, 40)] * 2 + [(1_000, 0, 400)] * 8
    bands = [0] * 2 + [3] * 8
    list_bands = {0: 40, 3: 60}
    got = project(
        PRICE,
        (10_000, 0, 3_280),
        words=10,
        sample_input=10_000,
        list_input=100_000,
        list_words=100,
        per_word=per_word,
        bands=bands,
        list_bands=list_bands,
    )
    assert got.cost == pytest.approx(PRICE.cost(100_000, 40 * 40 + 60 * 400))
    unweighted = project(
        PRICE,
        (10_000, 0, 3_280),
        words=10,
        sample_input=10_000,
        list_input=100_000,
        list_words=100,
        per_word=per_word,
    )
    assert unweighted.cost > got.cost  # the junk's short answers under-counted


def test_a_batch_recorded_again_is_read_once(tmp_path):
    own = PilotStore(None, "p", "gpt-4o-mini", billed_path(tmp_path / "m.checkpoint.json"))
    own.record_billed("batch_1", {"apple": (10, 0, 5), "pear": (10, 0, 7)})
    own.record_billed("batch_2", {"apple": (10, 0, 6)})
    own.record_billed("batch_1", {"apple": (10, 0, 5), "pear": (10, 0, 7)})  # after a crash
    with own.billed.open("a") as file:
        file.write('{"batch": "batch_3", "wor')  # torn
    assert own.billed == tmp_path / "m.billed.jsonl"
    assert read_billed(own.billed) == {"apple": (20, 0, 11), "pear": (10, 0, 7)}
    assert json.loads(own.billed.read_text().splitlines()[0])["batch"] == "batch_1"
    assert read_billed(tmp_path / "none.billed.jsonl") == {}
