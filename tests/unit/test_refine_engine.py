"""``Engine`` / ``copyloop.refine``: input validation, defaults from settings, injected seams."""

from __future__ import annotations

from typing import Any

import pytest
from _refine_fakes import GOOD_DESC, PRODUCT, FakeScorer, FakeStore

import copyloop
from copyloop.agents.llm import FakeLLM
from copyloop.engine import Engine, default_engine
from copyloop.errors import InputError, UnknownChannelError
from copyloop.graph.result import RefineResult
from copyloop.settings import RefineSettings, Settings


def make_engine(llm: FakeLLM | None = None, settings: Settings | None = None, **kw: Any) -> Engine:
    return Engine(
        settings or Settings(),
        llm=llm or FakeLLM(default=GOOD_DESC),
        scorer=kw.pop("scorer", FakeScorer(0.8)),
        store=kw.pop("store", FakeStore()),
        **kw,
    )


def test_refine_a_product_dict() -> None:
    engine = make_engine()
    result = engine.refine(PRODUCT.model_dump(), threshold=0.6, candidates=1)
    assert isinstance(result, RefineResult)
    assert result.passed and result.product_id == PRODUCT.id and result.channel == "product_description"
    assert engine.last_run.refines == 1 and engine.last_run.seconds > 0
    assert engine.stats.llm_tokens == 0  # round 0 is rule-based: the model is not asked
    # a round that does not reach the threshold is revised, and revisions may use the model
    result = engine.refine(PRODUCT.model_dump(), threshold=0.9, candidates=2, max_iterations=2)
    assert result.iterations == 2 and engine.stats.llm_tokens > 0


def test_missing_title_is_a_clear_input_error() -> None:
    llm = FakeLLM()
    with pytest.raises(InputError) as err:
        make_engine(llm).refine({"facts": ["12 oz"]})
    assert err.value.field == "title" and "title" in str(err.value)
    assert llm.history == []


def test_unknown_channel_lists_the_channels_before_any_model_call() -> None:
    llm = FakeLLM()
    with pytest.raises(UnknownChannelError) as err:
        make_engine(llm).refine(PRODUCT, channel="fax_cover")
    assert "google_ads_headline" in str(err.value) and "amazon_bullet" in str(err.value)
    assert llm.history == []


@pytest.mark.parametrize(
    "kwargs,field",
    [({"threshold": 1.5}, "threshold"), ({"max_iterations": 0}, "max_iterations"), ({"candidates": 0}, "candidates")],
)
def test_out_of_range_arguments(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        make_engine().refine(PRODUCT, **kwargs)
    assert err.value.field == field


def test_oversized_fields_are_truncated_with_a_warning() -> None:
    product = PRODUCT.model_dump() | {"description": "word " * 5000}
    result = make_engine().refine(product, threshold=0.6, candidates=1)
    assert any("description truncated" in w for w in result.warnings)


def test_defaults_come_from_the_refine_settings() -> None:
    settings = Settings(refine=RefineSettings(threshold=0.95, max_iterations=2, candidates=1))
    llm = FakeLLM(default=GOOD_DESC)
    result = make_engine(llm, settings).refine(PRODUCT)
    assert result.threshold == 0.95 and result.iterations == 2 and result.stop_reason == "max_iterations"


def test_user_channels_from_settings_are_refinable() -> None:
    settings = Settings(channels={"shop_tagline": {"base": "google_ads_headline", "max_chars": 40}})
    llm = FakeLLM(default="Calm 1000-piece harbor puzzle nights")
    result = make_engine(llm, settings).refine(PRODUCT, channel="shop_tagline", threshold=0.5, candidates=1)
    assert result.channel == "shop_tagline" and len(result.text) <= 40


def test_module_level_refine_uses_the_given_engine_and_caches_defaults() -> None:
    engine = make_engine()
    result = copyloop.refine(PRODUCT, threshold=0.6, candidates=1, engine=engine)
    assert result.passed and engine.stats.refines == 1
    settings = Settings()
    assert default_engine(settings) is default_engine(settings)  # built once, nothing loaded yet
    assert default_engine(settings) is not default_engine(Settings(refine=RefineSettings(candidates=2)))


def test_run_texts_reach_the_critics_context() -> None:
    engine = make_engine()
    ctx = engine.run_context(["Other product copy"])
    assert ctx.run_texts == ["Other product copy"] and ctx.refine == engine.settings.refine
