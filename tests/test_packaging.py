from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for r in project["optional-dependencies"]["dev"]}
    listed = set()
    in_dependencies = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if not line.startswith(" ") and line.strip():
            in_dependencies = line.startswith("dependencies:")
            continue
        item = line.strip()
        if in_dependencies and item.startswith("- ") and not item.endswith(":"):
            listed.add(_name(item[2:]))
    listed -= {"python", "pip"}
    assert listed == wanted


def test_console_script_and_module_entry_point():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["batch-synthesis"] == "synthlib.cli:main"
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
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "synthlib", "tests", "bench"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.parametrize(
    "code",
    [
        "import synthlib",
        "import sys; sys.argv = ['batch-synthesis', '--version']\n"
        "from synthlib.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass",
        "import sys; sys.argv = ['batch-synthesis', '--help']\n"
        "from synthlib.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass",
    ],
)
def test_the_lean_core_loads_no_pandas(code):
    probe = code + "\nimport sys\nprint(sorted(m for m in ('pandas', 'numpy') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
