"""The core: what a run buys, as pure data and pure functions.

Words (reading and normalising a list), the entry schema, prompts, requests, shards under the APIs'
limits, token counting, prices (what a price row is; the rows are the providers') and the cost
estimate, the errors every layer raises, the optional extras and the failpoints the crash tests
use. It names no provider's model: a model's facts (price, largest output, reasoning or not)
reach it as a :class:`~.pricing.Price` from the caller. Nothing here does I/O beyond reading a
word list or a bundled file. May import only the standard library, pydantic and the token
counter: no other synthlib package.
"""
