"""A store failing mid-run loses nothing: results wait in the spool and are ingested on resume."""

from __future__ import annotations

import time

from synthlib.core.errors import StoreError
from synthlib.engine.loop import spool_dir
from synthlib.jobs.job import Job, build_config
from synthlib.store.sqlite import SQLiteStore

from .conftest import backend_for, billed_per_word, read_checkpoint, words


class FlakyStore(SQLiteStore):
    """The embedded store, but every write fails while ``down`` is set."""

    down = True
    attempts = 0

    def upsert_entries(self, records):
        records = list(records)
        if self.down and records:
            self.attempts += 1
            raise StoreError("connection refused (injected)")
        return super().upsert_entries(records)


def test_store_outage_keeps_results_in_the_spool_until_resume(emulator, workdir):
    word_list = words(20)
    store = FlakyStore(workdir / "synthlib.db")
    job = Job(
        build_config(word_list, provider="openai", poll_interval=0.05, batch_size=10),
        backend=backend_for(emulator),
        store=store,
    )
    job.start()
    deadline = time.monotonic() + 30
    while store.attempts < 2:
        assert time.monotonic() < deadline, "ingest never tried the store"
        time.sleep(0.02)
    job.stop()
    result = job.wait(30)
    assert result.phase == "interrupted"
    cp = read_checkpoint(result.checkpoint)
    assert not cp["processed_words"]  # nothing is called processed before the store has it
    assert {b["status"] for b in cp["batches"]} == {"completed"}
    spooled = list(spool_dir(workdir / result.checkpoint).glob("*.output.jsonl"))
    assert spooled, "downloaded results must wait on disk"
    assert SQLiteStore(workdir / "synthlib.db").count() == 0

    store.down = False
    resumed = Job(
        build_config(word_list, provider="openai", poll_interval=0.05, batch_size=10),
        backend=backend_for(emulator),
        store=store,
    ).run()
    assert resumed.phase == "finished"
    cp = read_checkpoint(resumed.checkpoint)
    assert sorted(cp["processed_words"]) == sorted(word_list)
    assert store.count() == 20
    assert all(n == 1 for n in billed_per_word(emulator.ledger()).values())
    spool = spool_dir(workdir / resumed.checkpoint)
    assert not list(spool.glob("*.jsonl"))  # spool emptied
