"""Errors name a setting in the words of the face that shows them, from the one declaration: the
command line by its flag (``--batch-size``), Python and papermill by the keyword (``batch_size``),
the workbench by its field (``Batch size``), with no rewriting of another face's text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import synthlib
from synthlib.core.errors import Said, UsageError
from synthlib.faces.cli import main
from synthlib.faces.wording import COMMAND_LINE, WORKBENCH

ROOT = Path(__file__).resolve().parents[1]
WORDS = ["apple", "river"]


# --- the markup: a message marks the settings it names -------------------------------------------


def test_each_wording_names_a_marked_setting():
    said = Said(
        "{batch_size} is too big; {pass provider=offline} or {fresh=True}",
        *("batch_size", "provider", "fresh"),
    )
    assert str(said) == "batch_size is too big; pass provider='offline' or fresh=True"
    assert (
        said.worded(COMMAND_LINE) == "--batch-size is too big; pass --provider offline or --fresh"
    )
    assert said.worded(WORKBENCH) == (
        "Batch size is too big; set Provider to offline or Start over"
    )


def test_braces_of_the_text_itself_stay_as_they_are():
    said = Said("{path}/{x}.json: {batch_size} {", "batch_size")
    assert said.worded(COMMAND_LINE) == "{path}/{x}.json: --batch-size {"
    assert UsageError("{a} {b=1}").worded(COMMAND_LINE) == "{a} {b=1}"  # no settings marked


# --- Python (and so papermill's parameters) -----------------------------------------------------


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"batch_size": 100_000}, "batch_size=100000 is more than one openai batch holds"),
        ({"batch_size": 0}, "batch_size must be a whole number of at least 1, not 0"),
        ({"max_cost": -1}, "max_cost must be a number of at least 0, not -1"),
        ({"provider": "x"}, "unknown provider 'x'; choose one of auto, openai"),
    ],
)
def test_python_names_the_keyword(offline_env, given, said):
    with pytest.raises(UsageError) as refused:
        synthlib.dry_run(WORDS, **{"provider": "openai", **given})
    assert said in str(refused.value) and "--" not in str(refused.value)
    assert refused.value.settings == tuple(given)


def test_python_names_the_provider_keyword_when_its_key_is_missing(offline_env):
    with pytest.raises(UsageError) as refused:
        synthlib.run(WORDS, provider="openai")
    assert str(refused.value) == (
        "provider='openai' needs OPENAI_API_KEY in the environment (or pass provider='offline')"
    )


# --- the command line ----------------------------------------------------------------------------


def _cli(args, capsys) -> tuple[int, str]:
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return code, err


def test_the_command_line_names_the_flag(offline_env, capsys):
    (offline_env / "words.txt").write_text("apple\n")
    code, err = _cli(
        ["words.txt", "--provider", "openai", "--dry-run", "--batch-size", "100000"], capsys
    )
    assert code == 2
    assert "--batch-size 100000 is more than one" in err
    assert "give --batch-size of at most 50,000" in err and "batch_size" not in err
    code, err = _cli(["words.txt", "--dry-run", "--max-cost", "-1"], capsys)
    assert code == 2 and "argument --max-cost: must be a number of at least 0" in err
    code, err = _cli(["words.txt", "--provider", "openai", "--yes"], capsys)
    assert code == 2
    assert "--provider openai needs OPENAI_API_KEY in the environment" in err
    assert "(or pass --provider offline)" in err and "provider=" not in err


def test_a_missing_key_is_said_before_the_estimate(offline_env, capsys, monkeypatch):
    """The run stops at the missing key, before a cost table it could not act on."""
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    (offline_env / "words.txt").write_text("apple\n")
    for provider, key in (("openai", "OPENAI_API_KEY"), ("gemini", "GOOGLE_API_KEY")):
        assert main(["words.txt", "--provider", provider, "--yes"]) == 2
        out, err = capsys.readouterr()
        assert f"--provider {provider} needs {key}" in err
        assert "Batch API cost" not in out, out


# --- the workbench -------------------------------------------------------------------------------


def test_the_workbench_names_its_fields(offline_env):
    pytest.importorskip("ipywidgets")
    from synthlib.faces.workbench import Workbench, _Widgets

    ui = _Widgets(Workbench(words=WORDS))
    ui.provider.value = "openai"
    ui.batch_size.value = 100_000
    assert ui.on_estimate() is None
    assert "Batch size 100000 is more than one openai batch holds" in ui.notice.value
    assert "give Batch size of at most 50,000" in ui.notice.value
    assert "batch_size" not in ui.notice.value and "--" not in ui.notice.value
    ui.batch_size.value = 10
    assert ui.on_run() is None  # no OPENAI_API_KEY
    assert "Provider openai needs OPENAI_API_KEY" in ui.notice.value
    assert "(or set Provider to offline)" in ui.notice.value


def test_the_workbench_names_its_max_cost_field(offline_env):
    pytest.importorskip("ipywidgets")
    from synthlib.faces.workbench import Workbench, _Widgets

    ui = _Widgets(Workbench(words=WORDS))
    ui.max_cost.value = "-1"
    assert ui.on_estimate() is None
    assert "Max cost &#x27;-1&#x27; is not an amount of dollars" in ui.notice.value


def test_the_workbench_names_a_field_made_from_the_declaration(offline_env):
    pytest.importorskip("ipywidgets")
    from synthlib.faces.workbench import Workbench, _Widgets

    ui = _Widgets(Workbench(words=WORDS, token_budget=0))
    assert ui.on_estimate() is None
    assert "Token budget must be a whole number of at least 1, not 0" in ui.notice.value


# --- papermill: notebooks/run.ipynb run headless --------------------------------------------------


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (
            {"provider": "openai", "batch_size": "100000"},
            "UsageError: batch_size=100000 is more than one",
        ),
        ({"max_cost": "-1"}, "UsageError: max_cost must be a number of at least 0, not -1"),
        ({"provider": "x"}, "UsageError: unknown provider 'x'; choose one of"),
    ],
)
def test_papermill_names_the_parameter(tmp_path, given, said):
    pytest.importorskip("papermill")
    shutil.copy(ROOT / "notebooks" / "run.ipynb", tmp_path / "run.ipynb")
    (tmp_path / "words.txt").write_text("apple\n")
    keep = ("OPENAI_", "ANTHROPIC_", "SYNTHLIB_STORE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(keep)}
    env |= {"PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            "run.ipynb",
            "out.ipynb",
            *("-p", "words", "words.txt"),
            *(part for name, value in given.items() for part in ("-p", name, value)),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode != 0
    line = next(x for x in ran.stderr.splitlines() if x.startswith("UsageError"))
    assert said in line and "--" not in line


def test_the_offline_provider_takes_any_batch_size(offline_env):
    estimate = synthlib.dry_run(["apple", "bank", "river"], provider="offline", batch_size=100_000)
    assert estimate.batch_jobs == 1 and estimate.batch_size == 100_000


def test_the_workbench_names_a_switch_without_a_field_as_its_parameter():
    from synthlib.core.errors import Said, worded
    from synthlib.faces.wording import COMMAND_LINE, WORKBENCH

    said = Said("not sent again ({redo=True} sends them)", "redo")
    assert worded(said, WORKBENCH) == "not sent again (the redo parameter sends them)"
    assert worded(said, COMMAND_LINE) == "not sent again (--redo sends them)"
    assert str(said) == "not sent again (redo=True sends them)"
