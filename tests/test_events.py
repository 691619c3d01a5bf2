"""Journal events are typed, and the journal's JSON is what it was before they were."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from synthlib.core.errors import CheckpointError
from synthlib.core.schema import Failure
from synthlib.engine.checkpoint import Checkpoint, RunIdentity
from synthlib.engine.events import EVENTS, Ended, EventError, Planned, event_from_json
from synthlib.engine.state import RunState, StateError

# Written by the code before events were typed (see make.py beside it).
BEFORE = Path(__file__).parent / "data" / "checkpoint_v1"
WORDS = ["apple", "run", "café", "ice cream", "give up", "xyzzy", "pear", "plum", "quux"]


def _old_checkpoint(tmp_path: Path) -> tuple[Path, RunIdentity]:
    for name in ("run.json", "run.json.journal"):
        shutil.copy(BEFORE / name, tmp_path / name)
    run = json.loads((BEFORE / "run.json").read_text(encoding="utf-8"))["run"]
    return tmp_path / "run.json", RunIdentity(**run)


def _journal_lines() -> list[dict]:
    text = (BEFORE / "run.json.journal").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_a_checkpoint_written_before_typed_events_loads_to_the_same_state(tmp_path):
    path, identity = _old_checkpoint(tmp_path)
    cp = Checkpoint.load(path, identity, WORDS)
    expected = json.loads((BEFORE / "expected_state.json").read_text(encoding="utf-8"))
    state = json.loads(json.dumps(cp.state.snapshot()))
    assert {key: state[key] for key in expected} == expected
    # kept since: unknown for a checkpoint made before
    assert {key: state[key] for key in state.keys() - expected.keys()} == {"create_windows": None}


def test_the_old_journal_holds_every_type_of_event():
    assert {line["type"] for line in _journal_lines()} == set(EVENTS)


def test_every_old_journal_line_reads_back_to_the_same_json():
    for line in _journal_lines():
        event = event_from_json(line)
        assert line["type"] == type(event).TYPE
        assert event.to_json() == line


def test_a_resumed_old_checkpoint_journals_new_events_in_the_same_json(tmp_path):
    path, identity = _old_checkpoint(tmp_path)
    cp = Checkpoint.load(path, identity, WORDS)
    cp.record(cp.state.event("planned", shard="s-5", words=["run"], input_tokens=9))
    cp.record(cp.state.event("created", shard="s-5", batch_id="batch_5", created_at=None))
    lines = [json.loads(x) for x in cp.journal_path.read_text(encoding="utf-8").splitlines()]
    assert lines[-2:] == [
        {"type": "planned", "seq": 29, "shard": "s-5", "words": ["run"], "input_tokens": 9},
        {
            "type": "created",
            "seq": 30,
            "shard": "s-5",
            "batch_id": "batch_5",
            "status": "validating",
            "created_at": None,
        },
    ]
    again = Checkpoint.load(path, identity, WORDS)
    assert again.state.flights["s-5"].batch_id == "batch_5"


def test_an_unknown_type_of_step_is_a_checkpoint_error_naming_its_line(tmp_path):
    path, identity = _old_checkpoint(tmp_path)
    journal = tmp_path / "run.json.journal"
    lines = journal.read_text(encoding="utf-8").splitlines()
    lines.insert(2, '{"type":"teleported","seq":11,"shard":"s-3"}')
    journal.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(path, identity, WORDS)
    message = str(info.value)
    assert message.startswith(f"{journal}:3: a step this synthlib does not know")
    assert "'teleported'" in message and "upgrade synthlib" in message


def test_a_step_without_a_field_it_needs_is_a_checkpoint_error(tmp_path):
    path, identity = _old_checkpoint(tmp_path)
    journal = tmp_path / "run.json.journal"
    journal.write_text('{"type":"uploaded","seq":9,"shard":"s-1"}\n', encoding="utf-8")
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(path, identity, WORDS)
    assert f"{journal}:1:" in str(info.value) and "'uploaded'" in str(info.value)


def test_events_are_frozen_and_normalised():
    event = Ended(seq=3, shard="s-1", done=["a"], failed={"b": "refused: no"}, measured={"40": 1})
    assert event.done == ("a",) and event.failed == {"b": Failure("refused", "no")}
    assert event.measured == {40: 1}
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.shard = "s-2"  # type: ignore[misc]
    assert event.to_json()["failed"] == {"b": "refused: no"}


def test_a_field_no_event_of_that_type_has_is_refused():
    state = RunState(words=("a",))
    with pytest.raises(TypeError):
        state.event("planned", shard="s-1", words=["a"], input_tokens=1, wrods=["a"])
    with pytest.raises(StateError, match="unknown event type 'teleported'"):
        state.event("teleported", shard="s-1")


def test_from_json_of_an_unknown_type_is_an_event_error():
    with pytest.raises(EventError, match="unknown event type"):
        event_from_json({"type": "teleported", "seq": 1})
    assert isinstance(
        event_from_json(
            {"type": "planned", "seq": 1, "shard": "s-1", "words": [], "input_tokens": 0}
        ),
        Planned,
    )


def test_a_journal_error_names_the_setting_in_the_callers_words_never_a_placeholder(tmp_path):
    from synthlib.core.errors import worded
    from synthlib.faces.wording import COMMAND_LINE

    path, identity = _old_checkpoint(tmp_path)
    journal = tmp_path / "run.json.journal"
    for bad in ('{"type":"teleported","seq":11,"shard":"s-3"}', '{"type":"planned","seq":9}'):
        journal.write_text(bad + "\n", encoding="utf-8")
        with pytest.raises(CheckpointError) as info:
            Checkpoint.load(path, identity, WORDS)
        python, cli = str(info.value), worded(info.value, COMMAND_LINE)
        assert "{" not in python and "fresh=True" in python, python
        assert "{" not in cli and "--fresh" in cli, cli
        newer = "teleported" in bad
        assert ("newer synthlib" in python) is newer and ("corrupt" in python) is not newer
