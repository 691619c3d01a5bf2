"""The pilot's options are declared once (PilotOptions) and named the same everywhere: pilot()'s
keywords, the command line's flags, pilot.ipynb's parameters and show_pilot's keywords."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import pytest

from synthlib.core.errors import UsageError
from synthlib.faces import cli
from synthlib.faces.pilot_view import pilot_line
from synthlib.faces.workbench import show_pilot
from synthlib.jobs.pilots import Pilot, pilot, pilot_options, prepare_pilot

ROOT = Path(__file__).resolve().parents[1]
WORDS = "apple\nbank\nriver\ngarden\nquickly\nhouse\nrun\n"


def _flags() -> set[str]:
    return {flag for action in cli._parser()._actions for flag in action.option_strings}


def test_every_pilot_option_is_a_keyword_a_flag_and_a_notebook_parameter():
    notebook = json.loads((ROOT / "notebooks" / "pilot.ipynb").read_text())
    at = next(
        i for i, c in enumerate(notebook["cells"]) if "parameters" in c["metadata"].get("tags", [])
    )
    cell = ast.parse("".join(notebook["cells"][at]["source"]))
    parameters = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in cell.body
        if isinstance(node, ast.Assign)
    }
    call = next(
        node
        for node in ast.walk(ast.parse("".join(notebook["cells"][at + 1]["source"])))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "show_pilot"
    )
    passed = {keyword.arg for keyword in call.keywords}
    for name, declared in pilot_options().items():
        assert name in inspect.signature(pilot).parameters, name
        assert name in inspect.signature(prepare_pilot).parameters, name
        assert name in inspect.signature(show_pilot).parameters, name
        assert "--" + name.replace("_", "-") in _flags(), name
        assert name in parameters and name in passed, name
        if name != "models":  # the notebook's models default to the free provider
            assert parameters[name] == declared.default, name


def test_the_pilot_flags_run_a_pilot_without_the_pilot_flag(offline_env, capsys):
    (offline_env / "words.txt").write_text(WORDS)
    code = cli.main(
        ["words.txt", "--models", "offline", "--sample", "3", "--seed", "1", "--dry-run"]
    )
    assert code == 0
    shown = capsys.readouterr().out
    assert "Pilot " in shown and "3 of 7 words" in shown and "offline: 3 words to send" in shown


def test_the_old_pilot_flags_still_work(offline_env, capsys):
    (offline_env / "words.txt").write_text(WORDS)
    (offline_env / "sample.txt").write_text("apple\nbank\n")
    args = ["words.txt", "--pilot", "--models", "offline", "--pilot-sample", "sample.txt"]
    assert cli.main([*args, "--pilot-seed", "2", "--dry-run"]) == 0
    assert "2 of 7 words" in capsys.readouterr().out


def test_pilot_n_and_a_different_sample_are_refused_in_one_line(offline_env, capsys):
    (offline_env / "words.txt").write_text(WORDS)
    args = ["words.txt", "--pilot", "3", "--sample", "4", "--models", "offline", "--dry-run"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--sample" in err


def test_a_sample_below_one_is_refused_naming_the_option(offline_env):
    with pytest.raises(UsageError, match="sample must be a whole number of at least 1"):
        prepare_pilot(["apple", "bank"], models="offline", sample=0)


def test_pilot_before_the_word_list_is_the_switch_not_a_size(offline_env, capsys):
    (offline_env / "words.txt").write_text(WORDS)
    assert cli.main(["--pilot", "words.txt", "--models", "offline", "--dry-run"]) == 0
    assert "7 of 7 words" in capsys.readouterr().out


def test_pilot_n_before_the_word_list_is_still_a_size(offline_env, capsys):
    (offline_env / "words.txt").write_text(WORDS)
    assert cli.main(["--pilot", "3", "words.txt", "--models", "offline", "--dry-run"]) == 0
    assert "3 of 7 words" in capsys.readouterr().out


def test_a_pilot_option_without_models_names_the_options_given(offline_env, capsys):
    (offline_env / "words.txt").write_text(WORDS)
    assert cli.main(["words.txt", "--seed", "4"]) == 2
    err = capsys.readouterr().err
    assert "the pilot (--pilot/--sample/--seed/--sample-file) needs --models" in err


def test_a_pilot_model_without_its_key_is_advised_out_of_models(offline_env, capsys):
    (offline_env / "words.txt").write_text(WORDS)
    args = ["words.txt", "--models", "offline,gpt-4o-mini", "--sample", "2", "--yes"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "gpt-4o-mini: the openai provider needs OPENAI_API_KEY" in err
    assert "set the key, or leave gpt-4o-mini out of --models" in err
    assert "--provider" not in err


def test_a_given_sample_is_said_to_come_from_its_file(offline_env):
    (offline_env / "words.txt").write_text(WORDS)
    (offline_env / "mine.txt").write_text("apple\nbank\n")
    given = prepare_pilot("words.txt", models="offline", sample_file="mine.txt").record
    assert pilot_line(given).endswith("given by mine.txt")
    given.save()
    assert Pilot.load(given.path).sample_name == "mine.txt"
    drawn = prepare_pilot("words.txt", models="offline", sample=3).record
    assert pilot_line(drawn).endswith("drawn by frequency band")
