"""MongoDB specifics: connection errors before anything is spent, and passwords never shown."""

from __future__ import annotations

import mongomock_ng as mongomock
import pytest

from synthlib.errors import StoreError
from synthlib.store import mask_uri, open_store
from synthlib.store.mongo import DEFAULT_DATABASE, MongoStore

DOWN = "mongodb://reviewer:s3cret-pass@127.0.0.1:1/lexicon?serverSelectionTimeoutMS=300"


def test_a_server_that_is_down_is_a_clear_error_with_the_password_masked():
    with pytest.raises(StoreError) as info:
        open_store(DOWN)
    text = str(info.value)
    assert "cannot reach MongoDB" in text and "***" in text
    chain = [info.value, info.value.__cause__, info.value.__context__]
    for exc in chain:
        assert exc is None or "s3cret-pass" not in str(exc) + repr(exc)
    assert info.value.__suppress_context__


def test_an_invalid_uri_is_a_clear_error():
    with pytest.raises(StoreError, match="not a valid MongoDB URI"):
        MongoStore("mongodb://u:pw@/nohost::")


@pytest.mark.parametrize(
    ("uri", "masked"),
    [
        ("mongodb://u:p@host/db", "mongodb://u:***@host/db"),
        ("mongodb+srv://user:pa%40ss@cluster.example.net/db?x=1",
         "mongodb+srv://user:***@cluster.example.net/db?x=1"),
        ("mongodb://host:27017/db", "mongodb://host:27017/db"),
        ("mongodb://user@host/db", "mongodb://user@host/db"),
    ],
)  # fmt: skip
def test_mask_uri(uri, masked):
    assert mask_uri(uri) == masked


def test_database_comes_from_the_uri_path_or_the_default():
    client = mongomock.MongoClient()
    assert MongoStore("mongodb://u:pw@h/lexicon", client=client).database == "lexicon"
    assert MongoStore("mongodb://h", client=client).database == DEFAULT_DATABASE
    assert MongoStore("mongodb://h", client=client, database="other").database == "other"
    store = MongoStore("mongodb://u:pw@h/lexicon", client=client)
    assert "pw" not in store.location and "pw" not in repr(store)


def test_run_summaries_are_kept():
    store = MongoStore("mongodb://h/x", client=mongomock.MongoClient())
    store.record_run({"run_id": "run-1", "processed": 3})
    store.record_run({"run_id": "run-1", "processed": 5})
    assert [r["processed"] for r in store.iter_runs()] == [5]


def test_password_stays_out_of_the_checkpoint_and_the_run_output(offline_env, capsys):
    import json

    from synthlib.job import Job, build_config

    store = MongoStore("mongodb://reviewer:s3cret-pass@h/lexicon", client=mongomock.MongoClient())
    job = Job(build_config(["apple"], provider="offline"), store=store,
              listener=lambda p, m: print(m or ""))  # fmt: skip
    job.run()
    assert store.count() == 1
    checkpoint = (offline_env / "words.checkpoint.json").read_text()
    assert "s3cret-pass" not in checkpoint
    assert json.loads(checkpoint)["store"] == "mongodb://reviewer:***@h/lexicon"
    assert "s3cret-pass" not in capsys.readouterr().out
