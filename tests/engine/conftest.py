"""Fixtures that run synthlib against the project's Batch API emulator over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import openai
import pytest

from synthlib.backends.openai import OpenAIBackend
from synthlib.emulator import Emulator, EmulatorConfig
from synthlib.pricing import price_for

FAST = dict(
    validating_seconds=0.05,
    seconds_per_request=0.0002,
    finalizing_seconds=0.05,
    cancelling_seconds=0.05,
)


@pytest.fixture
def emulator(tmp_path):
    emu = Emulator(tmp_path / "emulator", config=EmulatorConfig(**FAST))
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def backend_for(emu: Emulator) -> OpenAIBackend:
    return OpenAIBackend(openai.OpenAI(api_key="test", base_url=emu.base_url, max_retries=4))


def words(n: int) -> list[str]:
    return [f"word{i}" for i in range(n)]


def cli(
    args: list[str], emu: Emulator, cwd: Path, *, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    full_env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-test-key",
        "OPENAI_BASE_URL": emu.base_url,
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "synthlib", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def billed_per_word(ledger: list[dict]) -> Counter:
    return Counter(w for row in ledger for w in row["words"])


def ledger_cost(ledger: list[dict], model: str = "gpt-4o-mini") -> float:
    price = price_for(model)
    return price.cost(
        sum(r["prompt_tokens"] for r in ledger),
        sum(r["completion_tokens"] for r in ledger),
        sum(r["cached_tokens"] for r in ledger),
    )


def read_checkpoint(path: Path) -> dict:
    return json.loads(Path(path).read_text())
