"""The core: what a run buys, as pure data and pure functions.

Words (reading and normalising a list), the entry schema, prompts, requests, shards under the APIs'
limits, token counting, prices and the cost estimate, the errors every layer raises, the optional
extras and the failpoints the crash tests use. Nothing here does I/O beyond reading a word list
or a bundled file. May import only the standard library, pydantic and the token counter: no other
synthlib package.
"""
