"""The pilot view: its widgets' callbacks without a browser, the comparison's formatting, and the
headless run of the pilot notebook."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from synthlib.emulator import Emulator, EmulatorConfig
from synthlib.faces.pilot_view import PilotView, comparison_frame, tally_text
from synthlib.faces.workbench import Workbench, _Widgets, show_pilot
from synthlib.jobs.pilots import ModelReport, Pilot

FAST = dict(validating_seconds=0.05, seconds_per_request=0.0002, finalizing_seconds=0.05)
WORDS = ["apple", "river", "happy", "garden", "quickly", "book", "zzqxv"]
PAID = "gpt-4o-mini"


@pytest.fixture
def words_file(tmp_path) -> Path:
    path = tmp_path / "words.txt"
    path.write_text("\n".join(WORDS) + "\n")
    return path


@pytest.fixture
def emulator_env(tmp_path, monkeypatch, one_lexicon):
    emu = Emulator(tmp_path / "emu", config=EmulatorConfig(**FAST)).start()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-pilot-view")
    monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url)
    monkeypatch.chdir(tmp_path)
    yield emu
    emu.stop()


def _view(words_file, models: str, sample: int = 4) -> PilotView:
    ui = _Widgets(Workbench(words=words_file, poll_interval=0.05))
    view = ui.pilot_view
    view.models.value, view.sample.value = models, sample
    return view


def _ran(view: PilotView) -> Pilot:
    thread = view.on_run()
    assert thread is not None, view.notice.value
    view.wait(120)
    assert not thread.is_alive(), "the pilot did not end"
    assert "sl-error" not in view.notice.value, view.notice.value
    return view.pilot


def _first_word_with_entries(view: PilotView) -> str:
    pilot = view.pilot
    entries = pilot.entries()
    return next(w for w in pilot.sample if all((w, m) in entries for m in pilot.models))


def test_the_workbench_folds_the_pilot_under_its_settings(offline_env):
    ui = _Widgets(Workbench())
    assert ui.pilot_section.selected_index is None  # folded
    assert ui.pilot_view.bench is ui.bench and ui.pilot_view.workbench is ui
    children = list(ui.box.children)
    assert children.index(ui.store) < children.index(ui.pilot_section)


def test_the_models_field_offers_the_workbenchs_model_and_offline(emulator_env):
    view = PilotView(Workbench(model="gpt-4.1-mini"))
    assert view.models.value == "gpt-4.1-mini, offline"
    assert view.table.value == "" and view.word.options == ()
    assert view.choose_button.disabled


def test_without_a_key_the_models_field_offers_offline_alone(offline_env):
    assert PilotView(Workbench()).models.value == "offline"


def test_a_bad_models_field_is_one_line_in_the_notice(offline_env, words_file):
    view = _view(words_file, " , ")
    assert view.on_run() is None
    assert "sl-error" in view.notice.value
    assert "at least one model" in view.notice.value
    assert not view.run_button.disabled


def test_the_pilot_shows_each_models_column_and_the_words_cards(emulator_env, words_file):
    view = _view(words_file, f"{PAID}, offline")
    pilot = _ran(view)
    assert pilot.models == [PAID, "offline"]
    assert "Finished" in view.status.value
    table = view.table.value
    assert f"<th>{PAID}</th>" in table and "<th>offline</th>" in table
    assert "projected cost, 7 words" in table and "$" in table and "free" in table
    assert list(view.word.options) == pilot.sample and len(pilot.sample) == 4
    word = _first_word_with_entries(view)
    view.word.value = word
    for model in pilot.models:
        assert f"data-word='{word}'" in view.slots[model].card.value
    assert view.choose_button.description == f"Run the whole list on {PAID}"


def test_a_failed_word_shows_its_reason_in_place_of_a_card(emulator_env, words_file):
    view = _view(words_file, PAID)
    pilot = _ran(view)
    assert "zzqxv" in pilot.sample  # its own frequency band: always drawn
    view.word.value = "zzqxv"
    assert "No entry: not_a_word" in view.slots[PAID].card.value
    assert view.slots[PAID].better.disabled


def test_previous_and_next_step_through_the_sample(offline_env, one_lexicon, words_file):
    view = _view(words_file, "offline")
    pilot = _ran(view)
    assert view.word.value == pilot.sample[0]
    view.step(+1)
    assert view.word.value == pilot.sample[1]
    assert view.position.value.count("2 of 4")
    view.step(-1)
    view.step(-1)
    assert view.word.value == pilot.sample[0]  # no further than the first


def test_marking_a_card_better_saves_it_and_updates_the_tally(emulator_env, words_file):
    view = _view(words_file, f"{PAID}, offline")
    pilot = _ran(view)
    word = view.word.value = _first_word_with_entries(view)

    view.slots["offline"].better.value = True  # what a click on Better sends

    assert pilot.marks == {word: "offline"}
    assert json.loads(pilot.path.read_text())["marks"] == {word: "offline"}
    assert "offline 1" in view.tally.value and f"{PAID} 0" in view.tally.value
    assert view.slots["offline"].better.button_style == "success"
    assert view.choice.value == "offline"  # the leader is offered
    assert "<td class='sl-best'>1</td>" in view.table.value  # the marks' row


def test_marking_another_card_moves_the_mark_and_untoggling_clears_it(emulator_env, words_file):
    view = _view(words_file, f"{PAID}, offline")
    pilot = _ran(view)
    word = view.word.value = _first_word_with_entries(view)
    view.slots["offline"].better.value = True

    view.slots[PAID].better.value = True
    assert pilot.marks == {word: PAID}
    assert view.slots["offline"].better.value is False  # one better entry per word
    assert f"Marked better: {PAID} 1, offline 0" in view.tally.value  # the models field's order
    assert tally_text(pilot, [PAID, "offline"]).startswith(f"Marked better: {PAID} 1, offline 0")

    view.slots[PAID].better.value = False
    assert pilot.marks == {}
    assert json.loads(pilot.path.read_text())["marks"] == {}
    assert "(0 of 4 words marked)" in view.tally.value


def test_the_marks_are_shown_again_when_the_view_is_built_again(emulator_env, words_file):
    view = _view(words_file, f"{PAID}, offline")
    _ran(view)
    word = view.word.value = _first_word_with_entries(view)
    view.slots[PAID].better.value = True

    again = PilotView(Workbench(words=words_file))
    assert again.pilot is not None and again.pilot.marks == {word: PAID}
    assert "The last pilot beside the store" in again.status.value
    again.word.value = word
    assert again.slots[PAID].better.value is True
    assert f"{PAID} 1" in again.tally.value


def test_choosing_hands_the_model_to_the_workbenchs_run(emulator_env, words_file):
    view = _view(words_file, f"{PAID}, gpt-4.1-mini, offline")
    pilot = _ran(view)
    ui = view.workbench
    view.choice.value = "gpt-4.1-mini"
    assert view.choose_button.description == "Run the whole list on gpt-4.1-mini"

    job = view.on_choose()

    assert job is not None, (view.notice.value, ui.notice.value)
    assert ui.provider.value == "openai" and ui.model.value == "gpt-4.1-mini"
    assert job.model == "gpt-4.1-mini" and len(job.config.words) == len(WORDS)
    assert "already made by a pilot with gpt-4.1-mini" in view.choose_info.value
    result = job.wait(120)
    assert result.phase == "finished"
    billed = Counter(
        w for row in emulator_env.ledger() if row["model"] == "gpt-4.1-mini" for w in row["words"]
    )
    made = {w for (w, m) in pilot.entries() if m == "gpt-4.1-mini"}
    assert len(made) == 3 and set(WORDS) - {"zzqxv"} <= set(billed), billed
    assert all(billed[w] == 1 for w in made), billed  # the pilot's entries are not sent again


def test_choosing_offline_sets_the_offline_provider(offline_env, one_lexicon, words_file):
    view = _view(words_file, "offline")
    pilot = _ran(view)
    made = len(pilot.entries())
    job = view.on_choose()
    assert job is not None and view.workbench.provider.value == "offline"
    assert job.wait(120).phase == "finished"
    assert f"{made} words already made by a pilot" in view.choose_info.value


def test_a_view_standing_alone_shows_a_workbench_below_it_for_the_full_run(
    offline_env, one_lexicon, words_file
):
    view = PilotView(Workbench(words=words_file, poll_interval=0.05), models="offline", sample=3)
    assert view.workbench is None and view.full_run.children == ()
    _ran(view)
    job = view.on_choose()
    assert job is not None
    assert view.full_run.children == (view.workbench.box,)
    assert view.workbench.pilot_view is None  # no second pilot inside
    assert job.wait(120).phase == "finished"


def test_choosing_while_the_pilot_runs_is_refused(emulator_env, words_file):
    emulator_env.configure(stall=True)
    view = _view(words_file, PAID)
    view.on_run()
    try:
        view.pilot.reports[PAID] = ModelReport(PAID, "openai", PAID)  # as if a model had ended
        view._fill_choice()
        assert view.on_choose() is None
        assert "still running" in view.notice.value
    finally:
        view.on_stop()
        emulator_env.configure(stall=False)
        view.wait(120)
    assert "Stopped" in view.status.value, view.status.value
    assert not view.run_button.disabled and view.stop_button.disabled


def test_the_comparison_reads_as_money_and_percentages(tmp_path):
    pilot = Pilot(
        id="p1",
        path=tmp_path / "p1.json",
        store=None,
        list_name="words.txt",
        list_words=10_000,
        sample=["a", "b", "c", "d"],
        bands={},
    )
    pilot.reports = {
        "m": ModelReport(
            "m",
            "openai",
            "m",
            words=4,
            entries=3,
            failures={"not_a_word": 1},
            input_tokens=1200,
            output_tokens=2400,
            cost_usd=0.0123,
            wall_seconds=12.34,
            phase="finished",
            senses_per_entry=2.25,
            examples_per_sense=1.5,
            examples_showing_word=0.875,
            projected_cost_usd=31.5,
            projected_low_usd=29.25,
            projected_high_usd=34.0,
        ),
        "offline": ModelReport(
            "offline", "offline", "offline:x", words=4, entries=4, phase="finished"
        ),
    }
    shown = comparison_frame(pilot)
    m = shown["m"]
    assert m["valid entries"] == "75% (3 of 4)"
    assert m["failures"] == "not_a_word 1"
    # per sample word, the not-a-word answer's tokens included (one denominator)
    assert m["input tokens/word"] == "300" and m["output tokens/word"] == "600"
    assert m["cost/1,000 words"] == "$3.08"
    assert m["projected cost, 10,000 words"] == "$31.50 ($29.25–$34.00)"
    assert m["examples showing the word"] == "88%" and m["wall time"] == "12.3 s"
    assert shown["offline"]["projected cost, 10,000 words"] == "free"


def test_headless_the_pilot_runs_from_the_parameters_and_prints_the_comparison(
    offline_env, one_lexicon, words_file, capsys
):
    pilot = show_pilot(words_file, models="offline", sample=3, poll_interval=0.05)
    assert isinstance(pilot, Pilot) and pilot.models == ["offline"]
    printed = capsys.readouterr().out
    made = len(pilot.entries())
    assert f"offline: {made} of 3 words have entries" in printed
    assert "projected cost, 7 words" in printed and "Marked better: offline 0" in printed
    assert "Nothing to send" not in printed
    show_pilot(words_file, models="offline", sample=3, poll_interval=0.05)  # again
    assert "Nothing to send: this pilot already has every word of its sample." in (
        capsys.readouterr().out
    )


def test_each_models_state_is_shown_as_it_is_and_no_figures_before_results(tmp_path):
    from synthlib.engine.progress import Progress
    from synthlib.faces.pilot_view import comparison_frame
    from synthlib.jobs.pilots import ModelReport, Pilot

    pilot = Pilot(
        id="p", path=tmp_path / "p.json", store=None, list_name="words.txt", list_words=100,
        sample=[f"w{i}" for i in range(20)], bands={},
    )  # fmt: skip
    pilot.reports = {
        "queued": ModelReport("queued", "openai", "queued", words=20),
        "going": ModelReport("going", "openai", "going", words=20),
        "done": ModelReport("done", "offline", "offline:x", words=20, entries=19, phase="finished"),
        "broken": ModelReport("broken", "openai", "broken", words=20, phase="failed",
                              error="401 Unauthorized: check OPENAI_API_KEY"),
    }  # fmt: skip
    going = Progress(20, 10, 2, 0, 8, 0, {}, 0, 0, 0.0, 3.0, 12)
    shown = comparison_frame(pilot, progress={"going": going}, running=True)
    assert shown.loc["state"].to_dict() == {
        "queued": "queued",
        "going": "running: 12 of 20 words, 8 in flight",
        "done": "done",
        "broken": "failed: 401 Unauthorized: check OPENAI_API_KEY",
    }
    for model in ("queued", "going", "broken"):  # no "0% (0 of 20)" or "$0.0000" as if failed
        figures = shown[model].drop(["state", "provider"])
        assert set(figures) == {"–"}, (model, figures.to_dict())
    assert shown["done"]["valid entries"] == "95% (19 of 20)"
    assert comparison_frame(pilot).loc["state", "queued"] == "not run"  # no pilot going


def test_the_comparison_is_indexed_by_model(tmp_path):
    from synthlib.jobs.pilots import ModelReport, Pilot

    pilot = Pilot(
        id="p", path=tmp_path / "p.json", store=None, list_name="w", list_words=3,
        sample=["a"], bands={},
    )  # fmt: skip
    pilot.reports = {m: ModelReport(m, "openai", m, words=1) for m in ("gpt-4o-mini", "offline")}
    frame = pilot.comparison()
    assert list(frame.index) == ["gpt-4o-mini", "offline"] and frame.index.name == "model"
    assert list(frame.T.columns) == ["gpt-4o-mini", "offline"]


def test_standing_alone_the_view_has_its_own_word_list_field(offline_env, words_file):
    view = PilotView(Workbench(poll_interval=0.05))
    assert view.words_row.layout.display is None  # shown (pilot.ipynb)
    assert "bundled example list" in view.words_info.value
    view.words_path.value = str(words_file)
    assert "words.txt" in view.words_info.value and "<b>7</b> words" in view.words_info.value
    view.models.value, view.sample.value = "offline", 3
    pilot = _ran(view)
    assert pilot.list_words == len(WORDS) and set(pilot.sample) <= set(WORDS)


def test_in_the_workbench_the_pilot_uses_the_workbenchs_word_list(offline_env):
    view = _Widgets(Workbench()).pilot_view
    assert view.words_row not in view.box.children  # one word list field on the page


def test_rerunning_the_cells_keeps_the_fields_and_they_match_the_pilot_shown(
    offline_env, words_file
):
    first = PilotView(Workbench(words=words_file, poll_interval=0.05), models="offline")
    first.sample.value, first.seed.value = 3, 7
    _ran(first)
    again = PilotView(Workbench(words=words_file, poll_interval=0.05), models="offline")
    assert (again.models.value, again.sample.value, again.seed.value) == ("offline", 3, 7)
    assert again.table.value and "offline" in again.table.value
    from synthlib.faces.pilot_view import _REMEMBERED

    _REMEMBERED.clear()  # a new kernel: the fields follow the latest pilot shown
    fresh = PilotView(Workbench(words=words_file, poll_interval=0.05), models="offline")
    assert fresh.pilot is not None and fresh.sample.value == len(fresh.pilot.sample) == 3
    assert fresh.models.value == "offline"
    edited = PilotView(Workbench(words=words_file, poll_interval=0.05), models="offline", sample=5)
    assert edited.sample.value == 5  # parameters edited by the user win over remembered fields
