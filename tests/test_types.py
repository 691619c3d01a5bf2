"""Types: mypy is clean on synthlib, the emulator included (``[tool.mypy]`` in pyproject.toml;
.ci/run checks it too), so the README's test command covers the types. mypy's cache lives in the
temporary folder, one per checkout: a second run checks only what changed."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MYPY = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]


def test_mypy_is_clean_on_synthlib():
    key = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"synthlib-mypy-cache-{key}"
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert done.returncode == 0, f"mypy found {len(errors)} error(s):\n" + "\n".join(
        errors or [done.stdout, done.stderr]
    )


def test_mypy_checks_the_whole_package_and_skips_only_named_untyped_modules():
    assert MYPY["packages"] == ["synthlib"]
    assert MYPY["python_version"] == "3.12"
    for flag in ("check_untyped_defs", "warn_unused_ignores", "warn_redundant_casts"):
        assert MYPY[flag] is True, flag
    assert "ignore-without-code" in MYPY["enable_error_code"]  # an ignore says which error
    assert "ignore_missing_imports" not in MYPY  # never for every module
    for override in MYPY.get("overrides", []):
        if override.get("ignore_missing_imports"):
            assert all("*" not in m.split(".")[0] for m in override["module"]), override
