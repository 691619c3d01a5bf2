"""What the browser tests share about a JupyterLab page."""

from __future__ import annotations

import time

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the browser tests skip themselves without playwright (see conftest.py)
    PlaywrightTimeout = TimeoutError


def wait_for_widgets(page, locator, timeout_ms: int = 60_000) -> None:
    """Wait for ``locator``; should JupyterLab ask which kernel to use, take the one it offers."""
    select = page.locator(".jp-Dialog").get_by_role("button", name="Select", exact=True)
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        if select.is_visible():
            select.click()
        try:
            locator.wait_for(timeout=2_000)
            return
        except PlaywrightTimeout:
            continue
    locator.wait_for(timeout=1)  # fails with Playwright's message


def in_window(page, locator) -> bool:
    """Whether all of ``locator`` is inside the browser window."""
    box = locator.bounding_box()
    size = page.viewport_size
    return (
        box is not None
        and box["y"] >= 0
        and box["y"] + box["height"] <= size["height"]
        and box["x"] + box["width"] <= size["width"]
    )
