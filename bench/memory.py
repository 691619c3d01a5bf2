"""Peak memory of ``batch-synthesis`` over 5,000 words end to end, beside the libraries it loads.

    python bench/memory.py [--words 5000] [--repeat 3] [--batch-size 1000] [--trace]

Starts the project's Batch API emulator as a separate process (phases of zero seconds) and runs
the command line's job against it through the real openai SDK (``--provider openai``), each run a
fresh child process with a fresh store and checkpoint. The peak resident memory of that process
(``VmHWM``, read by the process itself at exit) is measured beside its peers in the same run: a
process that imports the same third-party packages and does nothing (the floor no synthlib change
goes under), the same plus the o200k token encoding every run loads, and a bare
``python -c pass``. Reports best and median of ``--repeat`` runs, the heavy stacks the run loaded
(it should load none of pandas, matplotlib, ipywidgets, jupyter, pymongo, tqdm, the emulator)
and, with ``--trace``, where the run's Python memory is at its end (tracemalloc, by file).
Target: peak <= 220 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rehearsal import start_emulator

TARGET_MB = 220
NOT_IN_THE_RUN = (
    *("pandas", "numpy", "matplotlib", "ipywidgets", "IPython", "jupyter", "pymongo", "tqdm"),
    "synthlib.emulator",
)

HIGH_WATER = """
def high_water_mb():
    # VmHWM: the peak resident memory of this process image since it started; getrusage's
    # ru_maxrss would also count the parent's pages that the child had before exec
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

# The command line, run as ``batch-synthesis`` runs it, writing at exit its peak memory, which
# modules it loaded and, with a trace, where its Python memory is.
RUN = (
    HIGH_WATER
    + """
import atexit, json, sys, tracemalloc

report, trace = sys.argv.pop(1), sys.argv.pop(1) == "1"
if trace:
    tracemalloc.start()

def _report():
    data = {"peak_mb": high_water_mb(), "modules": sorted(sys.modules)}
    if trace:
        current, peak = tracemalloc.get_traced_memory()
        stats = tracemalloc.take_snapshot().statistics("filename")
        data["traced"] = [current, peak, [(str(s.traceback), s.size) for s in stats[:15]]]
    with open(report, "w") as out:
        json.dump(data, out)

atexit.register(_report)
sys.argv[0] = "batch-synthesis"
from synthlib.faces.cli import run
run()
"""
)


def _python_peak_mb(code: str) -> float:
    """Peak resident memory (MB) of a child ``python -c CODE``, measured by the child itself."""
    probe = code + HIGH_WATER + "print(high_water_mb())\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def _make_words(path: Path, n: int) -> None:
    from wordfreq import top_n_list

    words = [w for w in top_n_list("en", n * 2) if w.isalpha()][:n]
    words += [f"word{i}" for i in range(n - len(words))]
    path.write_text("\n".join(words) + "\n", encoding="utf-8")


def _run_once(tmp: Path, words: Path, base_url: str, args: argparse.Namespace, i: int) -> dict:
    work = tmp / f"run{i}"
    work.mkdir()
    report = work / "report.json"
    command = [
        sys.executable,
        "-c",
        RUN,
        str(report),
        "1" if args.trace else "0",
        str(words),
        "--provider",
        "openai",
        "--yes",
        "--batch-size",
        str(args.batch_size),
        "--poll-interval",
        "0.05",
        "--token-budget",
        str(10**10),
    ]
    env = dict(os.environ, OPENAI_API_KEY="bench", OPENAI_BASE_URL=base_url)
    with (work / "output.txt").open("w") as log:
        done = subprocess.run(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        output = (work / "output.txt").read_text()[-2000:]
        raise SystemExit(f"the run failed ({done.returncode}):\n{output}")
    return json.loads(report.read_text())


def _libraries(modules: list[str]) -> list[str]:
    """The third-party top-level packages among ``modules``."""
    tops = sorted({m.split(".")[0] for m in modules} - set(sys.stdlib_module_names))
    return [m for m in tops if not m.startswith("_") and m not in ("synthlib", "cython_runtime")]


def _peers(modules: list[str]) -> dict[str, float]:
    """Peaks of the floors under the run: the same libraries imported and nothing done, the
    same plus the token encoding a run loads, and a bare interpreter."""
    imports = (
        f"import importlib\nfor m in {_libraries(modules)!r}:\n    importlib.import_module(m)\n"
    )
    encoding = "from synthlib.core.tokens import encoding_for\nencoding_for('gpt-4o-mini')\n"
    return {
        "its libraries, imported": _python_peak_mb(imports),
        "those + the o200k token encoding": _python_peak_mb(imports + encoding),
        "bare python -c pass": _python_peak_mb("pass\n"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--trace", action="store_true", help="tracemalloc by file (slower)")
    args = parser.parse_args()
    runs: list[dict] = []
    peers: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        words = tmp / "words.txt"
        _make_words(words, args.words)
        emulator, base_url = start_emulator(tmp / "emulator")
        try:
            for i in range(args.repeat):  # interleaved, so the machine's noise falls on all alike
                runs.append(_run_once(tmp, words, base_url, args, i))
                for peer, mb in _peers(runs[-1]["modules"]).items():
                    peers.setdefault(peer, []).append(mb)
        finally:
            emulator.terminate()
            emulator.wait()
    peaks = [r["peak_mb"] for r in runs]
    peak = statistics.median(peaks)
    verdict = "met" if peak <= TARGET_MB else "MISSED"
    print(f"words: {args.words:,} in batches of {args.batch_size:,}; {args.repeat} runs")
    print(f"{'peak resident memory':36} {'best':>8} {'median':>8}  run / this")
    print(
        f"{'batch-synthesis run':36} {min(peaks):6.1f}MB {peak:6.1f}MB  "
        f"(target <= {TARGET_MB} MB: {verdict})"
    )
    for peer, values in peers.items():
        median = statistics.median(values)
        print(
            f"{peer:36} {min(values):6.1f}MB {median:6.1f}MB  {peak / median:4.2f}x "
            f"(the run is {peak - median:+.1f} MB)"
        )
    loaded = runs[-1]["modules"]
    heavy = sorted(
        {
            m if m.startswith("synthlib.") else m.split(".")[0]
            for m in loaded
            if m.startswith(NOT_IN_THE_RUN)
        }
    )
    print(f"heavy stacks loaded by the run: {', '.join(heavy) or 'none'}")
    print(f"third-party packages loaded: {', '.join(_libraries(loaded))}")
    if args.trace:
        current, traced_peak, stats = runs[-1]["traced"]
        print(
            f"\ntracemalloc (last run; tracing inflates the figures above): peak "
            f"{traced_peak / 2**20:.1f} MB of Python objects, {current / 2**20:.1f} MB at exit; "
            "at exit, by file:"
        )
        for where, size in stats:
            print(f"  {size / 2**20:7.2f} MB  {where}")
    sys.exit(0 if peak <= TARGET_MB else 1)


if __name__ == "__main__":
    main()
