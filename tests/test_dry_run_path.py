"""A word list goes down through a dry run (issue 22): followed call by call as the dry run makes
them, it stops in few modules and climbs back to a higher layer at most twice; and at run time
a lower layer calls a higher one only through a function it was handed (a progress callback).

How it is counted: a profiler watches every call into a synthlib module while ``dry_run`` runs
on a list that has a checkpoint and a store (the fullest path: settings, the words read, the
job named, the checkpoint replayed, the store asked, the estimate). A *stop* is a module entered
by a call that is handed the word list itself: the argument given to ``dry_run`` or the
``WordList`` it is read into (calls of the list's own methods are the list, not a stop); calls
in a row in one module are one stop. A *climb* is a stop in a higher layer than the stop before
it. The layers are test_layers.LAYERS."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest
from test_layers import LAYERS  # (tests/ is on the path: pytest puts it there)

import synthlib
from synthlib.core.words import WordList

WORDS = ["apple", "run", "lead", "bow", "serendipity"]


def layer_of(module: str) -> int | None:
    """The layer of a synthlib module (its package's place in LAYERS), else None."""
    parts = module.split(".")
    if parts[0] != "synthlib" or len(parts) < 2 or parts[1] not in LAYERS:
        return None
    return LAYERS.index(parts[1])


def handed(frame: FrameType) -> list[Any]:
    """The arguments a call was handed."""
    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)  # *args, **kwargs
    values = [frame.f_locals.get(name) for name in code.co_varnames[:count]]
    return values + [v for x in values if isinstance(x, tuple | dict) for v in _items(x)]


def _items(value: tuple[Any, ...] | dict[str, Any]) -> list[Any]:
    return list(value.values()) if isinstance(value, dict) else list(value)


def is_function_of(value: Any, frame: FrameType) -> bool:
    """Whether ``value`` is the function (or bound method) that ``frame`` runs."""
    function = getattr(value, "__func__", value)
    return getattr(function, "__code__", None) is frame.f_code


def follow(run: Callable[[], Any], words: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """The stops of ``words`` while ``run()`` runs, and every call from a lower layer into a
    higher one that was not made through a function the caller was handed (caller, callee)."""
    watched = {id(words)}
    stops: list[str] = []
    climbs_by_call: list[tuple[str, str]] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        module = frame.f_globals.get("__name__", "")
        callee = layer_of(module)
        if callee is None:
            return
        if event == "return" and isinstance(arg, WordList):
            watched.add(id(arg))  # the list read from what dry_run was given
            return
        if event != "call":
            return
        caller_frame = frame.f_back
        while caller_frame is not None and layer_of(caller_frame.f_globals["__name__"]) is None:
            caller_frame = caller_frame.f_back  # through the standard library (contextlib...)
        if caller_frame is not None:
            caller = layer_of(caller_frame.f_globals["__name__"])
            assert caller is not None
            if caller < callee and not any(
                is_function_of(v, frame) for v in caller_frame.f_locals.values()
            ):
                climbs_by_call.append(
                    (
                        f"{caller_frame.f_globals['__name__']}:{caller_frame.f_code.co_name}",
                        f"{module}:{frame.f_code.co_name}",
                    )
                )
        values = handed(frame)
        if values and isinstance(values[0], WordList) and frame.f_code.co_varnames[0] == "self":
            return  # the list's own method
        if any(id(v) in watched for v in values) and (not stops or stops[-1] != module):
            stops.append(module)

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return stops, climbs_by_call


def climbs(stops: list[str]) -> int:
    layers = [layer_of(s) for s in stops]
    return sum(1 for a, b in itertools.pairwise(layers) if (b or 0) > (a or 0))


@pytest.fixture
def resumable(offline_env, one_lexicon):
    """A word list whose offline run finished, with a new word added: the dry run reads its
    checkpoint, replays it and asks the store."""
    path = offline_env / "words.txt"
    path.write_text("\n".join(WORDS[:-1]) + "\n", encoding="utf-8")
    synthlib.run(str(path), provider="offline", store="entries.db")
    return str(path)


def test_a_word_list_goes_down_through_a_dry_run(resumable):
    stops, climbs_by_call = follow(
        lambda: synthlib.dry_run(resumable, provider="offline", store="entries.db"), resumable
    )
    path = " -> ".join(s.removeprefix("synthlib.") for s in stops)
    assert "synthlib.engine.checkpoint" in stops and "synthlib.engine.skip" in stops, path
    assert stops[-1] == "synthlib.core.cost", path
    assert len(stops) <= 12, path
    assert climbs(stops) <= 2, path
    assert not climbs_by_call, climbs_by_call


def test_the_count_sees_stops_and_climbs():
    """The counter itself: a stop in a higher layer after a lower one is a climb, and a call
    from a lower layer into a higher one is reported unless the caller was handed it."""
    assert climbs(["synthlib.jobs.plan", "synthlib.core.words", "synthlib.engine.start"]) == 1
    assert climbs(["synthlib.jobs.plan", "synthlib.engine.start", "synthlib.core.cost"]) == 0

    from synthlib.jobs import config

    words = WordList(("a", "b"))
    made_up: dict[str, Any] = {"__name__": "synthlib.core.made_up", "settings": config.settings}
    exec("def lower(words):\n    return settings()\n", made_up)
    exec("def handed_it(words, then):\n    return then()\n", made_up)
    stops, by_call = follow(lambda: made_up["lower"](words), words)
    assert stops == ["synthlib.core.made_up"]
    assert by_call == [("synthlib.core.made_up:lower", "synthlib.jobs.config:settings")]
    stops, by_call = follow(lambda: made_up["handed_it"](words, config.settings), words)
    assert stops == ["synthlib.core.made_up"] and by_call == []
