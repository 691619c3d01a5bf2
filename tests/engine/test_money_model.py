"""The money promises, model-based: a hypothesis state machine drives runs of one word list
against the emulator's HTTP API with the real SDKs, with random settings (checkpoint, words per
request, grounding, a reordered copy of the list, provider), kills them at random failpoints
(SIGKILL, see synthlib.core.failpoints), toggles faults on the wire (lost replies, stale 404s, stale
``in_progress`` statuses, listing lag, a proxy's duplicate creates; the API's clock is hours off
the machine's in some examples) and resumes them. After every step, from the emulator's billing
ledger and the store:

* no word has two billed answers from one model (batches a retrying proxy made twice aside:
  those are billed by the API whatever the run does, and must be counted);
* no run reports more than was billed, and once every checkpoint is resumed to its end with the
  faults off, the reported cost of all of them is what the ledger billed;
* no paid entry is lost or replaced;
* every run ends (in bounded time, with an exit status a user can act on).

Seeded and bounded in the default suite (2 examples of 6 steps, well under a minute);
``SYNTHLIB_LONG_MODEL_TEST=1`` runs 1000 random examples of 30 steps (hours), and
``SYNTHLIB_MODEL_TEST_EXAMPLES=N`` / ``SYNTHLIB_MODEL_TEST_STEPS=N`` any number.

The promises span checkpoints: runs go to checkpoint A, a second checkpoint B, or a symlink to
A's file, over the same store (the store's reservations keep a word in flight under one
checkpoint from being bought under another). Grounding is a prompt version of its own (what is
bought), so each example keeps one grounding setting; each run draws its provider: OpenAI,
Anthropic, or no key at all (the terminal run falls back to the offline provider, ``--yes``),
so one store holds entries of several providers and models, kept side by side.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import synthlib
from synthlib.core.errors import SynthlibError
from synthlib.core.pricing import price_for
from synthlib.emulator import Emulator, EmulatorConfig
from synthlib.jobs.job import Job, build_config
from synthlib.providers import registry

from .conftest import FAST, MODELS, FastClock, backend_for, provider_env

LONG = os.environ.get("SYNTHLIB_LONG_MODEL_TEST") == "1"

WORDS = [f"word{i}" for i in range(12)]
RUN_TIMEOUT = 120.0  # a run that has not ended by then breaks "every run ends"
# The emulator's clock runs this much faster than real time: grace periods (30 s of the API's
# clock) pass in about a second, batches end at once.
CLOCK_SPEED = 30.0
FAILPOINTS = (
    "after-upload",
    "before-create",
    "after-create",
    "poll",
    "after-download",
    "before-store",
    "after-store",
    "before-final-save",
    "anthropic-after-send",  # the Message Batch exists, its answer never journalled nor kept
)
# exit statuses a run may end with: finished, failed naming why, refused, interrupted, killed
ENDINGS = {0, 1, 2, 130, -signal.SIGKILL}
FAULTS = {
    "lost replies": {"lost_reply_rate": 0.3, "lost_reply_mode": "mixed"},
    "stale 404s": {"stale_read_rate": 0.1},
    "stale statuses": {"stale_status_rate": 0.3},
    "listing lag": {"listing_lag_seconds": 20.0},
    "duplicate creates": {"duplicate_create_rate": 0.3},
}
NO_FAULTS = {
    "lost_reply_rate": 0.0,
    "stale_read_rate": 0.0,
    "stale_status_rate": 0.0,
    "listing_lag_seconds": 0.0,
    "duplicate_create_rate": 0.0,
}


@dataclass(frozen=True)
class RunSpec:
    """What one run is started with."""

    checkpoint: str  # "a", "b" or "link" (a symlink to a's file)
    provider: str  # openai, anthropic, or "nokey" (no API key in the environment)
    words_per_request: int
    grounding: bool
    reordered: bool

    def args(self, work: Path) -> list[str]:
        words = work / ("reordered.txt" if self.reordered else "words.txt")
        args = [
            str(words),
            "--checkpoint",
            str(work / f"{self.checkpoint}.checkpoint.json"),
            "--store",
            str(work / "store.db"),
            "--yes",
            "--poll-interval",
            "0.05",
            "--batch-size",
            "4",
            "--words-per-request",
            str(self.words_per_request),
            "--provider",
            "auto" if self.provider == "nokey" else self.provider,
        ]
        return [*args, "--grounding"] if self.grounding else args


def specs() -> st.SearchStrategy[RunSpec]:
    return st.builds(
        RunSpec,
        checkpoint=st.sampled_from(["a", "b", "link"]),
        provider=st.sampled_from(["openai", "anthropic", "nokey"]),
        words_per_request=st.sampled_from([1, 2, 10]),
        grounding=st.just(False),  # the example's own setting (see the module doc)
        reordered=st.booleans(),
    )


class MoneyMachine(RuleBasedStateMachine):
    """Runs of one list on one store, against one emulator, judged by its ledger."""

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="synthlib-model-"))
        self.work = self.root / "work"
        self.work.mkdir()
        (self.work / "words.txt").write_text("\n".join(WORDS) + "\n")
        (self.work / "reordered.txt").write_text("\n".join(reversed(WORDS)) + "\n")
        (self.work / "link.checkpoint.json").symlink_to(self.work / "a.checkpoint.json")
        self.emu = Emulator(
            self.root / "emulator", config=EmulatorConfig(**FAST), clock=FastClock(CLOCK_SPEED)
        ).start()
        self.started: dict[str, RunSpec] = {}  # checkpoint -> the spec it was made with
        self.paid: dict[tuple[str, str, str], str] = {}  # (word, provider, model) -> batch id
        self.grounding = False  # this example's (see the_apis_clock_and_what_is_bought)

    # --- rules ---------------------------------------------------------------------------------

    @initialize(skew=st.sampled_from([0.0, -7200.0, 7200.0]), grounding=st.booleans())
    def the_apis_clock_and_what_is_bought(self, skew: float, grounding: bool) -> None:
        """The API's clock is this far from the machine's for the whole example; the example
        buys grounded entries or plain ones (see the module doc)."""
        self.emu.configure(clock_offset_seconds=skew)
        self.grounding = grounding

    def _bought(self, spec: RunSpec) -> RunSpec:
        """``spec`` with this example's grounding."""
        return dataclasses.replace(spec, grounding=self.grounding)

    @rule(spec=specs(), point=st.sampled_from(FAILPOINTS), nth=st.integers(1, 3))
    def run_killed(self, spec: RunSpec, point: str, nth: int) -> None:
        """A terminal run, killed (SIGKILL) the ``nth`` time it passes ``point``."""
        self._terminal_run(self._bought(spec), env={"SYNTHLIB_FAILPOINTS": f"{point}:{nth}"})

    @rule(spec=specs())
    def run_to_the_end(self, spec: RunSpec) -> None:
        """A run to its end (in this process, with the provider's real SDK)."""
        self._run(self._bought(spec))

    @precondition(lambda self: self.started)
    @rule(data=st.data())
    def resume(self, data: st.DataObject) -> None:
        """The same run again on a checkpoint already started (what a user does)."""
        checkpoint = data.draw(st.sampled_from(sorted(self.started)))
        self._run(self.started[checkpoint])

    @rule(fault=st.sampled_from(sorted(FAULTS)), on=st.booleans())
    def toggle_fault(self, fault: str, on: bool) -> None:
        changes = (
            FAULTS[fault] if on else {k: NO_FAULTS[k] for k in FAULTS[fault] if k in NO_FAULTS}
        )
        self.emu.configure(**changes)

    def _run(self, spec: RunSpec) -> None:
        """Run ``spec`` in this process to its end; one without a key runs from the terminal."""
        if spec.provider == "nokey":
            self._terminal_run(spec)
            return
        self.started.setdefault(spec.checkpoint, spec)
        args = spec.args(self.work)
        checkpoint = Path(args[2])
        config = build_config(
            args[0],
            checkpoint=checkpoint,
            store=args[4],
            provider=spec.provider,
            batch_size=4,
            poll_interval=0.05,
            words_per_request=spec.words_per_request,
            grounding=spec.grounding,
        )
        backend = backend_for(self.emu, spec.provider, checkpoint=checkpoint)
        try:
            job = Job(config, backend=backend)
            job.start()
        except SynthlibError:
            return  # refused before anything was sent (another run's checkpoint): it ended
        try:
            result = job.wait(RUN_TIMEOUT)
        except SynthlibError:
            return  # ended naming why (a batch unreadable under stale reads, say)
        if result is None:
            job.stop()
            job.wait(RUN_TIMEOUT)
            raise AssertionError(f"a run of {spec} did not end within {RUN_TIMEOUT:.0f} s")

    def _terminal_run(self, spec: RunSpec, env: dict[str, str] | None = None) -> None:
        """Run ``spec`` from the terminal (a process of its own, which a failpoint may kill)."""
        self.started.setdefault(spec.checkpoint, spec)
        provider = "openai" if spec.provider == "nokey" else spec.provider
        full_env = {**provider_env(self.emu, provider), **(env or {})}
        if spec.provider == "nokey":
            full_env.pop("OPENAI_API_KEY")
        try:
            done = subprocess.run(
                [sys.executable, "-m", "synthlib", *spec.args(self.work)],
                cwd=self.work,
                env=full_env,
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"a run of {spec} did not end within {RUN_TIMEOUT:.0f} s"
            ) from None
        assert done.returncode in ENDINGS, (done.returncode, done.stderr[-2000:])
        if done.returncode in (1, 2):
            assert "Traceback" not in done.stderr, done.stderr[-2000:]

    # --- invariants ----------------------------------------------------------------------------

    @invariant()
    def no_word_billed_twice_by_one_model(self) -> None:
        duplicates = set(self.emu.proxy_duplicates())
        billed = Counter(
            (row["model"], word)
            for row in self.emu.ledger()
            if row["batch_id"] not in duplicates
            for word in row["words"]
        )
        twice = sorted(key for key, n in billed.items() if n > 1)
        assert not twice, f"billed twice: {twice[:5]}"

    @invariant()
    def no_run_reports_more_than_was_billed(self) -> None:
        reported = sum(self._reported().values())
        assert reported <= self._billed() + 1e-9, (reported, self._billed())

    @invariant()
    def no_paid_entry_lost_or_replaced(self) -> None:
        store = self.work / "store.db"
        if not store.exists():
            return
        now: dict[tuple[str, str, str], str] = {}
        for provider in ("openai", "anthropic"):
            entries = synthlib.load_entries(str(store), provider=provider)
            for row in entries.itertuples():
                now[(row.word, row.provider, row.model)] = row.batch_id
        lost = {k: v for k, v in self.paid.items() if now.get(k) != v}
        assert not lost, f"paid entries lost or replaced: {sorted(lost)[:5]}"
        self.paid.update(now)

    def teardown(self) -> None:
        try:
            self._finish_everything()
        finally:
            self.emu.stop()
            shutil.rmtree(self.root, ignore_errors=True)

    def _finish_everything(self) -> None:
        """Every checkpoint resumed to its end with the faults off: then every batch is
        collected, and the reported cost of all of them is what was billed."""
        if not self.started:
            return
        self.emu.configure(**NO_FAULTS)
        for checkpoint in sorted(self.started):
            self._run(self.started[checkpoint])
        self.no_word_billed_twice_by_one_model()
        self.no_paid_entry_lost_or_replaced()
        reported = sum(self._reported().values())
        assert math.isclose(reported, self._billed(), rel_tol=1e-9, abs_tol=1e-12), (
            reported,
            self._billed(),
        )

    def _reported(self) -> dict[str, float]:
        """The cost each checkpoint file reports (a symlink and its target are one file)."""
        out = {}
        for path in self.work.glob("*.checkpoint.json"):
            real = path.resolve()
            if real.exists() and str(real) not in out:
                out[str(real)] = float(json.loads(real.read_text()).get("total_cost") or 0)
        return out

    def _billed(self) -> float:
        by_model: dict[str, list[dict]] = {}
        for row in self.emu.ledger():
            by_model.setdefault(row["model"], []).append(row)
        return sum(
            price_for(MODELS.get(model, model), registry.prices()).cost(
                sum(r["prompt_tokens"] for r in rows),
                sum(r["completion_tokens"] for r in rows),
                sum(r["cached_tokens"] for r in rows),
            )
            for model, rows in by_model.items()
        )


# examples: 2 in the default suite (seeded), thousands with SYNTHLIB_LONG_MODEL_TEST=1, or as many
# as SYNTHLIB_MODEL_TEST_EXAMPLES says
EXAMPLES = int(os.environ.get("SYNTHLIB_MODEL_TEST_EXAMPLES") or (1000 if LONG else 2))

MoneyMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=int(os.environ.get("SYNTHLIB_MODEL_TEST_STEPS") or (30 if LONG else 6)),
    deadline=None,
    derandomize=not LONG,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.timeout(3600 * 8 if LONG else 600)
def test_the_money_promises_hold_whatever_runs_crash_and_faults_do(workdir):
    pytest.importorskip("anthropic")
    MoneyMachine.TestCase().runTest()
