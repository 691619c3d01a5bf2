"""Providers: the Batch APIs (OpenAI, Anthropic, ...) and the offline provider behind one
interface, each a package ``<name>/`` declaring one :class:`~.registry.ProviderSpec`.

:mod:`.base` defines the :class:`~.base.Backend` interface the engine drives and the errors sorted
by what the engine should do; :mod:`.registry` knows the providers (built in, or installed
through the ``synthlib.providers`` entry point group) and answers which one a name, a model or
``auto`` means; each provider's ``backend`` module adapts one API's SDK to the interface. May
import core and lexicon (the offline provider); never store, engine, jobs or the faces.
"""
