"""The notebook workbench in a real browser: JupyterLab in headless Chromium, from opening
``run.ipynb`` through an error, an upload, the estimate, a run clicked twice, Stop, a refused
Start over, the resume, a Start over, and an export, against the project's Batch API emulator.

Run it with::

    bash scripts/install-browser.sh      # Debian's Chromium, once
    pytest -m browser tests/browser -v

Screenshots of every step land in ``test-artifacts/browser/`` (with the server's log), also when
the test fails: ``NN-step.png`` is the window as a user sees it (1400x1000, unless the step makes
it taller to show the whole workbench), ``NN-step-workbench.png`` the workbench alone.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from lab_page import in_window, wait_for_widgets

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip the test
    PlaywrightTimeout = TimeoutError

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

RUN_TIMEOUT_MS = 120_000
JUNK = "zzqxv"
ERROR_STYLE = ".sl-error"


class Steps:
    """Numbered screenshots of the page (and of the workbench when it is on screen)."""

    def __init__(self, page, directory: Path) -> None:
        self.page, self.directory, self.count = page, directory, 0
        self.workbench = None
        self.width = page.viewport_size["width"]
        self.height = page.viewport_size["height"]

    def shot(self, name: str, detail=None) -> None:
        """``NN-name.png`` (the window, made tall enough for the whole workbench),
        ``NN-name-workbench.png`` (all the widgets) and ``NN-name-detail.png`` (the ``detail``
        element, as far as it is on screen)."""
        stem = self._next(name)
        if self.workbench is not None:
            self.fit(self.workbench)
            self.workbench.scroll_into_view_if_needed()
        self.page.screenshot(path=self.directory / f"{stem}.png")
        if self.workbench is not None:
            self.workbench.screenshot(path=self.directory / f"{stem}-workbench.png")
        if detail is not None:
            detail.scroll_into_view_if_needed()
            detail.screenshot(path=self.directory / f"{stem}-detail.png")

    def window(self, name: str, scroll_to=None) -> None:
        """``NN-name.png``: the window at its first size (1400x1000), with ``scroll_to`` in
        view, as a user on such a screen sees it."""
        stem = self._next(name)
        if self.page.viewport_size["height"] != self.height:
            self.page.set_viewport_size({"width": self.width, "height": self.height})
            self.page.wait_for_timeout(300)  # let JupyterLab lay the panels out again
        if scroll_to is not None:
            scroll_to.scroll_into_view_if_needed()
        self.page.screenshot(path=self.directory / f"{stem}.png")

    def _next(self, name: str) -> str:
        self.count += 1
        self.page.mouse.move(0, 0)  # no hover highlight on a table row
        return f"{self.count:02d}-{name}"

    def fit(self, locator) -> None:
        """Make the window tall enough to show all of ``locator``: JupyterLab scrolls the
        notebook inside a fixed-height panel, so a taller element would be cut off."""
        box = locator.bounding_box()
        if box is None:
            return
        wanted = min(6000, max(self.height, int(box["height"]) + 350))
        if wanted != self.page.viewport_size["height"]:
            self.page.set_viewport_size({"width": self.width, "height": wanted})
            self.page.wait_for_timeout(300)  # let JupyterLab lay the panels out again


def _pairs(table) -> dict[str, str]:
    """A table of (header cell, value cell) pairs, several a row, as a dict; textContent, not
    innerText, since JupyterLab may skip rendering cells scrolled out of view."""
    pairs = table.evaluate(
        """t => Array.from(t.querySelectorAll('th')).map(
               th => [th.textContent.trim(),
                      th.nextElementSibling ? th.nextElementSibling.textContent.trim() : ''])"""
    )
    return dict(pairs)


def _column(table, name: str) -> list[str]:
    """The values of the column headed ``name`` in a pandas HTML table."""
    return table.evaluate(
        """(t, name) => {
               const heads = Array.from(t.querySelectorAll('thead tr:first-child th'))
                   .map(th => th.textContent.trim());
               const i = heads.indexOf(name);
               if (i < 0) return [];
               return Array.from(t.querySelectorAll('tbody tr'))
                   .map(tr => (tr.children[i] || {textContent: ''}).textContent.trim());
           }""",
        name,
    )


def _upload(page, upload_button, path: Path) -> None:
    """ipywidgets' FileUpload keeps its ``<input type=file>`` outside the document (the button
    clicks it), so set the file through the chooser the click opens, unless a future version puts
    the input in the page."""
    inputs = upload_button.locator("input[type=file]")
    if inputs.count():
        inputs.first.set_input_files(path)
        return
    with page.expect_file_chooser() as chooser:
        upload_button.click()
    chooser.value.set_files(path)


def test_the_workbench_in_jupyterlab(jupyter_server, page, artifacts, run_all_cells):
    emulator = jupyter_server.emulator
    words = jupyter_server.words
    real_words = [w for w in words if w != JUNK]
    steps = Steps(page, artifacts)
    expect.set_options(timeout=30_000)  # a busy machine answers late, not never
    started = time.monotonic()
    try:
        page.goto(jupyter_server.lab_url("run.ipynb"))
        # The notebook is usable once its cells are rendered and its kernel is idle
        page.locator(".jp-CodeCell .cm-content", has_text="dry_run = False").wait_for(
            timeout=60_000
        )
        page.locator("#jp-main-statusbar").get_by_text(re.compile(r"Python 3.*\|\s*Idle")).wait_for(
            timeout=60_000
        )
        steps.shot("notebook-open")

        run_all_cells(page)
        title = page.locator(".widget-html-content h3", has_text="synthlib workbench")
        workbench = page.locator(".widget-vbox.synthlib-wb", has=title).first
        wait_for_widgets(page, workbench)

        def part(name: str):
            return workbench.locator(f".sl-{name}")

        def button(label: str):
            pattern = re.compile(rf"^\s*{re.escape(label)}\s*$")
            return workbench.locator("button.widget-button", has_text=pattern)

        headline, notice, summary, log = (
            part("headline"),
            part("notice"),
            part("summary"),
            part("log"),
        )
        bar, status, estimate = part("bar"), part("status"), part("estimate")
        run_button = button("Run")
        # the status and the progress bar come before the settings and the estimate
        assert bar.bounding_box()["y"] < part("path").bounding_box()["y"]
        assert bar.bounding_box()["y"] < estimate.bounding_box()["y"]
        expect(part("provider-info")).to_contain_text("auto: openai")
        steps.window("workbench-in-window")
        steps.workbench = workbench
        steps.shot("workbench")

        # An error is shown, and stays while the kernel does other things, until the next action
        part("max-cost").locator("input").fill("ten dollars")
        expect(part("max-cost-info")).to_contain_text("not an amount of dollars")
        button("Estimate").click()
        expect(notice.locator(ERROR_STYLE)).to_contain_text("Max cost 'ten dollars'")
        part("provider").locator("select").select_option("offline")
        expect(part("provider-info")).to_contain_text("offline: free")  # the kernel answered
        expect(notice.locator(ERROR_STYLE)).to_contain_text("Max cost 'ten dollars'")
        steps.shot("error-kept")
        part("provider").locator("select").select_option("auto")
        expect(part("provider-info")).to_contain_text("auto: openai")
        part("max-cost").locator("input").fill("")
        expect(part("max-cost-info")).to_contain_text("no limit")

        # Upload: the file's name and word count, not "Upload words (1)"
        upload = workbench.locator(".widget-upload")
        _upload(page, upload, jupyter_server.words_file)
        expect(part("words-info")).to_contain_text(
            f"{jupyter_server.words_file.name} (uploaded): {len(words)} words"
        )
        expect(notice).to_contain_text(f"Uploaded {jupyter_server.words_file.name}")
        label = upload.evaluate("b => getComputedStyle(b, '::after').content")
        assert label == '"Upload words"', label
        assert upload.evaluate("b => getComputedStyle(b).fontSize") == "0px"  # no "(0)"/"(1)"
        steps.shot("uploaded")

        # The estimate: the deciding figures; the whole table folded
        batch_size = part("batch-size").locator("input")
        batch_size.fill("3")
        batch_size.press("Tab")
        button("Estimate").click()
        expect(estimate).to_contain_text("words in the list")
        cards = dict(
            estimate.locator(".sl-card").evaluate_all(
                """cs => cs.map(c => [c.querySelector('span').textContent,
                                      c.querySelector('b').textContent])"""
            )
        )
        assert cards["words in the list"] == str(len(words)), cards
        assert cards["already done"] == "0" and cards["remaining"] == str(len(words)), cards
        assert cards["batches"] == "3", cards
        assert cards["Batch API cost"].startswith("$") and cards["per 1,000 words"].startswith("$")
        full_table = part("estimate-more").locator("table")
        assert not full_table.is_visible(), "the full estimate table should start folded"
        steps.shot("estimate")
        part("estimate-more").get_by_text("Full estimate table").click()
        expect(full_table).to_be_visible()
        assert "Batch API cost" in _pairs(full_table) or "Batch API cost" in full_table.inner_text()
        steps.shot("estimate-table-open")
        part("estimate-more").get_by_text("Full estimate table").click()
        expect(full_table).to_be_hidden()

        # Run, clicked twice: one job. The emulator holds the batches in flight.
        emulator.configure(stall=True)
        run_button.dblclick()
        page.wait_for_function(
            "el => /^7\\b/.test((Array.from(el.querySelectorAll('th'))"
            ".find(th => th.textContent.trim() === 'In flight') || {nextElementSibling: {"
            "textContent: ''}}).nextElementSibling.textContent.trim())",
            arg=status.element_handle(),
            timeout=RUN_TIMEOUT_MS,
        )
        expect(headline).to_contain_text("Running on openai")
        expect(notice).to_contain_text("A run is going already")
        assert log.text_content().count("starting run") == 1, log.text_content()
        assert run_button.is_disabled()
        steps.window("running-in-window", scroll_to=run_button)
        assert in_window(page, bar), "the progress bar is out of the 1400x1000 window"
        assert in_window(page, run_button)
        steps.shot("running")

        # Stop: the batches stay in flight for the next Run
        button("Stop").click()
        expect(summary).to_contain_text("Stopped", timeout=RUN_TIMEOUT_MS)
        expect(headline).to_contain_text("Stopped")
        expect(run_button).to_be_enabled()
        steps.shot("stopped")

        # Start over is refused while the checkpoint has batches in flight, in the UI's words
        button("Start over").click()
        refused = notice.locator(ERROR_STYLE)
        expect(refused).to_contain_text("in flight")
        expect(refused).to_contain_text("Start over would pay for them twice")
        assert "--" not in notice.text_content(), notice.text_content()
        assert not button("Yes, start over").is_visible()
        part("provider").locator("select").select_option("offline")  # a setting, not an action
        expect(part("provider-info")).to_contain_text("offline: free")  # the kernel answered
        expect(refused).to_contain_text("Start over would pay for them twice")
        steps.shot("start-over-refused")
        part("provider").locator("select").select_option("auto")
        expect(part("provider-info")).to_contain_text("auto: openai")

        # Run again: the figures start afresh, the estimate counts the batches in flight
        emulator.configure(stall=False)
        run_button.click()
        expect(summary).to_contain_text("Finished.", timeout=RUN_TIMEOUT_MS)
        expect(estimate).to_contain_text("at the start of this Run")
        assert "in flight" in estimate.text_content()
        assert "Stopped" not in summary.text_content()
        shown = _pairs(status.locator("table"))
        assert shown.get("Processed") == str(len(real_words)), shown
        assert shown.get("Failed (given up)") == "1", shown
        expect(headline).to_contain_text("Finished")
        expect(summary).to_contain_text(JUNK)  # the given-up word, by name, with its reason
        expect(summary).to_contain_text("not_a_word")
        preview = summary.locator("table", has=page.locator("th", has_text=re.compile(r"^word$")))
        preview.last.wait_for(state="attached")
        previewed = _column(preview.last, "word")
        assert previewed and set(previewed) <= set(real_words), previewed
        steps.shot("resumed-finished")
        steps.shot("entries-preview", detail=preview.last.locator("xpath=ancestor::div[1]"))

        # Start over: asked first, then a fresh run that sends no word the store has
        button("Start over").click()
        expect(button("Yes, start over")).to_be_visible()
        steps.shot("start-over-confirm")
        button("Yes, start over").click()
        expect(summary).to_contain_text("Finished.", timeout=RUN_TIMEOUT_MS)
        expect(summary).to_contain_text("This run made no new entries")
        expect(log).to_contain_text("set the old checkpoint aside")
        expect(log).to_contain_text("the redo parameter sends them")  # in the UI's words
        assert " --" not in log.text_content(), log.text_content()
        billed = Counter(w for row in emulator.ledger() for w in row["words"])
        assert all(billed[w] == 1 for w in real_words), billed  # never paid twice
        steps.shot("started-over")

        # Export the whole store as CSV, beside the store
        part("export-format").locator("select").select_option(label="CSV")
        part("export-scope").locator("select").select_option(label="Whole store")
        button("Export").click()
        expect(part("export-info")).to_contain_text(f"Wrote {len(real_words)} entries")
        written = jupyter_server.root_dir / "synthlib-entries.csv"
        assert str(written) in part("export-info").text_content()
        assert written.exists()
        assert len(written.read_text().splitlines()) == len(real_words) + 1
        steps.shot("exported")
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=artifacts / "failure.png")
        raise
    finally:
        print(f"browser flow took {time.monotonic() - started:.1f}s")
