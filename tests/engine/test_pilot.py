"""The model pilot against the emulator: each model's sample billed once, projections from the
measured usage, marks saved, and the full run on the chosen model skipping the pilot's words."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from wordfreq import top_n_list

import synthlib
from synthlib.core.cost import estimate
from synthlib.core.errors import UsageError
from synthlib.core.pricing import price_for
from synthlib.faces.cli import main
from synthlib.jobs.pilots import Pilot, draw_sample, frequency_band, pilot
from synthlib.providers import registry

from .conftest import ledger_cost

MODELS = ["gpt-4o-mini", "gpt-4.1-mini"]
QUICK = {"poll_interval": 0.05}  # the emulator's batches end in a fraction of a second
# common and rare words, and words wordfreq does not know: every band has members
LIST = [*top_n_list("en", 3000)[100:3000:20], "efflorescence", "mellifluous", "zzqxv", "amnion"]


@pytest.fixture
def on_emulator(emulator, workdir, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    return emulator


def _rows(ledger: list[dict], model: str) -> list[dict]:
    return [row for row in ledger if row["model"] == model]


def test_every_pilot_word_is_billed_once_per_model(on_emulator):
    result = pilot(LIST, models=[*MODELS, "offline"], sample=12, seed=3, **QUICK)
    ledger = on_emulator.ledger()
    assert {row["model"] for row in ledger} == set(MODELS)  # offline costs nothing
    for model in MODELS:
        billed = Counter(w for row in _rows(ledger, model) for w in row["words"])
        assert set(billed) == set(result.sample) and set(billed.values()) == {1}
        report = result.reports[model]
        assert report.words == report.entries + sum(report.failures.values()) == 12
        assert set(report.failures) <= {"not_a_word"}  # the emulator's verdict on junk
        assert report.cost_usd == pytest.approx(ledger_cost(_rows(ledger, model), model), 1e-9)
        assert report.input_tokens == sum(r["prompt_tokens"] for r in _rows(ledger, model))
        assert report.output_tokens == sum(r["completion_tokens"] for r in _rows(ledger, model))
    assert result.reports["offline"].cost_usd == 0 and result.reports["offline"].entries >= 10


def test_per_word_figures_share_one_denominator_the_sample_words(on_emulator):
    result = pilot(LIST, models=MODELS[:1], sample=10, **QUICK)
    report = result.reports[MODELS[0]]
    assert report.failures  # junk words: billed, given up, and in the figures all the same
    assert report.input_per_word == pytest.approx(report.input_tokens / 10)
    assert report.output_per_word == pytest.approx(report.output_tokens / 10)
    assert report.cost_per_1000 == pytest.approx(report.cost_usd / 10 * 1000)
    assert report.projected_low_usd < report.projected_cost_usd < report.projected_high_usd


def test_running_the_same_pilot_again_pays_nothing(on_emulator):
    first = pilot(LIST, models=MODELS, sample=8, **QUICK)
    billed = len(on_emulator.ledger())
    again = pilot(LIST, models=MODELS, sample=8, **QUICK)
    assert len(on_emulator.ledger()) == billed
    assert again.id == first.id and again.sample == first.sample


def test_the_full_run_on_the_chosen_model_does_not_send_the_pilots_words(on_emulator):
    tried = pilot(LIST, models=MODELS, sample=10, **QUICK)
    chosen = MODELS[1]
    result = synthlib.run(LIST, model=chosen, provider="openai", **QUICK)
    assert result.phase == "finished"
    billed = Counter(w for row in _rows(on_emulator.ledger(), chosen) for w in row["words"])
    assert set(billed.values()) == {1}  # the pilot's ten were not billed a second time
    assert set(tried.sample) <= set(billed)  # (billed once, by the pilot)
    entries = synthlib.load_entries()
    pilot_batches = {r.batch_id for r in tried.entries(chosen).values()}
    from_pilot = entries[entries["word"].isin(tried.sample)]
    assert set(from_pilot["model"]) == {chosen}
    assert set(from_pilot["batch_id"]) <= pilot_batches


def test_the_pilot_keeps_the_store_one_entry_per_word(on_emulator):
    result = pilot(LIST, models=MODELS, sample=6, **QUICK)
    assert synthlib.load_entries().empty  # the pilot area is not the store's entries
    frame = result.frame()
    assert len(frame) == 6 * len(MODELS)
    assert set(frame["model"]) == set(MODELS)
    assert frame["ok"].sum() == sum(r.entries for r in result.reports.values())


def test_marks_are_saved_with_the_pilot_and_tallied(on_emulator):
    result = pilot(LIST, models=MODELS, sample=4, **QUICK)
    first, second = result.sample[:2]
    result.mark(first, MODELS[1])
    result.mark(second, MODELS[1])
    result.mark(second, MODELS[0])  # changed mind
    again = Pilot.load(result.path)
    assert again.marks == {first: MODELS[1], second: MODELS[0]}
    assert again.tally() == {MODELS[1]: 1, MODELS[0]: 1}
    assert synthlib.latest_pilot().id == result.id
    with pytest.raises(UsageError):
        result.mark("not-in-the-sample", MODELS[0])


def test_the_sample_is_stratified_by_frequency_band_and_repeatable():
    words = LIST
    drawn = draw_sample(words, 12, seed=1)
    assert drawn == draw_sample(words, 12, seed=1)
    assert drawn != draw_sample(words, 12, seed=2)
    assert drawn == [w for w in words if w in drawn]  # the list's order
    bands = {frequency_band(w) for w in words}
    assert {frequency_band(w) for w in drawn} == bands  # every band has its word


def test_the_cli_pilot_prints_the_comparison_and_the_next_step(on_emulator, capsys):
    Path("words.txt").write_text("\n".join(LIST) + "\n")
    code = main(
        [
            "words.txt",
            "--pilot",
            "6",
            "--models",
            "gpt-4o-mini,offline",
            "--yes",
            "--poll-interval",
            "0.05",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Pilot " in out and "6 of" in out
    labels = ("cost/1,000 words", "projected cost", "examples showing word", "findings/100")
    for label in (*labels, "wall s"):
        assert label in out
    assert "batch-synthesis words.txt --model " in out


def test_a_pilot_without_models_is_a_one_line_error(on_emulator, capsys):
    assert main(["words.txt", "--pilot", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--models" in err


def test_the_pilots_dry_run_counts_what_it_would_send_and_sends_nothing(on_emulator, capsys):
    Path("words.txt").write_text("\n".join(LIST) + "\n")
    pilot("words.txt", models=MODELS[:1], sample=5, **QUICK)
    billed = len(on_emulator.ledger())
    args = ["words.txt", "--pilot", "5", "--models", f"{MODELS[0]},{MODELS[1]}", "--dry-run"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"{MODELS[0]}: 0 words to send" in out  # the pilot already has them
    assert f"{MODELS[1]}: 5 words to send, about $" in out
    assert len(on_emulator.ledger()) == billed


def test_a_pilot_run_again_with_nothing_to_send_says_so_and_asks_nothing(on_emulator, capsys):
    """Words the pilot's checkpoint gave up on after its attempts (refused twice here) are not
    sent again, so they are not announced as words to send, nor paid for by a confirmation."""
    on_emulator.configure(refusal_rate=0.5)
    Path("words.txt").write_text("\n".join(LIST) + "\n")
    args = ["words.txt", "--pilot", "8", "--models", MODELS[0], "--max-attempts", "2"]
    assert main([*args, "--yes", "--poll-interval", "0.05"]) == 0
    first = synthlib.latest_pilot().reports[MODELS[0]]
    assert first.failures.get("refused")  # given up after their attempts: the case that counted
    billed = len(on_emulator.ledger())
    capsys.readouterr()

    # without --yes and with no terminal, a question would refuse to spend (exit 2)
    assert main([*args, "--poll-interval", "0.05"]) == 0
    out = capsys.readouterr().out
    assert f"{MODELS[0]}: 0 words to send, nothing to pay (" in out
    assert "Nothing to send: this pilot already has every word of its sample." in out
    assert len(on_emulator.ledger()) == billed


def test_a_pilot_counts_sample_words_another_run_holds_as_words_it_will_buy(on_emulator):
    """Sample words reserved by another run's batches are still the pilot's to buy (that run's
    entries go to the store's entries, not the pilot's area, and words it lets go come back to
    the pilot): the pilot's estimate counts them, so it asks before paying for them."""
    import time

    from synthlib.jobs.pilots import prepare_pilot
    from synthlib.store import open_store
    from synthlib.store.ledger import Holder

    Path("words.txt").write_text("\n".join(LIST) + "\n")
    plan = prepare_pilot("words.txt", models=[MODELS[0]], sample=5, **QUICK)
    config = plan.configs[MODELS[0]]
    sample = list(config.words)
    other = Holder(run_id="run-0123456789ab", checkpoint="/elsewhere/other.checkpoint.json")
    positions = {w: i for i, w in enumerate(sample)}
    with open_store(plan.record.store) as store:
        purchase = config.bought_at(provider="openai").purchase
        assert store.reserve(purchase, other, "s-1", positions, time.time()) == set(sample)
        assert synthlib.dry_run(sample, store=store, provider="openai").held_elsewhere == 5

    est = plan.estimate(MODELS[0])
    assert est.remaining == 5 and est.held_elsewhere == 0
    assert not plan.nothing_to_send()


def _mixed_list(per_kind: int) -> list[str]:
    """Short, middling and long real words (the emulator's entries grow with the word: each
    definition, example and synonym repeats it) and as many junk words, a quarter of the list,
    shuffled; seeded, so the same list every time."""
    rng = random.Random(11)
    known = [w for w in top_n_list("en", 60000) if w.isascii() and w.isalpha()]
    real = [
        w
        for fits in (lambda n: n <= 4, lambda n: 8 <= n <= 11, lambda n: n >= 15)
        for w in rng.sample([w for w in known if fits(len(w))], per_kind)
    ]
    junk = [
        "zzq" + "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(rng.randint(2, 18)))
        for _ in range(per_kind)
    ]
    words = real + junk
    rng.shuffle(words)
    return words


def test_the_projection_is_within_5_percent_of_the_whole_lists_bill(on_emulator):
    """A quarter junk (billed once, given up as not_a_word), entries of very different lengths,
    refusals and truncations retried: each of three pilots of 200 words projects the bill of
    all 800 within 5%, and its 90% band holds that bill (two of three at least: it is a 90%
    band, not a promise)."""
    on_emulator.configure(refusal_rate=0.03, truncate_rate=0.03)
    words = _mixed_list(200)
    model = MODELS[0]
    # the whole list, as a run from scratch sends it
    whole = synthlib.run(words, model=model, provider="openai", store="whole/s.db", **QUICK)
    assert whole.phase == "finished"
    billed = ledger_cost(_rows(on_emulator.ledger(), model), model)
    assert len(_rows(on_emulator.ledger(), model)) > len(words)  # failures were retried, billed

    held = 0
    for seed in range(3):
        before = len(on_emulator.ledger())
        report = pilot(words, models=[model], sample=200, seed=seed, **QUICK).reports[model]
        piloted = _rows(on_emulator.ledger()[before:], model)
        assert report.failures["not_a_word"] == 50 and report.words == 200
        assert report.cost_usd == pytest.approx(ledger_cost(piloted, model), rel=1e-9)
        assert report.projected_cost_usd == pytest.approx(billed, rel=0.05)
        low, high = report.projected_low_usd, report.projected_high_usd
        assert low < report.projected_cost_usd < high < low * 1.2
        held += low <= billed <= high
    assert held >= 2
    # output per valid entry (the old denominator) is far off: junk words' answers are billed
    # but make no entry
    by_entry = estimate(
        synthlib.read_words(words),
        price_for(model, registry.prices()),
        measured_output_per_word=report.output_tokens / report.entries,
        measured_words=report.entries,
    )
    assert by_entry.batch_cost > billed * 1.05


def _billed_after(ledger: list[dict], model: str, before: int) -> Counter:
    return Counter(w for row in _rows(ledger[before:], model) for w in row["words"])


def test_a_grounded_run_takes_only_a_grounded_pilots_words_as_done(on_emulator):
    chosen = MODELS[1]
    plain = pilot(LIST, models=[chosen], sample=6, **QUICK)
    grounded = pilot(LIST, models=[chosen], sample=6, seed=1, grounding=True, **QUICK)
    made_plain = {w for w, _ in plain.entries(chosen)}
    made_grounded = {w for w, _ in grounded.entries(chosen)}
    assert made_plain - made_grounded and made_grounded
    before = len(on_emulator.ledger())
    result = synthlib.run(LIST, model=chosen, provider="openai", grounding=True, **QUICK)
    assert result.phase == "finished"
    billed = _billed_after(on_emulator.ledger(), chosen, before)
    # the grounded pilot's entries were bought with this prompt: not bought again
    assert not made_grounded & set(billed)
    # the plain pilot's were bought with another prompt: the grounded run buys them
    assert made_plain - made_grounded <= set(billed)


def test_a_pilot_on_another_api_is_not_taken_as_done(on_emulator, tmp_path, monkeypatch):
    from synthlib.emulator import Emulator, EmulatorConfig

    from .conftest import FAST

    chosen = MODELS[1]
    made = {w for w, _ in pilot(LIST, models=[chosen], sample=6, **QUICK).entries(chosen)}
    assert made
    other = Emulator(tmp_path / "other", config=EmulatorConfig(**FAST))
    other.start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", other.base_url)
        result = synthlib.run(LIST, model=chosen, provider="openai", **QUICK)
        billed = {w for row in _rows(other.ledger(), chosen) for w in row["words"]}
    finally:
        other.stop()
    assert result.phase == "finished"
    assert made <= billed  # entries bought from the first API are not this API's
