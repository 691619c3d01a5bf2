"""SAFETY.md names, for each money rule, the one function that enforces it and the tests that
prove it: every one of them exists."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import synthlib.engine

ROOT = Path(__file__).resolve().parent.parent
SAFETY = ROOT / "SAFETY.md"
_FUNCTION = re.compile(r"`(synthlib(?:\.\w+)+):(\w+(?:\.\w+)*)`")
_TEST = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def _rules() -> list[tuple[str, str]]:
    """(title, text) of each rule."""
    parts = re.split(r"^## ", SAFETY.read_text(encoding="utf-8"), flags=re.M)[1:]
    return [(part.splitlines()[0], part) for part in parts]


def _cited_tests() -> set[tuple[str, str]]:
    return set(_TEST.findall(SAFETY.read_text(encoding="utf-8")))


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_rule_names_one_enforcing_function_and_at_least_one_test():
    rules = _rules()
    assert len(rules) >= 10
    for title, text in rules:
        enforced = [line for line in text.splitlines() if line.startswith("- Enforced by:")]
        assert len(enforced) == 1, title
        assert len(_FUNCTION.findall(enforced[0])) == 1, title
        assert _TEST.search(text), title


@pytest.mark.parametrize(
    ("module", "name"), sorted(set(_FUNCTION.findall(SAFETY.read_text(encoding="utf-8"))))
)
def test_each_enforcing_function_exists(module, name):
    found: object = importlib.import_module(module)
    for part in name.split("."):
        assert hasattr(found, part), f"{module}:{name}: no {part}"
        found = getattr(found, part)
    assert callable(found) or isinstance(found, property), f"{module}:{name}"


@pytest.mark.parametrize(("path", "test"), sorted(_cited_tests()))
def test_each_proving_test_exists(path, test):
    file = ROOT / path
    assert file.is_file(), path
    assert test in _tests_in(file), f"{path}::{test}"


def test_the_map_is_linked_from_the_readme_and_the_engine():
    assert "SAFETY.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "SAFETY.md" in (synthlib.engine.__doc__ or "")
