"""Packaging: a lean core with extras, the files that list the dependencies kept in step, and a
missing extra reported in one line."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# what the lean core must not load ("jupyter": every module whose name starts with it)
HEAVY = (
    *("pandas", "numpy", "openai", "httpx", "tqdm"),
    *("matplotlib", "ipywidgets", "IPython", "jupyter"),
    *("pymongo", "bson"),
)
BLOCKER = "import sys\nfor name in {names!r}:\n    sys.modules[name] = None\n"


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower()


def _requirement(text: str) -> str:
    return re.sub(r"\s", "", text.split("#", 1)[0]).lower()


def _python(code: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def _cli(argv: list[str]) -> str:
    """Code that runs ``batch-synthesis ARGV`` in this process and exits with its status."""
    return f"from synthlib.faces.cli import main\nraise SystemExit(main({argv!r}))\n"


def test_environment_yml_lists_the_same_requirements_as_pyproject():
    wanted = {_requirement(r) for r in PROJECT["project"]["dependencies"]}
    for requirements in PROJECT["project"]["optional-dependencies"].values():
        wanted |= {_requirement(r) for r in requirements if _name(r) != "synthlib"}
    listed = set()
    in_dependencies = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if not line.startswith(" ") and line.strip():
            in_dependencies = line.startswith("dependencies:")
            continue
        item = line.strip()
        if in_dependencies and item.startswith("- ") and not item.endswith(":"):
            listed.add(_requirement(item[2:]))
    listed -= {"python=3.12", "pip"}
    assert listed == wanted


def test_the_core_needs_no_notebook_or_mongodb_stack():
    core = {_name(r) for r in PROJECT["project"]["dependencies"]}
    assert "pandas" in core  # frames are public API; pandas loads only where one is made
    assert not core & {"jupyterlab", "ipywidgets", "papermill", "matplotlib", "pymongo"}


def test_the_extras_bring_the_notebook_stack_mongodb_and_the_tests():
    extras = {
        extra: {_name(r) for r in requirements}
        for extra, requirements in PROJECT["project"]["optional-dependencies"].items()
    }
    assert extras["notebook"] >= {"jupyterlab", "ipywidgets", "papermill", "matplotlib", "tqdm"}
    assert extras["mongo"] == {"pymongo"}
    assert extras["anthropic"] == {"anthropic"}
    # `pip install -e ".[dev]"` installs every extra the tests exercise
    dev = PROJECT["project"]["optional-dependencies"]["dev"]
    assert "synthlib[notebook,mongo,anthropic]" in dev
    assert extras["dev"] >= {"pytest", "nbmake", "mongomock-ng", "playwright"}


def test_package_data_names_files_that_exist():
    for pattern in PROJECT["tool"]["setuptools"]["package-data"]["synthlib"]:
        assert list((ROOT / "synthlib").glob(pattern)), pattern


def test_every_declared_pytest_marker_is_used():
    markers = PROJECT["tool"]["pytest"]["ini_options"]["markers"]
    declared = [m.split(":")[0].split("(")[0] for m in markers]
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py"))
    for marker in declared:
        assert f"pytest.mark.{marker}" in tests, f"marker {marker!r} is declared but unused"


def test_console_script_and_module_entry_point():
    project = PROJECT["project"]
    assert project["scripts"]["batch-synthesis"] == "synthlib.faces.cli:main"
    assert project["requires-python"] == ">=3.12"
    assert (ROOT / "synthlib" / "__main__.py").exists()


def test_readme_starts_with_the_two_setup_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, re.S)
    first = [line for line in blocks[0].splitlines() if line.strip() and not line.startswith("#")]
    assert len(first) == 2
    assert "batch-synthesis" in first[0]
    assert "pytest" in first[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert first[1].strip() in ci


def test_ruff_is_clean():
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "synthlib", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.parametrize(
    "code",
    [
        "import synthlib\n",
        "import sys\nsys.argv = ['batch-synthesis', '--version']\n"
        "from synthlib.faces.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n",
        "import sys\nsys.argv = ['batch-synthesis', '--help']\n"
        "from synthlib.faces.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n",
    ],
    ids=["import", "--version", "--help"],
)
def test_the_lean_core_loads_no_heavy_stack(code):
    probe = code + (
        "import sys\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0].startswith({HEAVY!r})))\n"
    )
    done = _python(probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_mongodb_store_without_the_mongo_extra_is_one_line_naming_it(tmp_path):
    (tmp_path / "words.txt").write_text("apple\n")
    code = BLOCKER.format(names=("pymongo", "bson")) + _cli(
        ["words.txt", "--store", "mongodb://localhost:1/dictionary", "--dry-run"]
    )
    done = _python(code, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "batch-synthesis: error: a mongodb:// store needs the mongo extra (pymongo is not "
        "installed): pip install 'synthlib[mongo]'"
    ]
    assert "Traceback" not in done.stdout + done.stderr


def test_a_run_into_mongodb_without_the_mongo_extra_spends_nothing(tmp_path):
    (tmp_path / "words.txt").write_text("apple\n")
    code = BLOCKER.format(names=("pymongo",)) + _cli(
        ["words.txt", "--store", "mongodb://localhost:1/", "--provider", "offline", "--yes"]
    )
    done = _python(code, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().endswith("pip install 'synthlib[mongo]'")
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("module", "feature", "missing"),
    [
        ("synthlib.faces.workbench", "the workbench", "ipywidgets"),
        ("synthlib.faces.review", "the review", "matplotlib"),
    ],
)
def test_the_notebook_faces_without_the_notebook_extra_name_it(module, feature, missing):
    code = BLOCKER.format(names=(missing,)) + (
        f"try:\n    import {module}\nexcept ImportError as exc:\n"
        "    print(type(exc).__name__, exc.extra, exc.exit_code)\n    print(exc)\n"
    )
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "MissingExtra notebook 2",
        f"{feature} needs the notebook extra ({missing} is not installed): "
        "pip install 'synthlib[notebook]'",
    ]


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` (inside synthlib) imports, at any depth."""
    package = path.relative_to(ROOT).parts[:-1]  # the package a relative import starts from
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


def test_the_product_never_imports_the_emulator():
    product = [
        p
        for p in (ROOT / "synthlib").rglob("*.py")
        if "emulator" not in p.relative_to(ROOT / "synthlib").parts
    ]
    assert len(product) > 20
    for path in product:
        emulator = {m for m in _imported_modules(path) if m.startswith("synthlib.emulator")}
        assert not emulator, f"{path.relative_to(ROOT)} imports {sorted(emulator)}"


def test_the_emulator_is_one_command_away():
    done = subprocess.run(
        [sys.executable, "-m", "synthlib.emulator", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "--port" in done.stdout
