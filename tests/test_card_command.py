"""The product card's own command, as a user types it: `papermill run.ipynb out.ipynb -p words
words.txt`, inside a copy of notebooks/, again and again with different lists."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def card_command(folder: Path, out: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "papermill", "run.ipynb", out, "-p", "words", "words.txt"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def outputs(notebook: Path) -> str:
    nb = json.loads(notebook.read_text())
    texts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            texts.append("".join(out.get("text") or out.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


def test_the_card_command_twice_with_two_lists_then_a_missing_one(tmp_path):
    folder = tmp_path / "notebooks"  # a copy of the notebooks as the repository has them
    shutil.copytree(
        ROOT / "notebooks",
        folder,
        ignore=lambda _, names: [n for n in names if not n.endswith(".ipynb")],
    )
    (folder / "words.txt").write_text("apple\nriver\n")
    first = card_command(folder, "out.ipynb")
    assert first.returncode == 0, first.stderr[-2000:]
    shown = outputs(folder / "out.ipynb")
    assert "2 entries made by this run" in shown and "river" in shown

    (folder / "words.txt").write_text("garden\nquickly\nzzqxj\n")  # a new list: a new job
    second = card_command(folder, "out.ipynb")
    assert second.returncode == 0, second.stderr[-2000:]
    shown = outputs(folder / "out.ipynb")
    assert "garden" in shown and "quickly" in shown
    assert "zzqxj" in shown  # the given-up word is named
    assert "belongs to another run" not in second.stderr
    assert "river" not in shown.split("entries made by this run")[1]  # not the first list's
    assert "--" not in shown.replace("---", "")  # advice names parameters, not terminal flags

    (folder / "words.txt").unlink()
    missing = card_command(folder, "out.ipynb")
    assert missing.returncode != 0
    assert "WordListError: words.txt: no such file" in missing.stderr
