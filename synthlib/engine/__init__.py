"""The engine: one run of one job, from planned requests to settled words.

The run loop (:mod:`.loop`) drives the stages: :mod:`.submit` sends shards as batches (reserving
each word in the store's ledger first, :mod:`.ledger`), :mod:`.recover` finds again what a crash
or a lost answer left and adopts gone runs' batches, :mod:`.collect` waits for batches and
turns their results into entries and failures (:mod:`.ingest`), :mod:`.pacing` spends within the
cap, :mod:`.reach` bounds how long an unreachable API is tried. :mod:`.state` owns the per-word
state machine, rebuilt from the journal :mod:`.checkpoint` keeps (which also names the job);
:mod:`.start` says where a run starts (a dry run counts the same way); :mod:`.skip` decides
what is already bought. The money rules and where each is enforced are listed in SAFETY.md.
May import core, lexicon, store and providers; never jobs or the faces.
"""
