"""``--fresh`` sets a checkpoint aside with its journal, atomically: a SIGKILL anywhere inside the
set-aside leaves no ``.bak`` that forgets spend and no journal that the next run deletes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from synthlib.engine.checkpoint import set_aside
from synthlib.engine.state import RunState

from .conftest import cli, ledger_cost, words

WORDS = words(30)
CHECKPOINT = "words.checkpoint.json"
ARGS = ["words.txt", "--checkpoint", CHECKPOINT, "--yes", "--poll-interval", "0.05"]
ARGS += ["--batch-size", "10"]


@pytest.fixture
def word_file(workdir):
    (workdir / "words.txt").write_text("\n".join(WORDS) + "\n")
    return workdir / "words.txt"


def recorded(snapshot: Path) -> RunState:
    """What a checkpoint file and its journal (if any) say, as a resume would read them."""
    state = RunState.restore((), json.loads(snapshot.read_text()))
    journal = snapshot.with_name(snapshot.name + ".journal")
    if journal.exists():
        for line in journal.read_text().splitlines():
            if line.strip():
                state.apply(json.loads(line))
    return state


def spent_but_unsnapshotted(emulator, workdir) -> float:
    """A run killed after its last batch ended, before its final snapshot: the spend is in the
    journal only. Returns what the emulator billed."""
    killed = cli(ARGS, emulator, workdir, env={"SYNTHLIB_FAILPOINTS": "before-final-save:1"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    billed = ledger_cost(emulator.ledger())
    assert billed > 0
    assert json.loads((workdir / CHECKPOINT).read_text())["total_cost"] == 0
    assert recorded(workdir / CHECKPOINT).usage.cost_usd == pytest.approx(billed, rel=1e-9)
    return billed


@pytest.mark.parametrize("point", ["set-aside-folded", "set-aside-moved"])
def test_sigkill_inside_the_set_aside_forgets_no_spend(emulator, workdir, word_file, point):
    billed = spent_but_unsnapshotted(emulator, workdir)
    killed = cli([*ARGS, "--fresh"], emulator, workdir, env={"SYNTHLIB_FAILPOINTS": point})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # whatever the kill left, every file that is a checkpoint holds the whole spend
    for snapshot in [workdir / CHECKPOINT, *workdir.glob(f"{CHECKPOINT}.*.bak")]:
        if snapshot.exists():
            state = recorded(snapshot)
            assert state.usage.cost_usd == pytest.approx(billed, rel=1e-9), snapshot
            assert len(state.done) == len(WORDS), snapshot
    again = cli([*ARGS, "--fresh"], emulator, workdir)
    assert again.returncode == 0, again.stderr
    assert ledger_cost(emulator.ledger()) == pytest.approx(billed, rel=1e-9)  # nothing re-sent
    backups = sorted(workdir.glob(f"{CHECKPOINT}.*.bak"))
    assert backups
    assert any(recorded(b).usage.cost_usd == pytest.approx(billed, rel=1e-9) for b in backups)
    assert not list(workdir.glob(f"{CHECKPOINT}.*.bak.journal"))  # folded: nothing beside it


def test_an_unreadable_checkpoint_is_set_aside_with_its_journal(tmp_path):
    """A checkpoint that cannot be folded still takes its journal along, linked before the
    rename (a kill between the two leaves the journal where the next run keeps it)."""
    checkpoint = tmp_path / CHECKPOINT
    checkpoint.write_text("{not json")
    journal = tmp_path / f"{CHECKPOINT}.journal"
    journal.write_text('{"type":"ended","seq":3}\n')
    target = set_aside(checkpoint)
    assert target is not None and target.read_text() == "{not json"
    assert Path(f"{target}.journal").read_text() == '{"type":"ended","seq":3}\n'
    assert not checkpoint.exists() and not journal.exists()


def test_sigkill_between_link_and_rename_keeps_the_journal_with_its_checkpoint(tmp_path):
    checkpoint = tmp_path / CHECKPOINT
    checkpoint.write_text("{not json")
    journal = tmp_path / f"{CHECKPOINT}.journal"
    journal.write_text('{"type":"ended","seq":3}\n')
    code = f"from synthlib.engine.checkpoint import set_aside; set_aside({str(checkpoint)!r})"
    env = {**os.environ, "SYNTHLIB_FAILPOINTS": "set-aside-linked"}
    killed = subprocess.run([sys.executable, "-c", code], env=env, check=False)
    assert killed.returncode == -signal.SIGKILL
    assert checkpoint.read_text() == "{not json"  # where it was, with its journal
    assert journal.read_text() == '{"type":"ended","seq":3}\n'


def test_fresh_through_a_symlink_is_refused_while_the_real_checkpoint_has_batches_in_flight(
    emulator, workdir, word_file
):
    killed = cli(ARGS, emulator, workdir, env={"SYNTHLIB_FAILPOINTS": "after-create:1"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (workdir / "link.json").symlink_to(CHECKPOINT)
    billed_before = len(emulator.ledger())
    args = [a if a != CHECKPOINT else "link.json" for a in ARGS]
    fresh = cli([*args, "--fresh"], emulator, workdir, timeout=60)
    assert fresh.returncode == 2, fresh.stderr
    assert "in flight" in fresh.stderr and "--fresh would pay for them twice" in fresh.stderr
    assert (workdir / "link.json").is_symlink() and (workdir / CHECKPOINT).exists()
    assert not list(workdir.glob("*.bak"))
    assert len(emulator.ledger()) == billed_before
