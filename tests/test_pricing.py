from __future__ import annotations

import dataclasses
import json

import pytest

from synthlib.core.errors import PricingError
from synthlib.core.pricing import BATCH_DISCOUNT, Usage, price_for
from synthlib.providers import registry
from synthlib.providers.base import BatchUsage

PRICES = registry.prices()  # every provider's price rows


def test_table_has_dated_prices_from_the_design():
    mini = price_for("gpt-4o-mini", PRICES)
    assert (mini.input, mini.cached_input, mini.output) == (0.15, 0.075, 0.60)
    assert price_for("gpt-5-mini", PRICES).reasoning and not mini.reasoning
    assert BATCH_DISCOUNT == 0.5


def test_batch_cost_is_half_and_cached_tokens_are_cheaper():
    p = price_for("gpt-4o", PRICES)
    regular = p.cost(1_000_000, 1_000_000, batch=False)
    assert regular == pytest.approx(12.5)
    assert p.cost(1_000_000, 1_000_000) == pytest.approx(6.25)
    assert p.cost(1_000_000, 0, cached_tokens=1_000_000, batch=False) == pytest.approx(1.25)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(PricingError) as info:
        price_for("gpt-17", PRICES)
    assert "gpt-17" in str(info.value)
    for model in registry.prices():
        assert model in str(info.value)


def test_user_file_overrides_and_adds_models(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps({"gpt-4o-mini": {"output": 0.5}, "my-model": {"input": 1, "output": 2}})
    )
    table = registry.price_table(path)
    assert table["gpt-4o-mini"].output == 0.5 and table["gpt-4o-mini"].input == 0.15
    assert table["my-model"].cached_input == 1.0
    assert price_for("my-model", table).output == 2.0


@pytest.mark.parametrize(
    "content",
    ['{"m": {"input": -1, "output": 1}}', '{"m": {"input": "x", "output": 1}}', "[1]", "{bad"],
)
def test_bad_price_files_are_clear_errors(tmp_path, content):
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(PricingError) as info:
        registry.price_table(path)
    assert str(path) in str(info.value)


def test_usage_is_one_frozen_value_that_adds_and_is_priced_at_batch_rates():
    assert BatchUsage is Usage  # what a provider reports is the same type the engine keeps
    tokens = Usage(input_tokens=1000, cached_tokens=200, output_tokens=500)
    priced = tokens.priced(price_for("gpt-4o-mini", PRICES))
    assert priced.cost_usd == pytest.approx(price_for("gpt-4o-mini", PRICES).cost(1000, 500, 200))
    total = priced + Usage(10, 0, 5, 0.5)
    assert (total.input_tokens, total.output_tokens, total.total_tokens) == (1010, 505, 1515)
    assert total.cost_usd == pytest.approx(priced.cost_usd + 0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        total.cost_usd = 0.0  # type: ignore[misc]


def test_usage_writes_and_reads_the_journals_json():
    usage = Usage(40, 10, 700, 0.0002)
    written = {"input_tokens": 40, "cached_tokens": 10, "output_tokens": 700, "cost_usd": 0.0002}
    assert usage.to_dict() == written and list(usage.to_dict()) == list(written)
    assert Usage.from_dict(written) == usage
    assert Usage.from_dict({}) == Usage()


def test_a_model_a_price_file_adds_is_a_reasoning_model_when_its_provider_names_it_so():
    table = registry.price_table(
        {"gpt-5.1": {"input": 1, "output": 8}, "my-model": {"input": 1, "output": 2}}
    )
    assert table["gpt-5.1"].reasoning and not table["my-model"].reasoning
    assert table["gpt-5.1"].max_output is None  # no largest output declared: the default


def test_every_price_row_is_declared_by_the_provider_that_sells_it():
    for spec in registry.specs():
        for row in spec.prices:
            assert registry.spec_for_model(row.model) is spec, row.model
    assert {"gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"} <= set(PRICES)
