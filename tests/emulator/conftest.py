"""The ``start`` fixture: an emulator with fast phases plus an SDK client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from emulator_harness import FAST, Harness

from synthlib.emulator import Emulator, EmulatorConfig


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    """Start an emulator (fast phases unless overridden) with a client; stopped at teardown."""
    running: list[Emulator] = []

    def _start(
        state_dir: Path | None = None,
        *,
        max_retries: int = 0,
        clock: Callable[[], float] = time.time,
        **settings: Any,
    ) -> Harness:
        config = EmulatorConfig(**{**FAST, **settings})
        emulator = Emulator(state_dir or tmp_path / "state", config, clock=clock).start()
        running.append(emulator)
        client = openai.OpenAI(api_key="test", base_url=emulator.base_url, max_retries=max_retries)
        return Harness(client, emulator)

    yield _start
    for emulator in running:
        emulator.stop()
