from __future__ import annotations

import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from synthlib.core import prompts, schema
from synthlib.core.tokens import TOKENS_PER_MESSAGE, TOKENS_PER_REPLY, encoding_for, request_tokens


def test_encoding_loads_offline_and_is_exact(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    encoding_for.cache_clear()
    try:
        encoder, exact = encoding_for("gpt-4o-mini")
        assert exact
        assert encoder.name == "o200k_base"
        assert encoder.encode_ordinary("hello world") == [24912, 2375]
    finally:
        encoding_for.cache_clear()
        request_tokens.cache_clear()


def test_unavailable_encoding_falls_back_to_an_estimate(monkeypatch):
    import synthlib.core.tokens as tokens

    def fail(*a, **k):
        raise OSError("no network")

    encoding_for.cache_clear()
    monkeypatch.setattr(tokens, "_get_encoding", fail)
    try:
        encoder, exact = encoding_for("gpt-4o")
        assert not exact
        assert len(encoder.encode_ordinary("x" * 40)) == 10
    finally:
        encoding_for.cache_clear()
        request_tokens.cache_clear()


def test_fixed_part_counts_every_message_and_the_schema():
    counter = request_tokens("gpt-4o-mini")
    enc = tiktoken.get_encoding("o200k_base") if counter.exact else None
    assert enc is not None
    expected = (
        2 * TOKENS_PER_MESSAGE
        + TOKENS_PER_REPLY
        + len(enc.encode_ordinary(prompts.SYSTEM))
        + len(enc.encode_ordinary(prompts.USER_PREAMBLE))
        + len(enc.encode_ordinary(schema.schema_json()))
    )
    assert counter.fixed == expected
    assert counter.schema > 0


_words = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30),
    min_size=1,
    max_size=4,
)


@settings(max_examples=300)
@given(_words)
def test_user_message_tokens_are_preamble_plus_payload(words):
    """The split the dry run relies on: no token crosses the preamble/payload boundary."""
    counter = request_tokens("gpt-4o-mini")
    encode = counter.encoder.encode_ordinary
    payload = prompts.payload(words)
    whole = len(encode(prompts.USER_PREAMBLE + payload))
    assert whole == len(encode(prompts.USER_PREAMBLE)) + counter.payload(payload)
