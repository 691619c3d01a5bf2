"""The notebook workbench in a real browser: JupyterLab in headless Chromium, from opening
``run.ipynb`` to a finished offline run.

Run it with::

    bash scripts/install-browser.sh      # Debian's Chromium, once
    pytest -m browser tests/browser -v

Screenshots of every step land in ``test-artifacts/browser/`` (with the server's log), also when
the test fails.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import pytest

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the fixtures skip the test
    PlaywrightTimeout = TimeoutError

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

RUN_TIMEOUT_MS = 120_000
JUNK = "zzqxv"


class Steps:
    """Numbered screenshots of the page (and of the workbench when it is on screen)."""

    def __init__(self, page, directory: Path) -> None:
        self.page, self.directory, self.count = page, directory, 0
        self.workbench = None
        self.width = page.viewport_size["width"]
        self.height = page.viewport_size["height"]

    def shot(self, name: str, detail=None) -> None:
        """``NN-name.png`` (the window), ``NN-name-workbench.png`` (all the widgets) and
        ``NN-name-detail.png`` (the ``detail`` element, as far as it is on screen)."""
        self.count += 1
        stem = f"{self.count:02d}-{name}"
        self.page.mouse.move(0, 0)  # no hover highlight on a table row
        if self.workbench is not None:
            self.fit(self.workbench)
            self.workbench.scroll_into_view_if_needed()
        self.page.screenshot(path=self.directory / f"{stem}.png")
        if self.workbench is not None:
            self.workbench.screenshot(path=self.directory / f"{stem}-workbench.png")
        if detail is not None:
            detail.scroll_into_view_if_needed()
            detail.screenshot(path=self.directory / f"{stem}-detail.png")

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


def _table_rows(table) -> dict[str, str]:
    """A two-column table (header cell, value cell) as a dict; textContent, not innerText, since
    JupyterLab may skip rendering cells scrolled out of view."""
    rows = table.evaluate(
        """t => Array.from(t.querySelectorAll('tbody tr')).map(
               tr => Array.from(tr.children).map(c => c.textContent.trim()))"""
    )
    return {row[0]: row[-1] for row in rows if len(row) >= 2}


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


def _run_all_cells(page) -> None:
    """Run > Run All Cells, retried in case the menu closes before the click lands."""
    menu = page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$"))
    item = page.locator("li.lm-Menu-item[data-command='runmenu:run-all']")
    for attempt in range(3):
        menu.click()
        try:
            item.wait_for(state="visible", timeout=5_000)
            item.click()
            return
        except Exception:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")


def _wait_for_workbench(page, workbench) -> None:
    """Wait for the widgets; should JupyterLab ask which kernel to use, take the one it offers."""
    select = page.locator(".jp-Dialog").get_by_role("button", name="Select", exact=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if select.is_visible():
            select.click()
        try:
            workbench.wait_for(timeout=2_000)
            return
        except PlaywrightTimeout:
            continue
    workbench.wait_for(timeout=1)  # fails with Playwright's message


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


def test_upload_estimate_and_run_in_jupyterlab(jupyter_server, page, artifacts):
    words = jupyter_server.words
    real_words = [w for w in words if w != JUNK]
    steps = Steps(page, artifacts)
    started = time.monotonic()
    try:
        page.goto(jupyter_server.lab_url("run.ipynb"))
        # The notebook is usable once its last cell is rendered and its kernel is idle
        page.locator(".jp-CodeCell .cm-content", has_text="bench.show()").wait_for(timeout=60_000)
        page.locator("#jp-main-statusbar").get_by_text(re.compile(r"Python 3.*\|\s*Idle")).wait_for(
            timeout=60_000
        )
        steps.shot("notebook-open")

        _run_all_cells(page)
        title = page.locator(".widget-html-content h3", has_text="synthlib workbench")
        workbench = page.locator(".widget-vbox", has=title).first
        _wait_for_workbench(page, workbench)
        steps.workbench = workbench
        estimate_button = workbench.locator("button.widget-button", has_text="Estimate")
        run_button = workbench.locator("button.widget-button", has_text=re.compile(r"^\s*Run$"))
        outputs = workbench.locator(":scope > .widget-output")
        estimate_out, summary = outputs.nth(0), outputs.nth(2)
        message = workbench.locator(":scope > .widget-html .widget-html-content").nth(1)
        assert outputs.count() == 3, "expected the estimate, log and summary outputs"
        steps.shot("workbench")

        _upload(page, workbench.locator(".widget-upload"), jupyter_server.words_file)
        message.get_by_text(f"Uploaded {jupyter_server.words_file.name}").wait_for()
        assert workbench.locator(".widget-upload").text_content().strip().endswith("(1)")
        steps.shot("uploaded")

        estimate_button.click()
        cost_table = estimate_out.locator("table")
        cost_table.wait_for(state="attached")
        estimate = _table_rows(cost_table)
        steps.shot("estimate")
        assert "Batch API cost" in estimate, estimate
        assert estimate.get("Total words") == str(len(words)), estimate
        assert estimate["Batch API cost"].startswith("$"), estimate

        run_button.click()
        # The summary says how the run ended; an error shows in the message line instead
        page.wait_for_function(
            """([summary, message]) =>
                   /Finished\\.|Stopped/.test(summary.textContent)
                   || /color:\\s*#b00020/.test(message.innerHTML)""",
            arg=[summary.element_handle(), message.element_handle()],
            timeout=RUN_TIMEOUT_MS,
        )
        assert "Finished." in summary.text_content(), (
            f"the run did not finish: {message.text_content()!r} / {summary.text_content()!r}"
        )
        preview = summary.locator("table", has=page.locator("th", has_text=re.compile(r"^word$")))
        preview.wait_for(state="attached")
        steps.shot("finished")

        status = _table_rows(workbench.locator(".widget-html-content table"))
        assert status.get("Processed") == str(len(real_words)), status
        assert status.get("Failed (given up)") == "1", status
        previewed = _column(preview, "word")
        assert previewed, "the entries preview shows no words"
        assert set(previewed) <= set(real_words), previewed
        assert set(previewed) & set(real_words), previewed
        assert JUNK not in previewed
        assert not run_button.is_disabled(), "Run should be enabled again after the run"
        # The preview as the user sees it: the box that scrolls the (wide) table sideways
        steps.shot("entries-preview", detail=preview.locator("xpath=ancestor::div[1]"))
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=artifacts / "failure.png")
        raise
    finally:
        print(f"browser flow took {time.monotonic() - started:.1f}s")
