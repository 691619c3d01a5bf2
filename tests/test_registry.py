"""The provider registry: one spec per provider, found by name, by model and by the keys set;
a provider installed as a plugin (entry point group ``synthlib.providers``) registers the same
way as a built-in one."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path

import pytest

import synthlib
from synthlib.core.errors import UsageError
from synthlib.core.pricing import Price
from synthlib.core.requests import model_max_output
from synthlib.core.tokens import EXACT
from synthlib.jobs.config import provider_model, providers, resolve_provider
from synthlib.jobs.job import make_backend
from synthlib.jobs.pilots import provider_of
from synthlib.providers import registry
from synthlib.providers.registry import BackendOptions, ProviderSpec, Refind

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY")


@pytest.fixture(autouse=True)
def fresh_registry():
    registry._reset_for_tests()
    yield
    registry._reset_for_tests()


@pytest.fixture
def no_keys(monkeypatch):
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)


def test_each_built_in_provider_is_found_by_its_name():
    for name in ("openai", "anthropic", "offline"):
        assert registry.spec(name).name == name
    listed = [s.name for s in registry.specs()]
    # in auto's order, other built-ins after, the offline provider last (then plugins)
    assert listed[:2] == ["openai", "anthropic"] and listed[-1] == "offline"
    assert list(registry.built_in()) == listed


def test_a_model_belongs_to_the_provider_whose_rule_claims_it():
    assert registry.spec_for_model("claude-haiku-4-5").name == "anthropic"
    assert registry.spec_for_model("gpt-4o-mini").name == "openai"
    assert registry.spec_for_model("offline").name == "offline"
    # a name no provider claims goes to the one that serves any model (a compatible server)
    assert registry.spec_for_model("llama-3-70b").name == "openai"
    assert provider_of("claude-sonnet-4-5") == "anthropic"


def test_specs_declare_what_the_engine_needs_without_loading_an_sdk():
    openai, anthropic, offline = (registry.spec(n) for n in ("openai", "anthropic", "offline"))
    assert openai.key_variables == ("OPENAI_API_KEY",)
    assert anthropic.base_url_variable == "ANTHROPIC_BASE_URL"
    assert anthropic.default_model == "claude-haiku-4-5" and anthropic.extra == "anthropic"
    assert not anthropic.tokens.exact and openai.tokens == EXACT
    assert (openai.batch_metadata, openai.refind) == (True, Refind.BY_METADATA)
    assert (anthropic.batch_metadata, anthropic.refind) == (False, Refind.BY_ATTEMPT)
    assert not offline.paid and offline.api_location() == "local"


def test_a_spec_says_what_its_backend_says_about_batch_metadata():
    from synthlib.providers.anthropic.backend import AnthropicBackend
    from synthlib.providers.offline.backend import OfflineBackend
    from synthlib.providers.openai.backend import OpenAIBackend

    for name, backend in (
        ("openai", OpenAIBackend),
        ("anthropic", AnthropicBackend),
        ("offline", OfflineBackend),
    ):
        assert registry.spec(name).batch_metadata == backend.metadata_before_end


def test_auto_is_the_first_provider_whose_key_is_set(no_keys, monkeypatch):
    assert registry.auto().name == "offline"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    assert registry.auto().name == "anthropic"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert registry.auto().name == "openai" == resolve_provider("auto")
    assert registry.auto({"ANTHROPIC_API_KEY": "k"}).name == "anthropic"


def test_auto_tries_providers_in_the_documented_order_then_plugins(no_keys, monkeypatch):
    register(fake_spec("zeta", key="ZETA_KEY"))
    register(fake_spec("gemini", key="GEMINI_API_KEY"))
    monkeypatch.setenv("ZETA_KEY", "z")
    monkeypatch.setenv("GEMINI_API_KEY", "g")
    assert registry.auto().name == "gemini"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "a")
    assert registry.auto().name == "anthropic"


def test_an_unknown_provider_is_one_usage_line():
    with pytest.raises(UsageError) as caught:
        registry.spec("mistral")
    message = str(caught.value)
    assert "\n" not in message and "'mistral'" in message and "openai" in message
    with pytest.raises(UsageError):
        make_backend("mistral", Path("."))


def test_a_model_of_another_provider_is_one_usage_line():
    with pytest.raises(UsageError, match="pass provider='anthropic'") as caught:
        provider_model("openai", "claude-haiku-4-5")
    assert "\n" not in str(caught.value)
    with pytest.raises(UsageError, match="takes a Claude model"):
        provider_model("anthropic", "gpt-4o")


def test_a_model_no_provider_serves_is_one_usage_line(monkeypatch):
    monkeypatch.setattr(registry, "built_in", lambda: {"offline": "synthlib.providers.offline"})
    monkeypatch.setattr(registry, "_entry_points", lambda: {})
    with pytest.raises(UsageError) as caught:
        registry.spec_for_model("gpt-4o")
    assert "\n" not in str(caught.value) and "'gpt-4o'" in str(caught.value)


# --- plugins ---------------------------------------------------------------------------------


@dataclass
class FakeBackend:
    provider: str
    metadata_before_end: bool = True


def fake_spec(name: str, *, key: str = "", models: tuple[str, ...] = ()) -> ProviderSpec:
    return ProviderSpec(
        name=name,
        title=name.title(),
        backend=lambda options: FakeBackend(name),  # type: ignore[arg-type,return-value]
        key_variables=(key,) if key else (),
        models=models,
        model_kind=f"a {name.title()} model",
        default_model=f"{models[0]}1" if models else "",
    )


def register(spec: ProviderSpec) -> None:
    registry.register(spec)


PLUGIN = replace(
    fake_spec("mistral", key="MISTRAL_API_KEY", models=("mistral-",)),
    prices=(Price("mistral-1", 2.0, 0.2, 6.0, max_output=40_000),),
)


class FakeEntryPoint:
    """What ``importlib.metadata.entry_points`` yields for an installed plugin."""

    def __init__(self, name: str, value: object) -> None:
        self.name, self.group, self._value = name, registry.GROUP, value
        self.value = f"{name}_plugin:SPEC"

    def load(self) -> object:
        return self._value


def installed(monkeypatch, *points: FakeEntryPoint) -> None:
    def entry_points(*, group: str) -> list[FakeEntryPoint]:
        return [p for p in points if p.group == group]

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    registry._reset_for_tests()


def test_an_installed_plugin_registers_through_its_entry_point(monkeypatch, no_keys):
    installed(monkeypatch, FakeEntryPoint("mistral", PLUGIN))
    assert "mistral" in registry.names() and "mistral" in providers()
    assert registry.spec("mistral") is PLUGIN
    assert registry.spec_for_model("mistral-large").name == "mistral"
    assert provider_model("mistral", "gpt-4o-mini") == "mistral-1"  # its own default model
    backend = make_backend("mistral", Path("."))
    assert backend.provider == "mistral"
    monkeypatch.setenv("MISTRAL_API_KEY", "m")
    assert resolve_provider("auto") == "mistral"


def test_a_plugins_models_are_priced_and_planned_like_a_built_in_ones(monkeypatch, tmp_path):
    installed(monkeypatch, FakeEntryPoint("mistral", PLUGIN))
    monkeypatch.chdir(tmp_path)
    estimate = synthlib.dry_run(["apple", "pear"], provider="mistral", model="mistral-1")
    assert (estimate.provider, estimate.model, estimate.remaining) == ("mistral", "mistral-1", 2)
    assert estimate.batch_cost > 0 and estimate.tokens_exact
    assert model_max_output(registry.prices()["mistral-1"]) == 40_000


def test_a_plugin_that_fails_to_load_is_named_only_when_asked_for(monkeypatch):
    class Broken(FakeEntryPoint):
        def load(self) -> object:
            raise ImportError("no module named mistral_sdk")

    installed(monkeypatch, Broken("mistral", PLUGIN))
    assert "mistral" not in [s.name for s in registry.specs()]
    assert "gpt-4o-mini" in registry.prices()
    with pytest.raises(UsageError, match=r"'mistral' .* failed to load: ImportError"):
        registry.spec("mistral")


def test_listing_the_plugins_loads_none_of_them(monkeypatch):
    class Unloadable(FakeEntryPoint):
        def load(self) -> object:
            raise AssertionError("loaded to list its name")

    installed(monkeypatch, Unloadable("mistral", PLUGIN))
    assert registry.names() == (*registry.built_in(), "mistral")  # the built-ins, then plugins


def test_a_plugin_that_is_no_spec_of_its_name_is_one_usage_line(monkeypatch):
    installed(monkeypatch, FakeEntryPoint("mistral", fake_spec("other")))
    with pytest.raises(UsageError, match="not declared by a ProviderSpec named 'mistral'"):
        registry.spec("mistral")


def test_a_missing_extra_is_named_before_the_backend_is_built(monkeypatch, tmp_path):
    spec = fake_spec("needy")
    needy = ProviderSpec(**{**spec.__dict__, "extra": "needy", "sdk_modules": ("no_such_sdk",)})
    registry.register(needy)
    with pytest.raises(UsageError, match=r"synthlib\[needy\]"):
        needy.make_backend(BackendOptions(tmp_path))


def test_importing_the_registry_loads_no_provider_sdk():
    code = (
        "import sys\n"
        "from synthlib.providers import registry\n"
        "registry.names(); registry.spec('anthropic'); registry.spec('openai')\n"
        "print(sorted(m for m in ('openai', 'anthropic') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"
