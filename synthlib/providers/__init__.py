"""Providers: the Batch APIs (OpenAI, Anthropic) and the offline provider behind one interface.

:mod:`.base` defines the :class:`~.base.Backend` interface the engine drives and the errors sorted
by
what the engine should do; each provider module adapts one API's SDK to it. May import core and
lexicon (the offline provider); never store, engine, jobs or the faces.
"""
