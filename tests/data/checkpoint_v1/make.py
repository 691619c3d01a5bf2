"""Writes checkpoint_v1/: a checkpoint (snapshot + journal) in the format of main at b22022e,
before journal events were typed, and the state that code loaded from it (expected_state.json).
Run then as: PYTHONPATH=<checkout at b22022e> python make.py <folder>."""

import json
import sys
from pathlib import Path

from synthlib.core.schema import Failure
from synthlib.engine.checkpoint import Checkpoint, RunIdentity

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
words = ["apple", "run", "café", "ice cream", "give up", "xyzzy", "pear", "plum", "quux"]
ident = RunIdentity(
    words_sha256="0" * 64,
    word_count=len(words),
    model="gpt-4o-mini",
    provider="openai",
    prompt_version="p1",
    schema_version="s1",
    words_per_request=2,
    words_set_sha256="1" * 64,
    api_location="https://api.example/v1",
)
path = out / "run.json"
for old in out.glob("run.json*"):
    old.unlink()
cp = Checkpoint.create(
    path,
    ident,
    words,
    source="words.txt",
    store="sqlite:///store.db",
    backend={"base_url": "https://api.example/v1"},
)
s = cp.state


def r(type_, **data):
    cp.record(s.event(type_, **data))


# in the snapshot
r("already_done", words=["pear"], source="store")
r("already_given_up", failed={"xyzzy": Failure("not_a_word", "no such word")}, source="pilot")
r("planned", shard="s-1", words=["apple", "run"], input_tokens=40, shapes=[[1, 2, 300]])
r("uploaded", shard="s-1", input_file_id="file-1")
r("creating", shard="s-1", at=1765100000.5, requests=1)
r("created", shard="s-1", batch_id="batch_1", status="validating", created_at=1765100001)
r("status", shard="s-1", status="in_progress")
r(
    "ended",
    shard="s-1",
    done=["apple"],
    failed={"run": Failure("truncated", "length")},
    status="completed",
    usage={"input_tokens": 40, "cached_tokens": 0, "output_tokens": 500, "cost_usd": 0.00015},
    measured={"200": 1},
    refit={"run": [1, 600]},
    failed_cost=0.00005,
)
cp.save()
# in the journal: every type of step
r("planned", shard="s-2", words=["café", "ice cream"], input_tokens=30, shapes=[[2, 1, 300]])
r("abandoned", shard="s-2")
r(
    "planned",
    shard="s-3",
    words=["café", "ice cream", "run"],
    input_tokens=45,
    shapes=[[1, 2, 300], [1, 1, 600]],
)
r("uploaded", shard="s-3", input_file_id="file-3")
r("creating", shard="s-3", at=1765100100.0, requests=2)
r("ruled_out", shard="s-3", batch_ids=["batch_x"])
r("creating", shard="s-3", at=1765100160.0, requests=2)
r("created", shard="s-3", batch_id="batch_3", status="validating", created_at=None)
r("status", shard="s-3", status="in_progress")
r(
    "ended",
    shard="s-3",
    done=["ice cream"],
    failed={"café": Failure("refused", "no"), "run": Failure("invalid", "bad json")},
    status="completed",
    usage={"input_tokens": 45, "cached_tokens": 10, "output_tokens": 700, "cost_usd": 0.0002},
    measured={"300": 1},
    refit={},
    failed_cost=0.0001,
    give_up=["café"],
)
r("retry_given_up", words=["café"])
r(
    "planned",
    shard="a-batch_9",
    words=["give up"],
    positions={"0": "give up", "1": "other"},
    input_tokens=12,
    batch_words=2,
)
r("created", shard="a-batch_9", batch_id="batch_9", status="in_progress", created_at=1765100200)
r("already_done", words=["plum"], source="import", file="old.json", measured={"100": 2})
r("already_given_up", failed={"quux": "not_a_word"}, source="pilot")
r("planned", shard="s-4", words=["café"], input_tokens=10, shapes=[[1, 1, 300]])
r("uploaded", shard="s-4", input_file_id="file-4")
r("created", shard="s-4", batch_id="batch_4", status="validating", created_at=1765100300)
r(
    "ended",
    shard="s-4",
    done=[],
    failed={"café": Failure("batch_failed", "rejected")},
    status="rejected",
    usage={},
)
r("status", shard="a-batch_9", status="unreadable")
loaded = Checkpoint.load(path, ident, words)
expected = json.dumps(loaded.state.snapshot(), ensure_ascii=False, indent=1) + "\n"
(out / "expected_state.json").write_text(expected, encoding="utf-8")
