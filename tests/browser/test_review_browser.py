"""The review notebook in a real browser: JupyterLab in headless Chromium over a store of two
offline runs, from opening ``review.ipynb`` through the run picker, a part of speech, a word
search, the entry card, the charts, the card's arrows, to Clear filters, as a user clicks and
reads them.

Run it with::

    bash scripts/install-browser.sh      # Debian's Chromium, once
    pytest -m browser tests/browser/test_review_browser.py -v

Screenshots of every step land in ``test-artifacts/browser/review/`` (with the server's log),
also when the test fails: ``NN-step.png`` is the window (1400 wide, as tall as the review needs),
``NN-step-review.png`` the review's widgets alone.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from pathlib import Path

import pytest
from lab_page import wait_for_widgets

import synthlib
from synthlib.faces.review import ReviewWidgets

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip the test
    PlaywrightTimeout = TimeoutError

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

FIRST = ["apple", "river", "garden", "quickly"]  # the older run
SECOND = ["run", "happy", "book"]  # the latest run
VERBS = ["book", "garden", "run"]  # WordNet's verbs among both lists
OPEN_TIMEOUT_MS = 120_000  # JupyterLab, the kernel and the first review on a busy machine
UPDATE_TIMEOUT_MS = 60_000  # one widget change answered by the kernel


class Shots:
    """Numbered screenshots: the window, made tall enough for the whole review (JupyterLab
    scrolls the notebook inside a fixed-height panel, which would cut a tall output off), and
    the review's widgets alone."""

    def __init__(self, page, directory: Path) -> None:
        self.page, self.directory, self.count = page, directory, 0
        self.width = page.viewport_size["width"]
        self.height = page.viewport_size["height"]
        self.review = None
        statusbar = page.locator("#jp-main-statusbar")
        self.idle = statusbar.get_by_text(re.compile(r"Python 3.*\|\s*Idle"))

    def shot(self, name: str) -> None:
        self.count += 1
        stem = f"{self.count:02d}-{name}"
        self.page.mouse.move(0, 0)  # no hover highlight
        self.idle.wait_for(timeout=UPDATE_TIMEOUT_MS)  # the kernel done redrawing
        if self.review is not None:
            self._fit(self.review)
        self.page.screenshot(path=self.directory / f"{stem}.png")
        if self.review is not None:
            self.review.screenshot(path=self.directory / f"{stem}-review.png")

    def _fit(self, locator) -> None:
        box = locator.bounding_box()
        if box is None:
            return
        wanted = min(8000, max(self.height, int(box["height"]) + 300))
        if wanted != self.page.viewport_size["height"]:
            self.page.set_viewport_size({"width": self.width, "height": wanted})
        locator.scroll_into_view_if_needed()
        # wait for JupyterLab to lay the panels out at the new size: the review whole in view
        self.page.wait_for_function(
            """([el, h]) => {
                   if (window.innerHeight !== h) return false;
                   const r = el.getBoundingClientRect();
                   let s = el.parentElement;
                   while (s && !/(auto|scroll)/.test(getComputedStyle(s).overflowY)) {
                       s = s.parentElement;
                   }
                   const v = s ? s.getBoundingClientRect() : {top: 0, bottom: h};
                   if (r.top < v.top - 1 || r.bottom > v.bottom + 1) {
                       el.scrollIntoView({block: 'start'});
                       return false;
                   }
                   return true;
               }""",
            arg=[locator.element_handle(), wanted],
            timeout=UPDATE_TIMEOUT_MS,
        )


def _make_store(root: Path) -> list[str]:
    """Two offline runs into ``root/synthlib.db`` (the notebook's default store, in the kernel's
    working directory), their checkpoints beside it; the run ids, oldest first."""
    run_ids = []
    for i, words in enumerate([FIRST, SECOND]):
        result = synthlib.run(
            words,
            provider="offline",
            store=str(root / "synthlib.db"),
            checkpoint=str(root / ".synthlib" / f"review-{i}.checkpoint.json"),
        )
        assert result.phase == "finished" and not result.given_up, result
        run_ids.append(result.run_id)
    return run_ids


# The "word" column of the table in an output area (textContent: JupyterLab may skip rendering
# what is scrolled out of view); null while the area shows no table.
WORDS_JS = """out => {
    const t = out.querySelector('table');
    if (!t) return null;
    const heads = Array.from(t.querySelectorAll('thead th')).map(th => th.textContent.trim());
    const i = heads.indexOf('word');
    return Array.from(t.querySelectorAll('tbody tr'))
        .map(tr => (tr.children[i] || {textContent: ''}).textContent.trim());
}"""


def _words(output) -> list[str] | None:
    return output.evaluate(WORDS_JS)


def _wait_words(page, output, expected: list[str]) -> None:
    """Wait until the table in ``output`` lists exactly ``expected`` in its word column."""
    try:
        page.wait_for_function(
            f"""([out, want]) => {{
                   const got = ({WORDS_JS})(out);
                   return got !== null && JSON.stringify(got) === JSON.stringify(want);
               }}""",
            arg=[output.element_handle(), expected],
            timeout=UPDATE_TIMEOUT_MS,
        )
    except PlaywrightTimeout:
        raise AssertionError(f"the table shows {_words(output)}, not {expected}") from None


def test_the_review_in_jupyterlab(jupyter_server, page, artifacts, run_all_cells):
    root = jupyter_server.root_dir
    older, latest = _make_store(root)  # before the notebook opens: it reads the store at once
    shots_dir = artifacts / "review"  # not beside the workbench's, which its test clears
    shutil.rmtree(shots_dir, ignore_errors=True)
    shots_dir.mkdir(parents=True)
    shots = Shots(page, shots_dir)
    expect.set_options(timeout=UPDATE_TIMEOUT_MS)  # a busy machine answers late, not never
    started = time.monotonic()
    try:
        page.goto(jupyter_server.lab_url("review.ipynb"))
        # The notebook is usable once its cells are rendered and its kernel is idle
        page.locator(".jp-CodeCell .cm-content", has_text="rows = 50").wait_for(
            timeout=OPEN_TIMEOUT_MS
        )
        page.locator("#jp-main-statusbar").get_by_text(re.compile(r"Python 3.*\|\s*Idle")).wait_for(
            timeout=OPEN_TIMEOUT_MS
        )
        shots.shot("notebook-open")

        run_all_cells(page)
        title = page.locator(".widget-html-content", has_text="synthlib review")
        review = page.locator(".widget-vbox", has=title).first
        wait_for_widgets(page, review, OPEN_TIMEOUT_MS)
        cell = page.locator(".jp-CodeCell", has=review)

        def dropdown(label: str):
            name = page.locator("label", has_text=re.compile(rf"^{re.escape(label)}$"))
            return review.locator(".widget-dropdown", has=name).locator("select")

        def button(text: str):
            pattern = re.compile(rf"^\s*{re.escape(text)}\s*$")
            return review.locator("button.widget-button", has_text=pattern)

        run_picker, pos_picker = dropdown("Run"), dropdown("Part of speech")
        word_picker = dropdown("Entry card")
        search = review.locator(".widget-text input")
        status = review.locator(":scope > .widget-html").nth(1)
        tabs = review.locator(".widget-tab")
        entries = tabs.locator(".widget-tab-contents > .widget-output").first
        card_area = review.locator(":scope > .widget-output")
        card = card_area.locator(".synthlib-card")
        next_word = review.locator("button.widget-button[title='next word']")
        previous_word = review.locator("button.widget-button[title='previous word']")

        # (1) The latest run by default: the second list's words, none of the first's
        _wait_words(page, entries, sorted(SECOND))
        expect(tabs.locator(".lm-TabBar-tab.lm-mod-current")).to_have_text("Entries")
        expect(status).to_contain_text(f"Run {latest} (latest)")
        expect(status).to_contain_text("3 entries")
        assert run_picker.input_value().startswith(f"latest: {latest}"), run_picker.input_value()
        offered = run_picker.locator("option").all_text_contents()
        assert any(older in o for o in offered) and any(latest in o for o in offered), offered
        assert not set(_words(entries)) & set(FIRST)
        expect(card).to_have_attribute("data-word", sorted(SECOND)[0])
        # one output in the cell: the review, whatever the widgets redraw inside it
        outputs = cell.locator(".jp-Cell-outputArea > .jp-OutputArea-child")
        expect(outputs).to_have_count(1)
        shots.review = review
        shots.shot("latest-run")

        # (2) The whole store: both lists
        run_picker.select_option("whole store")
        _wait_words(page, entries, sorted(FIRST + SECOND))
        expect(status).to_contain_text("Whole store")
        expect(status).to_contain_text("7 entries")
        options = pos_picker.locator("option").all_text_contents()
        assert "adverb" in options and "verb" in options, options  # the first run's adverb too
        shots.shot("whole-store")

        # (3) A part of speech re-filters the same table in place: fewer rows, the verbs
        entries.evaluate("out => { out.dataset.probe = 'entries'; }")
        table_node = entries.locator("table").element_handle()
        pos_picker.select_option("verb")
        _wait_words(page, entries, VERBS)
        assert entries.get_attribute("data-probe") == "entries"  # the same output area
        assert table_node.evaluate("t => !t.isConnected")  # its table replaced, not added to
        expect(entries.locator("table")).to_have_count(1)
        expect(outputs).to_have_count(1)
        expect(status).to_contain_text(f"{len(VERBS)} of 7 entries")
        expect(status).to_contain_text("part of speech 'verb'")
        shots.shot("verbs")

        # (4) The word search narrows the table to one word, and the card follows it
        search.fill("gard")
        _wait_words(page, entries, ["garden"])
        expect(status).to_contain_text("1 of 7 entries")
        expect(word_picker).to_have_value("garden")

        # (5) The card: the headword, its IPA (as the table has it) and a definition
        expect(card).to_have_attribute("data-word", "garden")
        expect(card.locator(".hw")).to_have_text("garden")
        ipa = entries.evaluate(
            """out => {
                   const t = out.querySelector('table');
                   const heads = Array.from(t.querySelectorAll('thead th'))
                       .map(th => th.textContent.trim());
                   const row = t.querySelector('tbody tr');
                   return row.children[heads.indexOf('IPA')].textContent.trim();
               }"""
        )
        assert re.fullmatch(r"/.+/", ipa), ipa
        expect(card.locator(".ipa")).to_have_text(ipa)
        expect(card.locator(".pos-name").first).not_to_be_empty()
        definition = card.locator(".def").first.text_content().strip()
        assert len(definition) > 10, definition
        expect(card_area.locator(".synthlib-card")).to_have_count(1)
        shots.shot("search-garden")

        # The charts tab: drawn when opened, and redrawn (slowly) with every change while open
        charts_tab = tabs.locator(".lm-TabBar-tab", has_text="Charts")
        # by position among the tabs' contents (the Findings tab's is a box, not an output)
        charts = tabs.locator(".widget-tab-contents > *").nth(ReviewWidgets.TABS.index("Charts"))
        charts_tab.click()
        expect(charts.locator("img")).to_be_visible()
        shots.shot("charts")

        # Stepping: the search cleared (the verbs again), next shows the next verb's card. The
        # click comes while the kernel still redraws the charts: JupyterLab may deliver it on
        # another kernel thread (comms over subshells), and it must not be lost.
        chart = charts.locator("img").get_attribute("src")
        search.fill("")
        _wait_words(page, entries, VERBS)
        expect(card).to_have_attribute("data-word", "garden")  # the card kept its word
        next_word.click()
        expect(card).to_have_attribute("data-word", "run")
        expect(card.locator(".hw")).to_have_text("run")
        expect(word_picker).to_have_value("run")
        assert card.locator(".def").first.text_content().strip() != definition
        expect(card_area.locator(".synthlib-card")).to_have_count(1)
        expect(charts.locator("img")).not_to_have_attribute("src", chart)  # redrawn for verbs
        shots.shot("next-word")
        next_word.click()  # "run" is the last verb: the card stays, then back one
        previous_word.click()
        expect(card).to_have_attribute("data-word", "garden")
        expect(word_picker).to_have_value("garden")

        # (6) Clear filters: every word of the scope again, the pickers back to (any)
        tabs.locator(".lm-TabBar-tab", has_text="Entries").click()
        button("Clear filters").click()
        _wait_words(page, entries, sorted(FIRST + SECOND))
        expect(pos_picker).to_have_value("(any)")
        expect(search).to_have_value("")
        expect(status).to_have_text(re.compile(r"Whole store .*: 7 entries\.$"))
        expect(run_picker).to_have_value("whole store")  # the scope is not a filter
        expect(card).to_have_attribute("data-word", "garden")
        expect(outputs).to_have_count(1)
        assert entries.get_attribute("data-probe") == "entries"
        shots.shot("cleared")
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=shots_dir / "failure.png")
        raise
    finally:
        with contextlib.suppress(OSError):
            shutil.copyfile(jupyter_server.log, shots_dir / "jupyter.log")
        print(f"review flow took {time.monotonic() - started:.1f}s")
