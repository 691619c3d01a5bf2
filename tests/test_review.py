"""The review notebook's library: scope (latest run or the whole store), filters in place, the
entry card, clean tables, charts that skip what is empty, and the notebook run headless."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from factories import entry_dict, record

from synthlib.core.errors import UsageError
from synthlib.core.schema import Entry
from synthlib.faces.review import Review, ReviewWidgets, card_html, clean, table
from synthlib.store import open_store
from synthlib.store.records import EntryRecord, FailureRecord

ROOT = Path(__file__).resolve().parents[1]


def made(word: str, run_id: str, **kw) -> EntryRecord:
    """A record of ``word`` by run ``run_id``; ``kw`` changes the entry (pos, senses, cefr) or,
    for provenance keys, the record."""
    keys = {
        "provider",
        "model",
        "batch_id",
        "input_tokens",
        "cached_tokens",
        "output_tokens",
        "cost_usd",
        "created_at",
    }
    provenance = {k: kw.pop(k) for k in list(kw) if k in keys}
    content = Entry.model_validate(entry_dict(word, **kw)).model_dump(mode="json", by_alias=True)
    return EntryRecord(
        word=word,
        entry=content,
        provider=provenance.pop("provider", "openai"),
        model=provenance.pop("model", "gpt-4o-mini"),
        prompt_version="1",
        schema_version="1",
        run_id=run_id,
        **provenance,
    )


def summary(run_id: str, provider: str = "openai", recorded_at: str = "2026-01-01T10:00:00+00:00"):
    return {
        "run_id": run_id,
        "provider": provider,
        "model": "gpt-4o-mini",
        "phase": "finished",
        "words": 2,
        "processed": 2,
        "given_up": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
        "batches": 1,
        "failure_reasons": {},
        "start_time": recorded_at,
        "recorded_at": recorded_at,
    }


@pytest.fixture
def two_runs(tmp_path):
    """A store with an older paid run (apple, pear) and a newer free run (walk, river, zzqxj)."""
    path = tmp_path / "review.db"
    store = open_store(path)
    store.upsert_entries(
        [
            made(
                "apple",
                "run-old",
                batch_id="batch_a",
                input_tokens=800,
                output_tokens=400,
                cost_usd=0.0003,
                created_at="2026-01-01T09:00:00+00:00",
            ),
            made(
                "pear",
                "run-old",
                batch_id="batch_b",
                input_tokens=500,
                output_tokens=300,
                cost_usd=0.0002,
                cefr="A2",
                created_at="2026-01-01T09:10:00+00:00",
            ),
            made("walk", "run-new", pos="verb", senses=2, provider="offline", model="wordnet"),
            made("river", "run-new", provider="offline", model="wordnet", cefr=None),
        ]
    )
    store.record_failures([FailureRecord("zzqxj", "not_a_word", given_up=True, run_id="run-new")])
    store.record_run(summary("run-old", recorded_at="2026-01-01T10:00:00+00:00"))
    store.record_run(summary("run-new", "offline", recorded_at="2026-01-02T10:00:00+00:00"))
    store.close()
    return path


def words(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["word"].unique())


# --- scope ---------------------------------------------------------------------------------------


def test_the_latest_run_is_the_default_scope(two_runs):
    review = Review(two_runs)
    assert review.run == "latest" and review.run_id == "run-new"
    assert words(review.entries) == ["river", "walk"]
    assert words(review.failures) == ["zzqxj"]
    assert review.run_summary["provider"] == "offline"
    assert review.scope_line().startswith("Run run-new (latest)")


def test_run_all_shows_the_whole_store(two_runs):
    review = Review(two_runs, run="all")
    assert review.run_id is None
    assert words(review.entries) == ["apple", "pear", "river", "walk"]
    assert len(review.runs) == 2 and review.runs["run_id"].tolist() == ["run-old", "run-new"]


def test_a_run_id_shows_that_run_and_an_unknown_one_is_refused(two_runs):
    assert words(Review(two_runs, run="run-old").entries) == ["apple", "pear"]
    with pytest.raises(UsageError, match=r"no run 'run-nope'.*run-new"):
        Review(two_runs, run="run-nope")


def test_latest_is_the_whole_store_when_no_run_was_recorded(tmp_path):
    store = open_store(tmp_path / "s.db")
    store.upsert_entries([record("apple"), record("pear", run_id="run-x")])
    review = Review(store)
    assert review.run_id is None and words(review.entries) == ["apple", "pear"]
    assert "no run recorded" in review.scope_line()


def test_reload_moves_latest_to_a_newer_run(two_runs):
    review = Review(two_runs)
    store = open_store(two_runs)
    store.upsert_entries([made("lamp", "run-newest")])
    store.record_run(summary("run-newest", recorded_at="2026-01-03T10:00:00+00:00"))
    store.close()
    assert review.reload().run_id == "run-newest"
    assert words(review.entries) == ["lamp"]


# --- filters -------------------------------------------------------------------------------------


def test_filters_refilter_the_frames_in_place_and_clear(two_runs):
    review = Review(two_runs, run="all")
    assert review.filter(part_of_speech="verb") is review
    assert words(review.entries) == ["walk"]
    assert set(review.senses["part_of_speech"]) == {"verb"} and len(review.senses) == 2
    assert words(review.examples) == ["walk"]
    review.filter(part_of_speech=None)
    assert words(review.entries) == ["apple", "pear", "river", "walk"]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("cefr_level", "A2", ["pear"]),
        ("provider", "offline", ["river", "walk"]),
        ("search", "AL", ["walk"]),  # any case, part of a word
        ("register", "neutral", ["apple", "pear", "river", "walk"]),
        ("register", "formal", []),
    ],
)
def test_each_filter_keeps_its_words(two_runs, name, value, expected):
    assert words(Review(two_runs, run="all", **{name: value}).entries) == expected


def test_the_run_switch_is_a_filter_too(two_runs):
    review = Review(two_runs, part_of_speech="noun")
    assert words(review.entries) == ["river"]
    review.filter(run="all")
    assert words(review.entries) == ["apple", "pear", "river"]  # the filter stays


def test_an_unknown_filter_is_refused(two_runs):
    with pytest.raises(UsageError, match="unknown review filter 'colour'"):
        Review(two_runs).filter(colour="red")


def test_choices_offer_the_values_of_the_scope(two_runs):
    choices = Review(two_runs, run="all").choices()
    assert choices["part_of_speech"] == ["noun", "verb"]
    assert choices["cefr_level"] == ["A2", "B1"]
    assert choices["provider"] == ["offline", "openai"]


# --- the entry card ------------------------------------------------------------------------------


def rich_record() -> EntryRecord:
    content = entry_dict("apple", senses=2)
    content["pronunciation"] = {
        "ipa": "/ˈæp.əl/",
        "respelling": "AP-uhl",
        "syllables": ["ap", "ple"],
    }
    first, second = content["parts_of_speech"][0]["senses"]
    first.update(
        definition="A fruit <script>alert(1)</script>",
        register="informal",
        domain="botany",
        region="UK",
        synonyms=["pome"],
        antonyms=["pear"],
        examples=["She ate an apple.", "Apples & pears."],
        usage_notes='Often in "apple of my eye".',
    )
    second.update(definition="The tree bearing it.", examples=["An apple in bloom."])
    content["parts_of_speech"].append(
        {"part_of_speech": "verb", "senses": [{**second, "definition": "To pick apples."}]}
    )
    content["word_forms"] = dict.fromkeys(
        [
            "plural",
            "past_tense",
            "past_participle",
            "present_participle",
            "third_person_singular",
            "comparative",
            "superlative",
        ]
    ) | {"plural": "apples"}
    content["etymology"] = {
        "text": "From Old English æppel.",
        "origin_language": "Old English",
        "roots": ["æppel"],
        "first_known_use": "before 1150",
    }
    entry = Entry.model_validate(content).model_dump(mode="json", by_alias=True)
    return EntryRecord(
        word="apple",
        entry=entry,
        provider="openai",
        model="gpt-4o-mini",
        prompt_version="3",
        schema_version="1",
        batch_id="batch_abc",
        input_tokens=800,
        cached_tokens=100,
        output_tokens=434,
        cost_usd=0.000321,
        run_id="run-1",
    )


def test_the_card_is_a_dictionary_page_of_the_entry():
    page = card_html(rich_record())
    for text in [
        "apple",
        "/ˈæp.əl/",
        "(AP-uhl)",
        "ap·ple",
        "noun",
        "verb",
        "The tree bearing it.",
        "To pick apples.",
        "She ate an apple.",
        "An apple in bloom.",
        "pome",
        "informal",
        "botany",
        "UK",
        "B1",
        "plural <b>apples</b>",
        "From Old English æppel.",
        "Old English",
        "before 1150",
        "frequency band 3 of 5",
    ]:
        assert text in page, text
    assert page.index("noun") < page.index("The tree bearing it.") < page.index("verb")


def test_the_card_escapes_every_stored_text():
    page = card_html(rich_record())
    assert "<script>" not in page
    assert "A fruit &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Apples &amp; pears." in page and "&quot;apple of my eye&quot;" in page


def test_the_card_says_where_the_entry_came_from():
    page = card_html(rich_record())
    expected = [
        "openai",
        "gpt-4o-mini",
        "prompt v3",
        "schema v1",
        "batch batch_abc",
        "1,234 tokens (800 in, 100 cached, 434 out)",
        "$0.000321",
        "run run-1",
    ]
    for text in expected:
        assert text in page, text


def test_review_card_finds_any_word_of_the_store(two_runs):
    review = Review(two_runs)  # the latest run: walk and river
    assert review.card().word == "river"  # the first word in view
    apple = review.card("apple")  # made by the older run
    assert "sense 1 of apple" in apple._repr_html_() and "run run-old" in apple.html
    with pytest.raises(UsageError, match="no entry for 'nope'"):
        review.card("nope")


# --- clean tables --------------------------------------------------------------------------------


def test_clean_cells_are_blank_whole_and_joined():
    frame = pd.DataFrame(
        {
            "word": ["apple", "odd"],
            "frequency_band": [3, None],  # a float column in pandas
            "syllables": [["ap", "ple"], []],
            "word_forms": [{"plural": "apples", "past_tense": None}, {}],
            "examples": [["One, two.", "Three."], None],
            "etymology": [None, float("nan")],
            "cost_usd": [0.000321, 0.0],
        }
    )
    shown = clean(frame, hide_empty=False)
    assert shown.loc[0].tolist() == [
        "apple",
        "3",
        "ap·ple",  # syllables read as one word
        "plural: apples",
        "One, two. / Three.",
        "",
        "0.000321",
    ]
    assert shown.loc[1].tolist() == ["odd", "", "", "", "", "", "0"]
    assert "etymology" not in clean(frame).columns  # blank on every row


def test_tables_of_a_review_hold_no_nan_or_none_and_keep_raw_frames(two_runs):
    review = Review(two_runs, run="all")
    for frame in review.frames().values():
        html = table(frame).to_html()
        text = clean(frame).to_string()
        for bad in ("nan", "NaN", "None", "<NA>", "3.0"):
            assert bad not in html and bad not in text, bad
    assert review.entries["syllables"].iloc[0] == ["apple"]  # raw values for code
    assert isinstance(review.entries["word_forms"].iloc[0], dict)


def test_tables_keep_ids_and_models_on_one_line_and_escape_text(two_runs):
    frame = pd.DataFrame({"run_id": ["run-1"], "definition": ["<b>x</b>"]})
    html = Review.table(frame).to_html()
    assert "white-space: nowrap" in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<b>x</b>" not in html


def test_free_runs_hide_token_and_cost_columns(two_runs):
    shown = clean(Review(two_runs).entries)  # the offline run
    assert not {"input_tokens", "output_tokens", "cost_usd", "batch_id"} & set(shown.columns)
    paid = clean(Review(two_runs, run="run-old").entries)
    assert {"input_tokens", "output_tokens", "cost_usd", "batch_id"} <= set(paid.columns)


# --- summary and charts --------------------------------------------------------------------------


def test_summary_returns_its_table_without_displaying_it(two_runs, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: shown.append(a))
    frame = Review(two_runs, run="all").summary()
    assert shown == []
    assert frame.loc["entries", "value"] == 4 and frame.loc["failures", "value"] == 1
    assert frame.loc["input tokens", "value"] == 1300


def titles(figure) -> list[str]:
    return [ax.get_title() for ax in figure.axes if ax.get_title()]


def test_a_free_run_has_no_token_or_cost_chart(two_runs):
    assert "Tokens per batch over the run" not in titles(Review(two_runs).plot())
    assert "Tokens per batch over the run" in titles(Review(two_runs, run="run-old").plot())


def test_nothing_to_chart_gives_no_figure(two_runs):
    assert Review(two_runs, search="nothing-like-this").plot() is None


def counting_axes(figure) -> list:
    """The axes of ``figure`` that count words, tokens or batches."""
    counts = []
    for ax in figure.axes:
        counts += [
            a
            for a in (ax.xaxis, ax.yaxis)
            if a.get_label().get_text() in ("words", "tokens", "batch")
        ]
    return counts


@pytest.mark.parametrize(("run", "search"), [("all", None), ("run-old", "apple")])
def test_charts_count_in_whole_numbers(two_runs, run, search):
    figure = Review(two_runs, run=run, search=search).plot()  # run-old, apple: one batch
    figure.canvas.draw()
    axes = counting_axes(figure)
    assert len(axes) >= 5
    for axis in axes:
        lo, hi = axis.get_view_interval()
        ticks = [t for t in axis.get_majorticklocs() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() for t in ticks), (axis.axes.get_title(), ticks)


# --- widgets -------------------------------------------------------------------------------------


def test_widgets_refilter_one_output_area_in_place(two_runs):
    review = Review(two_runs, run="all")
    ui = ReviewWidgets(review)
    entries_out = ui.outputs["Entries"]
    assert "apple" in json.dumps(entries_out.outputs)
    ui.pickers["part_of_speech"].value = "verb"
    assert words(review.entries) == ["walk"]
    assert ui.outputs["Entries"] is entries_out and len(entries_out.outputs) == 1
    assert "apple" not in json.dumps(entries_out.outputs)
    assert "1 of 4 entries" in ui.status.value
    assert list(ui.word.options) == ["walk"] and "sense 1 of walk" in json.dumps(ui.card.outputs)
    ui.on_reset()
    assert words(review.entries) == ["apple", "pear", "river", "walk"]


def test_widgets_switch_run_and_step_through_cards(two_runs):
    review = Review(two_runs)
    ui = ReviewWidgets(review)
    assert list(ui.word.options) == ["river", "walk"]
    ui.run.value = "all"
    assert review.run_id is None and list(ui.word.options) == ["apple", "pear", "river", "walk"]
    ui.word.value = "apple"
    ui.step(+1)
    assert ui.word.value == "pear" and "sense 1 of pear" in json.dumps(ui.card.outputs)
    ui.search.value = "xyz"
    assert ui.word.options == () and ui.card.outputs == ()


def test_widgets_draw_charts_when_their_tab_opens(two_runs):
    ui = ReviewWidgets(Review(two_runs))
    assert ui.outputs["Charts"].outputs == ()
    ui.tabs.selected_index = ui.TABS.index("Charts")
    assert "image/png" in ui.outputs["Charts"].outputs[0]["data"]


def test_show_uses_widgets_only_in_a_jupyter_session(two_runs, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **k: shown.append(obj))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    Review(two_runs).show()
    assert all(isinstance(item, dict) for item in shown)  # static bundles
    shown.clear()
    monkeypatch.setenv("JPY_SESSION_NAME", "review.ipynb")
    review = Review(two_runs)
    review.show()
    assert shown == [review.widgets.box]


# --- the notebook, headless ----------------------------------------------------------------------


def outputs_of(notebook: Path) -> list[dict]:
    nb = json.loads(notebook.read_text())
    return [out for cell in nb["cells"] for out in cell.get("outputs", [])]


def test_the_notebook_runs_headless_from_its_parameters(two_runs, tmp_path, monkeypatch):
    import papermill

    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "review.ipynb"),
        str(out),
        cwd=str(tmp_path),
        progress_bar=False,
        parameters={"store": str(two_runs), "run": "all", "part_of_speech": "verb"},
    )
    shown = outputs_of(out)
    texts = ["".join(o.get("data", {}).get("text/plain", "")) for o in shown]
    htmls = "".join("".join(o.get("data", {}).get("text/html", "")) for o in shown)
    assert sum("input tokens" in t for t in texts) == 1  # the summary, once
    assert "1 of 4 entries" in texts[0]
    assert "synthlib-card" in htmls and "sense 2 of walk" in htmls
    assert any("image/png" in o.get("data", {}) for o in shown)
    assert not re.search(r">\s*(nan|NaN|None)\s*<", htmls)
    assert not re.search(r"\b(nan|NaN|None)\b", " ".join(texts))
    assert not [o for o in shown if o["output_type"] == "error"]


def test_the_notebook_in_the_repo_has_no_outputs():
    nb = json.loads((ROOT / "notebooks" / "review.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    assert "parameters" in code[0]["metadata"]["tags"]
    assert 'run = "latest"' in "".join(code[0]["source"])


def _offline_record(lexicon, word: str):
    entry = lexicon.entry(word).model_dump(mode="json", by_alias=True)
    return record(word, entry=entry, provider="offline", model="offline")


def test_the_card_shows_a_forms_headword_the_senses_left_out_and_an_estimated_ipa(
    session_lexicon,
):
    page = card_html(_offline_record(session_lexicon, "children"))
    assert "Headword" in page and ">child<" in page
    assert "estimated from the spelling" in card_html(
        _offline_record(session_lexicon, "efflorescence")
    )
    run = _offline_record(session_lexicon, "run")
    verbs = next(p for p in run.entry["parts_of_speech"] if p["part_of_speech"] == "verb")
    assert f"8 of {verbs['sense_count']} senses" in card_html(run)


def test_failures_are_the_runs_given_up_words_whatever_other_models_left(offline_env):
    """The Failures tab and the Runs tab agree: a word the latest run gave up is its failure even
    when the store holds that word's entry from another model."""
    import synthlib
    from synthlib.jobs.frames import load_failures

    with open_store() as store:
        store.upsert_entries(
            [record("zzqxv", model="gpt-4o-mini"), record("qqxvz", model="gpt-4o")]
        )
    result = synthlib.run(["apple", "zzqxv", "qqxvz"])
    assert set(result.given_up) == {"zzqxv", "qqxvz"}
    review = Review()
    (latest,) = review.runs.to_dict("records")
    assert latest["given_up"] == 2 and "given_up_words" not in review.runs
    assert sorted(review.failures["word"]) == ["qqxvz", "zzqxv"]
    assert set(review.failures["code"]) == {"not_found"}
    assert review.failures["given_up"].all()
    assert list(load_failures(run=result)["word"]) == ["qqxvz", "zzqxv"]
    assert list(load_failures(run_id=result.run_id)["word"]) == ["qqxvz", "zzqxv"]
    assert "2 failures" in review.scope_line()
    assert load_failures()["word"].tolist() == []  # the whole store: words with no entry at all


def test_the_entries_table_is_the_columns_that_fit_and_the_card_has_the_rest(two_runs):
    review = Review(two_runs, run="all")
    shown = review.frames()["Entries"]
    assert list(shown.columns) == [
        "word", "POS", "IPA", "syllables", "CEFR", "senses", "provider/model"
    ]  # fmt: skip
    assert "word_forms" in review.entries  # the raw frame keeps every field
    made = set(shown["provider/model"])
    assert made <= {"offline", "openai/gpt-4o-mini", "openai/gpt-4.1-mini"}, made


def test_times_read_to_the_minute_in_utc():
    from synthlib.faces.review import cell

    when = pd.Timestamp("2026-12-07T11:02:33.5", tz="UTC")
    assert cell(when) == "2026-12-07 11:02 UTC"
    assert cell("2026-12-07T11:02:33+00:00") == "2026-12-07 11:02 UTC"


def test_the_runs_table_reads_as_runs_not_as_a_log(two_runs):
    shown = Review(two_runs, run="all").frames()["Runs"]
    assert list(shown.columns) == [
        "run", "provider/model", "ended", "words", "entries", "given up", "failures",
        "cost_usd", "recorded",
    ]  # fmt: skip
    assert shown["run"].tolist() == ["run-new", "run-old"]  # newest first
    empty = Review(open_store(two_runs.parent / "empty.db")).frames()["Runs"]
    assert len(empty) == 0 and "run" in empty
