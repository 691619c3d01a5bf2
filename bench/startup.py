"""Start-up of ``batch-synthesis --version`` and ``--help`` beside a bare ``python -c pass``.

    python bench/startup.py [--repeat 15] [--imports]

Runs each command ``--repeat`` times, interleaved so that the machine's noise falls on all of them
alike, and reports the best and the median wall time of each and their ratio to the bare
interpreter. Target: each command at most 5x bare + 0.25 s. ``--imports`` then lists the slowest
imports of ``--help`` (``python -X importtime``), to see what a regression loads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_RATIO = 5.0
TARGET_SLACK = 0.25  # seconds


def _commands() -> dict[str, list[str]]:
    script = Path(sys.executable).parent / "batch-synthesis"
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "synthlib"]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "batch-synthesis --version": [*cli, "--version"],
        "batch-synthesis --help": [*cli, "--help"],
        "python -c 'import synthlib'": [sys.executable, "-c", "import synthlib"],
    }


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _slowest_imports(command: list[str], top: int = 12) -> list[tuple[int, str]]:
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():  # "import time: self [us] | cumulative | name"
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--imports", action="store_true", help="list the slowest imports")
    args = parser.parse_args()
    commands = _commands()
    for command in commands.values():  # warm the file cache and the bytecode
        _wall(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            times[name].append(_wall(command))
    bare_best = min(times["python -c pass"])
    bare_median = statistics.median(times["python -c pass"])
    print(f"{args.repeat} runs each, interleaved; best / median wall time")
    failed = False
    for name, runs in times.items():
        best, median = min(runs), statistics.median(runs)
        line = f"{name:30} {best * 1000:6.0f} ms / {median * 1000:6.0f} ms"
        if name != "python -c pass":
            line += f"  ratio {best / bare_best:4.1f}x / {median / bare_median:4.1f}x"
            limit = TARGET_RATIO * bare_median + TARGET_SLACK
            if name.startswith("batch-synthesis"):
                ok = median <= limit
                failed |= not ok
                line += f"  (target <= {limit * 1000:.0f} ms: {'met' if ok else 'MISSED'})"
        print(line)
    if args.imports:
        print("\nslowest imports of --help (cumulative):")
        for micros, name in _slowest_imports(commands["batch-synthesis --help"]):
            print(f"  {micros / 1000:7.1f} ms {name}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
