"""The packages are layers and imports only go down (issue 22); core, the lowest, names no
provider's model (each provider's spec holds its models' facts).

Every import of a synthlib module is counted, at module level, inside functions and under
``TYPE_CHECKING`` alike: a package may import its own modules and the layers below it, and no
module imports another that imports it back, by any path.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "synthlib"

# lowest first; a layer may import the layers before it
LAYERS = ["core", "lexicon", "store", "providers", "engine", "jobs", "faces"]
TOP = len(LAYERS)  # synthlib/__init__.py and __main__.py: the public face over all of them


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """The synthlib modules ``path`` imports (a name imported from a package counts as the
    submodule when it is one), with line numbers."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            if source != "synthlib" and not source.startswith("synthlib."):
                continue
            subs = [f"{source}.{alias.name}" for alias in node.names]
            found = [sub for sub in subs if sub in known]
            if len(found) < len(subs):
                found.append(source)
            for target in found:
                yield target, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("synthlib"):
                    yield alias.name, node.lineno


def layer(name: str) -> int | None:
    parts = name.split(".")
    if len(parts) == 1 or parts[1] in ("__main__",):
        return TOP
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def graph() -> dict[str, dict[str, int]]:
    found = modules()
    known = set(found)
    return {
        name: {target: line for target, line in imported(name, path, known) if target != name}
        for name, path in found.items()
    }


def test_every_module_belongs_to_a_layer_or_the_emulator() -> None:
    strays = [
        name
        for name in modules()
        if layer(name) is None and not name.startswith("synthlib.emulator")
    ]
    assert strays == []


def test_imports_only_go_down_the_layers() -> None:
    climbs = []
    for name, targets in graph().items():
        here = layer(name)
        for target, line in targets.items():
            if name.startswith("synthlib.emulator") or target.startswith("synthlib.emulator"):
                # the emulator stands for the providers' servers: it imports no synthlib layer,
                # and only the top (tests, ``python -m synthlib.emulator``) uses it
                if not (
                    name.startswith("synthlib.emulator") and target.startswith("synthlib.emulator")
                ):
                    climbs.append(f"{name}:{line} imports {target}")
                continue
            there = layer(target)
            assert here is not None and there is not None
            same_package = name.split(".")[:2] == target.split(".")[:2]
            if there > here or (there == here and not same_package and here != TOP):
                climbs.append(f"{name}:{line} imports {target}")
    assert climbs == []


def test_no_module_imports_one_that_imports_it_back() -> None:
    edges = {name: set(targets) for name, targets in graph().items()}
    # a package's __init__ is imported with each of its modules: count it as an edge too
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert [" -> ".join(cycle) for cycle in cycles] == []


@pytest.mark.parametrize("package", LAYERS)
def test_each_layer_says_what_it_owns_and_may_import(package: str) -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text()))
    assert doc and "import" in doc


# a provider's model name: OpenAI's (gpt-*, chatgpt-*, o1/o3/o4*), Claude's, Gemini's
PROVIDER_MODEL = re.compile(r"\b(gpt-|chatgpt-|claude|gemini-|o[134](-|\b))", re.IGNORECASE)


def strings(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """The string constants of a module, docstrings left out (comments are not in the tree)."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.value, node.lineno


def test_core_names_no_provider_model() -> None:
    named = [
        f"{name}:{line} {text!r}"
        for name, path in modules().items()
        if name == "synthlib.core" or name.startswith("synthlib.core.")
        for text, line in strings(ast.parse(path.read_text(encoding="utf-8")))
        if PROVIDER_MODEL.search(text)
    ]
    assert named == []
