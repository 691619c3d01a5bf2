"""The model pilot in a real browser: JupyterLab in headless Chromium, ``run.ipynb``'s workbench,
its "Pilot: compare models first" section, two OpenAI models on the project's Batch API emulator
plus the offline provider: run the pilot, read the comparison, step to a word, mark one card
better, see the tally, and run the whole list on the chosen model (the pilot's entries are not
sent again).

Run it with::

    bash scripts/install-browser.sh      # Debian's Chromium, once
    pytest -m browser tests/browser/test_pilot_browser.py -v

Screenshots land in ``test-artifacts/browser/pilot/`` (a folder of their own: the other browser
tests empty ``test-artifacts/browser/``), also when the test fails: ``NN-step.png`` is the window
as a user sees it at 1400x1000, ``NN-step-pilot.png`` the pilot section alone.
"""

from __future__ import annotations

import contextlib
import json
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

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser" / "pilot"
RUN_TIMEOUT_MS = 120_000
MODELS = ["gpt-4o-mini", "gpt-4.1-mini", "offline"]
CHOSEN = "gpt-4.1-mini"
SAMPLE = 4


@pytest.fixture
def shots() -> Path:
    """``test-artifacts/browser/pilot/``, emptied of the previous run's images."""
    folder = ARTIFACTS
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


class Shots:
    """Numbered screenshots: the window at 1400x1000 with an element in view, and the element."""

    def __init__(self, page, folder: Path) -> None:
        self.page, self.folder, self.count = page, folder, 0

    def take(self, name: str, scroll_to=None, element=None) -> None:
        self.count += 1
        stem = f"{self.count:02d}-{name}"
        self.page.mouse.move(0, 0)  # no hover highlight
        if scroll_to is not None:  # to the top of the window: what follows it shows below
            scroll_to.evaluate("e => e.scrollIntoView({block: 'start'})")
            self.page.wait_for_timeout(300)
        self.page.screenshot(path=self.folder / f"{stem}.png")
        if element is not None:
            element.screenshot(path=self.folder / f"{stem}-pilot.png")


def _fill(field, value: str) -> None:
    """Type into a widget's input and leave it (the view reads it when it changes)."""
    box = field.locator("input")
    box.fill(value)
    box.press("Tab")


def test_the_model_pilot_in_jupyterlab(jupyter_server, page, shots, run_all_cells):
    emulator = jupyter_server.emulator
    shot = Shots(page, shots)
    expect.set_options(timeout=30_000)
    started = time.monotonic()
    try:
        page.goto(jupyter_server.lab_url("run.ipynb"))
        page.locator(".jp-CodeCell .cm-content", has_text="dry_run = False").wait_for(
            timeout=60_000
        )
        page.locator("#jp-main-statusbar").get_by_text(re.compile(r"Python 3.*\|\s*Idle")).wait_for(
            timeout=60_000
        )
        run_all_cells(page)
        title = page.locator(".widget-html-content h3", has_text="synthlib workbench")
        workbench = page.locator(".widget-vbox.synthlib-wb", has=title).first
        wait_for_widgets(page, workbench)

        def part(name: str):
            return workbench.locator(f".sl-{name}")

        def button(label: str, within=None):
            pattern = re.compile(rf"^\s*{re.escape(label)}\s*$")
            return (within or workbench).locator("button.widget-button", has_text=pattern)

        # the word list of the whole run, then the pilot's section, folded until opened
        path = part("path").locator("input")
        path.fill(jupyter_server.words_file.name)
        path.press("Enter")
        expect(part("words-info")).to_contain_text(f"{len(jupyter_server.words)} words")
        pilot = workbench.locator(".synthlib-pilot")
        assert not pilot.is_visible(), "the pilot section should start folded"
        workbench.get_by_text("Pilot: compare models first").click()
        expect(pilot).to_be_visible()
        models = pilot.locator(".sl-pilot-models")
        expect(models.locator("input")).to_have_value("gpt-4o-mini, offline")  # offered
        _fill(models, ", ".join(MODELS))
        _fill(pilot.locator(".sl-pilot-sample"), str(SAMPLE))
        shot.take("pilot-open", scroll_to=part("max-cost"), element=pilot)

        # Run pilot: every model's column, as its run ends
        button("Run pilot", pilot).click()
        status = pilot.locator(".sl-pilot-status")
        expect(status).to_contain_text("Finished", timeout=RUN_TIMEOUT_MS)
        notice = pilot.locator(".sl-pilot-notice")
        assert not notice.locator(".sl-error").count(), notice.text_content()
        table = pilot.locator(".sl-pilot-table")
        heads = table.locator("thead th").all_text_contents()
        assert heads[1:] == MODELS, heads
        rows = dict(
            table.locator("tbody tr").evaluate_all(
                """rs => rs.map(r => [r.querySelector('th').textContent,
                    Array.from(r.querySelectorAll('td')).map(td => td.textContent)])"""
            )
        )
        words = len(jupyter_server.words)
        projected = rows[f"projected cost, {words} words"]
        assert projected[0].startswith("$") and projected[1].startswith("$"), rows
        assert projected[2] == "free", rows
        assert all(v.endswith("%") or "%" in v for v in rows["valid entries"]), rows
        assert rows["failures"][0] != "none", rows  # the junk word, by reason
        shot.take("comparison", scroll_to=status, element=pilot)
        assert in_window(page, table), "the comparison is out of the 1400x1000 window"

        # Step to a word every model made an entry for; its cards side by side
        position = pilot.locator(".sl-pilot-position")
        cards = pilot.locator(".sl-pilot-cards")
        expect(position).to_contain_text(f"1 of {SAMPLE}")
        for _ in range(SAMPLE):
            if cards.locator(".synthlib-card").count() == len(MODELS):
                break
            button_next = pilot.locator("button[title='next word']")
            before = position.text_content()
            button_next.click()
            expect(position).not_to_have_text(before)
        assert cards.locator(".synthlib-card").count() == len(MODELS)
        word = pilot.locator(".sl-pilot-word select").input_value()
        assert position.text_content().split(" of ")[0].strip() != "1" or word
        slots = cards.locator(".sl-slot")
        boxes = [slots.nth(i).bounding_box() for i in range(len(MODELS))]
        assert len({round(b["y"]) for b in boxes}) == 1, boxes  # side by side, one row
        assert all(b["width"] >= 250 for b in boxes), boxes  # wide enough to read
        assert boxes[-1]["x"] + boxes[-1]["width"] <= page.viewport_size["width"], boxes
        picker = pilot.locator(".sl-pilot-word")
        shot.take("cards", scroll_to=picker, element=pilot)

        # Mark the chosen model's card better: the tally, the table and the choice follow
        chosen_slot = cards.locator(f".sl-slot-{CHOSEN.replace('.', '-')}")
        chosen_slot.locator("button", has_text="Better").click()
        tally = pilot.locator(".sl-pilot-tally")
        expect(tally).to_contain_text(f"{CHOSEN} 1")
        expect(tally).to_contain_text(f"(1 of {SAMPLE} words marked)")
        expect(chosen_slot).to_have_class(re.compile(r"\bsl-marked\b"))
        choice = pilot.locator(".sl-pilot-choice select")
        expect(choice.locator("option:checked")).to_have_text(
            re.compile(rf"^{re.escape(CHOSEN)}\s")
        )
        run_chosen = button(f"Run the whole list on {CHOSEN}", pilot)
        expect(run_chosen).to_be_enabled()
        shot.take("marked", scroll_to=tally, element=pilot)
        record = next((jupyter_server.root_dir / ".synthlib" / "pilots").glob("*.json"))
        assert json.loads(record.read_text())["marks"] == {word: CHOSEN}  # saved with the pilot

        # Run the whole list on it: the workbench runs; the pilot's entries are not sent again
        billed_before = Counter(
            w for row in emulator.ledger() if row["model"] == CHOSEN for w in row["words"]
        )
        run_chosen.click()
        info = pilot.locator(".sl-pilot-choose-info")
        expect(info).to_contain_text(f"already made by a pilot with {CHOSEN}")
        expect(part("summary")).to_contain_text("Finished.", timeout=RUN_TIMEOUT_MS)
        expect(part("headline")).to_contain_text(f"Finished on openai ({CHOSEN})")
        expect(part("provider").locator("select")).to_have_value("openai")
        billed = Counter(
            w for row in emulator.ledger() if row["model"] == CHOSEN for w in row["words"]
        )
        made_by_pilot = {w for w, n in billed_before.items() if n and w != "zzqxv"}
        assert made_by_pilot and all(billed[w] == 1 for w in made_by_pilot), billed
        assert set(jupyter_server.words) - {"zzqxv"} <= set(billed), billed
        shot.take("full-run-chosen", scroll_to=pilot.locator(".sl-pilot-choice"), element=pilot)
        shot.take("full-run-finished", scroll_to=title)
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=shots / "failure.png")
        raise
    finally:
        print(f"pilot browser flow took {time.monotonic() - started:.1f}s")
