"""Fixtures that run synthlib against the project's Batch API emulator over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from synthlib.core.pricing import price_for
from synthlib.emulator import Emulator, EmulatorConfig
from synthlib.engine.loop import spool_dir
from synthlib.providers import registry
from synthlib.providers.registry import BackendOptions

# The providers whose real backend the money tests drive over HTTP, and the model each runs
PROVIDERS = ("openai", "anthropic", "gemini")
MODELS = {name: registry.spec(name).default_model for name in PROVIDERS}
# the keys the tests look for in what a run writes (a key must never show)
TEST_KEYS = {"openai": "sk-test-key", "anthropic": "sk-ant-test-key"}

FAST = dict(
    validating_seconds=0.05,
    seconds_per_request=0.0002,
    finalizing_seconds=0.05,
    cancelling_seconds=0.05,
)


# How much faster than the machine's the clock of an emulator runs in a test marked
# ``@pytest.mark.emulator_speed(...)`` without a number: what waits on the API's clock (a lost
# create is looked for over 30 s of it before it is sent again) passes in a second or two.
CLOCK_SPEED = 20.0


class FastClock:
    """Time running ``speed`` times faster than the machine's, from now."""

    def __init__(self, speed: float = CLOCK_SPEED) -> None:
        self.start = time.time()
        self.speed = speed

    def __call__(self) -> float:
        return self.start + (time.time() - self.start) * self.speed


class SteppedClock(FastClock):
    """A fast clock that can be stepped forward (``ahead`` seconds)."""

    def __init__(self) -> None:
        super().__init__()
        self.ahead = 0.0

    def __call__(self) -> float:
        return super().__call__() + self.ahead


# Where a run is SIGKILLed (failpoint:hit) in the kill-anywhere-then-resume tests of each
# provider: killed after the create was journalled, a run looks for its batch over 30 s of the
# API's clock (a fast clock: emulator_speed)
KILL_POINTS = [
    "after-upload:2",
    pytest.param("before-create:2", marks=pytest.mark.emulator_speed()),
    "after-create:1",
    "after-create:3",
    "poll:3",
    "after-download:2",
    "before-store:1",
    "after-store:2",
]


@pytest.fixture
def emulator(tmp_path, request):
    """The emulator on fast phases; on a clock running faster than real time when the test is
    marked ``emulator_speed`` (the phases are then faster still)."""
    marker = request.node.get_closest_marker("emulator_speed")
    clock = FastClock(*marker.args) if marker is not None else time.time
    emu = Emulator(tmp_path / "emulator", config=EmulatorConfig(**FAST), clock=clock)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture(params=PROVIDERS)
def provider(request) -> str:
    """Each provider in turn: a test taking it runs against the emulator's Batch API and its
    Message Batches API."""
    for module in registry.spec(request.param).sdk_modules:
        pytest.importorskip(module)
    return request.param


def backend_for(
    emu: Emulator,
    provider: str = "openai",
    *,
    key: str = "test",
    checkpoint: str | Path = "run.checkpoint.json",
) -> Any:
    """The provider's real backend on the emulator (Anthropic's keeps its state where a run on
    ``checkpoint`` keeps it, so a resumed job finds it)."""
    spec = registry.spec(provider)
    options = BackendOptions(
        state_dir=spool_dir(Path(checkpoint).absolute()) / provider,
        api_key=key,
        base_url=spec.base_url_at(emu.url),
        max_retries=4,
    )
    return spec.make_backend(options)


def provider_env(emu: Emulator, provider: str = "openai") -> dict[str, str]:
    """The environment a terminal run on the emulator needs (the other providers' keys and
    base URLs unset)."""
    variables = {v for s in registry.specs() for v in (*s.key_variables, s.base_url_variable)}
    prefixes = tuple(f"{s.name.upper()}_" for s in registry.specs())
    env = {k: v for k, v in os.environ.items() if k not in variables and not k.startswith(prefixes)}
    spec = registry.spec(provider)
    key = TEST_KEYS.get(provider, f"sk-{provider}-test-key")
    return {**env, spec.key_variables[0]: key, spec.base_url_variable: spec.base_url_at(emu.url)}


def words(n: int) -> list[str]:
    return [f"word{i}" for i in range(n)]


def cli(
    args: list[str],
    emu: Emulator,
    cwd: Path,
    *,
    env: dict | None = None,
    timeout: float = 120,
    provider: str = "openai",
) -> subprocess.CompletedProcess:
    full_env = {**provider_env(emu, provider), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "synthlib", *args, "--provider", provider],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def billed_per_word(ledger: list[dict]) -> Counter:
    return Counter(w for row in ledger for w in row["words"])


def ledger_cost(ledger: list[dict], model: str = "gpt-4o-mini") -> float:
    """What the emulator billed, at batch prices (``model``: a provider from PROVIDERS too)."""
    price = price_for(MODELS.get(model, model), registry.prices())
    return price.cost(
        sum(r["prompt_tokens"] for r in ledger),
        sum(r["completion_tokens"] for r in ledger),
        sum(r["cached_tokens"] for r in ledger),
    )


def read_checkpoint(path: Path) -> dict:
    return json.loads(Path(path).read_text())
