"""A store password given to the notebooks never lands in a file: the card's papermill command with
the URI in SYNTHLIB_STORE, then with it as a ``-p store`` parameter (refused in one line; papermill
itself has written that parameter before any code of the notebook runs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from synthlib.faces.notebook import notebook_store
from synthlib.store import STORE_ENV, default_store, has_secret

ROOT = Path(__file__).resolve().parents[1]
CANARY = "c4nary-Pw-7f3e9"
URI = f"mongodb://lexi:{CANARY}@127.0.0.1:27017/lexicon"

# Imported by every Python process of the run (papermill's and the kernel's): MongoDB clients
# become mongomock-ng's, so the run writes its checkpoint, journal and entries as it would on a
# real server (no MongoDB server exists here).
SHIM = """\
import json
import os
if os.environ.get("SYNTHLIB_TEST_MONGOMOCK"):
    import mongomock_ng
    import pymongo

    pymongo.MongoClient = lambda *args, **options: mongomock_ng.MongoClient()
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    work = tmp_path / "notebooks"  # a copy of the notebooks as the repository has them
    shutil.copytree(
        ROOT / "notebooks",
        work,
        ignore=lambda _, names: [n for n in names if not n.endswith(".ipynb")],
    )
    (work / "words.txt").write_text("apple\nriver\nzzqxj\n")
    return work


def papermill(
    folder: Path, notebook: str, *params: str, store_env: str | None = None
) -> subprocess.CompletedProcess:
    home = folder.parent / "home"  # IPython's history and Jupyter's files land under it too
    shim = folder.parent / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(SHIM)
    keep = ("OPENAI_", "ANTHROPIC_", "HOME", "IPYTHONDIR", "JUPYTER_", STORE_ENV, "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith(keep)}
    env |= {
        "HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(shim), str(ROOT)]),
        "SYNTHLIB_TEST_MONGOMOCK": "1",
    }
    if store_env is not None:
        env[STORE_ENV] = store_env
    pairs = [x for i in range(0, len(params), 2) for x in ("-p", params[i], params[i + 1])]
    return subprocess.run(
        [sys.executable, "-m", "papermill", notebook, f"out-{notebook}", *pairs],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def files_holding(root: Path, secret: str) -> list[str]:
    """Every file under ``root`` whose bytes hold ``secret``, relative to ``root``."""
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and secret.encode() in path.read_bytes()
    )


def test_a_uri_in_synthlib_store_is_used_and_written_nowhere(folder: Path) -> None:
    ran = papermill(folder, "run.ipynb", "words", "words.txt", store_env=URI)
    assert ran.returncode == 0, ran.stderr[-2000:]
    out = (folder / "out-run.ipynb").read_text()
    assert "mongodb://lexi:***@127.0.0.1:27017/lexicon" in out  # the run used that store
    assert "2 entries made by this run" in out
    assert list((folder / ".synthlib").glob("*.checkpoint.json"))  # the run wrote its state
    assert not (folder / "synthlib.db").exists()

    piloted = papermill(folder, "pilot.ipynb", "words", "words.txt", store_env=URI)
    assert piloted.returncode == 0, piloted.stderr[-2000:]
    reviewed = papermill(folder, "review.ipynb", store_env=URI)
    assert reviewed.returncode == 0, reviewed.stderr[-2000:]

    assert files_holding(folder.parent, CANARY) == []
    for done in (ran, piloted, reviewed):
        assert CANARY not in done.stdout + done.stderr


def test_a_password_in_the_store_parameter_is_refused_in_one_line(folder: Path) -> None:
    for notebook in ("run.ipynb", "pilot.ipynb", "review.ipynb"):
        refused = papermill(folder, notebook, "words", "words.txt", "store", URI)
        assert refused.returncode != 0
        line = next(x for x in refused.stderr.splitlines() if x.startswith("UsageError"))
        assert "the store parameter holds a password" in line and STORE_ENV in line
        assert "lexi:***@" in line and CANARY not in refused.stderr + refused.stdout
        assert "Traceback" not in (folder / f"out-{notebook}").read_text()
    # nothing ran: no state, no store; only papermill's own copy of its parameters holds the
    # password (its injected cell and metadata, and IPython's history of that cell), which is
    # why the refusal tells the user to delete the notebook and use SYNTHLIB_STORE
    assert not (folder / ".synthlib").exists() and not (folder / "synthlib.db").exists()
    written = files_holding(folder.parent, CANARY)
    assert {Path(f).name for f in written} <= {
        "out-run.ipynb",
        "out-pilot.ipynb",
        "out-review.ipynb",
        "history.sqlite",
    }


def test_the_store_defaults_to_synthlib_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STORE_ENV, raising=False)
    assert default_store() == "synthlib.db"
    monkeypatch.setenv(STORE_ENV, URI)
    assert default_store() == URI


def test_a_store_setting_has_a_secret_only_when_it_holds_a_password() -> None:
    assert has_secret(URI)
    assert has_secret("mongodb://host/db?authMechanismProperties=AWS_SESSION_TOKEN:abc")
    for plain in (None, "synthlib.db", "mongodb://lexi@host/db", "mongodb://host:27017/db"):
        assert not has_secret(plain)
        assert notebook_store(plain) == plain


def test_a_password_typed_into_the_workbench_store_field_is_masked_there(
    offline_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipywidgets

    from synthlib.faces.workbench import Workbench, _Widgets

    monkeypatch.delenv(STORE_ENV, raising=False)
    ui = _Widgets(Workbench(words=["apple"]))
    ui.store.value = URI  # what the browser sends when typing ends
    assert ui.store.value == "mongodb://lexi:***@127.0.0.1:27017/lexicon"
    # what JupyterLab saves with the notebook as widget state
    assert CANARY not in json.dumps(ipywidgets.Widget.get_manager_state(), default=str)
    ui._apply()
    assert ui.bench.params["store"] == URI  # the run still gets the real URI
    ui.store.value = "other.db"
    ui._apply()
    assert ui.bench.params["store"] == "other.db"
