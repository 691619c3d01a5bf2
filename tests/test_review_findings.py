"""The audit in the review (issue 20): a Findings tab filtered by field, severity and model, the
entry card marking the fields with findings and giving the reasons, findings per 100 entries by
model in the summary."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from synthlib.faces.review import Review, ReviewWidgets
from synthlib.jobs.findings import audit
from synthlib.store import open_store
from synthlib.store.records import EntryRecord


def _record(entry: dict[str, Any], model: str) -> EntryRecord:
    return EntryRecord(
        word=entry["word"],
        entry=entry,
        provider="offline" if model == "offline" else "openai",
        model=model,
        prompt_version="2",
        schema_version="2",
    )


@pytest.fixture
def audited(tmp_path, session_lexicon):
    """A store of four words by two models, audited: house (a model's, with a wrong plural, a
    missing irregular past tense for go and a far CEFR level) and three clean offline entries."""
    entries = {
        w: session_lexicon.entry(w).model_dump(mode="json", by_alias=True)
        for w in ("house", "go", "apple", "cat")
    }
    house = copy.deepcopy(entries["house"])
    house["word_forms"]["plural"] = "housen"
    house["cefr_level"] = "C2"
    go = copy.deepcopy(entries["go"])
    go["word_forms"]["past_tense"] = None
    store = open_store(tmp_path / "review.db")
    store.upsert_entries(
        [
            _record(house, "gpt-4.1-mini"),
            _record(go, "gpt-4.1-mini"),
            _record(entries["apple"], "offline"),
            _record(entries["cat"], "offline"),
        ]
    )
    audit(store, lexicon=session_lexicon, workers=1)
    yield store
    store.close()


def test_the_findings_frame_holds_the_audits_findings_errors_first(audited):
    review = Review(audited, run="all")
    found = review.findings
    assert set(found["word"]) >= {"house", "go"}
    assert found.iloc[0]["severity"] == "error"
    assert "Findings" in review.frames()
    assert {"word", "field", "severity", "reason", "model"} <= set(review.frames()["Findings"])


def test_findings_filter_by_field_severity_and_model(audited):
    review = Review(audited, run="all")
    review.filter_findings(severity="error")
    assert set(review.findings["severity"]) == {"error"}
    assert set(review.findings["word"]) == {"house"}
    review.filter_findings(severity=None, field="word_forms")
    assert set(review.findings["word"]) == {"house", "go"}
    review.filter_findings(field=None, model="offline")
    assert review.findings[review.findings["severity"] != "info"].empty
    assert (
        review.finding_choices()["model"] == ["gpt-4.1-mini"]
        or "offline" in (review.finding_choices()["model"])
    )
    review.filter(search="hou")  # the entries' filters apply to their findings
    review.filter_findings(model=None)
    assert set(review.findings["word"]) == {"house"}


def test_the_summary_gives_findings_per_100_entries_by_model(audited):
    summary = Review(audited, run="all").summary()["value"]
    assert summary["findings per 100 entries (gpt-4.1-mini)"] == 150.0  # 3 findings, 2 entries
    assert summary["findings per 100 entries (offline)"] == 0.0
    per_model = Review(audited, run="all").findings_per_model().set_index("model")
    assert per_model.loc["gpt-4.1-mini", "errors_per_100"] == 50.0


def test_the_card_marks_the_fields_with_findings_and_gives_the_reasons(audited):
    review = Review(audited, run="all")
    html = review.card("house").html
    assert "class='flag error'" in html and "housen" in html
    assert "not the plural of" in html  # the reason, on hover and below
    assert "class='flag warning'" in html  # the CEFR level
    assert "Audit" in html
    go = review.card("go").html
    assert "(missing)" in go and "went" in go
    clean = review.card("apple").html
    assert "flag" not in clean.replace(".flag", "")


def test_a_store_never_audited_shows_no_findings_section(tmp_path, session_lexicon):
    store = open_store(tmp_path / "plain.db")
    entry = session_lexicon.entry("cat").model_dump(mode="json", by_alias=True)
    store.upsert_entries([_record(entry, "offline")])
    review = Review(store, run="all")
    assert review.findings.empty
    texts = json.dumps(list(review.sections()))
    assert "Findings" not in texts
    assert not any(k.startswith("findings per 100") for k in review.summary().index)
    store.close()


def test_the_findings_tab_filters_in_place(audited):
    review = Review(audited, run="all")
    ui = ReviewWidgets(review)
    assert "Findings" in ui.TABS
    out = ui.outputs["Findings"]
    assert "housen" in json.dumps(out.outputs)
    assert ("error", "error") in ui.finding_pickers["severity"].options
    ui.finding_pickers["severity"].value = "warning"
    assert set(review.findings["severity"]) == {"warning"}
    assert ui.outputs["Findings"] is out
    assert "housen" not in json.dumps(out.outputs)


def test_the_card_shows_what_an_earlier_version_had_before_a_repair(audited, session_lexicon):
    repaired = session_lexicon.entry("house").model_dump(mode="json", by_alias=True)
    audited.upsert_entries([_record(repaired, "gpt-4.1-mini")])
    audit(audited, lexicon=session_lexicon, workers=1)
    card = Review(audited, run="all").card("house")
    assert "Before repair" in card.html and "housen" in card.html
    assert "class='flag error'" not in card.html.split("Before repair")[0].split(".flag.info")[-1]
    assert {f["value"] for f in card.before} == {"housen", "C2"}


def test_the_cards_before_repair_list_leaves_out_another_models_entry(audited, session_lexicon):
    """An offline entry of house, spoiled differently, is another model's entry: its findings
    are neither the card's findings nor an earlier version of the card's entry."""
    offline_house = session_lexicon.entry("house").model_dump(mode="json", by_alias=True)
    offline_house["word_forms"]["plural"] = "housies"
    audited.upsert_entries([_record(offline_house, "offline")])
    audit(audited, lexicon=session_lexicon, workers=1)
    card = Review(audited, run="all").card("house")
    assert card.record.model == "gpt-4.1-mini"  # the paid entry is shown
    assert card.before == []
    assert "housies" not in card.html
