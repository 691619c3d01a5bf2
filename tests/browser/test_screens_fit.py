"""The screens a lexicographer reads, at the two common laptop sizes (1280x720 and 1440x900):
the review's Entries and Failures tabs, the pilot notebook standing alone (its word list field,
the models' states in the comparison), and the workbench's status after a run.

Run it with::

    pytest -m browser tests/browser/test_screens_fit.py -v

Screenshots land in ``test-artifacts/browser/screens/`` (``<screen>-<width>x<height>.png``),
also when the test fails.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

import pytest
from lab_page import wait_for_widgets

import synthlib
from synthlib.faces.review import ReviewWidgets

with contextlib.suppress(ImportError):  # without playwright the fixtures skip the test
    from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser" / "screens"
SIZES = [(1280, 720), (1440, 900)]
OPEN_TIMEOUT_MS = 120_000
RUN_TIMEOUT_MS = 120_000
REVIEW_WORDS = ["serendipity", "apple", "run", "book", "quickly", "recieve", "zzqxv"]
IDLE = re.compile(r"Python 3.*\|\s*Idle")


@pytest.fixture(scope="module")
def shots() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _open(page, server, notebook: str, marker: str, run_all_cells) -> None:
    page.goto(server.lab_url(notebook))
    page.locator(".jp-CodeCell .cm-content", has_text=marker).wait_for(timeout=OPEN_TIMEOUT_MS)
    page.locator("#jp-main-statusbar").get_by_text(IDLE).wait_for(timeout=OPEN_TIMEOUT_MS)
    run_all_cells(page)


def _at_each_size(page, folder: Path, name: str, scroll_to) -> None:
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(400)  # JupyterLab lays its panels out again
        scroll_to.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(300)
        page.mouse.move(0, 0)
        page.screenshot(path=folder / f"{name}-{width}x{height}.png")


def _overflow(element) -> float:
    """How far ``element``'s content is wider than the element (0: it fits)."""
    return element.evaluate("e => Math.max(0, e.scrollWidth - e.clientWidth)")


def test_the_review_tables_fit_and_read(jupyter_server, page, shots, run_all_cells):
    root = jupyter_server.root_dir
    result = synthlib.run(
        REVIEW_WORDS,
        provider="offline",
        store=str(root / "synthlib.db"),
        checkpoint=str(root / ".synthlib" / "screens.checkpoint.json"),
    )
    assert set(result.given_up) == {"recieve", "zzqxv"}
    expect.set_options(timeout=60_000)
    _open(page, jupyter_server, "review.ipynb", "rows = 50", run_all_cells)
    title = page.locator(".widget-html-content", has_text="synthlib review")
    review = page.locator(".widget-vbox", has=title).first
    wait_for_widgets(page, review, OPEN_TIMEOUT_MS)
    tabs = review.locator(".widget-tab")
    entries = tabs.locator(".widget-tab-contents > .widget-output").first
    table = entries.locator("table")
    expect(table).to_be_visible()
    heads = [h.strip() for h in table.locator("thead th").all_text_contents()]
    assert heads == ["word", "POS", "IPA", "syllables", "CEFR", "senses", "provider/model"], heads
    expect(table).to_contain_text("ser·en·dip·i·ty")
    _at_each_size(page, shots, "review-entries", review)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.wait_for_timeout(400)
    area = entries.locator(".jp-OutputArea-output").first
    assert _overflow(area) <= 1, "the Entries table is wider than a 1440 px window"
    run_select = review.locator(".widget-dropdown select").first
    assert _overflow(run_select) <= 1 or run_select.evaluate(
        "e => e.options[e.selectedIndex].text.length < 90"
    )

    tabs.locator(".lm-TabBar-tab", has_text="Failures").click()
    failures = tabs.locator(".widget-tab-contents > *").nth(ReviewWidgets.TABS.index("Failures"))
    expect(failures).to_contain_text("recieve")
    expect(failures).to_contain_text("receive")  # did you mean
    _at_each_size(page, shots, "review-failures", review)

    tabs.locator(".lm-TabBar-tab", has_text="Runs").click()
    runs = tabs.locator(".widget-tab-contents > *").nth(ReviewWidgets.TABS.index("Runs"))
    expect(runs).to_contain_text(result.run_id)
    _at_each_size(page, shots, "review-runs", review)


def test_the_pilot_notebook_stands_alone(jupyter_server, page, shots, run_all_cells):
    expect.set_options(timeout=60_000)
    _open(page, jupyter_server, "pilot.ipynb", "sample = 50", run_all_cells)
    view = page.locator(".widget-vbox.synthlib-pilot").first
    wait_for_widgets(page, view, OPEN_TIMEOUT_MS)
    words = view.locator(".sl-pilot-words input")
    expect(words).to_be_visible()
    words.fill(jupyter_server.words_file.name)
    words.press("Enter")
    expect(view.locator(".sl-pilot-words-info")).to_contain_text(
        f"{len(jupyter_server.words)} words"
    )
    models = view.locator(".sl-pilot-models input")
    models.fill("gpt-4o-mini, offline")
    models.press("Tab")
    sample = view.locator(".sl-pilot-sample input")
    sample.fill("4")
    sample.press("Tab")
    _at_each_size(page, shots, "pilot-open", view)
    emulator = jupyter_server.emulator
    emulator.configure(stall=True)  # the paid model's batch stays in progress: its state shows
    try:
        view.locator("button.widget-button", has_text="Run pilot").click()
        table = view.locator(".sl-pilot-table")
        expect(table).to_contain_text("running: 0 of 4 words", timeout=RUN_TIMEOUT_MS)
        expect(table).to_contain_text("done", timeout=RUN_TIMEOUT_MS)  # offline, meanwhile
        assert "$0.0000" not in table.text_content()  # no figures for a model still running
        _at_each_size(page, shots, "pilot-running", view)
    finally:
        emulator.configure(stall=False)
    status = view.locator(".sl-pilot-status")
    expect(status).to_contain_text("Finished", timeout=RUN_TIMEOUT_MS)
    table = view.locator(".sl-pilot-table")
    expect(table).to_contain_text("done")
    _at_each_size(page, shots, "pilot-compared", view)


def test_the_workbench_status_after_a_run(jupyter_server, page, shots, run_all_cells):
    expect.set_options(timeout=60_000)
    _open(page, jupyter_server, "run.ipynb", "dry_run = False", run_all_cells)
    title = page.locator(".widget-html-content h3", has_text="synthlib workbench")
    bench = page.locator(".widget-vbox.synthlib-wb", has=title).first
    wait_for_widgets(page, bench, OPEN_TIMEOUT_MS)
    path = bench.locator(".sl-path input")
    path.fill(jupyter_server.words_file.name)
    path.press("Enter")
    bench.locator("button.widget-button", has_text=re.compile(r"^\s*Run\s*$")).click()
    expect(bench.locator(".sl-summary")).to_contain_text("Finished.", timeout=RUN_TIMEOUT_MS)
    status = bench.locator(".sl-status-table")
    expect(status).to_contain_text("Success rate")
    assert "ETA" not in status.text_content()
    _at_each_size(page, shots, "workbench-finished", bench)
